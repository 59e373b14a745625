#ifndef NORMGRAD_NN_FUNCTIONAL_ACTIVATION_H_
#define NORMGRAD_NN_FUNCTIONAL_ACTIVATION_H_

// Activations beyond relu, sigmoid and tanh (which are tensor ops, autograd/ops.h), as
// torch.nn.functional's: built from differentiable ops, so they run on every device and their backward
// (and double backward) is exact. Any shape; float32 or float64.

#include "core/tensor.h"

namespace normgrad::nn::functional {

// x where x > 0, else negative_slope * x; the gradient at 0 is negative_slope, as PyTorch's.
Tensor leaky_relu(const Tensor& input, double negative_slope = 0.01);

// How gelu computes Phi(x), the standard normal distribution function: exactly through erf (PyTorch's
// approximate="none"), or with the tanh approximation (approximate="tanh").
enum class GeluApproximation { kNone, kTanh };

// x Phi(x) = x / 2 (1 + erf(x / sqrt(2))), or x / 2 (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))).
Tensor gelu(const Tensor& input, GeluApproximation approximate = GeluApproximation::kNone);

// x sigmoid(x) (also called swish).
Tensor silu(const Tensor& input);

}  // namespace normgrad::nn::functional

#endif  // NORMGRAD_NN_FUNCTIONAL_ACTIVATION_H_
