// Gradient-check cases for the ops of autograd/ops/: elementwise, reductions, views, products and joins.
#include "autograd/ops.h"
#include "core/random.h"
#include "tests/autograd/op_list.h"

namespace normgrad::testing {
namespace {

Generator& Gen() {
  static Generator gen(2024);
  return gen;
}

// float64 leaves that require grad: standard normal, or uniform in [lo, hi) where the op needs a domain.
Tensor N(const Shape& shape) { return randn(shape, {.dtype = kFloat64, .requires_grad = true}, &Gen()); }
Tensor U(const Shape& shape, double lo, double hi) {
  return uniform(shape, lo, hi, {.dtype = kFloat64, .requires_grad = true}, &Gen());
}

using V = const std::vector<Tensor>&;

std::vector<OpCase> ElementwiseOpCases() {
  return {
      {"add", [](V x) { return add(x[0], x[1]); }, {N({2, 3}), N({3})}},
      {"add_broadcast_both", [](V x) { return add(x[0], x[1]); }, {N({2, 1, 3}), N({4, 1})}},
      {"sub", [](V x) { return sub(x[0], x[1]); }, {N({3, 1}), N({1, 4})}},
      {"mul", [](V x) { return mul(x[0], x[1]); }, {N({2, 3}), N({2, 3})}},
      {"mul_broadcast", [](V x) { return mul(x[0], x[1]); }, {N({2, 3, 4}), N({3, 1})}},
      {"div", [](V x) { return div(x[0], x[1]); }, {N({2, 3}), U({3}, 0.5, 2)}},
      {"pow", [](V x) { return pow(x[0], x[1]); }, {U({2, 3}, 0.5, 2), N({2, 3})}},
      {"pow_broadcast", [](V x) { return pow(x[0], x[1]); }, {U({2, 3}, 0.5, 2), N({3})}},
      {"add_scalar", [](V x) { return add(x[0], 1.5); }, {N({4})}},
      {"sub_scalar", [](V x) { return sub(x[0], 1.5); }, {N({4})}},
      {"rsub_scalar", [](V x) { return sub(1.5, x[0]); }, {N({4})}},
      {"mul_scalar", [](V x) { return mul(x[0], -2.5); }, {N({4})}},
      {"div_scalar", [](V x) { return div(x[0], 4.0); }, {N({4})}},
      {"rdiv_scalar", [](V x) { return div(3.0, x[0]); }, {U({4}, 0.5, 2)}},
      {"pow_scalar", [](V x) { return pow(x[0], 2.5); }, {U({2, 2}, 0.5, 2)}},
      {"pow_scalar_zero", [](V x) { return pow(x[0], 0.0); }, {N({3})}},
      {"neg", [](V x) { return neg(x[0]); }, {N({3})}},
      {"abs", [](V x) { return abs(x[0]); }, {N({2, 3})}},
      {"relu", [](V x) { return relu(x[0]); }, {N({2, 3})}},
      {"add_relu", [](V x) { return add_relu(x[0], x[1]); }, {N({2, 3}), N({2, 3})}},
      {"add_relu_broadcast", [](V x) { return add_relu(x[0], x[1]); }, {N({2, 1, 3}), N({4, 1})}},
      {"exp", [](V x) { return exp(x[0]); }, {N({2, 3})}},
      {"log", [](V x) { return log(x[0]); }, {U({2, 3}, 0.5, 2)}},
      {"sqrt", [](V x) { return sqrt(x[0]); }, {U({2, 3}, 0.5, 2)}},
      {"rsqrt", [](V x) { return rsqrt(x[0]); }, {U({2, 3}, 0.5, 2)}},
      {"sigmoid", [](V x) { return sigmoid(x[0]); }, {N({2, 3})}},
      {"tanh", [](V x) { return tanh(x[0]); }, {N({2, 3})}},
      {"erf", [](V x) { return erf(x[0]); }, {N({2, 3})}},
      {"clamp", [](V x) { return clamp(x[0], -0.5, 0.5); }, {N({3, 3})}},
      {"clamp_lower_only", [](V x) { return clamp(x[0], 0.0, std::nullopt); }, {N({3, 3})}},
      {"clamp_upper_only", [](V x) { return clamp(x[0], std::nullopt, 0.3); }, {N({3, 3})}},
      {"where", [](V x) { return where(gt(x[0].detach(), 0.0), x[0], x[1]); }, {N({2, 3}), N({3})}},
      // Through float32 and back: inputs and steps of a few bits, so that float32 holds every perturbed
      // value exactly and the finite differences are exact.
      {"to_dtype_float32_and_back",
       [](V x) { return to_dtype(mul(to_dtype(x[0], kFloat32), 3.0), kFloat64); },
       {from_vector<double>({0.125, -1.5, 2.25, 3}).set_requires_grad()},
       true,
       1.0 / 1024},
  };
}

std::vector<OpCase> ReduceOpCases() {
  return {
      {"sum_all", [](V x) { return sum(x[0]); }, {N({2, 3})}},
      {"sum_dims_keepdim", [](V x) { return sum(x[0], {0, 2}, true); }, {N({2, 3, 4})}},
      {"mean", [](V x) { return mean(x[0], {-1}); }, {N({2, 3})}},
      {"var_unbiased", [](V x) { return var(x[0], {1}); }, {N({2, 5})}},
      {"var_biased_all", [](V x) { return var(x[0], {}, 0); }, {N({3, 4})}},
      {"amax", [](V x) { return amax(x[0], {1}); }, {N({3, 4})}},
      {"amin_keepdim", [](V x) { return amin(x[0], {0}, true); }, {N({3, 4})}},
      {"max_dim", [](V x) { return max(x[0], 1).values; }, {N({3, 4})}},
      {"min_dim_keepdim", [](V x) { return min(x[0], 0, true).values; }, {N({3, 4})}},
      {"sum_to", [](V x) { return sum_to(x[0], {3, 1}); }, {N({2, 3, 4})}},
  };
}

std::vector<OpCase> ViewOpCases() {
  return {
      {"view", [](V x) { return view(x[0], {3, 2}); }, {N({2, 3})}},
      {"reshape_noncontiguous", [](V x) { return reshape(transpose(x[0], 0, 1), {6}); }, {N({2, 3})}},
      {"flatten", [](V x) { return flatten(x[0], 1); }, {N({2, 3, 2})}},
      {"permute", [](V x) { return permute(x[0], {2, 0, 1}); }, {N({2, 3, 4})}},
      {"t", [](V x) { return t(x[0]); }, {N({2, 3})}},
      {"narrow", [](V x) { return narrow(x[0], 1, -3, 2); }, {N({2, 4})}},
      {"slice_step", [](V x) { return slice(x[0], 0, 1, 6, 2); }, {N({6, 2})}},
      {"select", [](V x) { return select(x[0], -1, 1); }, {N({2, 3})}},
      {"squeeze", [](V x) { return squeeze(x[0]); }, {N({2, 1, 3})}},
      {"squeeze_dim", [](V x) { return squeeze(x[0], 1); }, {N({2, 1, 3})}},
      {"unsqueeze", [](V x) { return unsqueeze(x[0], 0); }, {N({3})}},
      {"expand", [](V x) { return expand(x[0], {2, 3, 4}); }, {N({3, 1})}},
      {"slice_scatter", [](V x) { return slice_scatter(x[0], x[1], 1, 0, 4, 2); }, {N({3, 4}), N({3, 2})}},
      {"contiguous", [](V x) { return contiguous(t(x[0])); }, {N({2, 3})}},
      {"clone", [](V x) { return clone(x[0]); }, {N({2, 3})}},
  };
}

std::vector<OpCase> LinalgOpCases() {
  return {
      {"matmul", [](V x) { return matmul(x[0], x[1]); }, {N({2, 3}), N({3, 4})}},
      {"matmul_broadcast_batch", [](V x) { return matmul(x[0], x[1]); }, {N({2, 1, 2, 3}), N({3, 3, 2})}},
      {"matmul_vector_matrix", [](V x) { return matmul(x[0], x[1]); }, {N({3}), N({2, 3, 4})}},
      {"matmul_matrix_vector", [](V x) { return matmul(x[0], x[1]); }, {N({2, 3}), N({3})}},
      {"matmul_dot", [](V x) { return matmul(x[0], x[1]); }, {N({3}), N({3})}},
      {"bmm", [](V x) { return bmm(x[0], x[1]); }, {N({2, 2, 3}), N({2, 3, 2})}},
  };
}

std::vector<OpCase> JoinOpCases() {
  return {
      {"cat", [](V x) { return cat({x[0], x[1], x[2]}, 1); }, {N({2, 1}), N({2, 3}), N({2, 2})}},
      {"stack", [](V x) { return stack({x[0], x[1]}, -1); }, {N({2, 3}), N({2, 3})}},
  };
}

const bool kRegistered = RegisterOpCases(ElementwiseOpCases) && RegisterOpCases(ReduceOpCases) &&
                         RegisterOpCases(ViewOpCases) && RegisterOpCases(LinalgOpCases) &&
                         RegisterOpCases(JoinOpCases);

}  // namespace
}  // namespace normgrad::testing
