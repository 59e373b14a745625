// Gradient-check cases for nn/functional's activations (first and second order).
#include "autograd/ops.h"
#include "core/random.h"
#include "nn/functional/activation.h"
#include "tests/autograd/op_list.h"

namespace normgrad::testing {
namespace {

namespace F = nn::functional;
using V = const std::vector<Tensor>&;

Generator& Gen() {
  static Generator gen(77);
  return gen;
}

// Spread over [-3, 3] (the inputs of the kinks and tails), away from 0 where leaky_relu has its kink.
Tensor N(const Shape& shape) {
  return mul(randn(shape, {.dtype = kFloat64}, &Gen()), 1.5).detach().set_requires_grad(true);
}

std::vector<OpCase> ActivationOpCases() {
  return {
      {"leaky_relu", [](V x) { return F::leaky_relu(x[0]); }, {N({3, 4})}},
      {"leaky_relu_slope_0.3", [](V x) { return F::leaky_relu(x[0], 0.3); }, {N({2, 5})}},
      {"gelu", [](V x) { return F::gelu(x[0]); }, {N({3, 4})}},
      {"gelu_tanh", [](V x) { return F::gelu(x[0], F::GeluApproximation::kTanh); }, {N({3, 4})}},
      {"silu", [](V x) { return F::silu(x[0]); }, {N({3, 4})}},
  };
}

const bool kRegistered = RegisterOpCases(ActivationOpCases);

}  // namespace
}  // namespace normgrad::testing
