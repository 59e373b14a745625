#ifndef NORMGRAD_CORE_CUDA_BLAS_H_
#define NORMGRAD_CORE_CUDA_BLAS_H_

// Matrix products on a CUDA device, the counterparts of core/cpu/blas.h with the same row-major
// arguments (device pointers): cuBLAS for float and double (its column-major call computes C^T =
// op(B)^T op(A)^T, which is the row-major product), a plain exact kernel for int64. One cuBLAS handle per
// device, on the default stream. Sizes and leading dimensions must fit cuBLAS's int.

#include <cstdint>
#include <span>

namespace normgrad::cuda {

// C = op(A) · op(B), overwriting C (see cpu::Gemm).
template <typename T>
void Gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b,
          int64_t ldb, T* c, int64_t ldc);

// `batch` products C_i = op(A_i) · op(B_i) with A_i = a + a_offsets[i], B_i = b + b_offsets[i],
// C_i = c + i * c_batch_stride (see cpu::GemmBatched). Evenly spaced offsets make one strided-batched
// cuBLAS call; others one call per product.
template <typename T>
void GemmBatched(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a,
                 std::span<const int64_t> a_offsets, int64_t lda, const T* b, std::span<const int64_t> b_offsets,
                 int64_t ldb, T* c, int64_t c_batch_stride, int64_t ldc);

// `batch` products whose operands are evenly spaced: A_i = a + i * stride_a (stride 0 repeats one
// matrix), likewise B_i and C_i.
template <typename T>
void GemmStridedBatched(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda,
                        int64_t stride_a, const T* b, int64_t ldb, int64_t stride_b, T* c, int64_t ldc,
                        int64_t stride_c, int64_t batch);

}  // namespace normgrad::cuda

#endif  // NORMGRAD_CORE_CUDA_BLAS_H_
