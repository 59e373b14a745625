#include "core/cpu/conv_winograd.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <optional>
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

// The kernel transform of F(4x4, 3x3) (B^T and A^T are in conv_winograd_kernels_impl.h).
constexpr double kG[6][3] = {{1.0 / 4, 0, 0},
                             {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                             {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                             {1.0 / 24, 1.0 / 12, 1.0 / 6},
                             {1.0 / 24, -1.0 / 12, 1.0 / 6},
                             {0, 0, 1}};

// The float64 weight transforms work on chunks of this many channel pairs e = i * out + o at a time,
// each tap (or transform point) a row of the chunk, so that their sums run along rows.
constexpr int64_t kPairChunk = 64;

// U[xi][i][o] = (G g G^T)[xi] for the 3 x 3 kernel g(o, i) of every channel pair, where g(o, i)[p][q] is
// weight[o][i][p][q], or with `flipped` weight[i][o][2 - p][2 - q] (backward-input: the kernel that
// carries grad_output's `in` channels to grad_input's `out`).
std::vector<float> TransformWeights(const float* weight, int64_t in, int64_t out, bool flipped) {
  const int64_t pairs = in * out;
  std::vector<float> u(36 * pairs);
  for (int64_t e0 = 0; e0 < pairs; e0 += kPairChunk) {
    const int64_t n = std::min(kPairChunk, pairs - e0);
    double g[9][kPairChunk], gg[6][3][kPairChunk];  // g[p * 3 + q][e], then gg[a][q][e] = (G g)[a][q]
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

// The images, tile rows and image rows one block covers.
struct Block {
  int64_t n0, images, r0, r1;  // images [n0, n0 + images), tile rows [r0, r1)
  int64_t y0, y1, oy0, oy1;    // the input rows its tiles read, the output rows they cover
  int64_t tiles;

  Block(const Problem& p, const Blocks& blocks, int64_t block)
      : n0(block / blocks.per_image * blocks.images),
        images(std::min(blocks.images, p.batch - n0)),
        r0(block % blocks.per_image * blocks.tile_rows),
        r1(std::min(p.tiles_h(), r0 + blocks.tile_rows)),
        y0(std::clamp<int64_t>(4 * r0 - p.pad_h, 0, p.in_h)),
        y1(std::clamp<int64_t>(4 * r1 + 2 - p.pad_h, y0, p.in_h)),
        oy0(4 * r0),
        oy1(std::min(p.out_h, 4 * r1)),
        tiles(images * (r1 - r0) * p.tiles_w()) {}
};

// A worker's buffers: channels-last input rows x, V, the products M (or Z), channels-last output rows y.
struct Buffers {
  int64_t tiles_cap, v_ld, m_ld, x_floats, y_floats;
  // tiles_cap: rounded up to whole GEMM tiles (the rows past a block's tiles hold zeros or earlier values).
  Buffers(const Problem& p, const Blocks& blocks)
      : tiles_cap(CeilDiv(blocks.max_tiles(p), kWinogradTileRows) * kWinogradTileRows),
        v_ld(tiles_cap * p.in),
        m_ld(tiles_cap * p.out),
        x_floats(blocks.images * std::min(p.in_h, 4 * blocks.tile_rows + 2) * p.in_w * p.in),
        y_floats(blocks.images * std::min(p.out_h, 4 * blocks.tile_rows) * p.out_w * p.out) {}
};

// V of block b of the images at src (channel-major), through its channels-last rows in x.
void TransformInput(const WinogradKernels& kern, const Problem& p, const Block& b, const Buffers& buf, const float* src,
                    float* x, float* v) {
  for (int64_t i = 0; i < b.images; ++i) {
    kern.transpose(src + ((b.n0 + i) * p.in * p.in_h + b.y0) * p.in_w, p.in_h * p.in_w, p.in, (b.y1 - b.y0) * p.in_w,
                   x + i * (b.y1 - b.y0) * p.in_w * p.in, p.in, false);
  }
  kern.input(
      {x, b.images, b.y0, b.y1 - b.y0, p.in_h, p.in_w, p.in, p.pad_h, p.pad_w, b.r0, b.r1, p.tiles_w(), v, buf.v_ld});
}

// The direct kernels' result for images [n0, n0 + images) of a pass, whole images, channel-major.
using DirectImages = std::function<void(int64_t n0, int64_t images, float* out)>;

// Runs the convolution of p on src into dst (added to dst with accumulate) with the transformed weights u.
// A block whose result is not all finite is left out, and computed again by `direct` at the end.
void Run(const Problem& p, const float* src, const std::vector<float>& u, const float* bias, float* dst,
         bool accumulate, VectorIsa isa, const DirectImages& direct) {
  const WinogradKernels& kern = KernelsFor(isa);
  const Blocks blocks(p);
  const Buffers buf(p, blocks);
  std::vector<char> not_finite(blocks.count, 0);  // one entry per block, each written by its own worker
  ForEachItem(blocks.count, [&] {
    Scratch v(36 * buf.v_ld);
    std::memset(v.data(), 0, 36 * buf.v_ld * sizeof(float));  // the GEMM reads whole tiles of rows
    return [&, x = Scratch(buf.x_floats), v = std::move(v), m = Scratch(36 * buf.m_ld),
            y = Scratch(buf.y_floats)](int64_t block) {
      const Block b(p, blocks, block);
      TransformInput(kern, p, b, buf, src, x.data(), v.data());
      kern.gemm({v.data(), u.data(), m.data(), b.tiles, p.in, p.out, buf.v_ld, buf.m_ld});
      if (!kern.output({m.data(), buf.m_ld, bias, b.images, p.out, p.out_h, p.out_w, b.r0, b.r1, p.tiles_w(),
                        b.oy1 - b.oy0, y.data()})) {
        not_finite[block] = 1;
        return;
      }
      for (int64_t i = 0; i < b.images; ++i) {
        kern.transpose(y.data() + i * (b.oy1 - b.oy0) * p.out_w * p.out, p.out, (b.oy1 - b.oy0) * p.out_w, p.out,
                       dst + ((b.n0 + i) * p.out * p.out_h + b.oy0) * p.out_w, p.out_h * p.out_w, accumulate);
      }
    };
  });
  // The blocks that met an infinity or NaN (or values whose transforms overflow): the direct kernels put
  // non-finite values only where the inputs reach them, where Winograd's transforms spread them over whole
  // tiles. Each run of consecutive such blocks is one call of the direct kernels over its images (every
  // block fails when a weight is not finite).
  std::vector<float> images;
  const int64_t plane = p.out_h * p.out_w;
  for (int64_t first = 0; first < blocks.count; ++first) {
    if (!not_finite[first]) continue;
    int64_t last = first;
    while (last + 1 < blocks.count && not_finite[last + 1]) ++last;
    const Block a(p, blocks, first), z(p, blocks, last);
    images.resize((z.n0 + z.images - a.n0) * p.out * plane);
    direct(a.n0, z.n0 + z.images - a.n0, images.data());
    for (int64_t block = first; block <= last; ++block) {
      const Block b(p, blocks, block);
      for (int64_t i = 0; i < b.images * p.out; ++i) {
        const float* from = images.data() + ((b.n0 - a.n0) * p.out + i) * plane + b.oy0 * p.out_w;
        float* to = dst + (b.n0 * p.out + i) * plane + b.oy0 * p.out_w;
        for (int64_t j = 0; j < (b.oy1 - b.oy0) * p.out_w; ++j) to[j] = accumulate ? to[j] + from[j] : from[j];
      }
    }
    first = last;
  }
}

// grad_weight[o][i][p][q] = (G^T dU[i][o] G)[p][q] from the workers' sums dU[xi][i][o] (36 in out floats
// each), added in worker order.
void InverseTransformWeights(const std::vector<Scratch>& sums, int64_t in, int64_t out, float* grad_weight) {
  const int64_t pairs = in * out;
  for (int64_t e0 = 0; e0 < pairs; e0 += kPairChunk) {
    const int64_t n = std::min(kPairChunk, pairs - e0);
    double du[36][kPairChunk], gdu[3][6][kPairChunk];  // dU[a][b][e], then (G^T dU)[p][b][e]
    for (int xi = 0; xi < 36; ++xi) {
      for (int64_t e = 0; e < n; ++e) du[xi][e] = 0;
      for (const Scratch& sum : sums) {
        const float* src = sum.data() + xi * pairs + e0;
        for (int64_t e = 0; e < n; ++e) du[xi][e] += src[e];
      }
    }
    for (int p = 0; p < 3; ++p) {
      for (int b = 0; b < 6; ++b) {
        for (int64_t e = 0; e < n; ++e) {
          double t = 0;
          for (int a = 0; a < 6; ++a) t += kG[a][p] * du[6 * a + b][e];
          gdu[p][b][e] = t;
        }
      }
    }
    for (int64_t e = 0; e < n; ++e) {
      const int64_t i = (e0 + e) / out, o = (e0 + e) % out;
      for (int p = 0; p < 3; ++p) {
        for (int q = 0; q < 3; ++q) {
          double t = 0;
          for (int b = 0; b < 6; ++b) t += gdu[p][b][e] * kG[b][q];
          grad_weight[(o * in + i) * 9 + p * 3 + q] = static_cast<float>(t);
        }
      }
    }
  }
}

// s with `images` images.
ConvShape Images(const ConvShape& s, int64_t images) {
  ConvShape part = s;
  part.batch = images;
  return part;
}

}  // namespace

bool WinogradApplies(const ConvShape& s, VectorIsa isa) {
  const int64_t lanes = isa == VectorIsa::kAvx512 ? 16 : 8;
  const auto channels_fit = [&](int64_t c) { return c > 0 && c <= kMaxWinogradChannels && c % lanes == 0; };
  return s.groups == 1 && s.kernel_h == 3 && s.kernel_w == 3 && s.stride_h == 1 && s.stride_w == 1 &&
         s.dilation_h == 1 && s.dilation_w == 1 && s.pad_h <= 2 && s.pad_w <= 2 && channels_fit(s.in_channels) &&
         channels_fit(s.out_channels) && s.batch > 0 && s.in_h > 0 && s.in_w > 0 && s.out_h > 0 && s.out_w > 0;
}

std::optional<VectorIsa> WinogradIsa(const ConvShape& s) {
  if (WinogradApplies(s)) return BestVectorIsa();
  if (WinogradApplies(s, VectorIsa::kAvx2)) return VectorIsa::kAvx2;
  return std::nullopt;
}

void WinogradConv2dForward(const ConvShape& s, const float* input, const float* weight, const float* bias,
                           float* output, VectorIsa isa) {
  const Problem p{s.batch, s.in_channels, s.out_channels, s.in_h, s.in_w, s.pad_h, s.pad_w, s.out_h, s.out_w};
  Run(p, input, TransformWeights(weight, p.in, p.out, false), bias, output, false, isa,
      [&](int64_t n0, int64_t images, float* out) {
        DirectConv2dForward(Images(s, images), input + n0 * p.in * p.in_h * p.in_w, weight, bias, out, isa);
      });
}

void WinogradConv2dBackwardInput(const ConvShape& s, const float* grad_output, const float* weight, float* grad_input,
                                 bool accumulate, VectorIsa isa) {
  // grad_input is grad_output convolved with the flipped, transposed kernel, padded by 2 - pad.
  const Problem p{s.batch, s.out_channels, s.in_channels, s.out_h, s.out_w, 2 - s.pad_h, 2 - s.pad_w, s.in_h, s.in_w};
  Run(p, grad_output, TransformWeights(weight, p.in, p.out, true), nullptr, grad_input, accumulate, isa,
      [&](int64_t n0, int64_t images, float* out) {
        DirectConv2dBackwardInput(Images(s, images), grad_output + n0 * p.in * p.in_h * p.in_w, weight, out, false,
                                  isa);
      });
}

void WinogradConv2dBackwardWeight(const ConvShape& s, const float* grad_output, const float* input, float* grad_weight,
                                  VectorIsa isa) {
  const WinogradKernels& kern = KernelsFor(isa);
  const Problem p{s.batch, s.in_channels, s.out_channels, s.in_h, s.in_w, s.pad_h, s.pad_w, s.out_h, s.out_w};
  const Blocks blocks(p);
  const Buffers buf(p, blocks);
  // A fixed run of blocks per worker, each summing into its own dU: the sums' order depends only on the
  // thread count.
  const int64_t workers = std::min<int64_t>(GetNumThreads(), blocks.count);
  std::vector<Scratch> sums;
  for (int64_t w = 0; w < workers; ++w) sums.emplace_back(36 * p.in * p.out);
  ParallelFor(0, workers, 1, [&](int64_t begin, int64_t end) {
    Scratch x(buf.x_floats), v(36 * buf.v_ld), z(36 * buf.m_ld), y(buf.y_floats);
    for (int64_t w = begin; w < end; ++w) {
      std::memset(sums[w].data(), 0, 36 * p.in * p.out * sizeof(float));
      for (int64_t block = blocks.count * w / workers; block < blocks.count * (w + 1) / workers; ++block) {
        const Block b(p, blocks, block);
        TransformInput(kern, p, b, buf, input, x.data(), v.data());
        for (int64_t i = 0; i < b.images; ++i) {
          kern.transpose(grad_output + ((b.n0 + i) * p.out * p.out_h + b.oy0) * p.out_w, p.out_h * p.out_w, p.out,
                         (b.oy1 - b.oy0) * p.out_w, y.data() + i * (b.oy1 - b.oy0) * p.out_w * p.out, p.out, false);
        }
        kern.grad(
            {y.data(), b.images, p.out, p.out_h, p.out_w, b.r0, b.r1, p.tiles_w(), b.oy1 - b.oy0, z.data(), buf.m_ld});
        kern.reduce({v.data(), z.data(), sums[w].data(), b.tiles, p.in, p.out, buf.v_ld, buf.m_ld});
      }
    }
  });
  InverseTransformWeights(sums, p.in, p.out, grad_weight);
  // An infinity or NaN in either operand (or an overflow in the transforms) reaches some entry of the
  // result; the direct kernels then give it as they would have.
  if (!std::all_of(grad_weight, grad_weight + 9 * p.in * p.out, [](float g) { return std::isfinite(g); })) {
    DirectConv2dBackwardWeight(s, grad_output, input, grad_weight, isa);
  }
}

}  // namespace normgrad::cpu
