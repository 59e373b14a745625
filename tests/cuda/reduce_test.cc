// CPU/CUDA parity of the reductions (core/kernels/reduce.h): sum, mean, var, amax, amin, max/min with
// indices, argmax/argmin, over shapes that take both the thread-per-output and the block-per-output
// kernels, strided inputs, ties and NaN.

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/kernels/elementwise.h"
#include "core/kernels/reduce.h"
#include "core/kernels/view.h"
#include "tests/cuda/cuda_test.h"

namespace normgrad {
namespace {

using testing::CudaTest;
using testing::ExpectClose;
using testing::RandomCpu;
using testing::ToCuda;

class CudaReduce : public CudaTest {};

double Rtol(DType dtype) { return dtype == kFloat32 ? 1e-6 : 1e-12; }

struct DimsCase {
  Shape shape;
  std::vector<int64_t> dims;
  bool keepdim;
};

// Short reductions ([.., 3]), long ones with few outputs (block kernel), everything at once, and many
// outputs with a moderate reduction (thread per output).
const std::vector<DimsCase>& Cases() {
  static const std::vector<DimsCase> cases = {
      {{37, 45, 3}, {1}, false}, {{37, 45, 3}, {2}, true},    {{37, 45, 3}, {0, 2}, false},
      {{37, 45, 3}, {}, false},  {{5, 1, 7}, {1}, true},      {{70001, 40}, {1}, false},
      {{3, 2000}, {-1}, false},  {{2, 3, 4, 5}, {0, 3}, true},
  };
  return cases;
}

TEST_F(CudaReduce, SumMeanVarMatchTheCpu) {
  for (const DimsCase& c : Cases()) {
    for (DType dtype : {kFloat32, kFloat64}) {
      const Tensor x = RandomCpu(c.shape, 1, dtype, 0.5, 2);
      const Tensor xd = ToCuda(x);
      const std::string what = ShapeToString(c.shape) + " dims " + ShapeToString(c.dims) + " " + DTypeName(dtype);
      ExpectClose(kernels::sum(xd, c.dims, c.keepdim), kernels::sum(x, c.dims, c.keepdim), Rtol(dtype), 1e-6,
                  "sum " + what);
      ExpectClose(kernels::mean(xd, c.dims, c.keepdim), kernels::mean(x, c.dims, c.keepdim), Rtol(dtype), 1e-7,
                  "mean " + what);
      for (double correction : {0.0, 1.0}) {
        ExpectClose(kernels::var(xd, c.dims, correction, c.keepdim), kernels::var(x, c.dims, correction, c.keepdim),
                    Rtol(dtype) * 10, 0, "var " + what);
      }
    }
  }
}

TEST_F(CudaReduce, IntegerSumsAreExact) {
  const Tensor x = kernels::to_dtype(RandomCpu({33, 65}, 2, kFloat64, 0, 1e6), kInt64);
  ExpectClose(kernels::sum(ToCuda(x), {0}), kernels::sum(x, {0}), 0, 0, "int64 sum dim 0");
  ExpectClose(kernels::sum(ToCuda(x)), kernels::sum(x), 0, 0, "int64 sum");
}

TEST_F(CudaReduce, StridedInputsReduceLikeContiguousOnes) {
  const Tensor x = RandomCpu({40, 50}, 3);
  const Tensor xt = kernels::transpose(x, 0, 1), xdt = kernels::transpose(ToCuda(x), 0, 1);
  ExpectClose(kernels::sum(xdt, {1}), kernels::sum(xt, {1}), 1e-6, 1e-6, "sum of a transpose");
  ExpectClose(kernels::var(kernels::slice(xdt, 0, 1, 50, 3), {0}), kernels::var(kernels::slice(xt, 0, 1, 50, 3), {0}),
              1e-5, 0, "var of a strided slice");
  const Tensor bias = RandomCpu({7}, 4);
  ExpectClose(kernels::sum(kernels::expand(ToCuda(bias), {9, 7}), {0}), kernels::sum(kernels::expand(bias, {9, 7}), {0}),
              1e-6, 0, "sum of an expanded (stride-0) input");
}

TEST_F(CudaReduce, EmptyReductions) {
  const Tensor x = zeros({4, 0, 3});
  ExpectClose(kernels::sum(ToCuda(x), {1}), kernels::sum(x, {1}), 0, 0, "sum over an empty dim");
  ExpectClose(kernels::mean(ToCuda(x), {1}), kernels::mean(x, {1}), 0, 0, "mean over an empty dim (NaN)");
  EXPECT_EQ(kernels::sum(ToCuda(x), {0}).numel(), 0);
}

TEST_F(CudaReduce, ExtremesPropagateNanAndPickTheFirstOnTies) {
  for (const DimsCase& c : Cases()) {
    // Few distinct values, so that ties are common.
    const Tensor x = kernels::to_dtype(kernels::to_dtype(RandomCpu(c.shape, 5, kFloat64, 0, 2), kInt64), kFloat32);
    const Tensor xd = ToCuda(x);
    const std::string what = ShapeToString(c.shape) + " dims " + ShapeToString(c.dims);
    ExpectClose(kernels::amax(xd, c.dims, c.keepdim), kernels::amax(x, c.dims, c.keepdim), 0, 0, "amax " + what);
    ExpectClose(kernels::amin(xd, c.dims, c.keepdim), kernels::amin(x, c.dims, c.keepdim), 0, 0, "amin " + what);
    for (int64_t dim = 0; dim < x.dim(); ++dim) {
      const kernels::ValuesIndices got = kernels::max(xd, dim, c.keepdim), want = kernels::max(x, dim, c.keepdim);
      ExpectClose(got.values, want.values, 0, 0, "max values " + what);
      ExpectClose(got.indices, want.indices, 0, 0, "max indices " + what);
      ExpectClose(kernels::argmin(xd, dim), kernels::argmin(x, dim), 0, 0, "argmin " + what);
    }
  }
  const Tensor with_nan = from_vector<double>({1, NAN, 5, NAN, -2, 5}, {2, 3});
  const Tensor d = ToCuda(with_nan);
  ExpectClose(kernels::amax(d, {1}), kernels::amax(with_nan, {1}), 0, 0, "amax with NaN");
  ExpectClose(kernels::amin(d, {0}), kernels::amin(with_nan, {0}), 0, 0, "amin with NaN");
  ExpectClose(kernels::argmax(d), kernels::argmax(with_nan), 0, 0, "argmax with NaN");
  ExpectClose(kernels::argmin(d, 1), kernels::argmin(with_nan, 1), 0, 0, "argmin with NaN");
  ExpectClose(kernels::max(d, 0).indices, kernels::max(with_nan, 0).indices, 0, 0, "max indices with NaN");
  // Rows of infinities: the extreme is the infinity itself, not the largest finite value.
  const Tensor infinite = from_vector<float>({-INFINITY, -INFINITY, INFINITY, INFINITY}, {2, 2});
  const Tensor di = ToCuda(infinite);
  ExpectClose(kernels::amax(di, {1}), kernels::amax(infinite, {1}), 0, 0, "amax of -inf rows");
  ExpectClose(kernels::amin(di, {1}), kernels::amin(infinite, {1}), 0, 0, "amin of inf rows");
}

TEST_F(CudaReduce, FlatArgExtremesOfLargeAndStridedInputs) {
  const Tensor x = RandomCpu({301, 257}, 6);
  ExpectClose(kernels::argmax(ToCuda(x)), kernels::argmax(x), 0, 0, "argmax");
  const Tensor xt = kernels::transpose(x, 0, 1);
  ExpectClose(kernels::argmin(kernels::transpose(ToCuda(x), 0, 1)), kernels::argmin(xt), 0, 0, "argmin strided");
  const Tensor i = kernels::to_dtype(kernels::mul(x, 10.0), kInt64);
  ExpectClose(kernels::argmax(ToCuda(i), 0), kernels::argmax(i, 0), 0, 0, "int64 argmax");
}

}  // namespace
}  // namespace normgrad
