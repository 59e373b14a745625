#include "core/cuda/blas.h"

#include <array>
#include <climits>
#include <memory>
#include <mutex>
#include <type_traits>

#include "core/cuda/device.h"
#include "core/cuda/elementwise.h"
#include "core/cuda/launch.h"
#include "core/error.h"

namespace normgrad::cuda {
namespace {

// Created on first use per device and never destroyed (the CUDA runtime may be gone at exit).
cublasHandle_t Handle() {
  static std::mutex mutex;
  static std::array<cublasHandle_t, 64> handles{};
  const int device = CurrentDevice();
  NG_CHECK(device < 64, "cuda: expected a device index below 64, got ", device);
  std::lock_guard<std::mutex> lock(mutex);
  if (handles[device] == nullptr) {
    NG_CUBLAS_CHECK(cublasCreate(&handles[device]));
    NG_CUBLAS_CHECK(cublasSetStream(handles[device], nullptr));
  }
  return handles[device];
}

int Int(int64_t v, const char* what) {
  NG_CHECK(v >= 0 && v <= INT_MAX, "cuda::Gemm: expected ", what, " to fit cuBLAS's int, got ", v);
  return static_cast<int>(v);
}

cublasOperation_t Op(bool trans) { return trans ? CUBLAS_OP_T : CUBLAS_OP_N; }

// Row-major C_z = op(A_z) · op(B_z) for int64, one thread per element of C, batch z on the grid's y.
__global__ void GemmInt64Kernel(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const int64_t* a,
                                int64_t lda, int64_t stride_a, const int64_t* b, int64_t ldb, int64_t stride_b,
                                int64_t* c, int64_t ldc, int64_t stride_c) {
  a += blockIdx.y * stride_a;
  b += blockIdx.y * stride_b;
  c += blockIdx.y * stride_c;
  for (int64_t e = GlobalThreadIndex(); e < m * n; e += GridStride()) {
    const int64_t i = e / n, j = e - i * n;
    int64_t sum = 0;
    for (int64_t p = 0; p < k; ++p) {
      sum += (trans_a ? a[p * lda + i] : a[i * lda + p]) * (trans_b ? b[j * ldb + p] : b[p * ldb + j]);
    }
    c[i * ldc + j] = sum;
  }
}

}  // namespace

template <typename T>
void GemmStridedBatched(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda,
                        int64_t stride_a, const T* b, int64_t ldb, int64_t stride_b, T* c, int64_t ldc,
                        int64_t stride_c, int64_t batch) {
  if (m == 0 || n == 0 || batch == 0) return;
  if (k == 0) {  // nothing to multiply: C = 0 (cuBLAS would also want leading dimensions of at least 1)
    cuda::Fill(DTypeOf<T>(), Shape{batch, m, n}, cpu::Operand{c, {stride_c, ldc, 1}}, 0.0);
    return;
  }
  if constexpr (std::is_same_v<T, int64_t>) {
    for (int64_t z0 = 0; z0 < batch; z0 += 65535) {
      const int64_t chunk = std::min<int64_t>(65535, batch - z0);
      // About one device-filling grid over the whole batch.
      const unsigned int blocks = std::max<unsigned int>(1, GridSize(m * n * chunk) / static_cast<unsigned int>(chunk));
      Launch<GemmInt64Kernel>(dim3(blocks, chunk), kBlockSize, trans_a, trans_b, m, n, k, a + z0 * stride_a, lda,
                              stride_a, b + z0 * stride_b, ldb, stride_b, c + z0 * stride_c, ldc, stride_c);
    }
  } else {
    // Column-major, cuBLAS computes C^T = op(B)^T · op(A)^T: the operands swap places.
    const T one = 1, zero = 0;
    const int mi = Int(m, "m"), ni = Int(n, "n"), ki = Int(k, "k");
    const int lda_i = Int(lda, "lda"), ldb_i = Int(ldb, "ldb");
    const int ldc_i = Int(ldc, "ldc");
    for (int64_t z0 = 0; z0 < batch; z0 += INT_MAX) {
      const int chunk = static_cast<int>(std::min<int64_t>(INT_MAX, batch - z0));
      if constexpr (std::is_same_v<T, float>) {
        NG_CUBLAS_CHECK(cublasSgemmStridedBatched(Handle(), Op(trans_b), Op(trans_a), ni, mi, ki, &one,
                                                  b + z0 * stride_b, ldb_i, stride_b, a + z0 * stride_a, lda_i,
                                                  stride_a, &zero, c + z0 * stride_c, ldc_i, stride_c, chunk));
      } else {
        NG_CUBLAS_CHECK(cublasDgemmStridedBatched(Handle(), Op(trans_b), Op(trans_a), ni, mi, ki, &one,
                                                  b + z0 * stride_b, ldb_i, stride_b, a + z0 * stride_a, lda_i,
                                                  stride_a, &zero, c + z0 * stride_c, ldc_i, stride_c, chunk));
      }
    }
  }
}

template <typename T>
void Gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b,
          int64_t ldb, T* c, int64_t ldc) {
  GemmStridedBatched<T>(trans_a, trans_b, m, n, k, a, lda, 0, b, ldb, 0, c, ldc, 0, 1);
}

template <typename T>
void GemmBatched(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a,
                 std::span<const int64_t> a_offsets, int64_t lda, const T* b, std::span<const int64_t> b_offsets,
                 int64_t ldb, T* c, int64_t c_batch_stride, int64_t ldc) {
  const int64_t batch = static_cast<int64_t>(a_offsets.size());
  if (batch == 0) return;
  auto even = [](std::span<const int64_t> offsets) {
    for (size_t i = 2; i < offsets.size(); ++i) {
      if (offsets[i] - offsets[i - 1] != offsets[1] - offsets[0]) return false;
    }
    return true;
  };
  if (even(a_offsets) && even(b_offsets)) {
    const int64_t sa = batch > 1 ? a_offsets[1] - a_offsets[0] : 0, sb = batch > 1 ? b_offsets[1] - b_offsets[0] : 0;
    GemmStridedBatched<T>(trans_a, trans_b, m, n, k, a + a_offsets[0], lda, sa, b + b_offsets[0], ldb, sb, c, ldc,
                          c_batch_stride, batch);
    return;
  }
  for (int64_t i = 0; i < batch; ++i) {
    Gemm<T>(trans_a, trans_b, m, n, k, a + a_offsets[i], lda, b + b_offsets[i], ldb, c + i * c_batch_stride, ldc);
  }
}

#define NORMGRAD_INSTANTIATE_GEMM(T)                                                                            \
  template void Gemm<T>(bool, bool, int64_t, int64_t, int64_t, const T*, int64_t, const T*, int64_t, T*,      \
                        int64_t);                                                                             \
  template void GemmBatched<T>(bool, bool, int64_t, int64_t, int64_t, const T*, std::span<const int64_t>,      \
                               int64_t, const T*, std::span<const int64_t>, int64_t, T*, int64_t, int64_t);   \
  template void GemmStridedBatched<T>(bool, bool, int64_t, int64_t, int64_t, const T*, int64_t, int64_t,       \
                                      const T*, int64_t, int64_t, T*, int64_t, int64_t, int64_t);
NORMGRAD_INSTANTIATE_GEMM(float)
NORMGRAD_INSTANTIATE_GEMM(double)
NORMGRAD_INSTANTIATE_GEMM(int64_t)
#undef NORMGRAD_INSTANTIATE_GEMM

}  // namespace normgrad::cuda
