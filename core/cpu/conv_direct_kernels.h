#ifndef NORMGRAD_CORE_CPU_CONV_DIRECT_KERNELS_H_
#define NORMGRAD_CORE_CPU_CONV_DIRECT_KERNELS_H_

// The vectorized inner loops of the direct float32 convolution (conv_direct.cc drives them). They are
// compiled twice from conv_direct_kernels_impl.h: for AVX2 + FMA (the build's baseline, 8 floats per
// vector) and for AVX-512 (16 floats per vector, selected at run time where the CPU has it).

#include <cstdint>

namespace normgrad::cpu {

// out[m, j] = init[m] + sum_k a[m, k] * buf[koff[k] + j]   for m < rows, j < cols
// a is packed in blocks of `rows_per_block` rows: element (m, k) at a[(m / R) * R * k_count + k * R + m % R]
// (rows past `rows` in the last block are zero). init may be null (zero); with accumulate, the sum is added
// to out instead (init unused). Only the row blocks
// [block_begin, block_end) are computed, so that threads can split a product. A product narrower than
// max_tile_cols reads buf up to max_tile_cols floats past koff[k], which must stay readable.
struct DirectGemmTask {
  const float* a;
  int64_t rows, k_count;
  const int64_t* koff;
  const float* buf;
  int64_t cols;
  const float* init;
  float* out;
  int64_t ldo;
  int64_t block_begin, block_end;
  bool accumulate = false;
};

// acc[k, o] += sum_j buf[koff[k] + j] * dyt[j, o]   for k_begin <= k < k_end, o < ld, j < cols
// where dyt is [cols, ld] and acc is [k_count, ld], ld a multiple of the vector width.
struct DirectWeightGradTask {
  const int64_t* koff;
  const float* buf;
  int64_t k_begin, k_end;
  const float* dyt;
  int64_t ld, cols;
  float* acc;
};

// acc[m, k, l] += sum_v dy[m * dy_ld + v * L + l] * buf[koff[k] + v * L + l]   for m < rows,
// k_begin <= k < k_end, lanes l < L, over the whole column vectors v of [0, cols); the products of the
// cols % L columns after them are added to lane 0. acc is [rows, k_count, L]. The weight gradient with
// grad_output in its own layout, for few output channels over many columns (where DirectWeightGradTask's
// single vector of output channels makes a short tile).
struct DirectLaneGradTask {
  const int64_t* koff;
  const float* buf;
  int64_t k_begin, k_end, k_count;
  const float* dy;
  int64_t dy_ld, rows, cols;
  float* acc;
};

// One row slice (conv_direct.h) of `channels` planes: for c < channels, r < rows, j < cols,
//   dst[c * dst_plane + r * cols + j] = src[c * src_h * src_w + (row_stride r + row_offset) * src_w
//                                           + col_stride j + col_offset]
// when that row lies in [0, src_h) and lo <= j < hi (the columns that land in the image), else 0; the
// dst_plane - rows * cols floats after each plane are zeroed too. Reads nothing outside [begin, end), the
// tensor that holds the image.
struct DirectSliceTask {
  const float* src;
  int64_t channels, src_h, src_w;
  int64_t row_stride, row_offset, col_stride, col_offset;
  int64_t rows, cols, lo, hi, dst_plane;
  const float* begin;
  const float* end;
  float* dst;
};

struct DirectKernels {
  int lanes;           // floats per vector
  int rows_per_block;  // rows of a packed block of `a` in DirectGemmTask
  int max_tile_cols;   // the widest run of columns a product reads at once
  void (*gemm)(const DirectGemmTask& task);
  void (*weight_grad)(const DirectWeightGradTask& task);
  void (*lane_grad)(const DirectLaneGradTask& task);
  // dst[j, o] = src[o, j] for o < rows, j < cols, and dst[j, o] = 0 for rows <= o < ld_dst.
  void (*transpose)(const float* src, int64_t rows, int64_t cols, float* dst, int64_t ld_dst);
  void (*slice)(const DirectSliceTask& task);
  // dst[r * dst_ld + k] = k even ? even[r * even_ld + k / 2] : odd[r * odd_ld + k / 2] for r < rows, k < n
  // (an ld of 0 repeats one row), or += with accumulate.
  void (*interleave)(const float* even, int64_t even_ld, const float* odd, int64_t odd_ld, int64_t rows, int64_t n,
                     bool accumulate, float* dst, int64_t dst_ld);
};

const DirectKernels& Avx2DirectKernels();
// Only valid on a CPU with AVX-512F.
const DirectKernels& Avx512DirectKernels();

}  // namespace normgrad::cpu

#endif  // NORMGRAD_CORE_CPU_CONV_DIRECT_KERNELS_H_
