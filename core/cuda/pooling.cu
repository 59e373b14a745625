#include "core/cuda/pooling.h"

#include <limits>

#include "core/cuda/device.h"
#include "core/cuda/device_math.h"
#include "core/cuda/launch.h"

namespace normgrad::cuda {
namespace {

using cpu::PoolShape;

// [lo, hi): the input positions of output o's window along one dim, clipped to [0, in), and `count`, how
// many positions an average divides by along it (as on the CPU).
struct Window {
  int64_t lo, hi, count;
};

// Fixed windows (kernel, stride, padding) or adaptive ones (output o averages [o in / out, ceil((o + 1) in / out))).
template <bool kAdaptive>
__device__ __forceinline__ Window WindowOf(int64_t o, bool row, const PoolShape& s) {
  const int64_t in = row ? s.in_h : s.in_w;
  if constexpr (kAdaptive) {
    const int64_t out = row ? s.out_h : s.out_w;
    const int64_t lo = o * in / out, hi = ((o + 1) * in + out - 1) / out;
    return {lo, hi, hi - lo};
  } else {
    const int64_t pad = row ? s.pad_h : s.pad_w, start = o * (row ? s.stride_h : s.stride_w) - pad;
    const int64_t end = start + (row ? s.kernel_h : s.kernel_w);
    const int64_t lo = start > 0 ? start : 0, hi = end < in ? end : in;
    // count_include_pad: the window within the padded image (past it only in a ceil_mode last window).
    return {lo, hi, s.count_include_pad ? (end < in + pad ? end : in + pad) - start : hi - lo};
  }
}

// The outputs along one dim whose windows may hold input position y: a superset, tested with WindowOf.
template <bool kAdaptive>
__device__ __forceinline__ Window Candidates(int64_t y, bool row, const PoolShape& s) {
  const int64_t in = row ? s.in_h : s.in_w, out = row ? s.out_h : s.out_w;
  int64_t lo, hi;
  if constexpr (kAdaptive) {
    lo = y * out / in - 1;
    hi = (y + 1) * out / in + 2;
  } else {
    const int64_t stride = row ? s.stride_h : s.stride_w, pad = row ? s.pad_h : s.pad_w;
    const int64_t kernel = row ? s.kernel_h : s.kernel_w;
    lo = (y + pad - kernel + 1) / stride - 1;
    hi = (y + pad) / stride + 1;
  }
  return {lo > 0 ? lo : 0, hi < out ? hi : out};
}

template <typename T>
__global__ void MaxPool2dForwardKernel(PoolShape s, const T* input, T* output, int64_t* indices) {
  const int64_t plane_out = s.out_h * s.out_w;
  for (int64_t e = GlobalThreadIndex(); e < s.planes * plane_out; e += GridStride()) {
    const int64_t p = e / plane_out, o = e - p * plane_out, i = o / s.out_w, j = o - i * s.out_w;
    const Window rows = WindowOf<false>(i, true, s), cols = WindowOf<false>(j, false, s);
    const T* plane = input + p * s.in_h * s.in_w;
    T best = -std::numeric_limits<T>::infinity();
    int64_t best_index = rows.lo * s.in_w + cols.lo;
    for (int64_t y = rows.lo; y < rows.hi; ++y) {
      for (int64_t x = cols.lo; x < cols.hi; ++x) {
        const T v = plane[y * s.in_w + x];
        if (v > best || IsNan(v)) {  // the first largest; the last NaN
          best = v;
          best_index = y * s.in_w + x;
        }
      }
    }
    output[e] = best;
    indices[e] = best_index;
  }
}

// grad_input[pos] = the sum of the gradients of the outputs whose maximum is at pos. Each input gathers
// from the outputs whose windows may hold it (an index is always inside its output's window), in output
// order: no atomics, so the result is the same every run and the CPU's, which adds in that order.
template <typename T>
__global__ void MaxPool2dBackwardKernel(PoolShape s, const T* grad_output, const int64_t* indices, T* grad_input) {
  const int64_t plane_in = s.in_h * s.in_w, plane_out = s.out_h * s.out_w;
  for (int64_t e = GlobalThreadIndex(); e < s.planes * plane_in; e += GridStride()) {
    const int64_t p = e / plane_in, pos = e - p * plane_in, y = pos / s.in_w, x = pos - y * s.in_w;
    const Window is = Candidates<false>(y, true, s), js = Candidates<false>(x, false, s);
    const T* g = grad_output + p * plane_out;
    const int64_t* index = indices + p * plane_out;
    T sum = 0;
    for (int64_t i = is.lo; i < is.hi; ++i) {
      for (int64_t j = js.lo; j < js.hi; ++j) {
        if (index[i * s.out_w + j] == pos) sum += g[i * s.out_w + j];
      }
    }
    grad_input[e] = sum;
  }
}

template <typename T, bool kAdaptive>
__global__ void AvgPool2dForwardKernel(PoolShape s, const T* input, T* output) {
  const int64_t plane_out = s.out_h * s.out_w;
  for (int64_t e = GlobalThreadIndex(); e < s.planes * plane_out; e += GridStride()) {
    const int64_t p = e / plane_out, o = e - p * plane_out, i = o / s.out_w, j = o - i * s.out_w;
    const Window rows = WindowOf<kAdaptive>(i, true, s), cols = WindowOf<kAdaptive>(j, false, s);
    const T* plane = input + p * s.in_h * s.in_w;
    double sum = 0;  // in double, as on the CPU (a global average pool sums thousands of values)
    for (int64_t y = rows.lo; y < rows.hi; ++y) {
      for (int64_t x = cols.lo; x < cols.hi; ++x) sum += plane[y * s.in_w + x];
    }
    output[e] = static_cast<T>(sum) / static_cast<T>(rows.count * cols.count);
  }
}

template <typename T, bool kAdaptive>
__global__ void AvgPool2dBackwardKernel(PoolShape s, const T* grad_output, T* grad_input) {
  const int64_t plane_in = s.in_h * s.in_w, plane_out = s.out_h * s.out_w;
  for (int64_t e = GlobalThreadIndex(); e < s.planes * plane_in; e += GridStride()) {
    const int64_t p = e / plane_in, pos = e - p * plane_in, y = pos / s.in_w, x = pos - y * s.in_w;
    const Window is = Candidates<kAdaptive>(y, true, s), js = Candidates<kAdaptive>(x, false, s);
    const T* g = grad_output + p * plane_out;
    T sum = 0;
    for (int64_t i = is.lo; i < is.hi; ++i) {
      const Window rows = WindowOf<kAdaptive>(i, true, s);
      if (y < rows.lo || y >= rows.hi) continue;
      for (int64_t j = js.lo; j < js.hi; ++j) {
        const Window cols = WindowOf<kAdaptive>(j, false, s);
        if (x < cols.lo || x >= cols.hi) continue;
        sum += g[i * s.out_w + j] / static_cast<T>(rows.count * cols.count);
      }
    }
    grad_input[e] = sum;
  }
}

int64_t Outputs(const PoolShape& s) { return s.planes * s.out_h * s.out_w; }
int64_t Inputs(const PoolShape& s) { return s.planes * s.in_h * s.in_w; }

}  // namespace

template <typename T>
void MaxPool2dForward(const PoolShape& s, const T* input, T* output, int64_t* indices) {
  if (Outputs(s) > 0) Launch<MaxPool2dForwardKernel<T>>(GridSize(Outputs(s)), kBlockSize, s, input, output, indices);
}

template <typename T>
void MaxPool2dBackward(const PoolShape& s, const T* grad_output, const int64_t* indices, T* grad_input) {
  if (Inputs(s) > 0) {
    Launch<MaxPool2dBackwardKernel<T>>(GridSize(Inputs(s)), kBlockSize, s, grad_output, indices, grad_input);
  }
}

template <typename T>
void AvgPool2dForward(const PoolShape& s, const T* input, T* output) {
  if (Outputs(s) > 0) Launch<AvgPool2dForwardKernel<T, false>>(GridSize(Outputs(s)), kBlockSize, s, input, output);
}

template <typename T>
void AvgPool2dBackward(const PoolShape& s, const T* grad_output, T* grad_input) {
  if (Inputs(s) > 0) {
    Launch<AvgPool2dBackwardKernel<T, false>>(GridSize(Inputs(s)), kBlockSize, s, grad_output, grad_input);
  }
}

template <typename T>
void AdaptiveAvgPool2dForward(const PoolShape& s, const T* input, T* output) {
  if (Outputs(s) > 0) Launch<AvgPool2dForwardKernel<T, true>>(GridSize(Outputs(s)), kBlockSize, s, input, output);
}

template <typename T>
void AdaptiveAvgPool2dBackward(const PoolShape& s, const T* grad_output, T* grad_input) {
  if (Inputs(s) > 0) {
    Launch<AvgPool2dBackwardKernel<T, true>>(GridSize(Inputs(s)), kBlockSize, s, grad_output, grad_input);
  }
}

#define NORMGRAD_INSTANTIATE_POOLING(T)                                                         \
  template void MaxPool2dForward<T>(const PoolShape&, const T*, T*, int64_t*);                 \
  template void MaxPool2dBackward<T>(const PoolShape&, const T*, const int64_t*, T*);          \
  template void AvgPool2dForward<T>(const PoolShape&, const T*, T*);                           \
  template void AvgPool2dBackward<T>(const PoolShape&, const T*, T*);                          \
  template void AdaptiveAvgPool2dForward<T>(const PoolShape&, const T*, T*);                   \
  template void AdaptiveAvgPool2dBackward<T>(const PoolShape&, const T*, T*);
NORMGRAD_INSTANTIATE_POOLING(float)
NORMGRAD_INSTANTIATE_POOLING(double)
#undef NORMGRAD_INSTANTIATE_POOLING

}  // namespace normgrad::cuda
