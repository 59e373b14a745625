#include "nn/functional/activation.h"

#include <cmath>
#include <numbers>

#include "autograd/ops.h"

namespace normgrad::nn::functional {

Tensor leaky_relu(const Tensor& input, double negative_slope) {
  return where(gt(input, 0.0), input, mul(input, negative_slope));
}

Tensor gelu(const Tensor& input, GeluApproximation approximate) {
  Tensor phi2;  // 2 Phi(x) - 1
  switch (approximate) {
    case GeluApproximation::kNone:
      phi2 = erf(mul(input, 1 / std::numbers::sqrt2));
      break;
    case GeluApproximation::kTanh: {
      const double k = std::sqrt(2 / std::numbers::pi);
      phi2 = tanh(mul(add(input, mul(pow(input, 3.0), 0.044715)), k));
      break;
    }
  }
  return mul(mul(input, 0.5), add(phi2, 1.0));
}

Tensor silu(const Tensor& input) { return mul(input, sigmoid(input)); }

}  // namespace normgrad::nn::functional
