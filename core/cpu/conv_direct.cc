#include "core/cpu/conv_direct.h"

#include <algorithm>
#include <atomic>
#include <utility>
#include <vector>

#include "core/cpu/conv_direct_kernels.h"
#include "core/cpu/conv_work.h"

namespace normgrad::cpu {
namespace {

const DirectKernels& KernelsFor(VectorIsa isa) {
  return isa == VectorIsa::kAvx512 ? Avx512DirectKernels() : Avx2DirectKernels();
}

// The fewest column vectors per image for which the weight gradient goes through DirectLaneGradTask: its
// accumulators are loaded and stored once per block of columns, which a narrow image would not repay.
constexpr int64_t kLaneGradMinVectors = 16;

// Row slices of one image [channels, src_h, src_w] (see conv_direct.h). Slice i holds, per channel c,
//   [c, R, j] = src[c, row_stride * R + offsets[i].first, col_stride * j + offsets[i].second]
// for R < rows, j < cols, zero outside the image; slices follow each other, channels within a slice, each
// channel's plane starting on a 64-byte boundary (so that runs of whole rows load aligned vectors).
// koff[k] is where the run of product row k starts.
struct RowSlices {
  int64_t channels = 0, src_h = 0, src_w = 0;
  int64_t row_stride = 1, col_stride = 1;
  int64_t rows = 0, cols = 0;
  std::vector<std::pair<int64_t, int64_t>> offsets;
  std::vector<int64_t> koff;
  // The slices would be a copy of the image (a 1 x 1 kernel at stride 1 without padding): read it in place.
  bool identity = false;

  int64_t plane = 0;  // floats from one channel's plane to the next

  int64_t slice_size() const { return channels * plane; }
  int64_t size() const { return identity ? 0 : static_cast<int64_t>(offsets.size()) * slice_size(); }

  // Sets the plane stride and decides `identity`, which needs products of at least max_tile_cols columns
  // (narrower ones read past their runs; see DirectGemmTask).
  void Finish(int64_t product_cols, int64_t max_tile_cols) {
    identity = offsets.size() == 1 && offsets[0] == std::pair<int64_t, int64_t>{0, 0} && row_stride == 1 &&
               col_stride == 1 && rows == src_h && cols == src_w && product_cols >= max_tile_cols;
    constexpr int64_t kAlign = 64 / sizeof(float);
    plane = identity ? rows * cols : (rows * cols + kAlign - 1) / kAlign * kAlign;
  }

  // Fills buf (size() floats) from the image at src and returns it; returns src itself for the identity.
  // Nothing outside [src_begin, src_end) (the tensor holding the image) is read.
  const float* Build(const float* src, const float* src_begin, const float* src_end, float* buf,
                     const DirectKernels& kern) const {
    if (identity) return src;
    BuildChannels(src, src_begin, src_end, buf, kern, 0, channels);
    return buf;
  }

  // The part of Build that covers the channels [c0, c1) of every slice (not for the identity).
  void BuildChannels(const float* src, const float* src_begin, const float* src_end, float* buf,
                     const DirectKernels& kern, int64_t c0, int64_t c1) const {
    if (c1 <= c0) return;
    float* dst = buf + c0 * plane;
    for (const auto& [row_offset, col_offset] : offsets) {
      const IndexRange valid = ValidOutputRange(cols, src_w, col_stride, col_offset);
      kern.slice({src + c0 * src_h * src_w, c1 - c0, src_h, src_w, row_stride, row_offset, col_stride, col_offset,
                  rows, cols, valid.lo, valid.hi, plane, src_begin, src_end, dst});
      dst += slice_size();
    }
  }
};

// The forward slices of an input image: one slice per (vertical stride phase r, kernel column q) that
// some tap uses. Tap (p, q) with p * dilation_h = stride_h * a + r reads slice (r, q) from row a on.
RowSlices ForwardSlices(const ConvShape& s, int64_t max_tile_cols) {
  RowSlices l;
  l.channels = s.in_channels;
  l.src_h = s.in_h;
  l.src_w = s.in_w;
  l.row_stride = s.stride_h;
  l.col_stride = s.stride_w;
  l.rows = s.out_h + (s.kernel_h - 1) * s.dilation_h / s.stride_h;
  l.cols = s.out_w;
  std::vector<int64_t> slot(s.stride_h, -1);
  int64_t used = 0;
  for (int64_t p = 0; p < s.kernel_h; ++p) {
    const int64_t r = p * s.dilation_h % s.stride_h;
    if (slot[r] >= 0) continue;
    slot[r] = used++;
    for (int64_t q = 0; q < s.kernel_w; ++q) {
      l.offsets.emplace_back(r - s.pad_h, q * s.dilation_w - s.pad_w);
    }
  }
  l.Finish(s.out_h * s.out_w, max_tile_cols);
  l.koff.resize(s.in_channels * s.kernel_h * s.kernel_w);
  for (int64_t c = 0; c < s.in_channels; ++c) {
    for (int64_t p = 0; p < s.kernel_h; ++p) {
      const int64_t a = p * s.dilation_h / s.stride_h, r = p * s.dilation_h % s.stride_h;
      for (int64_t q = 0; q < s.kernel_w; ++q) {
        l.koff[(c * s.kernel_h + p) * s.kernel_w + q] =
            (slot[r] * s.kernel_w + q) * l.slice_size() + c * l.plane + a * l.cols;
      }
    }
  }
  return l;
}

// The row-major rows x k_count matrix src packed in blocks of `block_rows` rows as DirectGemmTask::a
// wants, zero-padded to whole blocks.
std::vector<float> PackRows(const float* src, int64_t rows, int64_t k_count, int64_t block_rows) {
  std::vector<float> a(CeilDiv(rows, block_rows) * block_rows * k_count, 0.0f);
  for (int64_t m = 0; m < rows; ++m) {
    float* dst = a.data() + (m / block_rows) * block_rows * k_count + m % block_rows;
    for (int64_t k = 0; k < k_count; ++k) dst[k * block_rows] = src[m * k_count + k];
  }
  return a;
}

// Work items for `batch` images when the product rows come in `blocks` blocks: one item per image, or,
// when the batch has fewer images than there are threads, each image split into `parts` block ranges.
struct Split {
  int64_t parts;
  explicit Split(int64_t batch, int64_t blocks)
      : parts(batch >= GetNumThreads() ? 1 : std::clamp<int64_t>(CeilDiv(GetNumThreads(), batch), 1, blocks)) {}
  int64_t begin(int64_t part, int64_t blocks) const { return blocks * part / parts; }
  int64_t end(int64_t part, int64_t blocks) const { return blocks * (part + 1) / parts; }
};

// A product's columns cut into up to kMaxPieces pieces for Pipeline, each a whole number of 96-column
// units (a multiple of every GEMM tile width, so no piece recomputes columns), the last one taking the
// remainder; a product narrower than two units is one piece.
struct ColumnPieces {
  static constexpr int64_t kUnit = 96, kMaxPieces = 8;
  int64_t cols, units, count;
  explicit ColumnPieces(int64_t product_cols, int64_t max_pieces = kMaxPieces)
      : cols(product_cols), units(product_cols / kUnit), count(std::clamp<int64_t>(units, 1, max_pieces)) {}
  int64_t begin(int64_t i) const { return kUnit * (units * i / count); }
  int64_t end(int64_t i) const { return i + 1 == count ? cols : kUnit * (units * (i + 1) / count); }
  // Piece i's share of n things (channels to slice), so that the shares cover [0, n).
  int64_t share_begin(int64_t i, int64_t n) const { return n * i / count; }
  int64_t share_end(int64_t i, int64_t n) const { return n * (i + 1) / count; }
};

// Computes the products of the images that next() hands out (-1 when there are none left) on the calling
// thread, preparing each image's operands (row slices, a transpose) while it computes the one before:
// prepare(n, scratch, i) writes piece i of image n's operands into one of two scratch slots of
// scratch_floats floats, compute(n, scratch, i) computes piece i of image n's product from that slot, and
// the next image's prepare pieces alternate with the current image's compute pieces. Why: preparing is
// stores into the L2 cache and the product is arithmetic; run one after the other their times add,
// interleaved the out-of-order core overlaps them (a ResNet-20 step's convolutions took about 7% less CPU
// time at one thread). The pieces of one product run in order, so results do not change.
template <typename Next, typename Prepare, typename Compute>
void Pipeline(Next next, int64_t pieces, int64_t scratch_floats, const Prepare& prepare, const Compute& compute) {
  Scratch slots[2] = {Scratch(scratch_floats), Scratch(scratch_floats)};
  int64_t current = next();
  for (int64_t i = 0; current >= 0 && i < pieces; ++i) prepare(current, slots[0].data(), i);
  for (int slot = 0; current >= 0; slot ^= 1) {
    const int64_t following = next();
    for (int64_t i = 0; i < pieces; ++i) {
      if (following >= 0) prepare(following, slots[slot ^ 1].data(), i);
      compute(current, slots[slot].data(), i);
    }
    current = following;
  }
}

// Pipeline over a batch on up to GetNumThreads() workers that take images one at a time (as ForEachItem),
// for passes whose images write disjoint outputs.
template <typename Prepare, typename Compute>
void PipelineImages(int64_t batch, int64_t pieces, int64_t scratch_floats, const Prepare& prepare,
                    const Compute& compute) {
  std::atomic<int64_t> next{0};
  ParallelFor(0, std::min<int64_t>(GetNumThreads(), batch), 1, [&](int64_t begin, int64_t end) {
    for (int64_t worker = begin; worker < end; ++worker) {
      Pipeline([&] { const int64_t n = next++; return n < batch ? n : -1; }, pieces, scratch_floats, prepare, compute);
    }
  });
}

// The products of a batch whose second operand is row slices of each image (src, `image` floats apart),
// through PipelineImages: compute(n, rows, c0, c1) computes the columns [c0, c1) of image n's product from
// its slices, `rows` pointing c0 floats into them.
template <typename Compute>
void PipelineSlicedProducts(const RowSlices& slices, const float* src, int64_t image, const float* src_end,
                            int64_t batch, int64_t cols, const DirectKernels& kern, const Compute& compute) {
  const ColumnPieces pieces(cols);
  PipelineImages(
      batch, pieces.count, slices.size() + kern.max_tile_cols,
      [&](int64_t n, float* buf, int64_t i) {
        slices.BuildChannels(src + n * image, src, src_end, buf, kern, pieces.share_begin(i, slices.channels),
                             pieces.share_end(i, slices.channels));
      },
      [&](int64_t n, const float* buf, int64_t i) {
        compute(n, buf + pieces.begin(i), pieces.begin(i), pieces.end(i));
      });
}

// One stride phase of the input for backward-input: the input positions (stride_h * i + r_h,
// stride_w * j + r_w), n_h x n_w of them, receive grad_output[o, i + a_p, j + a_q] * W[o, c, p, q] from the
// taps (p, q) with r_h + pad_h - p * dilation_h = stride_h * a_p (and likewise for q).
// Phases are kept in row-major (r_h, r_w) order.
struct InputPhase {
  int64_t n_h = 0, n_w = 0;
  RowSlices slices;      // of grad_output, one per tap column q
  std::vector<float> a;  // packed [in_channels, out_channels * taps] weights
  bool empty() const { return slices.koff.empty() || n_h * n_w == 0; }
};

// The taps p of one dim that reach input phase r, with their offsets a_p.
std::vector<std::pair<int64_t, int64_t>> PhaseTaps(int64_t r, int64_t kernel, int64_t stride, int64_t pad,
                                                   int64_t dilation) {
  std::vector<std::pair<int64_t, int64_t>> taps;
  for (int64_t p = 0; p < kernel; ++p) {
    const int64_t shift = r + pad - p * dilation;
    if (((shift % stride) + stride) % stride == 0) taps.emplace_back(p, shift / stride);
  }
  return taps;
}

std::vector<InputPhase> InputPhases(const ConvShape& s, const float* weight, const DirectKernels& kern) {
  std::vector<InputPhase> phases;
  for (int64_t r_h = 0; r_h < s.stride_h; ++r_h) {
    for (int64_t r_w = 0; r_w < s.stride_w; ++r_w) {
      InputPhase ph;
      ph.n_h = r_h < s.in_h ? CeilDiv(s.in_h - r_h, s.stride_h) : 0;
      ph.n_w = r_w < s.in_w ? CeilDiv(s.in_w - r_w, s.stride_w) : 0;
      const auto taps_h = PhaseTaps(r_h, s.kernel_h, s.stride_h, s.pad_h, s.dilation_h);
      const auto taps_w = PhaseTaps(r_w, s.kernel_w, s.stride_w, s.pad_w, s.dilation_w);
      if (!taps_h.empty() && !taps_w.empty()) {
        int64_t a_min = taps_h[0].second, a_max = taps_h[0].second;
        for (const auto& [p, a] : taps_h) {
          a_min = std::min(a_min, a);
          a_max = std::max(a_max, a);
        }
        RowSlices& l = ph.slices;
        l.channels = s.out_channels;
        l.src_h = s.out_h;
        l.src_w = s.out_w;
        l.rows = ph.n_h + a_max - a_min;
        l.cols = ph.n_w;
        for (const auto& [q, b] : taps_w) l.offsets.emplace_back(a_min, b);
        l.Finish(ph.n_h * ph.n_w, kern.max_tile_cols);
        // Product row (o, p, q) over input channels c: W[o, c, p, q].
        const int64_t taps = static_cast<int64_t>(taps_h.size() * taps_w.size());
        std::vector<float> w(s.in_channels * s.out_channels * taps);
        for (int64_t o = 0; o < s.out_channels; ++o) {
          for (size_t i = 0; i < taps_h.size(); ++i) {
            for (size_t j = 0; j < taps_w.size(); ++j) {
              const int64_t k = (o * static_cast<int64_t>(taps_h.size()) + i) * taps_w.size() + j;
              l.koff.push_back((j * s.out_channels + o) * l.plane + (taps_h[i].second - a_min) * l.cols);
              for (int64_t c = 0; c < s.in_channels; ++c) {
                w[c * s.out_channels * taps + k] =
                    weight[((o * s.in_channels + c) * s.kernel_h + taps_h[i].first) * s.kernel_w + taps_w[j].first];
              }
            }
          }
        }
        ph.a = PackRows(w.data(), s.in_channels, s.out_channels * taps, kern.rows_per_block);
      }
      phases.push_back(std::move(ph));
    }
  }
  return phases;
}

}  // namespace

VectorIsa BestVectorIsa() {
  static const VectorIsa isa = [] {
    __builtin_cpu_init();  // in case this runs during static initialization, before libgcc's own
    return __builtin_cpu_supports("avx512f") ? VectorIsa::kAvx512 : VectorIsa::kAvx2;
  }();
  return isa;
}

void DirectConv2dForward(const ConvShape& s, const float* input, const float* weight, const float* bias, float* output,
                         VectorIsa isa) {
  const DirectKernels& kern = KernelsFor(isa);
  const float* input_end = input + s.batch * s.in_channels * s.in_h * s.in_w;
  const RowSlices slices = ForwardSlices(s, kern.max_tile_cols);
  const int64_t k_count = s.in_channels * s.kernel_h * s.kernel_w, ohw = s.out_h * s.out_w;
  const int64_t blocks = CeilDiv(s.out_channels, kern.rows_per_block);
  const std::vector<float> a = PackRows(weight, s.out_channels, k_count, kern.rows_per_block);
  const Split split(s.batch, blocks);
  const int64_t image = s.in_channels * s.in_h * s.in_w;
  if (split.parts == 1 && !slices.identity) {
    PipelineSlicedProducts(slices, input, image, input_end, s.batch, ohw, kern,
                           [&](int64_t n, const float* rows, int64_t c0, int64_t c1) {
                             kern.gemm({a.data(), s.out_channels, k_count, slices.koff.data(), rows, c1 - c0, bias,
                                        output + n * s.out_channels * ohw + c0, ohw, 0, blocks});
                           });
    return;
  }
  ForEachItem(s.batch * split.parts, [&] {
    return [&, buf = Scratch(slices.size() + kern.max_tile_cols), built = int64_t{-1},
            rows = static_cast<const float*>(nullptr)](int64_t item) mutable {
      const int64_t n = item / split.parts, part = item % split.parts;
      if (n != built) {
        rows = slices.Build(input + n * image, input, input_end, buf.data(), kern);
        built = n;
      }
      kern.gemm({a.data(), s.out_channels, k_count, slices.koff.data(), rows, ohw, bias,
                 output + n * s.out_channels * ohw, ohw, split.begin(part, blocks), split.end(part, blocks)});
    };
  });
}

void DirectConv2dBackwardInput(const ConvShape& s, const float* grad_output, const float* weight, float* grad_input,
                               bool accumulate, VectorIsa isa) {
  const DirectKernels& kern = KernelsFor(isa);
  const float* grad_output_end = grad_output + s.batch * s.out_channels * s.out_h * s.out_w;
  const std::vector<InputPhase> phases = InputPhases(s, weight, kern);
  // At stride 1 the single phase is the whole input: its product writes grad_input directly. Otherwise
  // phase p's product goes to out + offset[p] ([in_channels, n_h * n_w]), and the phases are then merged
  // row by row into grad_input.
  const bool in_place = s.stride_h == 1 && s.stride_w == 1;
  std::vector<int64_t> offset;
  int64_t buf_size = 0, out_size = 0;
  for (const InputPhase& ph : phases) {
    buf_size = std::max(buf_size, ph.slices.size());
    offset.push_back(out_size);
    out_size += s.in_channels * ph.n_h * ph.n_w;
  }
  const std::vector<float> zeros(s.in_w, 0.0f);  // the rows of a phase that no tap reaches
  const int64_t hw = s.in_h * s.in_w, block_rows = kern.rows_per_block;
  const int64_t blocks = CeilDiv(s.in_channels, block_rows);
  const Split split(s.batch, blocks);
  const int64_t image = s.out_channels * s.out_h * s.out_w;
  if (split.parts == 1 && in_place && !phases[0].empty() && !phases[0].slices.identity) {
    const InputPhase& ph = phases[0];
    PipelineSlicedProducts(ph.slices, grad_output, image, grad_output_end, s.batch, hw, kern,
                           [&](int64_t n, const float* rows, int64_t c0, int64_t c1) {
                             kern.gemm({ph.a.data(), s.in_channels, static_cast<int64_t>(ph.slices.koff.size()),
                                        ph.slices.koff.data(), rows, c1 - c0, nullptr,
                                        grad_input + n * s.in_channels * hw + c0, hw, 0, blocks, accumulate});
                           });
    return;
  }
  ForEachItem(s.batch * split.parts, [&] {
    return [&, buf = Scratch(buf_size + kern.max_tile_cols), out = Scratch(in_place ? 0 : out_size),
            rows = std::vector<const float*>(s.stride_w), ld = std::vector<int64_t>(s.stride_w)](int64_t item) mutable {
      const int64_t n = item / split.parts, part = item % split.parts;
      const int64_t b0 = split.begin(part, blocks), b1 = split.end(part, blocks);
      float* dx = grad_input + n * s.in_channels * hw;
      const float* dy = grad_output + n * image;
      for (size_t p = 0; p < phases.size(); ++p) {
        const InputPhase& ph = phases[p];
        if (ph.empty()) continue;
        const int64_t cols = ph.n_h * ph.n_w;
        kern.gemm({ph.a.data(), s.in_channels, static_cast<int64_t>(ph.slices.koff.size()), ph.slices.koff.data(),
                   ph.slices.Build(dy, grad_output, grad_output_end, buf.data(), kern), cols, nullptr,
                   in_place ? dx : out.data() + offset[p], in_place ? hw : cols, b0, b1, in_place && accumulate});
      }
      if (in_place) return;
      for (int64_t c = b0 * block_rows; c < std::min(b1 * block_rows, s.in_channels); ++c) {
        for (int64_t r_h = 0; r_h < s.stride_h; ++r_h) {
          // Input rows r_h, r_h + stride_h, ...: row i of phase (r_h, r_w) holds columns r_w, r_w + stride_w, ...
          // of input row r_h + i * stride_h. rows[r_w] is phase (r_h, r_w)'s first row for channel c and ld[r_w]
          // the step between its rows (0 for the zero row of a phase that no tap reaches).
          for (int64_t r_w = 0; r_w < s.stride_w; ++r_w) {
            const int64_t p = r_h * s.stride_w + r_w;
            const InputPhase& ph = phases[p];
            rows[r_w] = ph.empty() ? zeros.data() : out.data() + offset[p] + c * ph.n_h * ph.n_w;
            ld[r_w] = ph.empty() ? 0 : ph.n_w;
          }
          const int64_t n_h = phases[r_h * s.stride_w].n_h, dst_ld = s.stride_h * s.in_w;
          float* first = dx + c * hw + r_h * s.in_w;
          if (s.stride_w == 2) {
            kern.interleave(rows[0], ld[0], rows[1], ld[1], n_h, s.in_w, accumulate, first, dst_ld);
            continue;
          }
          for (int64_t i = 0; i < n_h; ++i) {
            for (int64_t x = 0; x < s.in_w; ++x) {
              const float v = rows[x % s.stride_w][i * ld[x % s.stride_w] + x / s.stride_w];
              first[i * dst_ld + x] = accumulate ? first[i * dst_ld + x] + v : v;
            }
          }
        }
      }
    };
  });
}

void DirectConv2dBackwardWeight(const ConvShape& s, const float* grad_output, const float* input, float* grad_weight,
                                VectorIsa isa) {
  const DirectKernels& kern = KernelsFor(isa);
  const float* input_end = input + s.batch * s.in_channels * s.in_h * s.in_w;
  const RowSlices slices = ForwardSlices(s, kern.max_tile_cols);
  const int64_t k_count = s.in_channels * s.kernel_h * s.kernel_w, ohw = s.out_h * s.out_w;
  const int64_t ld = CeilDiv(s.out_channels, kern.lanes) * kern.lanes;
  // One vector of output channels over many columns: the lane-wise kernel, which reads grad_output in its
  // own layout and loads both operands as vectors (the transposed form broadcasts a buf value per vector
  // of output channels, so a single vector makes it wait on loads). Its accumulators, [out_channels,
  // k_count, lanes] per part, are summed over the lanes at the end.
  const bool by_lanes = ld == kern.lanes && ohw >= kLaneGradMinVectors * kern.lanes;
  const int64_t part_size = k_count * (by_lanes ? s.out_channels * kern.lanes : ld);
  // Images are split over threads, each accumulating into its own part of acc; with fewer images than
  // threads, the weight rows are split instead.
  const int64_t image_parts = std::min<int64_t>(s.batch, GetNumThreads());
  const int64_t k_parts = std::clamp<int64_t>(GetNumThreads() / std::max<int64_t>(image_parts, 1), 1, k_count);
  std::vector<float> acc(image_parts * part_size, 0.0f);
  const int64_t image = s.in_channels * s.in_h * s.in_w, dy_image = s.out_channels * ohw;
  // A part's images run in order on one thread (so that the sums do not depend on the threads), pipelined:
  // a scratch slot holds an image's slices and, after them, its transposed grad_output. The lane-wise
  // kernel takes the whole image as one piece: its tiles run over all the columns, and shorter ones lose
  // more to loading and storing their accumulators than the overlap gains (measured).
  const ColumnPieces pieces(ohw, by_lanes ? 1 : ColumnPieces::kMaxPieces);
  const int64_t dyt_offset = CeilDiv(slices.size(), kern.lanes) * kern.lanes;
  ParallelFor(0, image_parts * k_parts, 1, [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t ip = item / k_parts, kp = item % k_parts;
      const int64_t k0 = k_count * kp / k_parts, k1 = k_count * (kp + 1) / k_parts;
      float* part_acc = acc.data() + ip * part_size;
      int64_t n = s.batch * ip / image_parts;
      const int64_t n_end = s.batch * (ip + 1) / image_parts;
      Pipeline(
          [&] { return n < n_end ? n++ : -1; }, pieces.count, dyt_offset + (by_lanes ? 0 : ohw * ld),
          [&](int64_t m, float* scratch, int64_t i) {
            if (i == 0 && !by_lanes) {
              kern.transpose(grad_output + m * dy_image, s.out_channels, ohw, scratch + dyt_offset, ld);
            }
            if (slices.identity) return;
            slices.BuildChannels(input + m * image, input, input_end, scratch, kern,
                                 pieces.share_begin(i, slices.channels), pieces.share_end(i, slices.channels));
          },
          [&](int64_t m, const float* scratch, int64_t i) {
            const int64_t c0 = pieces.begin(i), c1 = pieces.end(i);
            const float* rows = (slices.identity ? input + m * image : scratch) + c0;
            if (by_lanes) {
              kern.lane_grad({slices.koff.data(), rows, k0, k1, k_count, grad_output + m * dy_image + c0, ohw,
                              s.out_channels, c1 - c0, part_acc});
            } else {
              kern.weight_grad({slices.koff.data(), rows, k0, k1, scratch + dyt_offset + c0 * ld, ld, c1 - c0, part_acc});
            }
          });
    }
  });
  // Weight (o, k) sums its entry of every part, or the lanes of that entry, one value at a time.
  for (int64_t o = 0; o < s.out_channels; ++o) {
    for (int64_t k = 0; k < k_count; ++k) {
      float sum = 0;
      for (int64_t ip = 0; ip < image_parts; ++ip) {
        const float* part_acc = acc.data() + ip * part_size;
        if (by_lanes) {
          for (int64_t l = 0; l < kern.lanes; ++l) sum += part_acc[(o * k_count + k) * kern.lanes + l];
        } else {
          sum += part_acc[k * ld + o];
        }
      }
      grad_weight[o * k_count + k] = sum;
    }
  }
}

}  // namespace normgrad::cpu
