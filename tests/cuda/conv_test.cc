// CPU/CUDA parity of conv2d and its backward products (core/kernels/conv.h): im2col/col2im kernels and
// cuBLAS (OpenBLAS on the emulator) against the CPU's kernels, over strides, padding, dilation, groups,
// bias, odd sizes, and a ResNet-20 layer.

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "core/kernels/conv.h"
#include "tests/cuda/cuda_test.h"
#include "tests/testing/direct_convolutions.h"

namespace normgrad {
namespace {

using testing::CudaTest;
using testing::ExpectClose;
using testing::RandomCpu;
using testing::ToCuda;

class CudaConv : public CudaTest {};

struct Case {
  Shape input, weight;
  Conv2dFuncOptions options;
  bool bias;
};

TEST_F(CudaConv, ForwardAndBackwardMatchTheCpu) {
  // The CPU side with its direct kernels, whose rounding the tolerances below assume (a ResNet layer would
  // otherwise take Winograd there).
  const testing::DirectConvolutions direct;
  const std::vector<Case> cases = {
      {{2, 3, 9, 7}, {5, 3, 3, 3}, {}, true},
      {{3, 4, 11, 10}, {6, 4, 3, 2}, {.stride = {2, 3}, .padding = {1, 2}}, false},
      {{1, 6, 8, 8}, {4, 3, 3, 3}, {.stride = {1, 1}, .padding = {2, 2}, .dilation = {2, 2}, .groups = 2}, true},
      {{2, 4, 5, 5}, {4, 1, 3, 3}, {.padding = {1, 1}, .groups = 4}, false},  // depthwise
      {{8, 16, 32, 32}, {16, 16, 3, 3}, {.padding = {1, 1}}, false},           // a ResNet-20 layer
      {{4, 16, 32, 32}, {32, 16, 1, 1}, {.stride = {2, 2}}, false},            // its 1x1 downsampling shortcut
  };
  for (DType dtype : {kFloat32, kFloat64}) {
    for (const Case& c : cases) {
      const std::string what = ShapeToString(c.input) + " * " + ShapeToString(c.weight) + " " + DTypeName(dtype);
      const Tensor x = RandomCpu(c.input, 1, dtype), w = RandomCpu(c.weight, 2, dtype);
      const Tensor b = c.bias ? RandomCpu({c.weight[0]}, 3, dtype) : Tensor();
      const Tensor y = kernels::conv2d(x, w, b, c.options);
      const Tensor yd = kernels::conv2d(ToCuda(x), ToCuda(w), c.bias ? ToCuda(b) : Tensor(), c.options);
      // Each result is a sum of `terms` products of unit normals, of magnitude about sqrt(terms); the two
      // devices add in different orders, so their rounding differs by a few ulps of that magnitude, not of
      // the result, which can cancel to near zero.
      const double rtol = dtype == kFloat32 ? 1e-5 : 1e-12;
      auto atol = [&](int64_t terms) { return rtol * std::sqrt(static_cast<double>(terms)); };
      const int64_t taps = c.weight[2] * c.weight[3], groups = c.options.groups;
      ExpectClose(yd, y, rtol, atol(c.weight[1] * taps), "conv2d " + what);
      const Tensor dy = RandomCpu(y.shape(), 4, dtype);
      ExpectClose(kernels::conv2d_backward_input(ToCuda(dy), ToCuda(w), c.input, c.options),
                  kernels::conv2d_backward_input(dy, w, c.input, c.options), rtol, atol(c.weight[0] / groups * taps),
                  "backward input " + what);
      // Added to a gradient already there (a residual block's input): the CPU's sum, on both devices.
      const Tensor partial = RandomCpu(c.input, 5, dtype), partial_d = ToCuda(partial);
      kernels::conv2d_backward_input_add_(partial, dy, w, c.options);
      kernels::conv2d_backward_input_add_(partial_d, ToCuda(dy), ToCuda(w), c.options);
      ExpectClose(partial_d, partial, rtol, atol(c.weight[0] / groups * taps), "backward input added " + what);
      // Weight gradients sum over every output position of every image.
      ExpectClose(kernels::conv2d_backward_weight(ToCuda(dy), ToCuda(x), c.weight, c.options),
                  kernels::conv2d_backward_weight(dy, x, c.weight, c.options), rtol,
                  atol(y.size(0) * y.size(2) * y.size(3)), "backward weight " + what);
    }
  }
}

TEST_F(CudaConv, MixingDevicesIsAnError) {
  testing::ExpectError([] { kernels::conv2d(ToCuda(ones({1, 1, 3, 3})), ones({1, 1, 1, 1}), Tensor(), {}); },
                           "conv2d: expected input and weight on the same device, got cuda:0 and cpu");
  testing::ExpectError(
      [] {
        kernels::conv2d_backward_input_add_(zeros({1, 1, 3, 3}), ToCuda(ones({1, 1, 3, 3})),
                                            ToCuda(ones({1, 1, 1, 1})), {});
      },
      "conv2d_backward_input_add_: expected grad_input and weight on the same device, got cpu and cuda:0");
}

}  // namespace
}  // namespace normgrad
