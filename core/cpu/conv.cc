#include "core/cpu/conv.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

#include "core/cpu/blas.h"
#include "core/cpu/conv_direct.h"
#include "core/cpu/conv_winograd.h"
#include "core/parallel.h"

namespace normgrad::cpu {
namespace {

// im2col buffers of one chunk of images stay below this many bytes (the GEMM path is the reference and
// the float64 path; it must not allocate the whole batch's im2col matrix at once).
constexpr int64_t kColBudgetBytes = int64_t{32} << 20;

// col[(c, p, q), (i, j)] = image[c, i * stride_h - pad_h + p * dilation_h, j * stride_w - pad_w + q * dilation_w]
// (zero outside), for the `channels` channels of one image: col is [channels * kh * kw, out_h * out_w].
template <typename T>
void Im2col(const ConvShape& s, int64_t channels, const T* image, T* col) {
  const int64_t ohw = s.out_h * s.out_w;
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t p = 0; p < s.kernel_h; ++p) {
      for (int64_t q = 0; q < s.kernel_w; ++q) {
        T* dst = col + ((c * s.kernel_h + p) * s.kernel_w + q) * ohw;
        const int64_t row_off = p * s.dilation_h - s.pad_h, col_off = q * s.dilation_w - s.pad_w;
        const IndexRange rows = ValidOutputRange(s.out_h, s.in_h, s.stride_h, row_off);
        const IndexRange cols = ValidOutputRange(s.out_w, s.in_w, s.stride_w, col_off);
        std::fill_n(dst, rows.lo * s.out_w, T(0));
        for (int64_t i = rows.lo; i < rows.hi; ++i) {
          const T* src = image + (c * s.in_h + i * s.stride_h + row_off) * s.in_w + col_off;
          T* d = dst + i * s.out_w;
          std::fill_n(d, cols.lo, T(0));
          for (int64_t j = cols.lo; j < cols.hi; ++j) d[j] = src[j * s.stride_w];
          std::fill_n(d + cols.hi, s.out_w - cols.hi, T(0));
        }
        std::fill_n(dst + rows.hi * s.out_w, (s.out_h - rows.hi) * s.out_w, T(0));
      }
    }
  }
}

// The adjoint of Im2col: image (zeroed here) accumulates every col entry at the position it was read from.
template <typename T>
void Col2im(const ConvShape& s, int64_t channels, const T* col, bool accumulate, T* image) {
  const int64_t ohw = s.out_h * s.out_w;
  if (!accumulate) std::fill_n(image, channels * s.in_h * s.in_w, T(0));
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t p = 0; p < s.kernel_h; ++p) {
      for (int64_t q = 0; q < s.kernel_w; ++q) {
        const T* src = col + ((c * s.kernel_h + p) * s.kernel_w + q) * ohw;
        const int64_t row_off = p * s.dilation_h - s.pad_h, col_off = q * s.dilation_w - s.pad_w;
        const IndexRange rows = ValidOutputRange(s.out_h, s.in_h, s.stride_h, row_off);
        const IndexRange cols = ValidOutputRange(s.out_w, s.in_w, s.stride_w, col_off);
        for (int64_t i = rows.lo; i < rows.hi; ++i) {
          T* d = image + (c * s.in_h + i * s.stride_h + row_off) * s.in_w + col_off;
          const T* r = src + i * s.out_w;
          for (int64_t j = cols.lo; j < cols.hi; ++j) d[j * s.stride_w] += r[j];
        }
      }
    }
  }
}

// Sizes of the GEMM formulation: per (image, group) item, weight block [og, k] times col [k, ohw].
struct GemmDims {
  int64_t cg, og, k, ohw, items_per_chunk;
  explicit GemmDims(const ConvShape& s)
      : cg(s.in_channels / s.groups),
        og(s.out_channels / s.groups),
        k(cg * s.kernel_h * s.kernel_w),
        ohw(s.out_h * s.out_w) {
    const int64_t col_bytes = std::max<int64_t>(k * ohw * 8, 1);
    items_per_chunk = std::clamp<int64_t>(kColBudgetBytes / col_bytes, 1, s.batch * s.groups);
  }
};

// Runs fn(first_item, item_count) over chunks of (image, group) items, item = n * groups + g.
template <typename Fn>
void ForEachChunk(const ConvShape& s, const GemmDims& d, Fn&& fn) {
  const int64_t items = s.batch * s.groups;
  for (int64_t first = 0; first < items; first += d.items_per_chunk) {
    fn(first, std::min(d.items_per_chunk, items - first));
  }
}

// Element offsets of the weight block of each item's group, and of each item's block in a buffer with
// `stride` elements per item.
std::vector<int64_t> GroupOffsets(const ConvShape& s, int64_t first, int64_t count, int64_t per_group) {
  std::vector<int64_t> offsets(count);
  for (int64_t i = 0; i < count; ++i) offsets[i] = ((first + i) % s.groups) * per_group;
  return offsets;
}
std::vector<int64_t> ItemOffsets(int64_t count, int64_t stride) {
  std::vector<int64_t> offsets(count);
  for (int64_t i = 0; i < count; ++i) offsets[i] = i * stride;
  return offsets;
}

// Im2col of every item of a chunk into col ([count, k, ohw]), threaded over items.
template <typename T>
void Im2colChunk(const ConvShape& s, const GemmDims& d, const T* input, int64_t first, int64_t count, T* col) {
  ParallelFor(0, count, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      Im2col(s, d.cg, input + (first + i) * d.cg * s.in_h * s.in_w, col + i * d.k * d.ohw);
    }
  });
}

}  // namespace

IndexRange ValidOutputRange(int64_t out_size, int64_t in_size, int64_t stride, int64_t offset) {
  const int64_t lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  const int64_t hi = in_size - offset <= 0 ? 0 : (in_size - offset + stride - 1) / stride;
  const int64_t clamped_lo = std::min(lo, out_size);
  return {clamped_lo, std::clamp(hi, clamped_lo, out_size)};
}

int64_t ConvOutputSize(int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation) {
  const int64_t span = in + 2 * pad - dilation * (kernel - 1) - 1;
  // Floor division: a negative span means the kernel does not fit (the size is then below 1).
  return (span >= 0 ? span / stride : -((-span + stride - 1) / stride)) + 1;
}

template <typename T>
void Conv2dForwardGemm(const ConvShape& s, const T* input, const T* weight, const T* bias, T* output) {
  const GemmDims d(s);
  std::vector<T> col(d.items_per_chunk * d.k * d.ohw);
  // Items are (n, g) in row-major order, so item i's output block starts at i * og * ohw, and its input
  // block at i * cg * in_h * in_w.
  ForEachChunk(s, d, [&](int64_t first, int64_t count) {
    Im2colChunk(s, d, input, first, count, col.data());
    GemmBatched<T>(false, false, d.og, d.ohw, d.k, weight, GroupOffsets(s, first, count, d.og * d.k), d.k, col.data(),
                   ItemOffsets(count, d.k * d.ohw), d.ohw, output + first * d.og * d.ohw, d.og * d.ohw, d.ohw);
  });
  if (bias == nullptr) return;
  ParallelFor(0, s.batch * s.out_channels, std::max<int64_t>(1, 16384 / std::max<int64_t>(d.ohw, 1)),
              [&](int64_t b, int64_t e) {
                for (int64_t r = b; r < e; ++r) {
                  T* row = output + r * d.ohw;
                  const T v = bias[r % s.out_channels];
                  for (int64_t j = 0; j < d.ohw; ++j) row[j] += v;
                }
              });
}

template <typename T>
void Conv2dBackwardInputGemm(const ConvShape& s, const T* grad_output, const T* weight, T* grad_input, bool accumulate) {
  const GemmDims d(s);
  std::vector<T> col(d.items_per_chunk * d.k * d.ohw);
  ForEachChunk(s, d, [&](int64_t first, int64_t count) {
    // dcol = W_g^T dY: [k, og] x [og, ohw].
    GemmBatched<T>(true, false, d.k, d.ohw, d.og, weight, GroupOffsets(s, first, count, d.og * d.k), d.k,
                   grad_output + first * d.og * d.ohw, ItemOffsets(count, d.og * d.ohw), d.ohw, col.data(), d.k * d.ohw,
                   d.ohw);
    ParallelFor(0, count, 1, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        Col2im(s, d.cg, col.data() + i * d.k * d.ohw, accumulate, grad_input + (first + i) * d.cg * s.in_h * s.in_w);
      }
    });
  });
}

template <typename T>
void Conv2dBackwardWeightGemm(const ConvShape& s, const T* grad_output, const T* input, T* grad_weight) {
  const GemmDims d(s);
  std::vector<T> col(d.items_per_chunk * d.k * d.ohw), products(d.items_per_chunk * d.og * d.k);
  std::fill_n(grad_weight, s.out_channels * d.k, T(0));
  ForEachChunk(s, d, [&](int64_t first, int64_t count) {
    Im2colChunk(s, d, input, first, count, col.data());
    // Each item's dW contribution dY col^T ([og, ohw] x [ohw, k]), then summed into its group's block.
    GemmBatched<T>(false, true, d.og, d.k, d.ohw, grad_output + first * d.og * d.ohw, ItemOffsets(count, d.og * d.ohw),
                   d.ohw, col.data(), ItemOffsets(count, d.k * d.ohw), d.ohw, products.data(), d.og * d.k, d.k);
    for (int64_t i = 0; i < count; ++i) {
      T* dst = grad_weight + ((first + i) % s.groups) * d.og * d.k;
      const T* src = products.data() + i * d.og * d.k;
      for (int64_t e = 0; e < d.og * d.k; ++e) dst[e] += src[e];
    }
  });
}

namespace {
std::atomic<bool> allow_winograd{true};
}  // namespace

void SetAllowWinograd(bool allow) { allow_winograd.store(allow, std::memory_order_relaxed); }
bool AllowWinograd() { return allow_winograd.load(std::memory_order_relaxed); }

template <typename T>
void Conv2dForward(const ConvShape& s, const T* input, const T* weight, const T* bias, T* output) {
  if constexpr (std::is_same_v<T, float>) {
    if (const auto isa = WinogradIsa(s); isa && AllowWinograd()) {
      return WinogradConv2dForward(s, input, weight, bias, output, *isa);
    }
    if (s.groups == 1) return DirectConv2dForward(s, input, weight, bias, output);
  }
  Conv2dForwardGemm(s, input, weight, bias, output);
}

template <typename T>
void Conv2dBackwardInput(const ConvShape& s, const T* grad_output, const T* weight, T* grad_input, bool accumulate) {
  if constexpr (std::is_same_v<T, float>) {
    if (const auto isa = WinogradIsa(s); isa && AllowWinograd()) {
      return WinogradConv2dBackwardInput(s, grad_output, weight, grad_input, accumulate, *isa);
    }
    if (s.groups == 1) return DirectConv2dBackwardInput(s, grad_output, weight, grad_input, accumulate);
  }
  Conv2dBackwardInputGemm(s, grad_output, weight, grad_input, accumulate);
}

template <typename T>
void Conv2dBackwardWeight(const ConvShape& s, const T* grad_output, const T* input, T* grad_weight) {
  if constexpr (std::is_same_v<T, float>) {
    if (const auto isa = WinogradIsa(s); isa && AllowWinograd()) {
      return WinogradConv2dBackwardWeight(s, grad_output, input, grad_weight, *isa);
    }
    if (s.groups == 1) return DirectConv2dBackwardWeight(s, grad_output, input, grad_weight);
  }
  Conv2dBackwardWeightGemm(s, grad_output, input, grad_weight);
}

#define NG_INSTANTIATE_CONV(T)                                                              \
  template void Conv2dForward<T>(const ConvShape&, const T*, const T*, const T*, T*);       \
  template void Conv2dBackwardInput<T>(const ConvShape&, const T*, const T*, T*, bool);     \
  template void Conv2dBackwardWeight<T>(const ConvShape&, const T*, const T*, T*);          \
  template void Conv2dForwardGemm<T>(const ConvShape&, const T*, const T*, const T*, T*);   \
  template void Conv2dBackwardInputGemm<T>(const ConvShape&, const T*, const T*, T*, bool); \
  template void Conv2dBackwardWeightGemm<T>(const ConvShape&, const T*, const T*, T*);
NG_INSTANTIATE_CONV(float)
NG_INSTANTIATE_CONV(double)
#undef NG_INSTANTIATE_CONV

}  // namespace normgrad::cpu
