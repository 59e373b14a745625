#ifndef NORMGRAD_CORE_CPU_NORMALIZATION_INTERNAL_H_
#define NORMGRAD_CORE_CPU_NORMALIZATION_INTERNAL_H_

// Pieces shared by core/cpu/normalization.cc (runs of a channel's positions, per-sample blocks) and
// core/cpu/normalization_columns.cc (batch norm with short runs, by columns). Not a public interface:
// see core/cpu/normalization.h for the layout and the numerics.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>

#include "core/cpu/normalization.h"

namespace normgrad::cpu::normalization_internal {

constexpr int64_t kGrain = 32768;  // elements per thread worth waking a thread for
constexpr int64_t kMinRun = 32;    // shorter channel runs are processed across channels (columns)

// Count, mean and sum of squared deviations of a set of values; Merge is Chan et al.'s pairwise update.
struct Moments {
  double count = 0, mean = 0, m2 = 0;
};

inline void Merge(Moments& a, const Moments& b) {
  if (b.count == 0) return;
  if (a.count == 0) {
    a = b;
    return;
  }
  const double n = a.count + b.count, delta = b.mean - a.mean;
  a.mean += delta * (b.count / n);
  a.m2 += b.m2 + delta * delta * (a.count * (b.count / n));
  a.count = n;
}

// Moments from sums of deviations from a center c near the mean: s1 = sum(x - c), s2 = sum((x - c)^2).
// The correction s1^2 / count is tiny next to s2 (c is within rounding of the mean), so nothing cancels.
// A NaN stays NaN (std::max(0.0, NaN) would be 0), so that Finite() sees it.
inline Moments FromCentered(double count, double c, double s1, double s2) {
  const double m2 = s2 - s1 * s1 / count;
  return {count, c + s1 / count, m2 < 0 ? 0.0 : m2};
}

// False when blocked float sums overflowed (values beyond ~1e37, deviations beyond ~1e19) or the data
// holds infinities or NaNs: MomentsInDouble then gives the moments as double arithmetic has them
// (correct for huge finite data; NaN or inf, as PyTorch's, for non-finite data).
inline bool Finite(const Moments& m) { return std::isfinite(m.mean) && std::isfinite(m.m2); }

// Two-pass moments of a set of runs entirely in double: the fallback where the blocked sums are not
// Finite.
inline Moments MomentsInDouble(int64_t count, const std::function<double(int64_t)>& at) {
  double sum = 0, m2 = 0;
  for (int64_t i = 0; i < count; ++i) sum += at(i);
  const double mean = sum / static_cast<double>(count);
  for (int64_t i = 0; i < count; ++i) m2 += (at(i) - mean) * (at(i) - mean);
  return {static_cast<double>(count), mean, m2};
}

// Batch norm with short channel runs reads whole rows across channels instead: one row of x is
// [G * K * S] columns, and a block of whole groups' columns is processed with per-column arrays.
inline bool UsesColumns(const NormLayout& l) { return !l.per_sample && l.k * l.s < kMinRun; }

// The mean split into the data's type (center, subtracted exactly in float near the mean) and the
// rounding error left over, in double.
template <typename T>
struct Centered {
  explicit Centered(double mean) : center(static_cast<T>(mean)), rest(mean - static_cast<double>(center)) {}
  T center;
  double rest;
};

// The relu op's forward and backward on one value (core/cpu/elementwise.cc): NaN stays NaN, the gradient
// stops where the output is <= 0 (and passes where it is NaN, as PyTorch's).
template <typename T>
inline T Relu(T v) {
  return v < T(0) ? T(0) : v;
}
template <typename T>
inline T ReluGrad(T g, T out) {
  return out <= T(0) ? T(0) : g;
}

// What the normalize-and-affine passes do with each value v they write, at element e of the output:
// nothing, relu (batch norm + relu as one op) or relu(v + residual[e]) (batch norm + residual add + relu,
// the end of a residual block). WithActivation calls fn with the one that relu and residual select; each is
// its own type, so a pass is compiled once per activation and tests nothing per element.
struct NoActivation {
  template <typename T>
  T operator()(T v, int64_t) const {
    return v;
  }
};
struct ReluActivation {
  template <typename T>
  T operator()(T v, int64_t) const {
    return Relu(v);
  }
};
template <typename T>
struct AddReluActivation {
  const T* residual;
  T operator()(T v, int64_t e) const { return Relu(v + residual[e]); }
};
// residual (optional) requires relu.
template <typename T, typename Fn>
void WithActivation(bool relu, const T* residual, Fn&& fn) {
  if (residual != nullptr) return fn(AddReluActivation<T>{residual});
  if (relu) return fn(ReluActivation{});
  fn(NoActivation{});
}

template <typename T>
inline T WeightOf(const T* w, int64_t c) {
  return w ? w[c] : T(1);
}

// Normalize-and-affine coefficients of channel c under statistic (mean, rstd):
// y = (x - center) * scale + shift, with scale = rstd * weight and shift = bias - rest * scale.
template <typename T>
struct AffineCoefficients {
  AffineCoefficients(const Centered<T>& m, double rstd, const T* w, const T* b, int64_t c) {
    const double sc = rstd * static_cast<double>(WeightOf(w, c));
    center = m.center;
    scale = static_cast<T>(sc);
    shift = static_cast<T>((b ? static_cast<double>(b[c]) : 0.0) - m.rest * sc);
  }
  T center, scale, shift;
};

// Training input-gradient coefficients of a statistic over `count` elements, from its channel sums
// A = sum_c w_c sum(dy), B = sum_c w_c sum(dy * (x - mean)):
//   dx = dy * (rstd * w_c) + (x - center) * beta + gamma,
//   beta = -rstd^3 B / count, gamma = -rstd A / count - rest * beta.
template <typename T>
struct GradCoefficients {
  GradCoefficients(const Centered<T>& m, double rstd, double sum_a, double sum_b, double count) {
    const double bt = -rstd * rstd * rstd * sum_b / count;
    beta = static_cast<T>(bt);
    gamma = static_cast<T>(-rstd * sum_a / count - m.rest * bt);
  }
  T beta, gamma;
};

// Where a statistic's per-channel gradient sums go: dweight (already scaled by rstd) and dbias
// accumulators in double, indexed by channel; either may be null.
struct ChannelSums {
  double* dweight;
  double* dbias;
};

// The column path over the whole input (defined, for float and double, in normalization_columns.cc):
// statistics, output and backward sums with the same contracts as the run path.
template <typename T>
void ForwardByColumns(const NormLayout& l, const T* x, const T* w, const T* b, double eps, T* y, double* mean,
                      double* var, double* rstd, bool relu, const T* residual);
template <typename T>
void BackwardByColumns(const NormLayout& l, const T* x, const T* dy, const T* w, const double* mean,
                       const double* rstd, bool through_stats, T* dx, ChannelSums out);

}  // namespace normgrad::cpu::normalization_internal

#endif  // NORMGRAD_CORE_CPU_NORMALIZATION_INTERNAL_H_
