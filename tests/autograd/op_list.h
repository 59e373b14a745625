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
  double eps = 1e-6;         // finite-difference step: larger where the case rounds through float32
};

using OpCaseFamily = std::vector<OpCase> (*)();

// Each op family lists its cases in op_cases_<family>.cc and registers them at static-initialization
// time, so adding a family touches no shared file:
//
//   std::vector<OpCase> PoolingOpCases() { ... }
//   const bool kRegistered = RegisterOpCases(PoolingOpCases);
bool RegisterOpCases(OpCaseFamily family);

// The one list of every differentiable op: the gradient checker runs over all of it, and a test checks
// that every node an op source can record shows up in it.
std::vector<OpCase> AllOpCases();

}  // namespace normgrad::testing

#endif  // NORMGRAD_TESTS_AUTOGRAD_OP_LIST_H_
