#ifndef NORMGRAD_TESTS_AUTOGRAD_OP_LIST_H_
#define NORMGRAD_TESTS_AUTOGRAD_OP_LIST_H_

#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace normgrad::testing {

// One gradient-check case: fn applied to float64 inputs; the inputs that require grad are checked.
struct OpCase {
  std::string name;
  std::function<Tensor(const std::vector<Tensor>&)> fn;
  std::vector<Tensor> inputs;
  bool second_order = true;  // false only where double backward is refused by design
};

// Each op family lists its cases in op_cases_<family>.cc.
std::vector<OpCase> ElementwiseOpCases();

// The one list of every differentiable op: the gradient checker runs over all of it, and a test checks
// that every node an op source can record shows up in it.
std::vector<OpCase> AllOpCases();

}  // namespace normgrad::testing

#endif  // NORMGRAD_TESTS_AUTOGRAD_OP_LIST_H_
