#ifndef NORMGRAD_CORE_CPU_CONV_WINOGRAD_KERNELS_H_
#define NORMGRAD_CORE_CPU_CONV_WINOGRAD_KERNELS_H_

// The vectorized inner loops of the Winograd F(4x4, 3x3) convolution (conv_winograd.cc drives them),
// compiled for AVX2 + FMA and for AVX-512 as the direct kernels are (conv_direct_kernels.h). Activations
// are channels-last here, so that every transform works on whole vectors of channels; the channel counts
// are multiples of the vector width (16 floats with AVX-512, 8 with AVX2; WinogradApplies checks it). The
// 36 transformed planes ("xi" = 6 * row + column of the 6 x 6 transform) are `ld` floats apart in the
// buffers V (input tiles) and M (products).

#include <cstdint>

// The output kernel and the weight gradient test their results for infinities and NaNs.
#if __FINITE_MATH_ONLY__
#error "the Winograd convolution needs IEEE infinities and NaNs: build without -ffinite-math-only / -ffast-math"
#endif

namespace normgrad::cpu {

// V[xi][tile][c] = (B^T d B)[xi] for the 6 x 6 patch d of every tile, read from channels-last rows:
// image i's pixel (y, x) is x_rows[((i * rows + y - first_row) * width + x) * channels + c] when
// 0 <= y < height and 0 <= x < width (only rows [first_row, first_row + rows) are held), zero outside.
// Tile (i, r, tx) for tile rows r in [tile_row_begin, tile_row_end) covers output rows 4r..4r+3 and
// columns 4tx..4tx+3 and reads pixels (4r + jy - pad_h, 4tx + jx - pad_w) for jy, jx < 6; its index in V
// is (i * (tile_row_end - tile_row_begin) + r - tile_row_begin) * tiles_w + tx.
struct WinogradInputTask {
  const float* x_rows;
  int64_t images, first_row, rows, height, width, channels;
  int64_t pad_h, pad_w, tile_row_begin, tile_row_end, tiles_w;
  float* v;
  int64_t ld;
};

// M[xi][tile][k] = sum_c V[xi][tile][c] * U[xi][c][k] for tile < tiles, c < in_channels, k <
// out_channels. The rows up to the next multiple of kWinogradTileRows may be computed too, from whatever
// V holds there (initialized memory: V is zeroed once), into M rows that nobody reads.
struct WinogradGemmTask {
  const float* v;
  const float* u;
  float* m;
  int64_t tiles, in_channels, out_channels, v_ld, m_ld;
};
inline constexpr int64_t kWinogradTileRows = 24;

// The output pixels (4r + i, 4tx + j) = bias[k] + (A^T M A)[i, j] of every tile in V's order (as
// WinogradInputTask), stored channels-last for the output rows [4 * tile_row_begin, min(out_h,
// 4 * tile_row_end)): pixel (y, x) of image i at y_rows[((i * rows + y - 4 * tile_row_begin) * out_w + x)
// * channels + k], with rows the number of output rows held per image; bias may be null. The kernel
// returns whether every value it stored is finite.
struct WinogradOutputTask {
  const float* m;
  int64_t ld;
  const float* bias;
  int64_t images, channels, out_h, out_w, tile_row_begin, tile_row_end, tiles_w, rows;
  float* y_rows;
};

// For the weight gradient. Z[xi][tile][k] = (A dy A^T)[xi] for the 4 x 4 tile dy of grad_output (zero
// past the output's edge), read from channels-last rows laid out as WinogradOutputTask writes them.
struct WinogradGradTask {
  const float* y_rows;
  int64_t images, channels, out_h, out_w, tile_row_begin, tile_row_end, tiles_w, rows;
  float* z;
  int64_t ld;
};

// acc[xi][c][k] += sum_{t < tiles} V[xi][t][c] * Z[xi][t][k] for c < in_channels, k < out_channels; acc
// is [36][in_channels][out_channels].
struct WinogradReduceTask {
  const float* v;
  const float* z;
  float* acc;
  int64_t tiles, in_channels, out_channels, v_ld, z_ld;
};

struct WinogradKernels {
  void (*input)(const WinogradInputTask& task);
  void (*gemm)(const WinogradGemmTask& task);
  bool (*output)(const WinogradOutputTask& task);
  void (*grad)(const WinogradGradTask& task);
  void (*reduce)(const WinogradReduceTask& task);
  // dst[j * dst_ld + i] = src[i * src_ld + j] for i < rows, j < cols, or += with accumulate.
  void (*transpose)(const float* src, int64_t src_ld, int64_t rows, int64_t cols, float* dst, int64_t dst_ld,
                    bool accumulate);
};

const WinogradKernels& Avx2WinogradKernels();
// Only valid on a CPU with AVX-512F.
const WinogradKernels& Avx512WinogradKernels();

}  // namespace normgrad::cpu

#endif  // NORMGRAD_CORE_CPU_CONV_WINOGRAD_KERNELS_H_
