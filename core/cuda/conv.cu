#include "core/cuda/conv.h"

#include <algorithm>

#include "core/cuda/blas.h"
#include "core/cuda/device.h"
#include "core/cuda/launch.h"
#include "core/cuda/memory.h"

namespace normgrad::cuda {
namespace {

using cpu::ConvShape;

// Column-matrix elements per chunk of images.
constexpr int64_t kColumnBudget = int64_t{64} << 20;

// The GEMM view of a convolution: per group, og output channels, k = cg * kH * kW reduction length,
// ohw output positions.
struct Dims {
  int64_t og, cg, k, ohw, hw;
  explicit Dims(const ConvShape& s)
      : og(s.out_channels / s.groups),
        cg(s.in_channels / s.groups),
        k(cg * s.kernel_h * s.kernel_w),
        ohw(s.out_h * s.out_w),
        hw(s.in_h * s.in_w) {}
  // Images per chunk, so that a chunk's columns ([images, C * kH * kW, ohw]) stay within the budget.
  int64_t Chunk(const ConvShape& s) const {
    return std::clamp<int64_t>(kColumnBudget / std::max<int64_t>(1, s.groups * k * ohw), 1, s.batch);
  }
};

// cols[n, c, p, q, i, j] = x[n, c, i * stride_h - pad_h + p * dilation_h, j * stride_w - pad_w + q * dilation_w]
// (0 outside the image), for `images` images. One thread per (n, c, i, j), writing its kH * kW entries.
template <typename T>
__global__ void Im2ColKernel(ConvShape s, int64_t images, const T* x, T* cols) {
  const int64_t ohw = s.out_h * s.out_w, taps = s.kernel_h * s.kernel_w;
  const int64_t total = images * s.in_channels * ohw;
  for (int64_t e = GlobalThreadIndex(); e < total; e += GridStride()) {
    const int64_t pos = e % ohw, nc = e / ohw;
    const int64_t i = pos / s.out_w, j = pos - i * s.out_w;
    const T* plane = x + nc * s.in_h * s.in_w;
    T* out = cols + nc * taps * ohw + pos;
    for (int64_t p = 0; p < s.kernel_h; ++p) {
      const int64_t h = i * s.stride_h - s.pad_h + p * s.dilation_h;
      for (int64_t q = 0; q < s.kernel_w; ++q) {
        const int64_t w = j * s.stride_w - s.pad_w + q * s.dilation_w;
        out[(p * s.kernel_w + q) * ohw] = h >= 0 && h < s.in_h && w >= 0 && w < s.in_w ? plane[h * s.in_w + w] : T(0);
      }
    }
  }
}

// dx[n, c, h, w] = the sum of the column entries im2col took from (h, w): for each tap (p, q), the output
// position (i, j) with i * stride_h = h + pad_h - p * dilation_h (when it divides and lies in range).
template <typename T>
__global__ void Col2ImKernel(ConvShape s, int64_t images, const T* cols, bool accumulate, T* dx) {
  const int64_t ohw = s.out_h * s.out_w, taps = s.kernel_h * s.kernel_w, hw = s.in_h * s.in_w;
  const int64_t total = images * s.in_channels * hw;
  for (int64_t e = GlobalThreadIndex(); e < total; e += GridStride()) {
    const int64_t nc = e / hw, pos = e - nc * hw;
    const int64_t h = pos / s.in_w, w = pos - h * s.in_w;
    const T* col = cols + nc * taps * ohw;
    T sum = 0;
    for (int64_t p = 0; p < s.kernel_h; ++p) {
      const int64_t hi = h + s.pad_h - p * s.dilation_h;
      if (hi < 0 || hi % s.stride_h != 0 || hi / s.stride_h >= s.out_h) continue;
      const int64_t i = hi / s.stride_h;
      for (int64_t q = 0; q < s.kernel_w; ++q) {
        const int64_t wi = w + s.pad_w - q * s.dilation_w;
        if (wi < 0 || wi % s.stride_w != 0 || wi / s.stride_w >= s.out_w) continue;
        sum += col[(p * s.kernel_w + q) * ohw + i * s.out_w + wi / s.stride_w];
      }
    }
    dx[e] = accumulate ? dx[e] + sum : sum;
  }
}

// y[n, o, :] += bias[o] over y = [rows = N * C_out, plane].
template <typename T>
__global__ void AddChannelBiasKernel(int64_t rows, int64_t channels, int64_t plane, const T* bias, T* y) {
  for (int64_t e = GlobalThreadIndex(); e < rows * plane; e += GridStride()) y[e] += bias[e / plane % channels];
}

// out[i] (+)= sum over b of in[b * size + i], b in order.
template <typename T>
__global__ void SumOverBatchKernel(int64_t batch, int64_t size, const T* in, bool accumulate, T* out) {
  for (int64_t i = GlobalThreadIndex(); i < size; i += GridStride()) {
    T sum = accumulate ? out[i] : T(0);
    for (int64_t b = 0; b < batch; ++b) sum += in[b * size + i];
    out[i] = sum;
  }
}

template <typename T>
void Im2Col(const ConvShape& s, int64_t images, const T* x, T* cols) {
  Launch<Im2ColKernel<T>>(GridSize(images * s.in_channels * s.out_h * s.out_w), kBlockSize, s, images, x, cols);
}

}  // namespace

template <typename T>
void Conv2dForward(const ConvShape& s, const T* input, const T* weight, const T* bias, T* output) {
  const Dims d(s);
  const int64_t chunk = d.Chunk(s);
  DeviceBuffer cols(chunk * s.groups * d.k * d.ohw * sizeof(T), CurrentDevice());
  for (int64_t first = 0; first < s.batch; first += chunk) {
    const int64_t images = std::min(chunk, s.batch - first);
    Im2Col(s, images, input + first * s.in_channels * d.hw, cols.as<T>());
    for (int64_t g = 0; g < s.groups; ++g) {
      GemmStridedBatched<T>(false, false, d.og, d.ohw, d.k, weight + g * d.og * d.k, d.k, 0,
                            cols.as<T>() + g * d.k * d.ohw, d.ohw, s.groups * d.k * d.ohw,
                            output + (first * s.out_channels + g * d.og) * d.ohw, d.ohw, s.out_channels * d.ohw,
                            images);
    }
  }
  if (bias != nullptr) {
    const int64_t rows = s.batch * s.out_channels;
    Launch<AddChannelBiasKernel<T>>(GridSize(rows * d.ohw), kBlockSize, rows, s.out_channels, d.ohw, bias, output);
  }
}

template <typename T>
void Conv2dBackwardInput(const ConvShape& s, const T* grad_output, const T* weight, T* grad_input, bool accumulate) {
  const Dims d(s);
  const int64_t chunk = d.Chunk(s);
  DeviceBuffer cols(chunk * s.groups * d.k * d.ohw * sizeof(T), CurrentDevice());
  for (int64_t first = 0; first < s.batch; first += chunk) {
    const int64_t images = std::min(chunk, s.batch - first);
    for (int64_t g = 0; g < s.groups; ++g) {
      GemmStridedBatched<T>(true, false, d.k, d.ohw, d.og, weight + g * d.og * d.k, d.k, 0,
                            grad_output + (first * s.out_channels + g * d.og) * d.ohw, d.ohw, s.out_channels * d.ohw,
                            cols.as<T>() + g * d.k * d.ohw, d.ohw, s.groups * d.k * d.ohw, images);
    }
    Launch<Col2ImKernel<T>>(GridSize(images * s.in_channels * d.hw), kBlockSize, s, images, cols.as<T>(), accumulate,
                            grad_input + first * s.in_channels * d.hw);
  }
}

template <typename T>
void Conv2dBackwardWeight(const ConvShape& s, const T* grad_output, const T* input, T* grad_weight) {
  const Dims d(s);
  const int64_t chunk = d.Chunk(s);
  const int device = CurrentDevice();
  DeviceBuffer cols(chunk * s.groups * d.k * d.ohw * sizeof(T), device);
  DeviceBuffer products(chunk * d.og * d.k * sizeof(T), device);
  for (int64_t first = 0; first < s.batch; first += chunk) {
    const int64_t images = std::min(chunk, s.batch - first);
    Im2Col(s, images, input + first * s.in_channels * d.hw, cols.as<T>());
    for (int64_t g = 0; g < s.groups; ++g) {
      GemmStridedBatched<T>(false, true, d.og, d.k, d.ohw, grad_output + (first * s.out_channels + g * d.og) * d.ohw,
                            d.ohw, s.out_channels * d.ohw, cols.as<T>() + g * d.k * d.ohw, d.ohw,
                            s.groups * d.k * d.ohw, products.as<T>(), d.k, d.og * d.k, images);
      Launch<SumOverBatchKernel<T>>(GridSize(d.og * d.k), kBlockSize, images, d.og * d.k, products.as<T>(), first > 0,
                                    grad_weight + g * d.og * d.k);
    }
  }
}

#define NORMGRAD_INSTANTIATE_CONV(T)                                                               \
  template void Conv2dForward<T>(const ConvShape&, const T*, const T*, const T*, T*);             \
  template void Conv2dBackwardInput<T>(const ConvShape&, const T*, const T*, T*, bool);           \
  template void Conv2dBackwardWeight<T>(const ConvShape&, const T*, const T*, T*);
NORMGRAD_INSTANTIATE_CONV(float)
NORMGRAD_INSTANTIATE_CONV(double)
#undef NORMGRAD_INSTANTIATE_CONV

}  // namespace normgrad::cuda
