#include "core/cpu/conv_winograd.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/cpu/conv_winograd_kernels.h"
#include "core/cpu/conv_work.h"

namespace normgrad::cpu {
namespace {

const WinogradKernels& KernelsFor(VectorIsa isa) {
  return isa == VectorIsa::kAvx512 ? Avx512WinogradKernels() : Avx2WinogradKernels();
}

// A stride-1 3 x 3 convolution as the Winograd pass sees it: `in` channels of in_h x in_w images to `out`
// channels of out_h x out_w.
struct Problem {
  int64_t batch, in, out, in_h, in_w, pad_h, pad_w, out_h, out_w;
  int64_t tiles_h() const { return CeilDiv(out_h, 4); }
  int64_t tiles_w() const { return CeilDiv(out_w, 4); }
};

// U[xi][i][o] = (G g G^T)[xi] for the 3 x 3 kernel g(o, i) of every channel pair, where g(o, i)[p][q] is
// weight[o][i][p][q], or with `flipped` weight[i][o][2 - p][2 - q] (backward-input: the kernel that
// carries grad_output's `in` channels to grad_input's `out`).
//   G = [ 1/4     0     0  ]
//       [-1/6  -1/6  -1/6  ]
//       [-1/6   1/6  -1/6  ]
//       [ 1/24  1/12  1/6  ]
//       [ 1/24 -1/12  1/6  ]
//       [ 0       0     1  ]
std::vector<float> TransformWeights(const float* weight, int64_t in, int64_t out, bool flipped) {
  static constexpr double kG[6][3] = {{1.0 / 4, 0, 0},
                                      {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                      {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                      {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                      {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                      {0, 0, 1}};
  // Chunks of kChunk channel pairs e = i * out + o, each tap a row, so that the sums run along rows.
  constexpr int64_t kChunk = 64;
  const int64_t pairs = in * out;
  std::vector<float> u(36 * pairs);
  for (int64_t e0 = 0; e0 < pairs; e0 += kChunk) {
    const int64_t n = std::min(kChunk, pairs - e0);
    double g[9][kChunk], gg[6][3][kChunk];  // g[p * 3 + q][e], then gg[a][q][e] = (G g)[a][q]
    for (int64_t e = 0; e < n; ++e) {
      const int64_t i = (e0 + e) / out, o = (e0 + e) % out;
      for (int t = 0; t < 9; ++t) g[t][e] = flipped ? weight[(i * out + o) * 9 + 8 - t] : weight[(o * in + i) * 9 + t];
    }
    for (int a = 0; a < 6; ++a) {
      for (int q = 0; q < 3; ++q) {
        for (int64_t e = 0; e < n; ++e) {
          gg[a][q][e] = kG[a][0] * g[q][e] + kG[a][1] * g[3 + q][e] + kG[a][2] * g[6 + q][e];
        }
      }
    }
    for (int a = 0; a < 6; ++a) {
      for (int b = 0; b < 6; ++b) {
        float* dst = u.data() + (6 * a + b) * pairs + e0;
        for (int64_t e = 0; e < n; ++e) {
          dst[e] = static_cast<float>(gg[a][0][e] * kG[b][0] + gg[a][1][e] * kG[b][1] + gg[a][2][e] * kG[b][2]);
        }
      }
    }
  }
  return u;
}

// Floats of V and M a block may hold (about 384 KB, so that they stay in the L2 cache with the block's
// channels-last copies and the weights).
constexpr int64_t kBlockFloats = 96 * 1024;

// How the batch's tiles are cut into blocks: `images` whole images at a time, or, when one image has more
// tiles than a block holds (or there are too few images to keep every thread busy), runs of
// `tile_rows` tile rows of one image.
struct Blocks {
  int64_t images = 1, tile_rows = 0, per_image = 1, count = 0;

  explicit Blocks(const Problem& p) {
    const int64_t tiles = p.tiles_h() * p.tiles_w();
    int64_t target = std::max<int64_t>(1, kBlockFloats / (36 * (p.in + p.out)));
    target = std::min(target, CeilDiv(p.batch * tiles, GetNumThreads()));
    if (tiles <= target) {
      images = std::min(p.batch, target / tiles);
      tile_rows = p.tiles_h();
      count = CeilDiv(p.batch, images);
    } else {
      tile_rows = std::clamp<int64_t>(target / p.tiles_w(), 1, p.tiles_h());
      per_image = CeilDiv(p.tiles_h(), tile_rows);
      count = p.batch * per_image;
    }
  }
  int64_t max_tiles(const Problem& p) const { return images * tile_rows * p.tiles_w(); }
};

// Runs the convolution of p on src into dst (added to dst with accumulate) with the transformed weights u.
void Run(const Problem& p, const float* src, const std::vector<float>& u, const float* bias, float* dst,
         bool accumulate, VectorIsa isa) {
  const WinogradKernels& kern = KernelsFor(isa);
  const Blocks blocks(p);
  // Rounded up to whole GEMM tiles; the rows past a block's tiles stay zero or hold an earlier block's.
  const int64_t tiles_cap = CeilDiv(blocks.max_tiles(p), kWinogradTileRows) * kWinogradTileRows;
  const int64_t v_ld = tiles_cap * p.in, m_ld = tiles_cap * p.out;
  const int64_t x_rows_cap = std::min(p.in_h, 4 * blocks.tile_rows + 2);
  const int64_t y_rows_cap = std::min(p.out_h, 4 * blocks.tile_rows);
  const int64_t x_floats = blocks.images * x_rows_cap * p.in_w * p.in;
  const int64_t y_floats = blocks.images * y_rows_cap * p.out_w * p.out;
  const int64_t in_image = p.in * p.in_h * p.in_w, out_image = p.out * p.out_h * p.out_w;
  ForEachItem(blocks.count, [&] {
    return [&, x = Scratch(x_floats), v = Scratch(36 * v_ld), m = Scratch(36 * m_ld),
            y = Scratch(y_floats), zeroed = false](int64_t block) mutable {
      if (!zeroed) {
        std::memset(v.data(), 0, 36 * v_ld * sizeof(float));
        zeroed = true;
      }
      const int64_t n0 = block / blocks.per_image * blocks.images;
      const int64_t images = std::min(blocks.images, p.batch - n0);
      const int64_t r0 = block % blocks.per_image * blocks.tile_rows;
      const int64_t r1 = std::min(p.tiles_h(), r0 + blocks.tile_rows);
      // The input rows the tiles read, and the output rows they write.
      const int64_t y0 = std::clamp<int64_t>(4 * r0 - p.pad_h, 0, p.in_h);
      const int64_t y1 = std::clamp<int64_t>(4 * r1 + 2 - p.pad_h, y0, p.in_h);
      const int64_t oy0 = 4 * r0, oy1 = std::min(p.out_h, 4 * r1);
      for (int64_t i = 0; i < images; ++i) {
        kern.transpose(src + (n0 + i) * in_image + y0 * p.in_w, p.in_h * p.in_w, p.in, (y1 - y0) * p.in_w,
                       x.data() + i * (y1 - y0) * p.in_w * p.in, p.in, false);
      }
      const int64_t tiles = images * (r1 - r0) * p.tiles_w();
      kern.input({x.data(), images, y0, y1 - y0, p.in_h, p.in_w, p.in, p.pad_h, p.pad_w, r0, r1, p.tiles_w(), v.data(),
                  v_ld});
      kern.gemm({v.data(), u.data(), m.data(), CeilDiv(tiles, kWinogradTileRows) * kWinogradTileRows, p.in, p.out,
                 v_ld, m_ld});
      kern.output({m.data(), m_ld, bias, images, p.out, p.out_h, p.out_w, r0, r1, p.tiles_w(), oy1 - oy0, y.data()});
      for (int64_t i = 0; i < images; ++i) {
        kern.transpose(y.data() + i * (oy1 - oy0) * p.out_w * p.out, p.out, (oy1 - oy0) * p.out_w, p.out,
                       dst + (n0 + i) * out_image + oy0 * p.out_w, p.out_h * p.out_w, accumulate);
      }
    };
  });
}

}  // namespace

bool WinogradApplies(const ConvShape& s, VectorIsa isa) {
  const int64_t lanes = KernelsFor(isa).lanes;
  return s.groups == 1 && s.kernel_h == 3 && s.kernel_w == 3 && s.stride_h == 1 && s.stride_w == 1 &&
         s.dilation_h == 1 && s.dilation_w == 1 && s.pad_h <= 2 && s.pad_w <= 2 && s.in_channels % lanes == 0 &&
         s.out_channels % lanes == 0 && s.in_channels > 0 && s.out_channels > 0;
}

void WinogradConv2dForward(const ConvShape& s, const float* input, const float* weight, const float* bias,
                           float* output, VectorIsa isa) {
  const Problem p{s.batch, s.in_channels, s.out_channels, s.in_h, s.in_w, s.pad_h, s.pad_w, s.out_h, s.out_w};
  Run(p, input, TransformWeights(weight, p.in, p.out, false), bias, output, false, isa);
}

void WinogradConv2dBackwardInput(const ConvShape& s, const float* grad_output, const float* weight,
                                 float* grad_input, bool accumulate, VectorIsa isa) {
  // grad_input is grad_output convolved with the flipped, transposed kernel, padded by 2 - pad.
  const Problem p{s.batch, s.out_channels, s.in_channels, s.out_h, s.out_w, 2 - s.pad_h, 2 - s.pad_w, s.in_h, s.in_w};
  Run(p, grad_output, TransformWeights(weight, p.in, p.out, true), nullptr, grad_input, accumulate, isa);
}

}  // namespace normgrad::cpu
