// CPU/CUDA parity of matmul and bmm (core/kernels/linalg.h): cuBLAS (OpenBLAS on the emulator) for
// float32 and float64, the plain kernel for int64, over transposed, sliced and broadcast operands.

#include <gtest/gtest.h>

#include <string>

#include "core/cuda/blas.h"
#include "core/kernels/elementwise.h"
#include "core/kernels/linalg.h"
#include "core/kernels/view.h"
#include "tests/cuda/cuda_test.h"

namespace normgrad {
namespace {

using testing::CudaTest;
using testing::ExpectClose;
using testing::RandomCpu;
using testing::ToCuda;

class CudaMatmul : public CudaTest {};

double Rtol(DType dtype) { return dtype == kFloat32 ? 1e-5 : 1e-12; }

TEST_F(CudaMatmul, ProductsMatchTheCpu) {
  struct Case {
    Shape a, b;
    bool transpose_a = false, transpose_b = false;
  };
  const std::vector<Case> cases = {
      {{7}, {7}},                    {{5, 7}, {7}},          {{7}, {7, 3}},
      {{33, 17}, {17, 9}},           {{17, 33}, {9, 17}, true, true},
      {{4, 5, 6}, {6, 3}},           {{2, 1, 5, 6}, {3, 6, 2}},  // batch broadcasting
      {{3, 4, 0}, {3, 0, 5}},        // an empty inner dimension gives zeros
  };
  for (DType dtype : {kFloat32, kFloat64, kInt64}) {
    for (const Case& c : cases) {
      Tensor a = kernels::to_dtype(RandomCpu(c.a, 1, kFloat64, 0, 5), dtype);
      Tensor b = kernels::to_dtype(RandomCpu(c.b, 2, kFloat64, 0, 5), dtype);
      Tensor ad = ToCuda(a), bd = ToCuda(b);
      if (c.transpose_a) {
        a = kernels::transpose(a, -1, -2);
        ad = kernels::transpose(ad, -1, -2);
      }
      if (c.transpose_b) {
        b = kernels::transpose(b, -1, -2);
        bd = kernels::transpose(bd, -1, -2);
      }
      const std::string what = ShapeToString(a.shape()) + " x " + ShapeToString(b.shape()) + " " + DTypeName(dtype);
      ExpectClose(kernels::matmul(ad, bd), kernels::matmul(a, b), Rtol(dtype), 1e-5, what);
    }
  }
}

TEST_F(CudaMatmul, BmmAndRowSlicedOperands) {
  const Tensor a = RandomCpu({3, 8, 5}, 3), b = RandomCpu({3, 5, 6}, 4);
  ExpectClose(kernels::bmm(ToCuda(a), ToCuda(b)), kernels::bmm(a, b), 1e-5, 1e-6, "bmm");
  // A Linear layer on [B, T, features]: one product with B * T rows, and a row-sliced weight.
  const Tensor x = RandomCpu({4, 6, 10}, 5), w = RandomCpu({12, 10}, 6);
  const Tensor ws = kernels::slice(kernels::transpose(w, 0, 1), 1, 2, 9);
  const Tensor wsd = kernels::slice(kernels::transpose(ToCuda(w), 0, 1), 1, 2, 9);
  ExpectClose(kernels::matmul(ToCuda(x), wsd), kernels::matmul(x, ws), 1e-5, 1e-6, "linear");
  // Batch offsets that are not evenly spaced: one product per matrix.
  const Tensor stacked = RandomCpu({5, 4, 3}, 7);
  const Tensor picked = kernels::expand(kernels::unsqueeze(kernels::select(stacked, 0, 1), 0), {2, 4, 3});
  ExpectClose(kernels::bmm(ToCuda(RandomCpu({2, 2, 4}, 8)), ToCuda(picked)),
              kernels::bmm(RandomCpu({2, 2, 4}, 8), picked), 1e-5, 1e-6, "expanded batch");
}

TEST_F(CudaMatmul, MixingDevicesIsAnError) {
  testing::ExpectError([] { kernels::matmul(ones({2, 2}), ToCuda(ones({2, 2}))); },
                           "matmul: expected tensors on the same device, got cpu and cuda:0");
}

}  // namespace
}  // namespace normgrad
