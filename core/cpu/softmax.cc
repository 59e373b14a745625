#include "core/cpu/softmax.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/parallel.h"

namespace normgrad::cpu {
namespace {

// Runs fn(base) over the (outer, inner) pairs of s, base pointing at element k = 0 of that softmax (the
// others follow `inner` apart), threaded over pairs.
template <typename Fn>
void ForEachSoftmax(const SoftmaxShape& s, Fn&& fn) {
  ParallelFor(0, s.outer * s.inner, std::max<int64_t>(1, 16384 / std::max<int64_t>(s.n, 1)),
              [&](int64_t begin, int64_t end) {
                for (int64_t r = begin; r < end; ++r) fn((r / s.inner) * s.n * s.inner + r % s.inner);
              });
}

// max and log(sum(exp(x - max))) of n values `stride` apart. An all -inf (or empty) row has max -inf,
// which gives NaN results as in PyTorch; a +inf gives NaN too.
struct LogSumExp {
  double max, log_sum;
};
template <typename T>
LogSumExp ComputeLogSumExp(const T* x, int64_t n, int64_t stride) {
  double max = -std::numeric_limits<double>::infinity();
  for (int64_t k = 0; k < n; ++k) {
    const double v = x[k * stride];
    if (v > max || std::isnan(v)) max = v;
  }
  double sum = 0;
  for (int64_t k = 0; k < n; ++k) sum += std::exp(x[k * stride] - max);
  return {max, std::log(sum)};
}

// The weight of class c: weight[c], or 1 without per-class weights.
template <typename T>
double ClassWeight(const T* weight, int64_t c) {
  return weight == nullptr ? 1.0 : static_cast<double>(weight[c]);
}

template <typename T>
double WeightSum(const T* weight, int64_t classes) {
  if (weight == nullptr) return static_cast<double>(classes);
  double sum = 0;
  for (int64_t c = 0; c < classes; ++c) sum += weight[c];
  return sum;
}

}  // namespace

template <typename T>
void LogSoftmaxForward(const SoftmaxShape& s, const T* x, T* y) {
  ForEachSoftmax(s, [&](int64_t base) {
    const LogSumExp l = ComputeLogSumExp(x + base, s.n, s.inner);
    for (int64_t k = 0; k < s.n; ++k) {
      const int64_t e = base + k * s.inner;
      y[e] = static_cast<T>(x[e] - l.max - l.log_sum);
    }
  });
}

template <typename T>
void LogSoftmaxBackward(const SoftmaxShape& s, const T* grad_y, const T* y, T* grad_x) {
  ForEachSoftmax(s, [&](int64_t base) {
    double sum = 0;
    for (int64_t k = 0; k < s.n; ++k) sum += grad_y[base + k * s.inner];
    for (int64_t k = 0; k < s.n; ++k) {
      const int64_t e = base + k * s.inner;
      grad_x[e] = static_cast<T>(grad_y[e] - std::exp(static_cast<double>(y[e])) * sum);
    }
  });
}

template <typename T>
void SoftmaxForward(const SoftmaxShape& s, const T* x, T* y) {
  ForEachSoftmax(s, [&](int64_t base) {
    const LogSumExp l = ComputeLogSumExp(x + base, s.n, s.inner);
    for (int64_t k = 0; k < s.n; ++k) {
      const int64_t e = base + k * s.inner;
      y[e] = static_cast<T>(std::exp(x[e] - l.max - l.log_sum));
    }
  });
}

template <typename T>
void SoftmaxBackward(const SoftmaxShape& s, const T* grad_y, const T* y, T* grad_x) {
  ForEachSoftmax(s, [&](int64_t base) {
    double dot = 0;
    for (int64_t k = 0; k < s.n; ++k) dot += static_cast<double>(grad_y[base + k * s.inner]) * y[base + k * s.inner];
    for (int64_t k = 0; k < s.n; ++k) {
      const int64_t e = base + k * s.inner;
      grad_x[e] = static_cast<T>(y[e] * (grad_y[e] - dot));
    }
  });
}


template <typename T>
void CrossEntropyForward(int64_t rows, int64_t classes, const T* logits, const int64_t* target, int64_t ignore_index,
                         const T* weight, double smoothing, T* loss) {
  const double weight_sum = WeightSum(weight, classes);
  ForEachSoftmax({rows, classes, 1}, [&](int64_t base) {
    const int64_t i = base / classes, t = target[i];
    if (t == ignore_index) {
      loss[i] = T(0);
      return;
    }
    const T* x = logits + base;
    const LogSumExp l = ComputeLogSumExp(x, classes, 1);
    const double lse = l.max + l.log_sum;
    double total = (1 - smoothing) * ClassWeight(weight, t) * (lse - x[t]);
    if (smoothing != 0) {
      double weighted_x = 0;
      for (int64_t c = 0; c < classes; ++c) weighted_x += ClassWeight(weight, c) * x[c];
      total += smoothing / classes * (weight_sum * lse - weighted_x);
    }
    loss[i] = static_cast<T>(total);
  });
}

template <typename T>
void CrossEntropyBackward(int64_t rows, int64_t classes, const T* logits, const int64_t* target, int64_t ignore_index,
                          const T* weight, double smoothing, const T* grad_loss, int64_t grad_stride, double scale,
                          T* grad_logits) {
  const double weight_sum = WeightSum(weight, classes), off = smoothing / classes;
  ForEachSoftmax({rows, classes, 1}, [&](int64_t base) {
    const int64_t i = base / classes, t = target[i];
    T* dx = grad_logits + base;
    if (t == ignore_index) {
      std::fill(dx, dx + classes, T(0));
      return;
    }
    const T* x = logits + base;
    const LogSumExp l = ComputeLogSumExp(x, classes, 1);
    const double g = scale * grad_loss[i * grad_stride];
    // sum_c q_c: 1 without weights.
    const double q_sum = weight == nullptr ? 1.0 : (1 - smoothing) * weight[t] + off * weight_sum;
    for (int64_t c = 0; c < classes; ++c) {
      const double q = ClassWeight(weight, c) * (c == t ? 1 - smoothing + off : off);
      dx[c] = static_cast<T>(g * (std::exp(x[c] - l.max - l.log_sum) * q_sum - q));
    }
  });
}

template <typename T>
void NllLossForward(int64_t rows, int64_t classes, const T* log_probs, const int64_t* target, int64_t ignore_index,
                    const T* weight, T* loss) {
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t t = target[i];
    loss[i] = t == ignore_index ? T(0) : static_cast<T>(-ClassWeight(weight, t) * log_probs[i * classes + t]);
  }
}

template <typename T>
int64_t CountCorrect(int64_t rows, int64_t classes, const T* x, const int64_t* target, int64_t k) {
  // Whether a ranks above b, a_first telling whether a has the smaller index.
  auto above = [](T a, T b, bool a_first) {
    if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && (!std::isnan(b) || a_first);
    return a > b || (a == b && a_first);
  };
  int64_t correct = 0;
  for (int64_t i = 0; i < rows; ++i) {
    const T* row = x + i * classes;
    const int64_t t = target[i];
    int64_t rank = 0;
    for (int64_t c = 0; c < classes && rank < k; ++c) {
      if (c != t && above(row[c], row[t], c < t)) ++rank;
    }
    correct += rank < k;
  }
  return correct;
}

#define NG_INSTANTIATE_SOFTMAX(T)                                                                                      \
  template void LogSoftmaxForward<T>(const SoftmaxShape&, const T*, T*);                                               \
  template void LogSoftmaxBackward<T>(const SoftmaxShape&, const T*, const T*, T*);                                    \
  template void SoftmaxForward<T>(const SoftmaxShape&, const T*, T*);                                                  \
  template void SoftmaxBackward<T>(const SoftmaxShape&, const T*, const T*, T*);                                       \
  template void CrossEntropyForward<T>(int64_t, int64_t, const T*, const int64_t*, int64_t, const T*, double, T*);   \
  template void CrossEntropyBackward<T>(int64_t, int64_t, const T*, const int64_t*, int64_t, const T*, double,       \
                                        const T*, int64_t, double, T*);                                              \
  template void NllLossForward<T>(int64_t, int64_t, const T*, const int64_t*, int64_t, const T*, T*);                  \
  template int64_t CountCorrect<T>(int64_t, int64_t, const T*, const int64_t*, int64_t);
NG_INSTANTIATE_SOFTMAX(float)
NG_INSTANTIATE_SOFTMAX(double)
#undef NG_INSTANTIATE_SOFTMAX

}  // namespace normgrad::cpu
