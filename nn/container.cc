#include "nn/container.h"

namespace normgrad::nn {

Sequential::Sequential(const std::vector<std::shared_ptr<Module>>& modules) : Sequential() {
  for (const auto& m : modules) push_back(m);
}

std::shared_ptr<Module> Sequential::operator[](size_t i) const {
  NG_CHECK(i < size(), "Sequential: expected an index below ", size(), ", got ", i);
  return named_children()[i].second;
}

Tensor Sequential::forward(const Tensor& input) {
  Tensor x = input;
  for (const auto& [name, m] : named_children()) x = m->forward(x);
  return x;
}

}  // namespace normgrad::nn
