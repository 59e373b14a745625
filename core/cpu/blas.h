#ifndef NORMGRAD_CORE_CPU_BLAS_H_
#define NORMGRAD_CORE_CPU_BLAS_H_

#include <cstdint>
#include <span>

namespace normgrad::cpu {

// One row-major matrix product C = op(A) · op(B), overwriting C:
//   op(A) is m x k: A itself (m rows of lda elements) or, with trans_a, the transpose of a k x m matrix
//   (k rows of lda elements); likewise op(B) is k x n; C is m rows of ldc elements.
// lda >= max(1, columns of the stored matrix), and so on, as in BLAS. k may be 0 (C becomes zeros).
// float and double go to OpenBLAS (sgemm/dgemm); int64_t is a plain triple loop (exact, not fast: integer
// matrix products are rare in training and BLAS has none).
template <typename T>
void Gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b,
          int64_t ldb, T* c, int64_t ldc);

// `batch` products with the same geometry: C_i = op(A_i) · op(B_i) where A_i = a + a_offsets[i],
// B_i = b + b_offsets[i], C_i = c + i * c_batch_stride (offsets in elements; broadcast operands simply
// repeat an offset). A large batch of small products runs over ParallelFor with OpenBLAS held at one
// thread meanwhile (a SingleThreadedBlas scope); otherwise the products run one at a time, each on
// OpenBLAS's threads.
template <typename T>
void GemmBatched(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a,
                 std::span<const int64_t> a_offsets, int64_t lda, const T* b,
                 std::span<const int64_t> b_offsets, int64_t ldb, T* c, int64_t c_batch_stride, int64_t ldc);

}  // namespace normgrad::cpu

#endif  // NORMGRAD_CORE_CPU_BLAS_H_
