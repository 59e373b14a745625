// The inner loops of the direct float32 convolution, written once over the vector width L (8 for AVX2,
// 16 for AVX-512) with GCC vector extensions. Included by exactly one .cc file per instruction set,
// after that file has chosen its target (see conv_direct_kernels.h); everything here has internal
// linkage, so the two compilations never mix. No standard-library templates are instantiated here: an
// inline function compiled for AVX-512 could otherwise be picked by the linker for the whole program.
//
// Register budgets: AVX-512 has 32 vector registers, AVX2 16. A GEMM tile keeps MR x NV accumulators
// (NV vectors of L columns for MR rows), loads NV vectors and broadcasts one weight per row per step. A
// weight-gradient tile keeps NK x MV accumulators (NK rows of `buf` broadcast, MV vectors of output
// channels); a lane-gradient tile MO x NK (MO rows of grad_output and NK rows of `buf`, both loaded as
// vectors along the columns).

#include <cstdint>
#include <cstring>
#include <utility>

#include "core/cpu/conv_direct_kernels.h"

namespace normgrad::cpu {
namespace {

template <int L>
struct VecTraits;
template <>
struct VecTraits<8> {
  typedef float Vec __attribute__((vector_size(32)));
  typedef float VecU __attribute__((vector_size(32), aligned(4), may_alias));
  typedef int IVec __attribute__((vector_size(32)));
};
template <>
struct VecTraits<16> {
  typedef float Vec __attribute__((vector_size(64)));
  typedef float VecU __attribute__((vector_size(64), aligned(4), may_alias));
  typedef int IVec __attribute__((vector_size(64)));
};

template <int L>
struct Config;
template <>
struct Config<8> {
  static constexpr int kRows = 4;        // MR
  static constexpr int kMaxVecs = 3;     // NV in {1, 2, 3}
  static constexpr int kMaxOutVecs = 2;  // MV in {1, 2}
  static constexpr int MaxBufRows(int mv) { return mv == 1 ? 12 : 6; }
  static constexpr int kLaneOutRows = 2, kLaneBufRows = 6;  // MO x NK of a lane-gradient tile
};
template <>
struct Config<16> {
  static constexpr int kRows = 8;
  static constexpr int kMaxVecs = 3;
  static constexpr int kMaxOutVecs = 4;
  static constexpr int MaxBufRows(int mv) { return mv <= 2 ? 12 : mv == 3 ? 9 : 6; }
  static constexpr int kLaneOutRows = 4, kLaneBufRows = 6;
};

inline int64_t Min(int64_t a, int64_t b) { return a < b ? a : b; }
inline int64_t Max(int64_t a, int64_t b) { return a > b ? a : b; }

// ---- GEMM over shifted rows of buf

// One MR x (NV * L) tile: out rows start `ldo` apart; only the first `rows` rows are stored. The
// accumulators start from out itself (accumulate), or from init[m] (zero when init is null).
template <int L, int MR, int NV>
__attribute__((noinline)) void GemmTile(int64_t k_count, const float* a, const int64_t* koff, const float* buf,
                                        const float* init, bool accumulate, int rows, float* out, int64_t ldo) {
  using Vec = typename VecTraits<L>::Vec;
  using VecU = typename VecTraits<L>::VecU;
  Vec acc[MR][NV];
  for (int m = 0; m < MR; ++m) {
    for (int n = 0; n < NV; ++n) {
      if (accumulate && m < rows) {
        acc[m][n] = *reinterpret_cast<const VecU*>(out + m * ldo + n * L);
      } else {
        acc[m][n] = Vec{} + (init != nullptr && m < rows ? init[m] : 0.0f);
      }
    }
  }
  for (int64_t k = 0; k < k_count; ++k) {
    const float* p = buf + koff[k];
    Vec x[NV];
    for (int n = 0; n < NV; ++n) x[n] = *reinterpret_cast<const VecU*>(p + n * L);
    const float* w = a + k * MR;
    for (int m = 0; m < MR; ++m) {
      for (int n = 0; n < NV; ++n) acc[m][n] += w[m] * x[n];
    }
  }
  for (int m = 0; m < MR; ++m) {
    if (m >= rows) break;
    for (int n = 0; n < NV; ++n) *reinterpret_cast<VecU*>(out + m * ldo + n * L) = acc[m][n];
  }
}

// Row blocks [block_begin, block_end) over the columns [j0, j0 + NV * L) of the product, through a scratch
// tile: the columns [from, cols) are then stored into out. With t.accumulate the tile starts from those
// columns of out (the others from zero), so that every column's sum runs in the same order as in a tile
// that accumulates in place, whichever columns went through here. Reads buf up to j0 + NV * L, past cols
// when the product is narrower than a tile.
template <int L, int NV>
void GemmThroughTile(const DirectGemmTask& t, int64_t j0, int64_t from) {
  constexpr int MR = Config<L>::kRows;
  constexpr int64_t kWidth = NV * L;
  for (int64_t b = t.block_begin; b < t.block_end; ++b) {
    alignas(64) float tile[MR * kWidth];
    const int rows = static_cast<int>(Min(MR, t.rows - b * MR));
    if (t.accumulate) {
      for (int m = 0; m < rows; ++m) {
        for (int64_t j = 0; j < kWidth; ++j) {
          tile[m * kWidth + j] = j0 + j >= from && j0 + j < t.cols ? t.out[(b * MR + m) * t.ldo + j0 + j] : 0.0f;
        }
      }
    }
    GemmTile<L, MR, NV>(t.k_count, t.a + b * MR * t.k_count, t.koff, t.buf + j0,
                        t.init != nullptr ? t.init + b * MR : nullptr, t.accumulate, rows, tile, kWidth);
    for (int m = 0; m < rows; ++m) {
      std::memcpy(t.out + (b * MR + m) * t.ldo + from, tile + m * kWidth + (from - j0), (t.cols - from) * sizeof(float));
    }
  }
}

template <int L, int NV>
void GemmLoop(const DirectGemmTask& t) {
  constexpr int MR = Config<L>::kRows;
  constexpr int64_t kWidth = NV * L;
  // A product narrower than one tile goes through a scratch tile, reading its runs past their ends.
  if (t.cols < kWidth) return GemmThroughTile<L, NV>(t, 0, 0);
  // The k rows come in chunks whose runs for one tile of columns (chunk * NV * L floats, up to 24 KB) stay
  // in the L1 cache while every row block uses them; the row blocks' outputs accumulate over the chunks.
  const int64_t chunk_target = Max(1, 24576 / static_cast<int64_t>(kWidth * sizeof(float)));
  const int64_t chunks = (t.k_count + chunk_target - 1) / chunk_target;
  for (int64_t start = 0; start < t.cols; start += kWidth) {
    // A last, partial run of columns is computed as the full run that ends at cols, overlapping the one
    // before: recomputing a few columns to the same values (its first chunk starts them afresh), or, when
    // the product adds to out, through a scratch tile that adds only the new columns.
    const int64_t j0 = start + kWidth <= t.cols ? start : t.cols - kWidth;
    if (j0 < start && t.accumulate) return GemmThroughTile<L, NV>(t, j0, start);
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t k0 = t.k_count * c / chunks, k1 = t.k_count * (c + 1) / chunks;
      for (int64_t b = t.block_begin; b < t.block_end; ++b) {
        GemmTile<L, MR, NV>(k1 - k0, t.a + (b * t.k_count + k0) * MR, t.koff + k0, t.buf + j0,
                            t.init != nullptr ? t.init + b * MR : nullptr, c > 0 || t.accumulate,
                            static_cast<int>(Min(MR, t.rows - b * MR)), t.out + b * MR * t.ldo + j0, t.ldo);
      }
    }
  }
}

template <int L>
void Gemm(const DirectGemmTask& t) {
  // The tile width that computes the fewest columns, weighing narrower tiles by their measured loss of
  // throughput (fewer accumulators per weight broadcast).
  constexpr double kEfficiency[4] = {0, 0.75, 0.92, 1.0};
  int best = Config<L>::kMaxVecs;
  double best_cost = 0;
  for (int nv = Config<L>::kMaxVecs; nv >= 1; --nv) {
    const int64_t width = nv * L;
    const double cost = static_cast<double>((t.cols + width - 1) / width * width) / kEfficiency[nv];
    if (nv == Config<L>::kMaxVecs || cost < best_cost) {
      best = nv;
      best_cost = cost;
    }
  }
  switch (best) {
    case 1:
      return GemmLoop<L, 1>(t);
    case 2:
      return GemmLoop<L, 2>(t);
    default:
      return GemmLoop<L, 3>(t);
  }
}

// ---- weight gradient: rows of buf against the transposed output gradient

// acc[t, o] += sum_j rows[t][j] * dyt[j, o] for NK rows and MV vectors of output channels; acc rows and
// dyt rows are `ld` floats apart.
template <int L, int NK, int MV>
__attribute__((noinline)) void WeightGradTile(int64_t cols, const float* const* rows, const float* dyt, int64_t ld,
                                              float* acc) {
  using Vec = typename VecTraits<L>::Vec;
  using VecU = typename VecTraits<L>::VecU;
  Vec sum[NK][MV];
  const float* r[NK];
  for (int t = 0; t < NK; ++t) {
    r[t] = rows[t];
    for (int v = 0; v < MV; ++v) sum[t][v] = *reinterpret_cast<const VecU*>(acc + t * ld + v * L);
  }
  for (int64_t j = 0; j < cols; ++j) {
    Vec d[MV];
    for (int v = 0; v < MV; ++v) d[v] = *reinterpret_cast<const VecU*>(dyt + j * ld + v * L);
    for (int t = 0; t < NK; ++t) {
      const float x = r[t][j];
      for (int v = 0; v < MV; ++v) sum[t][v] += x * d[v];
    }
  }
  for (int t = 0; t < NK; ++t) {
    for (int v = 0; v < MV; ++v) *reinterpret_cast<VecU*>(acc + t * ld + v * L) = sum[t][v];
  }
}

// Calls WeightGradTile<L, nk, MV> for a run-time nk in [NK, MaxBufRows(MV)].
template <int L, int MV, int NK = 1>
void WeightGradTileFor(int nk, int64_t cols, const float* const* rows, const float* dyt, int64_t ld, float* acc) {
  if constexpr (NK <= Config<L>::MaxBufRows(MV)) {
    if (nk == NK) return WeightGradTile<L, NK, MV>(cols, rows, dyt, ld, acc);
    WeightGradTileFor<L, MV, NK + 1>(nk, cols, rows, dyt, ld, acc);
  }
}

template <int L, int MV>
void WeightGradVecs(const DirectWeightGradTask& t, int64_t j0, int64_t cols, int64_t v0) {
  constexpr int kMaxRows = Config<L>::MaxBufRows(MV);
  const int64_t k_count = t.k_end - t.k_begin;
  const int64_t tiles = (k_count + kMaxRows - 1) / kMaxRows;
  const float* rows[kMaxRows];
  for (int64_t tile = 0; tile < tiles; ++tile) {
    // Rows spread evenly over the tiles (27 rows: 3 tiles of 9, not 12 + 12 + 3).
    const int64_t k0 = t.k_begin + k_count * tile / tiles, k1 = t.k_begin + k_count * (tile + 1) / tiles;
    for (int64_t k = k0; k < k1; ++k) rows[k - k0] = t.buf + t.koff[k] + j0;
    WeightGradTileFor<L, MV>(static_cast<int>(k1 - k0), cols, rows, t.dyt + j0 * t.ld + v0 * L, t.ld,
                             t.acc + k0 * t.ld + v0 * L);
  }
}

template <int L, int MV = 1>
void WeightGradVecsFor(int mv, const DirectWeightGradTask& t, int64_t j0, int64_t cols, int64_t v0) {
  if constexpr (MV <= Config<L>::kMaxOutVecs) {
    if (mv == MV) return WeightGradVecs<L, MV>(t, j0, cols, v0);
    WeightGradVecsFor<L, MV + 1>(mv, t, j0, cols, v0);
  }
}

template <int L>
void WeightGrad(const DirectWeightGradTask& t) {
  const int64_t vecs = t.ld / L;
  // Blocks of columns whose slice of dyt (16 KB) stays in the L1 cache across all tiles of rows.
  const int64_t block =
      16384 / static_cast<int64_t>(sizeof(float) * t.ld) > 16 ? 16384 / static_cast<int64_t>(sizeof(float) * t.ld) : 16;
  for (int64_t j0 = 0; j0 < t.cols; j0 += block) {
    const int64_t cols = Min(block, t.cols - j0);
    for (int64_t v0 = 0; v0 < vecs; v0 += Config<L>::kMaxOutVecs) {
      WeightGradVecsFor<L>(static_cast<int>(Min(Config<L>::kMaxOutVecs, vecs - v0)), t, j0, cols, v0);
    }
  }
}

// ---- weight gradient in lanes: rows of grad_output against rows of buf, both along the columns

// acc[m, t, :] += sum_v dy[m][v * L + lane] * runs[t][v * L + lane] over `vecs` column vectors, for MO rows
// of grad_output and NK rows of buf; acc holds L floats per (m, t), t's consecutive and m's `ldm` apart.
template <int L, int MO, int NK>
__attribute__((noinline)) void LaneGradTile(int64_t vecs, const float* const* dy, const float* const* runs,
                                            float* acc, int64_t ldm) {
  using Vec = typename VecTraits<L>::Vec;
  using VecU = typename VecTraits<L>::VecU;
  Vec sum[MO][NK];
  for (int m = 0; m < MO; ++m) {
    for (int t = 0; t < NK; ++t) sum[m][t] = *reinterpret_cast<const VecU*>(acc + m * ldm + t * L);
  }
  for (int64_t v = 0; v < vecs; ++v) {
    Vec d[MO];
    for (int m = 0; m < MO; ++m) d[m] = *reinterpret_cast<const VecU*>(dy[m] + v * L);
    for (int t = 0; t < NK; ++t) {
      const Vec x = *reinterpret_cast<const VecU*>(runs[t] + v * L);
      for (int m = 0; m < MO; ++m) sum[m][t] += d[m] * x;
    }
  }
  for (int m = 0; m < MO; ++m) {
    for (int t = 0; t < NK; ++t) *reinterpret_cast<VecU*>(acc + m * ldm + t * L) = sum[m][t];
  }
}

// Calls LaneGradTile<L, mo, nk> for run-time mo in [MO, kLaneOutRows] and nk in [NK, kLaneBufRows].
template <int L, int MO = 1, int NK = 1>
void LaneGradTileFor(int mo, int nk, int64_t vecs, const float* const* dy, const float* const* runs, float* acc,
                     int64_t ldm) {
  if constexpr (MO <= Config<L>::kLaneOutRows && NK <= Config<L>::kLaneBufRows) {
    if (mo != MO) return LaneGradTileFor<L, MO + 1, NK>(mo, nk, vecs, dy, runs, acc, ldm);
    if (nk != NK) return LaneGradTileFor<L, MO, NK + 1>(mo, nk, vecs, dy, runs, acc, ldm);
    LaneGradTile<L, MO, NK>(vecs, dy, runs, acc, ldm);
  }
}

template <int L>
void LaneGrad(const DirectLaneGradTask& t) {
  constexpr int kOut = Config<L>::kLaneOutRows, kBuf = Config<L>::kLaneBufRows;
  const int64_t vecs = t.cols / L, k_count = t.k_end - t.k_begin, ldm = t.k_count * L;
  // Tiles over all the columns at once, the grad_output rows of a tile (MO rows) outermost: they stay in the
  // L1 cache while the buf rows stream past.
  const int64_t k_tiles = (k_count + kBuf - 1) / kBuf, m_tiles = (t.rows + kOut - 1) / kOut;
  const float* dy[kOut];
  const float* runs[kBuf];
  for (int64_t mt = 0; mt < m_tiles; ++mt) {
    const int64_t m0 = t.rows * mt / m_tiles, m1 = t.rows * (mt + 1) / m_tiles;
    for (int64_t m = m0; m < m1; ++m) dy[m - m0] = t.dy + m * t.dy_ld;
    for (int64_t kt = 0; kt < k_tiles; ++kt) {
      // Rows spread evenly over the tiles, as in WeightGradVecs.
      const int64_t k0 = t.k_begin + k_count * kt / k_tiles, k1 = t.k_begin + k_count * (kt + 1) / k_tiles;
      for (int64_t k = k0; k < k1; ++k) runs[k - k0] = t.buf + t.koff[k];
      LaneGradTileFor<L>(static_cast<int>(m1 - m0), static_cast<int>(k1 - k0), vecs, dy, runs,
                         t.acc + m0 * ldm + k0 * L, ldm);
    }
  }
  // The columns past the last whole vector go to lane 0.
  if (vecs * L == t.cols) return;
  for (int64_t m = 0; m < t.rows; ++m) {
    for (int64_t k = t.k_begin; k < t.k_end; ++k) {
      const float* x = t.buf + t.koff[k];
      const float* d = t.dy + m * t.dy_ld;
      float sum = 0.0f;
      for (int64_t j = vecs * L; j < t.cols; ++j) sum += d[j] * x[j];
      t.acc[m * ldm + k * L] += sum;
    }
  }
}

// ---- transpose

// Shuffle masks, built at compile time from a function of the output lane j (so that every shuffle is a
// single two-source permute with a constant index vector).
template <int L, typename Fn, int... J>
constexpr typename VecTraits<L>::IVec MakeMask(Fn fn, std::integer_sequence<int, J...>) {
  return typename VecTraits<L>::IVec{fn(J)...};
}
template <int L, typename Fn>
constexpr typename VecTraits<L>::IVec Mask(Fn fn) {
  return MakeMask<L>(fn, std::make_integer_sequence<int, L>());
}

// One round of TransposeBlock: the off-diagonal D x D sub-blocks of row pairs (i, i + D) swap places.
template <int L, int D>
inline void TransposeRound(typename VecTraits<L>::Vec* v) {
  if constexpr (D >= 1) {
    constexpr auto lo = Mask<L>([](int j) { return (j & D) == 0 ? j : L + j - D; });
    constexpr auto hi = Mask<L>([](int j) { return (j & D) == 0 ? j + D : L + j; });
#pragma GCC unroll 16
    for (int i = 0; i < L; ++i) {
      if ((i & D) != 0) continue;
      const auto a = v[i], b = v[i + D];
      v[i] = __builtin_shuffle(a, b, lo);
      v[i + D] = __builtin_shuffle(a, b, hi);
    }
    TransposeRound<L, D / 2>(v);
  }
}

// Transposes the L x L block held in v[0..L) (v[i] = row i) in place, in log2(L) rounds.
template <int L>
inline void TransposeBlock(typename VecTraits<L>::Vec* v) {
  TransposeRound<L, L / 2>(v);
}

// dst[j * dst_ld + i] = src[i * src_ld + j] for i < rows, j < cols, or += with accumulate; in L x L blocks.
template <int L>
void TransposeStrided(const float* src, int64_t src_ld, int64_t rows, int64_t cols, float* dst, int64_t dst_ld,
                      bool accumulate) {
  using Vec = typename VecTraits<L>::Vec;
  using VecU = typename VecTraits<L>::VecU;
  const int64_t full_rows = rows / L * L, full_cols = cols / L * L;
  for (int64_t i0 = 0; i0 < full_rows; i0 += L) {
    for (int64_t j0 = 0; j0 < full_cols; j0 += L) {
      Vec v[L];
#pragma GCC unroll 16
      for (int i = 0; i < L; ++i) v[i] = *reinterpret_cast<const VecU*>(src + (i0 + i) * src_ld + j0);
      TransposeBlock<L>(v);
#pragma GCC unroll 16
      for (int j = 0; j < L; ++j) {
        VecU* d = reinterpret_cast<VecU*>(dst + (j0 + j) * dst_ld + i0);
        *d = accumulate ? *d + v[j] : v[j];
      }
    }
  }
  auto element = [&](int64_t i, int64_t j) {
    float& d = dst[j * dst_ld + i];
    d = accumulate ? d + src[i * src_ld + j] : src[i * src_ld + j];
  };
  for (int64_t i = 0; i < full_rows; ++i) {
    for (int64_t j = full_cols; j < cols; ++j) element(i, j);
  }
  for (int64_t i = full_rows; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) element(i, j);
  }
}

template <int L>
void Transpose(const float* src, int64_t rows, int64_t cols, float* dst, int64_t ld) {
  TransposeStrided<L>(src, cols, rows, cols, dst, ld, false);
  for (int64_t j = 0; j < cols; ++j) {
    for (int64_t o = rows; o < ld; ++o) dst[j * ld + o] = 0.0f;
  }
}

// ---- strided copies for building row slices and merging stride phases

// Copies n floats with vectors.
template <int L>
inline void CopyFloats(const float* src, int64_t n, float* dst) {
  using VecU = typename VecTraits<L>::VecU;
  int64_t j = 0;
  for (; j + L <= n; j += L) *reinterpret_cast<VecU*>(dst + j) = *reinterpret_cast<const VecU*>(src + j);
  for (; j < n; ++j) dst[j] = src[j];
}

// Zeroes n floats with vectors (the last one overlapping when n is not a multiple of L).
template <int L>
inline void ZeroFloats(float* d, int64_t n) {
  using VecU = typename VecTraits<L>::VecU;
  if (n < L) {
    if constexpr (L == 16) {
      if (n >= 8) {
        using Half = typename VecTraits<8>::VecU;
        *reinterpret_cast<Half*>(d) = Half{};
        *reinterpret_cast<Half*>(d + n - 8) = Half{};
        return;
      }
    }
    for (int64_t j = 0; j < n; ++j) d[j] = 0.0f;
    return;
  }
  for (int64_t j = 0; j + L <= n; j += L) *reinterpret_cast<VecU*>(d + j) = VecU{};
  *reinterpret_cast<VecU*>(d + n - L) = VecU{};
}

// One row slice (see DirectSliceTask), plane by plane. Planes are small (an 8 x 8 image has 80 floats), so
// the short zero fills stay inline: no loop here may become a call to memset.
template <int L>
__attribute__((optimize("no-tree-loop-distribute-patterns"))) void Slice(const DirectSliceTask& t) {
  using Vec = typename VecTraits<L>::Vec;
  using VecU = typename VecTraits<L>::VecU;
  constexpr auto even = Mask<L>([](int i) { return 2 * i; });
  // The rows [r0, r1) that lie in the image; the others are zero.
  const int64_t r0 = Min(t.rows, Max(0, (-t.row_offset + t.row_stride - 1) / t.row_stride));
  const int64_t r1 =
      t.lo >= t.hi ? r0 : Max(r0, Min(t.rows, (t.src_h - t.row_offset + t.row_stride - 1) / t.row_stride));
  const int64_t plane = t.src_h * t.src_w, flat = (r1 - r0) * t.cols;
  // Consecutive full-width rows at stride 1 are one run of the image shifted by the offsets: a single copy,
  // after which the border columns (which picked up the neighbouring rows' ends) are zeroed.
  const bool whole_rows = t.row_stride == 1 && t.col_stride == 1 && t.cols == t.src_w;
  for (int64_t c = 0; c < t.channels; ++c) {
    float* dst = t.dst + c * t.dst_plane;
    const float* src = t.src + c * plane;
    ZeroFloats<L>(dst, r0 * t.cols);
    ZeroFloats<L>(dst + r1 * t.cols, t.dst_plane - r1 * t.cols);
    // No row in the image (an empty one, whose data may be null): the plane is all zeros, and no pointer
    // into the image may be formed.
    if (r1 == r0) continue;
    auto zero_borders = [&] {
      // Column by column (usually one column at most, on one side).
      for (int64_t j = 0; j < t.lo; ++j) {
        for (int64_t r = r0; r < r1; ++r) dst[r * t.cols + j] = 0.0f;
      }
      for (int64_t j = t.hi; j < t.cols; ++j) {
        for (int64_t r = r0; r < r1; ++r) dst[r * t.cols + j] = 0.0f;
      }
    };
    const float* first = src + (t.row_stride * r0 + t.row_offset) * t.src_w + t.col_offset;
    if (whole_rows && first >= t.begin && first + flat <= t.end) {
      CopyFloats<L>(first, flat, dst + r0 * t.cols);
      zero_borders();
      continue;
    }
    // Row by row: a row whose whole span is readable is copied with vectors (stride 2 through an even-lane
    // shuffle; two rows per vector when a row is half a vector), the others element by element; then the
    // border columns, which the vectors filled from outside the image, are zeroed.
    auto line = [&](int64_t r) { return src + (t.row_stride * r + t.row_offset) * t.src_w + t.col_offset; };
    auto readable = [&](int64_t r) {
      return line(r) >= t.begin && line(r) + (t.col_stride == 1 ? t.cols : 2 * t.cols) <= t.end;
    };
    for (int64_t r = r0; r < r1; ++r) {
      float* d = dst + r * t.cols;
      const float* in = line(r);
      if ((t.col_stride != 1 && t.col_stride != 2) || !readable(r)) {
        for (int64_t j = 0; j < t.cols; ++j) d[j] = j >= t.lo && j < t.hi ? in[j * t.col_stride] : 0.0f;
        continue;
      }
      if (t.col_stride == 1) {
        CopyFloats<L>(in, t.cols, d);
        continue;
      }
      if (2 * t.cols == L && r + 1 < r1 && readable(r + 1)) {
        const Vec a = *reinterpret_cast<const VecU*>(in), b = *reinterpret_cast<const VecU*>(line(r + 1));
        *reinterpret_cast<VecU*>(d) = __builtin_shuffle(a, b, even);
        ++r;
        continue;
      }
      int64_t j = 0;
      for (; j + L <= t.cols; j += L) {
        const Vec a = *reinterpret_cast<const VecU*>(in + 2 * j);
        const Vec b = *reinterpret_cast<const VecU*>(in + 2 * j + L);
        *reinterpret_cast<VecU*>(d + j) = __builtin_shuffle(a, b, even);
      }
      for (; j < t.cols; ++j) d[j] = in[2 * j];
    }
    zero_borders();
  }
}

// Rows of dst interleaved from rows of even and odd (see DirectKernels::interleave).
template <int L>
void Interleave(const float* even, int64_t even_ld, const float* odd, int64_t odd_ld, int64_t rows, int64_t n,
                bool accumulate, float* dst, int64_t dst_ld) {
  using Vec = typename VecTraits<L>::Vec;
  using VecU = typename VecTraits<L>::VecU;
  constexpr auto lo = Mask<L>([](int i) { return i / 2 + (i % 2) * L; });
  constexpr auto hi = Mask<L>([](int i) { return L / 2 + i / 2 + (i % 2) * L; });
  auto store = [accumulate](float* d, Vec v) {
    if (accumulate) v += *reinterpret_cast<const VecU*>(d);
    *reinterpret_cast<VecU*>(d) = v;
  };
  for (int64_t r = 0; r < rows; ++r) {
    const float* e = even + r * even_ld;
    const float* o = odd + r * odd_ld;
    float* d = dst + r * dst_ld;
    int64_t j = 0;
    for (; 2 * (j + L) <= n; j += L) {
      const Vec ev = *reinterpret_cast<const VecU*>(e + j), ov = *reinterpret_cast<const VecU*>(o + j);
      store(d + 2 * j, __builtin_shuffle(ev, ov, lo));
      store(d + 2 * j + L, __builtin_shuffle(ev, ov, hi));
    }
    if constexpr (L == 16) {
      if (2 * (j + 8) <= n) {
        // Two half vectors into one (rows of 16 in a strided 16 x 16 image).
        using Half = typename VecTraits<8>::Vec;
        using HalfU = typename VecTraits<8>::VecU;
        const Half ev = *reinterpret_cast<const HalfU*>(e + j), ov = *reinterpret_cast<const HalfU*>(o + j);
        store(d + 2 * j, __builtin_shufflevector(ev, ov, 0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15));
        j += 8;
      }
    }
    for (int64_t k = 2 * j; k < n; ++k) {
      const float v = k % 2 == 0 ? e[k / 2] : o[k / 2];
      d[k] = accumulate ? d[k] + v : v;
    }
  }
}

template <int L>
DirectKernels MakeDirectKernels() {
  return {L,         Config<L>::kRows, Config<L>::kMaxVecs * L, &Gemm<L>, &WeightGrad<L>, &LaneGrad<L>,
          &Transpose<L>, &Slice<L>, &Interleave<L>};
}

}  // namespace
}  // namespace normgrad::cpu
