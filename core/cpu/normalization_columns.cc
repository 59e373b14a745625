// Batch norm with short channel runs (H * W below kMinRun, and [N, C] inputs), by columns: a row of the
// input is [C * S] contiguous columns, and blocks of whole channels' columns are reduced over the rows
// with per-column accumulators, then normalized (or differentiated) while the block is in cache.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/cpu/normalization_internal.h"
#include "core/parallel.h"

namespace normgrad::cpu::normalization_internal {
namespace {

constexpr int64_t kBlockBytes = 1 << 20;  // a column block's data, kept in L2 between its passes
constexpr int64_t kMinColumns = 64;       // columns per block at least, so rows vectorize

// Groups per column block: wide blocks stream best (whole rows are contiguous), so one block per thread
// when its data fits kBlockBytes (kept in L2 between the passes), narrower ones otherwise, but at least
// kMinColumns columns. The results do not depend on the blocking.
int64_t GroupsPerBlock(const NormLayout& l, size_t item_size) {
  const int64_t len = l.k * l.s;
  const int64_t fit = kBlockBytes / std::max<int64_t>(1, l.n * len * static_cast<int64_t>(item_size));
  const int64_t per_thread = (l.g + GetNumThreads() - 1) / GetNumThreads();
  return std::clamp(std::max(std::min(fit, per_thread), (kMinColumns + len - 1) / len), int64_t{1}, l.g);
}

// Runs fn(g0, g1) over blocks of whole groups of a column layout, in parallel.
template <typename T, typename F>
void ForEachColumnBlock(const NormLayout& l, F fn) {
  const int64_t per_block = GroupsPerBlock(l, sizeof(T));
  const int64_t blocks = (l.g + per_block - 1) / per_block;
  const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(1, l.n * l.k * l.s * per_block));
  ParallelFor(0, blocks, grain, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) fn(b * per_block, std::min(l.g, (b + 1) * per_block));
  });
}

// acc1[j] += sum over rows n of f1(n, j), and the same for acc2 and f2 when given, for the columns j of
// a block (one sweep over the rows for both). f1 and f2 return the data's type, and four rows are added
// in it before the sum goes to double (see lanes.h for why that is accurate).
template <typename T, typename F1, typename F2>
void AddColumns(int64_t rows, int64_t nc, double* acc1, F1 f1, double* acc2, F2 f2) {
  auto four = [](auto f, int64_t n, int64_t j) {
    return static_cast<double>(static_cast<T>((f(n, j) + f(n + 1, j)) + (f(n + 2, j) + f(n + 3, j))));
  };
  int64_t n = 0;
  for (; n + 4 <= rows; n += 4) {
    if (acc2 == nullptr) {
      for (int64_t j = 0; j < nc; ++j) acc1[j] += four(f1, n, j);
    } else {
      for (int64_t j = 0; j < nc; ++j) {
        acc1[j] += four(f1, n, j);
        acc2[j] += four(f2, n, j);
      }
    }
  }
  for (; n < rows; ++n) {
    for (int64_t j = 0; j < nc; ++j) acc1[j] += static_cast<double>(f1(n, j));
    if (acc2 == nullptr) continue;
    for (int64_t j = 0; j < nc; ++j) acc2[j] += static_cast<double>(f2(n, j));
  }
}

// Groups [g0, g1) of a column layout: per-column sums over the rows (the mean), then per-column sums of
// deviations from the group's center, then the affine pass (followed by act), all while the block is in
// cache.
template <typename T, typename Act>
void ForwardColumns(const NormLayout& l, int64_t g0, int64_t g1, const T* x, const T* w, const T* b,
                    double eps, T* y, double* mean, double* var, double* rstd, Act act) {
  const int64_t len = l.k * l.s, width = l.g * len, nc = (g1 - g0) * len;
  const T* xb = x + g0 * len;
  const double count = static_cast<double>(l.n * len);
  auto group_total = [&](const std::vector<double>& v, int64_t g) {
    double s = 0;
    for (int64_t j = (g - g0) * len; j < (g - g0 + 1) * len; ++j) s += v[j];
    return s;
  };
  std::vector<double> s0(nc, 0.0);
  auto value = [&](int64_t n, int64_t j) { return xb[n * width + j]; };
  AddColumns<T>(l.n, nc, s0.data(), value, nullptr, value);
  std::vector<T> c(nc);
  for (int64_t g = g0; g < g1; ++g) {
    std::fill_n(c.begin() + (g - g0) * len, len, static_cast<T>(group_total(s0, g) / count));
  }
  std::vector<double> s1(nc, 0.0), s2(nc, 0.0);
  AddColumns<T>(
      l.n, nc, s1.data(), [&](int64_t n, int64_t j) { return xb[n * width + j] - c[j]; }, s2.data(),
      [&](int64_t n, int64_t j) {
        const T d = xb[n * width + j] - c[j];
        return d * d;
      });
  std::vector<T> ctr(nc), scale(nc), shift(nc);
  for (int64_t g = g0; g < g1; ++g) {
    Moments m = FromCentered(count, c[(g - g0) * len], group_total(s1, g), group_total(s2, g));
    if (!Finite(m)) {
      m = MomentsInDouble(l.n * len, [&](int64_t i) {
        return static_cast<double>(xb[(i / len) * width + (g - g0) * len + i % len]);
      });
    }
    mean[g] = m.mean;
    var[g] = m.m2 / count;
    rstd[g] = 1 / std::sqrt(var[g] + eps);
    for (int64_t k = 0; k < l.k; ++k) {
      const AffineCoefficients<T> a(Centered<T>(mean[g]), rstd[g], w, b, g * l.k + k);
      const int64_t j = (g - g0) * len + k * l.s;
      std::fill_n(ctr.begin() + j, l.s, a.center);
      std::fill_n(scale.begin() + j, l.s, a.scale);
      std::fill_n(shift.begin() + j, l.s, a.shift);
    }
  }
  for (int64_t n = 0; n < l.n; ++n) {
    const T* xr = xb + n * width;
    T* yr = y + g0 * len + n * width;
    const int64_t first = g0 * len + n * width;
    for (int64_t j = 0; j < nc; ++j) yr[j] = act(std::fma(xr[j] - ctr[j], scale[j], shift[j]), first + j);
  }
}

// Groups [g0, g1) of a column layout: per-column sums over the rows, then (training) dx by columns.
template <typename T>
void BackwardColumns(const NormLayout& l, int64_t g0, int64_t g1, const T* x, const T* dy, const T* w,
                     const double* mean, const double* rstd, bool through_stats, T* dx, ChannelSums out) {
  const int64_t len = l.k * l.s, width = l.g * len, nc = (g1 - g0) * len;
  const T* xb = x + g0 * len;
  const T* gb = dy + g0 * len;
  std::vector<T> c(nc);
  for (int64_t j = 0; j < nc; ++j) c[j] = static_cast<T>(mean[g0 + j / len]);
  std::vector<double> a(nc, 0.0), bsum(nc, 0.0);
  AddColumns<T>(
      l.n, nc, a.data(), [&](int64_t n, int64_t j) { return gb[n * width + j]; }, bsum.data(),
      [&](int64_t n, int64_t j) { return gb[n * width + j] * (xb[n * width + j] - c[j]); });
  const bool want_dx = through_stats && dx != nullptr;
  std::vector<T> ctr(want_dx ? nc : 0), alpha(ctr.size()), beta(ctr.size()), gamma(ctr.size());
  for (int64_t g = g0; g < g1; ++g) {
    const Centered<T> m(mean[g]);
    double sum_a = 0, sum_b = 0;
    for (int64_t k = 0; k < l.k; ++k) {
      const int64_t ch = g * l.k + k, j = (g - g0) * len + k * l.s;
      double ca = 0, cb = 0;
      for (int64_t s = 0; s < l.s; ++s) {
        ca += a[j + s];
        cb += bsum[j + s];
      }
      cb -= m.rest * ca;  // around the mean instead of the center
      if (out.dweight) out.dweight[ch] += rstd[g] * cb;
      if (out.dbias) out.dbias[ch] += ca;
      const double wk = static_cast<double>(WeightOf(w, ch));
      sum_a += wk * ca;
      sum_b += wk * cb;
    }
    if (!want_dx) continue;
    const GradCoefficients<T> gc(m, rstd[g], sum_a, sum_b, static_cast<double>(l.n * len));
    for (int64_t k = 0; k < l.k; ++k) {
      const int64_t j = (g - g0) * len + k * l.s;
      std::fill_n(ctr.begin() + j, l.s, m.center);
      std::fill_n(alpha.begin() + j, l.s, static_cast<T>(rstd[g] * static_cast<double>(WeightOf(w, g * l.k + k))));
      std::fill_n(beta.begin() + j, l.s, gc.beta);
      std::fill_n(gamma.begin() + j, l.s, gc.gamma);
    }
  }
  if (!want_dx) return;
  for (int64_t n = 0; n < l.n; ++n) {
    const T* xr = xb + n * width;
    const T* gr = gb + n * width;
    T* dr = dx + g0 * len + n * width;
    for (int64_t j = 0; j < nc; ++j) dr[j] = std::fma(gr[j], alpha[j], std::fma(xr[j] - ctr[j], beta[j], gamma[j]));
  }
}

}  // namespace

template <typename T>
void ForwardByColumns(const NormLayout& l, const T* x, const T* w, const T* b, double eps, T* y, double* mean,
                      double* var, double* rstd, bool relu, const T* residual) {
  ForEachColumnBlock<T>(l, [&](int64_t g0, int64_t g1) {
    WithActivation(relu, residual,
                   [&](auto act) { ForwardColumns(l, g0, g1, x, w, b, eps, y, mean, var, rstd, act); });
  });
}

template <typename T>
void BackwardByColumns(const NormLayout& l, const T* x, const T* dy, const T* w, const double* mean,
                       const double* rstd, bool through_stats, T* dx, ChannelSums out) {
  ForEachColumnBlock<T>(l, [&](int64_t g0, int64_t g1) {
    BackwardColumns(l, g0, g1, x, dy, w, mean, rstd, through_stats, dx, out);
  });
}

template void ForwardByColumns(const NormLayout&, const float*, const float*, const float*, double, float*,
                               double*, double*, double*, bool, const float*);
template void ForwardByColumns(const NormLayout&, const double*, const double*, const double*, double, double*,
                               double*, double*, double*, bool, const double*);
template void BackwardByColumns(const NormLayout&, const float*, const float*, const float*, const double*,
                                const double*, bool, float*, ChannelSums);
template void BackwardByColumns(const NormLayout&, const double*, const double*, const double*, const double*,
                                const double*, bool, double*, ChannelSums);

}  // namespace normgrad::cpu::normalization_internal
