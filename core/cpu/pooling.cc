#include "core/cpu/pooling.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/parallel.h"

namespace normgrad::cpu {
namespace {

// [lo, hi): the input positions of output o's window along one dim, clipped to [0, in); `count`: how
// many positions an average divides by along this dim.
struct Window {
  int64_t lo, hi, count;
};
Window PoolWindow(int64_t o, int64_t in, int64_t kernel, int64_t stride, int64_t pad, bool count_include_pad) {
  const int64_t start = o * stride - pad, lo = std::max<int64_t>(start, 0), hi = std::min(start + kernel, in);
  return {lo, hi, count_include_pad ? std::min(start + kernel, in + pad) - start : hi - lo};
}
Window AdaptiveWindow(int64_t o, int64_t in, int64_t out) {
  const int64_t lo = o * in / out, hi = ((o + 1) * in + out - 1) / out;
  return {lo, hi, hi - lo};
}

// window(o, row): the window of output row (row = true) or column o.
auto FixedWindows(const PoolShape& s) {
  return [&s](int64_t o, bool row) {
    return row ? PoolWindow(o, s.in_h, s.kernel_h, s.stride_h, s.pad_h, s.count_include_pad)
               : PoolWindow(o, s.in_w, s.kernel_w, s.stride_w, s.pad_w, s.count_include_pad);
  };
}
auto AdaptiveWindows(const PoolShape& s) {
  return [&s](int64_t o, bool row) {
    return row ? AdaptiveWindow(o, s.in_h, s.out_h) : AdaptiveWindow(o, s.in_w, s.out_w);
  };
}

// Runs fn(plane) over the planes on the thread pool, in chunks worth waking a thread for.
template <typename Fn>
void ForEachPlane(const PoolShape& s, Fn&& fn) {
  const int64_t work = std::max<int64_t>(1, s.in_h * s.in_w + s.out_h * s.out_w);
  ParallelFor(0, s.planes, std::max<int64_t>(1, 32768 / work), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) fn(p);
  });
}

// Runs fn(out_index, rows, cols) over the outputs of one plane with their windows.
template <typename WindowFn, typename Fn>
void ForEachWindow(const PoolShape& s, WindowFn&& window, Fn&& fn) {
  for (int64_t i = 0; i < s.out_h; ++i) {
    const Window rows = window(i, true);
    for (int64_t j = 0; j < s.out_w; ++j) fn(i * s.out_w + j, rows, window(j, false));
  }
}

template <typename T>
T WindowSum(const T* plane, int64_t in_w, Window rows, Window cols) {
  // Accumulated in double (float32 windows of a global average pool can hold thousands of values).
  double sum = 0;
  for (int64_t y = rows.lo; y < rows.hi; ++y) {
    for (int64_t x = cols.lo; x < cols.hi; ++x) sum += plane[y * in_w + x];
  }
  return static_cast<T>(sum);
}

template <typename T>
void SpreadOverWindow(T* plane, int64_t in_w, Window rows, Window cols, T value) {
  for (int64_t y = rows.lo; y < rows.hi; ++y) {
    for (int64_t x = cols.lo; x < cols.hi; ++x) plane[y * in_w + x] += value;
  }
}

// Average pooling over the windows `window` gives (fixed or adaptive), each divided by its count.
template <typename T, typename WindowFn>
void AveragePools(const PoolShape& s, WindowFn&& window, const T* input, T* output) {
  ForEachPlane(s, [&](int64_t p) {
    const T* plane = input + p * s.in_h * s.in_w;
    T* out = output + p * s.out_h * s.out_w;
    ForEachWindow(s, window, [&](int64_t o, Window rows, Window cols) {
      out[o] = WindowSum(plane, s.in_w, rows, cols) / static_cast<T>(rows.count * cols.count);
    });
  });
}

template <typename T, typename WindowFn>
void AveragePoolsBackward(const PoolShape& s, WindowFn&& window, const T* grad_output, T* grad_input) {
  ForEachPlane(s, [&](int64_t p) {
    T* plane = grad_input + p * s.in_h * s.in_w;
    std::fill_n(plane, s.in_h * s.in_w, T(0));
    const T* g = grad_output + p * s.out_h * s.out_w;
    ForEachWindow(s, window, [&](int64_t o, Window rows, Window cols) {
      SpreadOverWindow(plane, s.in_w, rows, cols, g[o] / static_cast<T>(rows.count * cols.count));
    });
  });
}

}  // namespace

int64_t PoolOutputSize(int64_t in, int64_t kernel, int64_t stride, int64_t pad, bool ceil_mode) {
  // PyTorch's rule: the span the windows' starts cover, rounded down (or up), even when it is negative (a
  // kernel larger than the padded input still gives one window with ceil_mode when the rounding reaches 0).
  const int64_t span = in + 2 * pad - kernel + (ceil_mode ? stride - 1 : 0);
  int64_t out = (span >= 0 ? span / stride : -((-span + stride - 1) / stride)) + 1;
  // A window that would start in the right padding (or past it) is dropped.
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

template <typename T>
void MaxPool2dForward(const PoolShape& s, const T* input, T* output, int64_t* indices) {
  const auto window = FixedWindows(s);
  ForEachPlane(s, [&](int64_t p) {
    const T* plane = input + p * s.in_h * s.in_w;
    T* out = output + p * s.out_h * s.out_w;
    int64_t* idx = indices + p * s.out_h * s.out_w;
    ForEachWindow(s, window, [&](int64_t o, Window rows, Window cols) {
      T best = -std::numeric_limits<T>::infinity();
      int64_t best_index = rows.lo * s.in_w + cols.lo;
      for (int64_t y = rows.lo; y < rows.hi; ++y) {
        for (int64_t x = cols.lo; x < cols.hi; ++x) {
          const T v = plane[y * s.in_w + x];
          if (v > best || std::isnan(v)) {
            best = v;
            best_index = y * s.in_w + x;
          }
        }
      }
      out[o] = best;
      idx[o] = best_index;
    });
  });
}

template <typename T>
void MaxPool2dBackward(const PoolShape& s, const T* grad_output, const int64_t* indices, T* grad_input) {
  ForEachPlane(s, [&](int64_t p) {
    T* plane = grad_input + p * s.in_h * s.in_w;
    std::fill_n(plane, s.in_h * s.in_w, T(0));
    const T* g = grad_output + p * s.out_h * s.out_w;
    const int64_t* idx = indices + p * s.out_h * s.out_w;
    for (int64_t o = 0; o < s.out_h * s.out_w; ++o) plane[idx[o]] += g[o];
  });
}

template <typename T>
void AvgPool2dForward(const PoolShape& s, const T* input, T* output) {
  AveragePools(s, FixedWindows(s), input, output);
}

template <typename T>
void AvgPool2dBackward(const PoolShape& s, const T* grad_output, T* grad_input) {
  AveragePoolsBackward(s, FixedWindows(s), grad_output, grad_input);
}

template <typename T>
void AdaptiveAvgPool2dForward(const PoolShape& s, const T* input, T* output) {
  AveragePools(s, AdaptiveWindows(s), input, output);
}

template <typename T>
void AdaptiveAvgPool2dBackward(const PoolShape& s, const T* grad_output, T* grad_input) {
  AveragePoolsBackward(s, AdaptiveWindows(s), grad_output, grad_input);
}

#define NG_INSTANTIATE_POOLING(T)                                                     \
  template void MaxPool2dForward<T>(const PoolShape&, const T*, T*, int64_t*);        \
  template void MaxPool2dBackward<T>(const PoolShape&, const T*, const int64_t*, T*); \
  template void AvgPool2dForward<T>(const PoolShape&, const T*, T*);                  \
  template void AvgPool2dBackward<T>(const PoolShape&, const T*, T*);                 \
  template void AdaptiveAvgPool2dForward<T>(const PoolShape&, const T*, T*);          \
  template void AdaptiveAvgPool2dBackward<T>(const PoolShape&, const T*, T*);
NG_INSTANTIATE_POOLING(float)
NG_INSTANTIATE_POOLING(double)
#undef NG_INSTANTIATE_POOLING

}  // namespace normgrad::cpu
