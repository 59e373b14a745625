#include "tests/autograd/op_list.h"

namespace normgrad::testing {

std::vector<OpCase> AllOpCases() {
  std::vector<OpCase> all;
  for (auto family : {ElementwiseOpCases}) {
    for (OpCase& c : family()) all.push_back(std::move(c));
  }
  return all;
}

}  // namespace normgrad::testing
