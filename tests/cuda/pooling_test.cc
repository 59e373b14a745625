// CPU/CUDA parity of 2-d pooling (core/kernels/pooling.h): max (values, indices and the routed gradient),
// average with padding, adaptive average (ResNet's global pooling included), forward and backward.

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "core/kernels/elementwise.h"
#include "core/kernels/pooling.h"
#include "tests/cuda/cuda_test.h"

namespace normgrad {
namespace {

using testing::CudaTest;
using testing::ExpectClose;
using testing::RandomCpu;
using testing::ToCuda;

class CudaPooling : public CudaTest {};

TEST_F(CudaPooling, MaxAndAveragePoolingMatchTheCpu) {
  struct Case {
    Shape input;
    Pool2dFuncOptions options;
  };
  const std::vector<Case> cases = {
      {{2, 3, 9, 7}, {.kernel_size = {2, 2}}},
      {{1, 4, 11, 10}, {.kernel_size = {3, 3}, .stride = std::array<int64_t, 2>{2, 2}, .padding = {1, 1}}},
      {{3, 5, 8}, {.kernel_size = {3, 2}, .stride = std::array<int64_t, 2>{1, 3}, .padding = {1, 0}}},  // [C, H, W]
      {{2, 2, 6, 6}, {.kernel_size = {2, 2}, .stride = std::array<int64_t, 2>{3, 3}}},  // gaps between windows
      // ceil_mode's partial last windows, and averages over the input positions only.
      {{2, 3, 8, 7}, {.kernel_size = {3, 3}, .stride = std::array<int64_t, 2>{2, 2}, .ceil_mode = true}},
      {{1, 2, 7, 6},
       {.kernel_size = {3, 2}, .stride = std::array<int64_t, 2>{2, 3}, .padding = {1, 1}, .ceil_mode = true}},
  };
  for (DType dtype : {kFloat32, kFloat64}) {
    for (const Case& c : cases) {
      const std::string what = ShapeToString(c.input) + " " + DTypeName(dtype);
      // Rounded values, so that windows have ties.
      const Tensor x = kernels::to_dtype(kernels::to_dtype(RandomCpu(c.input, 1, kFloat64, 0, 3), kInt64), dtype);
      const kernels::MaxPool2dResult cpu = kernels::max_pool2d(x, c.options);
      const kernels::MaxPool2dResult dev = kernels::max_pool2d(ToCuda(x), c.options);
      ExpectClose(dev.output, cpu.output, 0, 0, "max_pool2d " + what);
      ExpectClose(dev.indices, cpu.indices, 0, 0, "max_pool2d indices " + what);
      const Tensor dy = RandomCpu(cpu.output.shape(), 2, dtype);
      // Overlapping windows share maxima, whose gradients both devices add in output order: bit for bit.
      ExpectClose(kernels::max_pool2d_backward(ToCuda(dy), dev.indices, c.input, c.options),
                  kernels::max_pool2d_backward(dy, cpu.indices, c.input, c.options), 0, 0,
                  "max_pool2d_backward " + what);
      const Tensor avg = kernels::avg_pool2d(x, c.options);
      ExpectClose(kernels::avg_pool2d(ToCuda(x), c.options), avg, 0, 0, "avg_pool2d " + what);
      ExpectClose(kernels::avg_pool2d_backward(ToCuda(dy), c.input, c.options),
                  kernels::avg_pool2d_backward(dy, c.input, c.options), 0, 0, "avg_pool2d_backward " + what);
      Pool2dFuncOptions exclude = c.options;
      exclude.count_include_pad = false;
      ExpectClose(kernels::avg_pool2d(ToCuda(x), exclude), kernels::avg_pool2d(x, exclude), 0, 0,
                  "avg_pool2d without padding " + what);
      ExpectClose(kernels::avg_pool2d_backward(ToCuda(dy), c.input, exclude),
                  kernels::avg_pool2d_backward(dy, c.input, exclude), 0, 0, "avg_pool2d_backward without padding " + what);
    }
  }
}

TEST_F(CudaPooling, MaxPoolingPropagatesNan) {
  const Tensor x = from_vector<float>({1, NAN, 3, 4, 5, 6, NAN, 8, 9}, {1, 3, 3});
  const Pool2dFuncOptions o{.kernel_size = {2, 2}, .stride = std::array<int64_t, 2>{1, 1}};
  ExpectClose(kernels::max_pool2d(ToCuda(x), o).output, kernels::max_pool2d(x, o).output, 0, 0, "values");
  ExpectClose(kernels::max_pool2d(ToCuda(x), o).indices, kernels::max_pool2d(x, o).indices, 0, 0, "indices");
}

TEST_F(CudaPooling, AdaptiveAveragePoolingMatchesTheCpu) {
  struct Case {
    Shape input;
    std::array<int64_t, 2> output_size;
  };
  const std::vector<Case> cases = {
      {{4, 64, 8, 8}, {1, 1}},  // ResNet-20's global average pooling
      {{2, 3, 10, 7}, {3, 4}},  // overlapping windows
      {{1, 2, 3, 5}, {7, 6}},   // more outputs than inputs
  };
  for (DType dtype : {kFloat32, kFloat64}) {
    for (const Case& c : cases) {
      const std::string what = ShapeToString(c.input) + " -> " + ShapeToString({c.output_size[0], c.output_size[1]});
      const Tensor x = RandomCpu(c.input, 3, dtype);
      const Tensor y = kernels::adaptive_avg_pool2d(x, c.output_size);
      ExpectClose(kernels::adaptive_avg_pool2d(ToCuda(x), c.output_size), y, 0, 0, "adaptive_avg_pool2d " + what);
      const Tensor dy = RandomCpu(y.shape(), 4, dtype);
      ExpectClose(kernels::adaptive_avg_pool2d_backward(ToCuda(dy), c.input),
                  kernels::adaptive_avg_pool2d_backward(dy, c.input), 0, 0, "adaptive backward " + what);
    }
  }
}

}  // namespace
}  // namespace normgrad
