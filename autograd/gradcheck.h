#ifndef NORMGRAD_AUTOGRAD_GRADCHECK_H_
#define NORMGRAD_AUTOGRAD_GRADCHECK_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "core/tensor.h"

namespace normgrad::autograd {

struct GradCheckOptions {
  double eps = 1e-6;    // finite-difference step
  double atol = 1e-5;   // |analytic - numeric| <= atol + rtol * |numeric|
  double rtol = 1e-3;
  bool check_second_order = false;  // also check the gradient of the gradient (create_graph)
  uint64_t seed = 1;                // for the random projection of the outputs
};

using TensorFn = std::function<Tensor(const std::vector<Tensor>&)>;

// Checks the gradients that backward computes for fn at `inputs` against central finite differences in
// float64. The output is projected on a random tensor v of its shape: the analytic gradient of <v, fn(x)>
// with respect to every input that requires grad is compared, element by element, with
// (<v, fn(x + eps e_k)> - <v, fn(x - eps e_k)>) / (2 eps). A wrong entry of the Jacobian changes the
// projection except on a set of v of measure zero. With check_second_order, the same check runs on the
// function x -> d<v, fn(x)>/dx computed with create_graph, which exercises every backward's own backward.
// Inputs are perturbed in place and restored. Returns InvalidArgument for non-float64 inputs and
// Internal with the first mismatching element otherwise.
[[nodiscard]] absl::Status GradCheck(const TensorFn& fn, const std::vector<Tensor>& inputs,
                                     GradCheckOptions options = {});

}  // namespace normgrad::autograd

#endif  // NORMGRAD_AUTOGRAD_GRADCHECK_H_
