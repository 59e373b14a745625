#include "core/cuda/softmax.h"

#include <limits>

#include "core/cuda/block_reduce.h"
#include "core/cuda/device.h"
#include "core/cuda/device_math.h"
#include "core/cuda/launch.h"
#include "core/cuda/memory.h"

namespace normgrad::cuda {
namespace {

using cpu::SoftmaxShape;

enum class Mode { kLogSoftmax, kSoftmax, kLogSoftmaxBackward, kSoftmaxBackward };

// Warp-wide sum and max (NaN wins, as on the CPU), the result in every lane.
__device__ __forceinline__ double WarpSum(double v) {
  for (int mask = 16; mask > 0; mask /= 2) v += __shfl_xor_sync(kFullWarp, v, mask);
  return v;
}
__device__ __forceinline__ double WarpMax(double v) {
  for (int mask = 16; mask > 0; mask /= 2) {
    const double o = __shfl_xor_sync(kFullWarp, v, mask);
    if (o > v || IsNan(o)) v = o;
  }
  return v;
}

// The softmaxes of this warp: a grid-stride loop over `count` items, one warp per item.
struct WarpLoop {
  int64_t first, step;
  int lane;
};
__device__ __forceinline__ WarpLoop Warps() {
  return {GlobalThreadIndex() / 32, GridStride() / 32, static_cast<int>(threadIdx.x % 32)};
}

// max and log(sum(exp(x - max))) of n values `stride` apart, in double; every lane gets them.
struct LogSumExp {
  double max, log_sum;
};
template <typename T>
__device__ __forceinline__ LogSumExp WarpLogSumExp(const T* x, int64_t n, int64_t stride, int lane) {
  double max = -std::numeric_limits<double>::infinity();
  for (int64_t k = lane; k < n; k += 32) {
    const double v = x[k * stride];
    if (v > max || IsNan(v)) max = v;
  }
  max = WarpMax(max);
  double sum = 0;
  for (int64_t k = lane; k < n; k += 32) sum += Exp(static_cast<double>(x[k * stride]) - max);
  return {max, Log(WarpSum(sum))};
}

// Forward: in = x, out = y. Backward: in = grad_y, y = the forward output, out = grad_x.
template <typename T, Mode kMode>
__global__ void SoftmaxKernel(SoftmaxShape s, const T* in, const T* y, T* out) {
  const WarpLoop w = Warps();
  for (int64_t r = w.first; r < s.outer * s.inner; r += w.step) {
    const int64_t base = r / s.inner * s.n * s.inner + r % s.inner;
    if constexpr (kMode == Mode::kLogSoftmax || kMode == Mode::kSoftmax) {
      const LogSumExp l = WarpLogSumExp(in + base, s.n, s.inner, w.lane);
      for (int64_t k = w.lane; k < s.n; k += 32) {
        const int64_t e = base + k * s.inner;
        const double v = static_cast<double>(in[e]) - l.max - l.log_sum;
        out[e] = static_cast<T>(kMode == Mode::kLogSoftmax ? v : Exp(v));
      }
    } else {
      // log-softmax: grad_y - exp(y) * sum(grad_y); softmax: y * (grad_y - sum(grad_y * y)).
      double acc = 0;
      for (int64_t k = w.lane; k < s.n; k += 32) {
        const int64_t e = base + k * s.inner;
        acc += kMode == Mode::kLogSoftmaxBackward ? static_cast<double>(in[e])
                                                  : static_cast<double>(in[e]) * static_cast<double>(y[e]);
      }
      acc = WarpSum(acc);
      for (int64_t k = w.lane; k < s.n; k += 32) {
        const int64_t e = base + k * s.inner;
        out[e] = kMode == Mode::kLogSoftmaxBackward ? static_cast<T>(in[e] - Exp(static_cast<double>(y[e])) * acc)
                                                    : static_cast<T>(y[e] * (in[e] - acc));
      }
    }
  }
}

// The weight of class c: weight[c], or 1 without per-class weights.
template <typename T>
__device__ __forceinline__ double ClassWeight(const T* weight, int64_t c) {
  return weight == nullptr ? 1.0 : static_cast<double>(weight[c]);
}

// Forward: loss[i] = (1 - e) w_t (logsumexp(x_i) - x[i, t]) + e / C sum_c w_c (logsumexp(x_i) - x[i, c]).
// Backward: grad[i, c] = scale * grad_loss[i * grad_stride] * (softmax(x_i)_c sum_k q_k - q_c).
// Both 0 in a row whose target is ignore_index (as cpu::CrossEntropyForward / Backward).
template <typename T, bool kBackward>
__global__ void CrossEntropyKernel(int64_t rows, int64_t classes, const T* logits, const int64_t* target,
                                   int64_t ignore_index, const T* weight, double smoothing, const T* grad_loss,
                                   int64_t grad_stride, double scale, T* out) {
  const WarpLoop w = Warps();
  // sum_c w_c, in every lane (a warp's lanes sum their classes, then combine).
  double weight_sum = static_cast<double>(classes);
  if (weight != nullptr && w.first < rows) {
    weight_sum = 0;
    for (int64_t c = w.lane; c < classes; c += 32) weight_sum += weight[c];
    weight_sum = WarpSum(weight_sum);
  }
  const double off = smoothing / classes;
  for (int64_t i = w.first; i < rows; i += w.step) {
    const int64_t t = target[i];
    if (t == ignore_index) {
      if constexpr (kBackward) {
        for (int64_t c = w.lane; c < classes; c += 32) out[i * classes + c] = T(0);
      } else if (w.lane == 0) {
        out[i] = T(0);
      }
      continue;
    }
    const T* x = logits + i * classes;
    const LogSumExp l = WarpLogSumExp(x, classes, 1, w.lane);
    if constexpr (kBackward) {
      const double g = scale * static_cast<double>(grad_loss[i * grad_stride]);
      const double q_sum = weight == nullptr ? 1.0 : (1 - smoothing) * ClassWeight(weight, t) + off * weight_sum;
      for (int64_t c = w.lane; c < classes; c += 32) {
        const double q = ClassWeight(weight, c) * (c == t ? 1 - smoothing + off : off);
        out[i * classes + c] = static_cast<T>(g * (Exp(static_cast<double>(x[c]) - l.max - l.log_sum) * q_sum - q));
      }
    } else {
      const double lse = l.max + l.log_sum;
      double weighted_x = 0;
      if (smoothing != 0) {
        for (int64_t c = w.lane; c < classes; c += 32) weighted_x += ClassWeight(weight, c) * static_cast<double>(x[c]);
        weighted_x = WarpSum(weighted_x);
      }
      if (w.lane == 0) {
        double total = (1 - smoothing) * ClassWeight(weight, t) * (lse - static_cast<double>(x[t]));
        if (smoothing != 0) total += off * (weight_sum * lse - weighted_x);
        out[i] = static_cast<T>(total);
      }
    }
  }
}

template <typename T>
__global__ void NllLossKernel(int64_t rows, int64_t classes, const T* log_probs, const int64_t* target,
                              int64_t ignore_index, const T* weight, T* loss) {
  for (int64_t i = GlobalThreadIndex(); i < rows; i += GridStride()) {
    const int64_t t = target[i];
    loss[i] = t == ignore_index ? T(0)
                                : static_cast<T>(-ClassWeight(weight, t) * static_cast<double>(log_probs[i * classes + t]));
  }
}

// Adds 1 to *correct for each row whose target ranks among its k largest values (ties to the smaller
// index, NaN above every number), as cpu::CountCorrect.
template <typename T>
__global__ void CountCorrectKernel(int64_t rows, int64_t classes, const T* x, const int64_t* target, int64_t k,
                                   unsigned long long* correct) {
  for (int64_t i = GlobalThreadIndex(); i < rows; i += GridStride()) {
    const T* row = x + i * classes;
    const int64_t t = target[i];
    const T b = row[t];
    int64_t rank = 0;
    for (int64_t c = 0; c < classes && rank < k; ++c) {
      if (c == t) continue;
      const T a = row[c];
      const bool above = IsNan(a) || IsNan(b) ? IsNan(a) && (!IsNan(b) || c < t) : a > b || (a == b && c < t);
      rank += above;
    }
    if (rank < k) atomicAdd(correct, 1ull);
  }
}

template <typename T, Mode kMode>
void RunSoftmax(const SoftmaxShape& s, const T* in, const T* y, T* out) {
  const int64_t softmaxes = s.outer * s.inner;
  if (softmaxes * s.n > 0) Launch<SoftmaxKernel<T, kMode>>(GridSize(softmaxes * 32), kBlockSize, s, in, y, out);
}

}  // namespace

template <typename T>
void LogSoftmaxForward(const SoftmaxShape& s, const T* x, T* y) {
  RunSoftmax<T, Mode::kLogSoftmax>(s, x, nullptr, y);
}
template <typename T>
void LogSoftmaxBackward(const SoftmaxShape& s, const T* grad_y, const T* y, T* grad_x) {
  RunSoftmax<T, Mode::kLogSoftmaxBackward>(s, grad_y, y, grad_x);
}
template <typename T>
void SoftmaxForward(const SoftmaxShape& s, const T* x, T* y) {
  RunSoftmax<T, Mode::kSoftmax>(s, x, nullptr, y);
}
template <typename T>
void SoftmaxBackward(const SoftmaxShape& s, const T* grad_y, const T* y, T* grad_x) {
  RunSoftmax<T, Mode::kSoftmaxBackward>(s, grad_y, y, grad_x);
}

template <typename T>
void CrossEntropyForward(int64_t rows, int64_t classes, const T* logits, const int64_t* target, int64_t ignore_index,
                         const T* weight, double smoothing, T* loss) {
  if (rows == 0) return;
  Launch<CrossEntropyKernel<T, false>>(GridSize(rows * 32), kBlockSize, rows, classes, logits, target, ignore_index,
                                       weight, smoothing, static_cast<const T*>(nullptr), int64_t{0}, 0.0, loss);
}

template <typename T>
void CrossEntropyBackward(int64_t rows, int64_t classes, const T* logits, const int64_t* target, int64_t ignore_index,
                          const T* weight, double smoothing, const T* grad_loss, int64_t grad_stride, double scale,
                          T* grad_logits) {
  if (rows == 0) return;
  Launch<CrossEntropyKernel<T, true>>(GridSize(rows * 32), kBlockSize, rows, classes, logits, target, ignore_index,
                                      weight, smoothing, grad_loss, grad_stride, scale, grad_logits);
}

template <typename T>
void NllLossForward(int64_t rows, int64_t classes, const T* log_probs, const int64_t* target, int64_t ignore_index,
                    const T* weight, T* loss) {
  if (rows > 0) {
    Launch<NllLossKernel<T>>(GridSize(rows), kBlockSize, rows, classes, log_probs, target, ignore_index, weight, loss);
  }
}

template <typename T>
int64_t CountCorrect(int64_t rows, int64_t classes, const T* x, const int64_t* target, int64_t k) {
  if (rows == 0) return 0;
  const int device = CurrentDevice();
  DeviceBuffer correct(sizeof(unsigned long long), device);
  Zero(correct.as<void>(), sizeof(unsigned long long), device);
  Launch<CountCorrectKernel<T>>(GridSize(rows), kBlockSize, rows, classes, x, target, k,
                                correct.as<unsigned long long>());
  unsigned long long count = 0;
  CopyToHost(&count, correct.as<void>(), sizeof(count), device);
  return static_cast<int64_t>(count);
}

#define NORMGRAD_INSTANTIATE_SOFTMAX(T)                                                                         \
  template void LogSoftmaxForward<T>(const SoftmaxShape&, const T*, T*);                                       \
  template void LogSoftmaxBackward<T>(const SoftmaxShape&, const T*, const T*, T*);                            \
  template void SoftmaxForward<T>(const SoftmaxShape&, const T*, T*);                                          \
  template void SoftmaxBackward<T>(const SoftmaxShape&, const T*, const T*, T*);                               \
  template void CrossEntropyForward<T>(int64_t, int64_t, const T*, const int64_t*, int64_t, const T*, double, T*); \
  template void CrossEntropyBackward<T>(int64_t, int64_t, const T*, const int64_t*, int64_t, const T*, double,  \
                                        const T*, int64_t, double, T*);                                         \
  template void NllLossForward<T>(int64_t, int64_t, const T*, const int64_t*, int64_t, const T*, T*);          \
  template int64_t CountCorrect<T>(int64_t, int64_t, const T*, const int64_t*, int64_t);
NORMGRAD_INSTANTIATE_SOFTMAX(float)
NORMGRAD_INSTANTIATE_SOFTMAX(double)
#undef NORMGRAD_INSTANTIATE_SOFTMAX

}  // namespace normgrad::cuda
