// Gradient-check cases for nn/functional's pad, in each mode (first and second order).
#include "autograd/ops.h"
#include "core/random.h"
#include "nn/functional/padding.h"
#include "tests/autograd/op_list.h"

namespace normgrad::testing {
namespace {

namespace F = nn::functional;
using F::PadMode;
using V = const std::vector<Tensor>&;

Tensor N(const Shape& shape) {
  static Generator gen(91);
  return randn(shape, {.dtype = kFloat64}, &gen).set_requires_grad(true);
}

std::vector<OpCase> PaddingOpCases() {
  return {
      {"pad_constant", [](V x) { return F::pad(x[0], {1, 2, -1, 1}, PadMode::kConstant, 0.5); }, {N({2, 3, 4})}},
      {"pad_reflect", [](V x) { return F::pad(x[0], {2, 1, 1, 2}, PadMode::kReflect); }, {N({1, 2, 3, 4})}},
      {"pad_replicate", [](V x) { return F::pad(x[0], {3, 0}, PadMode::kReplicate); }, {N({2, 2, 3})}},
      {"pad_circular", [](V x) { return F::pad(x[0], {1, 1, 0, 2, 2, 1}, PadMode::kCircular); },
       {N({1, 1, 2, 3, 3})}},
      // Negative sizes crop (before the circular padding, after the reflection).
      {"pad_reflect_cropping", [](V x) { return F::pad(x[0], {3, -2, -1, 1}, PadMode::kReflect); }, {N({1, 2, 3, 5})}},
      {"pad_circular_cropping", [](V x) { return F::pad(x[0], {-1, 2}, PadMode::kCircular); }, {N({2, 2, 4})}},
  };
}

const bool kRegistered = RegisterOpCases(PaddingOpCases);

}  // namespace
}  // namespace normgrad::testing
