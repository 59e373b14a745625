#ifndef NORMGRAD_NN_CONTAINER_H_
#define NORMGRAD_NN_CONTAINER_H_

#include <memory>
#include <vector>

#include "nn/module.h"

namespace normgrad::nn {

// Modules applied one after another; the i-th is the child named "i" (state dict keys "0.weight", ...,
// as PyTorch's nn.Sequential). An empty Sequential returns its input.
//   auto block = std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
//       std::make_shared<Conv2d>(Conv2dOptions{...}), std::make_shared<BatchNorm2d>(16)});
class Sequential : public Cloneable<Sequential> {
 public:
  Sequential() : Cloneable("Sequential") {}
  explicit Sequential(const std::vector<std::shared_ptr<Module>>& modules);

  // Appends `module` under the next index and returns it.
  template <typename M>
  std::shared_ptr<M> push_back(std::shared_ptr<M> module) {
    return register_module(std::to_string(size()), std::move(module));
  }
  size_t size() const { return named_children().size(); }
  // The i-th module; throws for i >= size().
  std::shared_ptr<Module> operator[](size_t i) const;

  Tensor forward(const Tensor& input) override;
};

}  // namespace normgrad::nn

#endif  // NORMGRAD_NN_CONTAINER_H_
