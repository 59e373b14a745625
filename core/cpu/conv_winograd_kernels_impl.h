// The inner loops of the Winograd F(4x4, 3x3) convolution (conv_winograd_kernels.h), written once over
// the vector width L. Included after conv_direct_kernels_impl.h (whose vector types and block transpose
// it uses) by the two instruction-set files; internal linkage, as there.
//
// With the interpolation points 0, +-1, +-2 and infinity (Lavin and Gray, "Fast Algorithms for
// Convolutional Neural Networks", 2016), a 4 x 4 output tile is A^T [(G g G^T) . (B^T d B)] A for the
// 6 x 6 input patch d and the 3 x 3 kernel g:
//   B^T = [4  0 -5  0  1  0]    A^T = [1  1  1  1  1  0]
//         [0 -4 -4  1  1  0]          [0  1 -1  2 -2  0]
//         [0  4 -4 -1  1  0]          [0  1  1  4  4  0]
//         [0 -2 -1  2  1  0]          [0  1 -1  8 -8  1]
//         [0  2 -1 -2  1  0]
//         [0  4  0 -5  0  1]
// (G is in conv_winograd.cc, which transforms the weights once per call.) The weight gradient is its
// adjoint: dg = G^T [sum over tiles (A dy A^T) . (B^T d B)] G.

#include <cstdint>

#include "core/cpu/conv_winograd_kernels.h"

namespace normgrad::cpu {
namespace {

// r = B^T d for one column (or row) of six vectors.
template <typename Vec>
inline void WinogradInputLine(const Vec* d, Vec* r) {
  const Vec s1 = d[4] - 4.0f * d[2], s2 = d[3] - 4.0f * d[1];
  const Vec s3 = d[4] - d[2], s4 = 2.0f * (d[3] - d[1]);
  r[0] = 4.0f * d[0] - 5.0f * d[2] + d[4];
  r[1] = s1 + s2;
  r[2] = s1 - s2;
  r[3] = s3 + s4;
  r[4] = s3 - s4;
  r[5] = 4.0f * d[1] - 5.0f * d[3] + d[5];
}

// o = A^T m for one column (or row) of six vectors.
template <typename Vec>
inline void WinogradOutputLine(const Vec* m, Vec* o) {
  const Vec a = m[1] + m[2], b = m[1] - m[2], c = m[3] + m[4], d = m[3] - m[4];
  o[0] = m[0] + a + c;
  o[1] = b + 2.0f * d;
  o[2] = a + 4.0f * c;
  o[3] = b + 8.0f * d + m[5];
}

template <int L>
void WinogradInput(const WinogradInputTask& t) {
  using Vec = typename VecTraits<L>::Vec;
  using VecU = typename VecTraits<L>::VecU;
  const int64_t tile_rows = t.tile_row_end - t.tile_row_begin;
  for (int64_t i = 0; i < t.images; ++i) {
    for (int64_t r = t.tile_row_begin; r < t.tile_row_end; ++r) {
      // The patch rows inside the image (null for padding rows).
      const float* row[6];
      for (int jy = 0; jy < 6; ++jy) {
        const int64_t y = 4 * r + jy - t.pad_h;
        row[jy] = y >= 0 && y < t.height ? t.x_rows + (i * t.rows + y - t.first_row) * t.width * t.channels : nullptr;
      }
      for (int64_t tx = 0; tx < t.tiles_w; ++tx) {
        const int64_t tile = (i * tile_rows + r - t.tile_row_begin) * t.tiles_w + tx;
        int64_t col[6];  // float offset of patch column jx in a row, -1 for padding
        for (int jx = 0; jx < 6; ++jx) {
          const int64_t x = 4 * tx + jx - t.pad_w;
          col[jx] = x >= 0 && x < t.width ? x * t.channels : -1;
        }
        for (int64_t c = 0; c < t.channels; c += L) {
          Vec d[6][6], column[6], bd[6][6];
          for (int jy = 0; jy < 6; ++jy) {
            for (int jx = 0; jx < 6; ++jx) {
              d[jx][jy] =
                  row[jy] != nullptr && col[jx] >= 0 ? *reinterpret_cast<const VecU*>(row[jy] + col[jx] + c) : Vec{};
            }
          }
          for (int jx = 0; jx < 6; ++jx) {
            WinogradInputLine(d[jx], column);
            for (int a = 0; a < 6; ++a) bd[a][jx] = column[a];
          }
          float* dst = t.v + tile * t.channels + c;
          for (int a = 0; a < 6; ++a) {
            WinogradInputLine(bd[a], column);
            for (int b = 0; b < 6; ++b) *reinterpret_cast<VecU*>(dst + (6 * a + b) * t.ld) = column[b];
          }
        }
      }
    }
  }
}

// body.template operator()<KV>(k0) for groups of up to MaxKV vectors of L channels covering [0, channels)
// from k0 = 0 on, so that the tile kernels know their accumulator count at compile time.
template <int L, int MaxKV, typename Body>
void ForEachChannelGroup(int64_t channels, const Body& body) {
  static_assert(MaxKV == 3 || MaxKV == 4);
  for (int64_t k0 = 0; k0 < channels; k0 += MaxKV * L) {
    const int64_t vectors = (channels - k0) / L;
    if (vectors == 1) {
      body.template operator()<1>(k0);
    } else if (vectors == 2) {
      body.template operator()<2>(k0);
    } else if (vectors == 3) {
      body.template operator()<3>(k0);
    } else {
      body.template operator()<MaxKV>(k0);
    }
  }
}

// m[row, kv * L + l] = sum_c v[row * c_count + c] * u[c * u_ld + kv * L + l] for R rows and KV vectors of
// output channels (rows m_ld floats apart): the inputs broadcast, the weights loaded as vectors.
template <int L, int R, int KV>
__attribute__((noinline)) void WinogradTile(const float* v, int64_t c_count, const float* u, int64_t u_ld, float* m,
                                            int64_t m_ld) {
  using Vec = typename VecTraits<L>::Vec;
  using VecU = typename VecTraits<L>::VecU;
  // Unrolled in full, so that the accumulators stay in registers.
  Vec acc[R][KV];
#pragma GCC unroll 24
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
    for (int k = 0; k < KV; ++k) acc[r][k] = Vec{};
  }
  for (int64_t c = 0; c < c_count; ++c) {
    Vec w[KV];
#pragma GCC unroll 4
    for (int k = 0; k < KV; ++k) w[k] = *reinterpret_cast<const VecU*>(u + c * u_ld + k * L);
#pragma GCC unroll 24
    for (int r = 0; r < R; ++r) {
      const float x = v[r * c_count + c];
#pragma GCC unroll 4
      for (int k = 0; k < KV; ++k) acc[r][k] += x * w[k];
    }
  }
#pragma GCC unroll 24
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
    for (int k = 0; k < KV; ++k) *reinterpret_cast<VecU*>(m + r * m_ld + k * L) = acc[r][k];
  }
}

// Accumulator budgets: 24 of AVX-512's 32 vector registers, 12 of AVX2's 16; the rest hold the weights,
// except for AVX2 with four vectors of them, whose FMAs then read some from the L1 cache.
template <int L, int KV>
void WinogradGemmColumns(const WinogradGemmTask& t, int64_t k0) {
  constexpr int R = (L == 16 ? 24 : 12) / KV;
  static_assert(kWinogradTileRows % R == 0);
  for (int64_t xi = 0; xi < 36; ++xi) {
    const float* v = t.v + xi * t.v_ld;
    const float* u = t.u + xi * t.in_channels * t.out_channels + k0;
    float* m = t.m + xi * t.m_ld + k0;
    for (int64_t row = 0; row < t.tiles; row += R) {
      WinogradTile<L, R, KV>(v + row * t.in_channels, t.in_channels, u, t.out_channels, m + row * t.out_channels,
                             t.out_channels);
    }
  }
}

template <int L>
void WinogradGemm(const WinogradGemmTask& t) {
  ForEachChannelGroup<L, 4>(t.out_channels, [&]<int KV>(int64_t k0) { WinogradGemmColumns<L, KV>(t, k0); });
}

// body(tile, corner, out_rows, out_cols) for every tile of an output-side task (WinogradOutputTask,
// WinogradGradTask), in V's order: corner is the float offset of its top-left output pixel in y_rows, and
// out_rows x out_cols of its 4 x 4 pixels lie inside the output.
template <typename Task, typename Body>
inline void ForEachOutputTile(const Task& t, const Body& body) {
  const int64_t tile_rows = t.tile_row_end - t.tile_row_begin;
  for (int64_t i = 0; i < t.images; ++i) {
    for (int64_t r = t.tile_row_begin; r < t.tile_row_end; ++r) {
      const int64_t out_rows = Min(t.out_h - 4 * r, 4);
      const int64_t row = (i * t.rows + 4 * (r - t.tile_row_begin)) * t.out_w;
      for (int64_t tx = 0; tx < t.tiles_w; ++tx) {
        body((i * tile_rows + r - t.tile_row_begin) * t.tiles_w + tx, (row + 4 * tx) * t.channels, out_rows,
             Min(t.out_w - 4 * tx, 4));
      }
    }
  }
}

template <int L>
bool WinogradOutput(const WinogradOutputTask& t) {
  using Vec = typename VecTraits<L>::Vec;
  using VecU = typename VecTraits<L>::VecU;
  // Sums of v - v over the stored vectors: exactly zero while they are finite, NaN from the first that is
  // not. One per output column, so that the sums do not chain the stores into one dependency.
  Vec finite[4] = {};
  ForEachOutputTile(t, [&](int64_t tile, int64_t corner, int64_t out_rows, int64_t out_cols) {
    for (int64_t k = 0; k < t.channels; k += L) {
      const float* src = t.m + tile * t.channels + k;
      Vec m[6][6], column[6], am[4][6], out[4];
      for (int a = 0; a < 6; ++a) {
        for (int b = 0; b < 6; ++b) m[b][a] = *reinterpret_cast<const VecU*>(src + (6 * a + b) * t.ld);
      }
      for (int b = 0; b < 6; ++b) {
        WinogradOutputLine(m[b], column);
        for (int a = 0; a < 4; ++a) am[a][b] = column[a];
      }
      const Vec bias = t.bias != nullptr ? *reinterpret_cast<const VecU*>(t.bias + k) : Vec{};
      for (int64_t oy = 0; oy < out_rows; ++oy) {
        WinogradOutputLine(am[oy], out);
        float* dst = t.y_rows + corner + oy * t.out_w * t.channels + k;
        for (int64_t ox = 0; ox < out_cols; ++ox) {
          const Vec value = out[ox] + bias;
          *reinterpret_cast<VecU*>(dst + ox * t.channels) = value;
          finite[ox] += value - value;
        }
      }
    }
  });
  const Vec all = (finite[0] + finite[1]) + (finite[2] + finite[3]);
  for (int j = 0; j < L; ++j) {
    if (all[j] != 0.0f) return false;
  }
  return true;
}

// z = A y for one column (or row) of four vectors (A = (A^T)^T, 6 x 4).
template <typename Vec>
inline void WinogradGradLine(const Vec* y, Vec* z) {
  const Vec even = y[0] + y[2], odd = y[1] + y[3];
  const Vec even4 = y[0] + 4.0f * y[2], odd4 = 2.0f * y[1] + 8.0f * y[3];
  z[0] = y[0];
  z[1] = even + odd;
  z[2] = even - odd;
  z[3] = even4 + odd4;
  z[4] = even4 - odd4;
  z[5] = y[3];
}

template <int L>
void WinogradGrad(const WinogradGradTask& t) {
  using Vec = typename VecTraits<L>::Vec;
  using VecU = typename VecTraits<L>::VecU;
  ForEachOutputTile(t, [&](int64_t tile, int64_t corner, int64_t out_rows, int64_t out_cols) {
    for (int64_t k = 0; k < t.channels; k += L) {
      Vec dy[4][4], column[6], ady[6][4], z[6];  // dy[x][y]: columns of the tile
      for (int x = 0; x < 4; ++x) {
        for (int y = 0; y < 4; ++y) {
          dy[x][y] = y < out_rows && x < out_cols
                         ? *reinterpret_cast<const VecU*>(t.y_rows + corner + (y * t.out_w + x) * t.channels + k)
                         : Vec{};
        }
      }
      for (int x = 0; x < 4; ++x) {
        WinogradGradLine(dy[x], column);
        for (int a = 0; a < 6; ++a) ady[a][x] = column[a];
      }
      float* dst = t.z + tile * t.channels + k;
      for (int a = 0; a < 6; ++a) {
        WinogradGradLine(ady[a], z);
        for (int b = 0; b < 6; ++b) *reinterpret_cast<VecU*>(dst + (6 * a + b) * t.ld) = z[b];
      }
    }
  });
}

// acc[r, kv * L + l] += sum_t v[t * v_step + r] * z[t * z_step + kv * L + l] for R rows (input channels)
// and KV vectors of output channels (acc rows acc_ld floats apart). The block's sum starts from zero and
// is added to acc at the end, so that a worker's sum over all its tiles rounds as a sum of block sums.
template <int L, int R, int KV>
__attribute__((noinline)) void WinogradReduceTile(const float* v, int64_t v_step, const float* z, int64_t z_step,
                                                  int64_t tiles, float* acc, int64_t acc_ld) {
  using Vec = typename VecTraits<L>::Vec;
  using VecU = typename VecTraits<L>::VecU;
  Vec sum[R][KV];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 3
    for (int k = 0; k < KV; ++k) sum[r][k] = Vec{};
  }
  for (int64_t t = 0; t < tiles; ++t) {
    Vec w[KV];
#pragma GCC unroll 3
    for (int k = 0; k < KV; ++k) w[k] = *reinterpret_cast<const VecU*>(z + t * z_step + k * L);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const float x = v[t * v_step + r];
#pragma GCC unroll 3
      for (int k = 0; k < KV; ++k) sum[r][k] += x * w[k];
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 3
    for (int k = 0; k < KV; ++k) {
      VecU* a = reinterpret_cast<VecU*>(acc + r * acc_ld + k * L);
      *a = *a + sum[r][k];
    }
  }
}

// R input channels (a divisor of every multiple of L) by KV vectors of output channels: at most 16 of
// AVX-512's accumulators with one vector, 24 with more; 8 and 12 of AVX2's.
template <int L, int KV>
void WinogradReduceColumns(const WinogradReduceTask& t, int64_t k0) {
  constexpr int R = KV == 1 ? L : L / 2;
  for (int64_t xi = 0; xi < 36; ++xi) {
    for (int64_t c0 = 0; c0 < t.in_channels; c0 += R) {
      WinogradReduceTile<L, R, KV>(t.v + xi * t.v_ld + c0, t.in_channels, t.z + xi * t.z_ld + k0, t.out_channels,
                                   t.tiles, t.acc + (xi * t.in_channels + c0) * t.out_channels + k0, t.out_channels);
    }
  }
}

template <int L>
void WinogradReduce(const WinogradReduceTask& t) {
  ForEachChannelGroup<L, 3>(t.out_channels, [&]<int KV>(int64_t k0) { WinogradReduceColumns<L, KV>(t, k0); });
}

template <int L>
WinogradKernels MakeWinogradKernels() {
  return {&WinogradInput<L>, &WinogradGemm<L>,   &WinogradOutput<L>,
          &WinogradGrad<L>,  &WinogradReduce<L>, &TransposeStrided<L>};
}

}  // namespace
}  // namespace normgrad::cpu
