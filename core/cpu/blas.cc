#include "core/cpu/blas.h"

#include <cblas.h>

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/parallel.h"

namespace normgrad::cpu {
namespace {

// Below this many flops per product, one product gains little from OpenBLAS's threads, and running
// whole products on separate threads wins (about a 100 x 100 x 100 product).
constexpr double kSmallGemmFlops = 2e6;
// Flops worth handing to a thread of ParallelFor.
constexpr double kGrainFlops = 2e5;

CBLAS_TRANSPOSE Trans(bool t) { return t ? CblasTrans : CblasNoTrans; }

// C = 0: with k = 0 there is nothing to multiply, and BLAS wants leading dimensions of at least 1.
template <typename T>
bool ZeroInner(int64_t m, int64_t n, int64_t k, T* c, int64_t ldc) {
  if (k != 0) return false;
  for (int64_t i = 0; i < m; ++i) std::fill_n(c + i * ldc, n, T(0));
  return true;
}

}  // namespace

template <>
void Gemm<float>(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                 const float* b, int64_t ldb, float* c, int64_t ldc) {
  if (m == 0 || n == 0 || ZeroInner(m, n, k, c, ldc)) return;
  cblas_sgemm(CblasRowMajor, Trans(trans_a), Trans(trans_b), m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
}

template <>
void Gemm<double>(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const double* a, int64_t lda,
                  const double* b, int64_t ldb, double* c, int64_t ldc) {
  if (m == 0 || n == 0 || ZeroInner(m, n, k, c, ldc)) return;
  cblas_dgemm(CblasRowMajor, Trans(trans_a), Trans(trans_b), m, n, k, 1.0, a, lda, b, ldb, 0.0, c, ldc);
}

template <>
void Gemm<int64_t>(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const int64_t* a, int64_t lda,
                   const int64_t* b, int64_t ldb, int64_t* c, int64_t ldc) {
  const int64_t a_row = trans_a ? 1 : lda, a_col = trans_a ? lda : 1;
  const int64_t b_row = trans_b ? 1 : ldb, b_col = trans_b ? ldb : 1;
  for (int64_t i = 0; i < m; ++i) {
    int64_t* c_row = c + i * ldc;
    std::fill_n(c_row, n, 0);
    for (int64_t p = 0; p < k; ++p) {
      const int64_t av = a[i * a_row + p * a_col];
      for (int64_t j = 0; j < n; ++j) c_row[j] += av * b[p * b_row + j * b_col];
    }
  }
}

template <typename T>
void GemmBatched(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a,
                 std::span<const int64_t> a_offsets, int64_t lda, const T* b,
                 std::span<const int64_t> b_offsets, int64_t ldb, T* c, int64_t c_batch_stride, int64_t ldc) {
  const int64_t batch = static_cast<int64_t>(a_offsets.size());
  NG_CHECK(b_offsets.size() == a_offsets.size(), "GemmBatched: expected as many offsets for B as for A, got ",
           b_offsets.size(), " and ", a_offsets.size());
  auto run = [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      Gemm<T>(trans_a, trans_b, m, n, k, a + a_offsets[i], lda, b + b_offsets[i], ldb, c + i * c_batch_stride,
              ldc);
    }
  };
  const double flops = 2.0 * static_cast<double>(m) * n * std::max<int64_t>(k, 1);
  if (batch > 1 && GetNumThreads() > 1 && !InParallelRegion() && flops < kSmallGemmFlops) {
    SingleThreadedBlas single;
    ParallelFor(0, batch, std::max<int64_t>(1, static_cast<int64_t>(kGrainFlops / flops)), run);
  } else {
    run(0, batch);
  }
}

template void GemmBatched<float>(bool, bool, int64_t, int64_t, int64_t, const float*,
                                 std::span<const int64_t>, int64_t, const float*, std::span<const int64_t>,
                                 int64_t, float*, int64_t, int64_t);
template void GemmBatched<double>(bool, bool, int64_t, int64_t, int64_t, const double*,
                                  std::span<const int64_t>, int64_t, const double*, std::span<const int64_t>,
                                  int64_t, double*, int64_t, int64_t);
template void GemmBatched<int64_t>(bool, bool, int64_t, int64_t, int64_t, const int64_t*,
                                   std::span<const int64_t>, int64_t, const int64_t*,
                                   std::span<const int64_t>, int64_t, int64_t*, int64_t, int64_t);

}  // namespace normgrad::cpu
