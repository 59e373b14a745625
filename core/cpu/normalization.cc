#include "core/cpu/normalization.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/cpu/lanes.h"
#include "core/parallel.h"

namespace normgrad::cpu {
namespace {

using lanes::DoubleSum;

constexpr int64_t kChunk = 4096;            // elements whose two moment passes run from L1
constexpr int64_t kGrain = 32768;           // elements per thread worth waking a thread for
constexpr int64_t kMinRun = 32;             // shorter channel runs are processed across channels (columns)
constexpr int64_t kBlockBytes = 256 << 10;  // a column block's data, kept in L2 between its passes
constexpr int64_t kMinColumns = 64;         // columns per block at least, so rows vectorize
constexpr int64_t kMaxPartials = 64;        // per-block weight/bias gradient partials (per-sample layouts)

// Count, mean and sum of squared deviations of a set of values; Merge is Chan et al.'s pairwise update.
struct Moments {
  double count = 0, mean = 0, m2 = 0;
};

void Merge(Moments& a, const Moments& b) {
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
Moments FromCentered(double count, double c, double s1, double s2) {
  return {count, c + s1 / count, std::max(0.0, s2 - s1 * s1 / count)};
}

// The data of statistic i: `num` runs of `len` elements, the first at element `first`, `stride` apart.
struct Runs {
  int64_t first, num, stride, len;
};

Runs RunsOf(const NormLayout& l, int64_t i) {
  const int64_t len = l.k * l.s;
  if (l.per_sample) return {i * len, 1, 0, len};
  return {i * len, l.n, l.g * len, len};
}

// Moments of a statistic's runs, two passes per chunk (the second from L1): a chunk is a piece of at
// most kChunk elements of a long run, or as many whole short runs as fit in kChunk elements. The first
// pass finds the chunk's mean, the second sums deviations from it.
template <typename T>
Moments RunMoments(const T* x, const Runs& runs) {
  Moments m;
  auto chunk = [&](int64_t r0, int64_t r1, int64_t begin, int64_t len) {
    const T* first = x + runs.first + r0 * runs.stride + begin;
    const lanes::RunSet set{r1 - r0, runs.stride, len};
    DoubleSum sum;
    lanes::AddSum(sum, first, set);
    const double count = static_cast<double>((r1 - r0) * len);
    const T c = static_cast<T>(sum.Total() / count);
    DoubleSum s1, s2;
    lanes::AddCenteredSums(s1, s2, first, set, c);
    Merge(m, FromCentered(count, c, s1.Total(), s2.Total()));
  };
  if (runs.len >= kChunk) {
    for (int64_t r = 0; r < runs.num; ++r) {
      for (int64_t b = 0; b < runs.len; b += kChunk) chunk(r, r + 1, b, std::min(kChunk, runs.len - b));
    }
  } else if (runs.len > 0) {
    const int64_t per = kChunk / runs.len;
    for (int64_t r = 0; r < runs.num; r += per) chunk(r, std::min(runs.num, r + per), 0, runs.len);
  }
  return m;
}

// Batch norm with short channel runs reads whole rows across channels instead: one row of x is
// [G * K * S] columns, and a block of whole groups' columns is processed with per-column arrays.
bool UsesColumns(const NormLayout& l) { return !l.per_sample && l.k * l.s < kMinRun; }

// Groups per column block: the block's data fits kBlockBytes but spans at least kMinColumns columns.
int64_t GroupsPerBlock(const NormLayout& l, size_t item_size) {
  const int64_t len = l.k * l.s;
  const int64_t fit = kBlockBytes / std::max<int64_t>(1, l.n * len * static_cast<int64_t>(item_size));
  return std::clamp(std::max(fit, (kMinColumns + len - 1) / len), int64_t{1}, l.g);
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

// acc[j] += sum over rows n of f(n, j) for the columns j of a block; f returns the data's type, and
// four rows are added in it before the sum goes to double (see lanes.h for why that is accurate).
template <typename T, typename F>
void AddColumns(int64_t rows, int64_t nc, double* acc, F f) {
  int64_t n = 0;
  for (; n + 4 <= rows; n += 4) {
    for (int64_t j = 0; j < nc; ++j) {
      acc[j] += static_cast<double>(static_cast<T>((f(n, j) + f(n + 1, j)) + (f(n + 2, j) + f(n + 3, j))));
    }
  }
  for (; n < rows; ++n) {
    for (int64_t j = 0; j < nc; ++j) acc[j] += static_cast<double>(f(n, j));
  }
}

// The mean split into the data's type (center, subtracted exactly in float near the mean) and the
// rounding error left over, in double.
template <typename T>
struct Centered {
  explicit Centered(double mean) : center(static_cast<T>(mean)), rest(mean - static_cast<double>(center)) {}
  T center;
  double rest;
};

template <typename T>
T WeightOf(const T* w, int64_t c) {
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

// ---- forward

// Statistic i over runs of K channel rows of S: moments, then the affine pass over the same runs.
template <typename T>
void ForwardRuns(const NormLayout& l, int64_t i, const T* x, const T* w, const T* b, double eps, T* y,
                 double* mean, double* var, double* rstd, std::vector<T>& scale, std::vector<T>& shift) {
  const Runs runs = RunsOf(l, i);
  const Moments m = RunMoments(x, runs);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  mean[i] = m.count > 0 ? m.mean : nan;
  var[i] = m.count > 0 ? m.m2 / m.count : nan;
  rstd[i] = 1 / std::sqrt(var[i] + eps);
  const Centered<T> ctr(mean[i]);
  const int64_t c0 = (i % l.g) * l.k;
  for (int64_t k = 0; k < l.k; ++k) {
    const AffineCoefficients<T> a(ctr, rstd[i], w, b, c0 + k);
    scale[k] = a.scale;
    shift[k] = a.shift;
  }
  const T c = ctr.center;
  for (int64_t r = runs.num - 1; r >= 0; --r) {  // last read first: it is the likeliest still in cache
    const T* xr = x + runs.first + r * runs.stride;
    T* yr = y + runs.first + r * runs.stride;
    if (l.s == 1) {
      for (int64_t k = 0; k < l.k; ++k) yr[k] = std::fma(xr[k] - c, scale[k], shift[k]);
      continue;
    }
    for (int64_t k = 0; k < l.k; ++k) {
      const T sc = scale[k], sh = shift[k];
      for (int64_t s = k * l.s; s < (k + 1) * l.s; ++s) yr[s] = std::fma(xr[s] - c, sc, sh);
    }
  }
}

// Groups [g0, g1) of a column layout: per-column sums over the rows (the mean), then per-column sums of
// deviations from the group's center, then the affine pass, all while the block is in cache.
template <typename T>
void ForwardColumns(const NormLayout& l, int64_t g0, int64_t g1, const T* x, const T* w, const T* b,
                    double eps, T* y, double* mean, double* var, double* rstd) {
  const int64_t len = l.k * l.s, width = l.g * len, nc = (g1 - g0) * len;
  const T* xb = x + g0 * len;
  const double count = static_cast<double>(l.n * len);
  auto group_total = [&](const std::vector<double>& v, int64_t g) {
    double s = 0;
    for (int64_t j = (g - g0) * len; j < (g - g0 + 1) * len; ++j) s += v[j];
    return s;
  };
  std::vector<double> s0(nc, 0.0);
  AddColumns<T>(l.n, nc, s0.data(), [&](int64_t n, int64_t j) { return xb[n * width + j]; });
  std::vector<T> c(nc);
  for (int64_t g = g0; g < g1; ++g) {
    std::fill_n(c.begin() + (g - g0) * len, len, static_cast<T>(group_total(s0, g) / count));
  }
  std::vector<double> s1(nc, 0.0), s2(nc, 0.0);
  AddColumns<T>(l.n, nc, s1.data(), [&](int64_t n, int64_t j) { return xb[n * width + j] - c[j]; });
  AddColumns<T>(l.n, nc, s2.data(), [&](int64_t n, int64_t j) {
    const T d = xb[n * width + j] - c[j];
    return d * d;
  });
  std::vector<T> ctr(nc), scale(nc), shift(nc);
  for (int64_t g = g0; g < g1; ++g) {
    const Moments m = FromCentered(count, c[(g - g0) * len], group_total(s1, g), group_total(s2, g));
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
    for (int64_t j = 0; j < nc; ++j) yr[j] = std::fma(xr[j] - ctr[j], scale[j], shift[j]);
  }
}

template <typename T>
void Forward(const NormLayout& l, const T* x, const T* w, const T* b, double eps, T* y, double* mean,
             double* var, double* rstd) {
  if (UsesColumns(l)) {
    ForEachColumnBlock<T>(l, [&](int64_t g0, int64_t g1) { ForwardColumns(l, g0, g1, x, w, b, eps, y, mean, var, rstd); });
    return;
  }
  const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(1, l.count()));
  ParallelFor(0, l.num_stats(), grain, [&](int64_t i0, int64_t i1) {
    std::vector<T> scale(l.k), shift(l.k);
    for (int64_t i = i0; i < i1; ++i) ForwardRuns(l, i, x, w, b, eps, y, mean, var, rstd, scale, shift);
  });
}

// ---- given statistics

template <typename T>
void Affine(int64_t n, int64_t c, int64_t s, const T* x, const double* center, const double* scale,
            const double* shift, T* y) {
  std::vector<T> ctr(c), sc(c), sh(c);
  for (int64_t ch = 0; ch < c; ++ch) {
    const Centered<T> m(center ? center[ch] : 0.0);
    ctr[ch] = m.center;
    sc[ch] = static_cast<T>(scale[ch]);
    sh[ch] = static_cast<T>((shift ? shift[ch] : 0.0) - m.rest * scale[ch]);
  }
  if (s >= kMinRun) {
    ParallelFor(0, n * c, std::max<int64_t>(1, kGrain / s), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const T* xr = x + r * s;
        T* yr = y + r * s;
        const T cc = ctr[r % c], a = sc[r % c], b = sh[r % c];
        for (int64_t i = 0; i < s; ++i) yr[i] = std::fma(xr[i] - cc, a, b);
      }
    });
    return;
  }
  // Short runs: the coefficients expanded to one per column of a row [C * S].
  const int64_t width = c * s;
  std::vector<T> cc(width), cs(width), ch(width);
  for (int64_t j = 0; j < width; ++j) {
    cc[j] = ctr[j / s];
    cs[j] = sc[j / s];
    ch[j] = sh[j / s];
  }
  ParallelFor(0, n, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, width)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* xr = x + r * width;
      T* yr = y + r * width;
      for (int64_t j = 0; j < width; ++j) yr[j] = std::fma(xr[j] - cc[j], cs[j], ch[j]);
    }
  });
}

// ---- backward

// Where a statistic's per-channel gradient sums go: dweight (already scaled by rstd) and dbias
// accumulators in double, indexed by channel; either may be null.
struct ChannelSums {
  double* dweight;
  double* dbias;
};

// Per-task scratch of BackwardRuns, one channel entry per k.
template <typename T>
struct RunScratch {
  explicit RunScratch(int64_t k) : sdy(k), sdyx(k), a(k), b(k), alpha(k) {}
  std::vector<DoubleSum> sdy, sdyx;
  std::vector<double> a, b;
  std::vector<T> alpha;
};

// Statistic i over runs: per channel sum(dy) and sum(dy * (x - mean)), then (training) dx.
template <typename T>
void BackwardRuns(const NormLayout& l, int64_t i, const T* x, const T* dy, const T* w, const double* mean,
                  const double* rstd, bool through_stats, T* dx, ChannelSums out, RunScratch<T>& t) {
  const Runs runs = RunsOf(l, i);
  const Centered<T> ctr(mean[i]);
  const T c = ctr.center;
  const double inv = rstd[i];
  const int64_t c0 = (i % l.g) * l.k;
  if (l.s == 1) {
    std::fill(t.a.begin(), t.a.end(), 0.0);
    std::fill(t.b.begin(), t.b.end(), 0.0);
    for (int64_t r = 0; r < runs.num; ++r) {
      const T* xr = x + runs.first + r * runs.stride;
      const T* gr = dy + runs.first + r * runs.stride;
      for (int64_t k = 0; k < l.k; ++k) {
        t.a[k] += static_cast<double>(gr[k]);
        t.b[k] += static_cast<double>(gr[k] * (xr[k] - c));
      }
    }
  } else {
    std::fill(t.sdy.begin(), t.sdy.end(), DoubleSum());
    std::fill(t.sdyx.begin(), t.sdyx.end(), DoubleSum());
    const lanes::RunSet set{runs.num, runs.stride, l.s};
    for (int64_t k = 0; k < l.k; ++k) {
      const int64_t off = runs.first + k * l.s;
      lanes::AddGradSums(t.sdy[k], t.sdyx[k], x + off, dy + off, set, c);
    }
    for (int64_t k = 0; k < l.k; ++k) {
      t.a[k] = t.sdy[k].Total();
      t.b[k] = t.sdyx[k].Total();
    }
  }
  // The sums were taken around the center; sum(dy * (x - mean)) = sum(dy * (x - center)) - rest * sum(dy).
  double sum_a = 0, sum_b = 0;
  for (int64_t k = 0; k < l.k; ++k) {
    t.b[k] -= ctr.rest * t.a[k];
    if (out.dweight) out.dweight[c0 + k] += inv * t.b[k];
    if (out.dbias) out.dbias[c0 + k] += t.a[k];
    const double wk = static_cast<double>(WeightOf(w, c0 + k));
    sum_a += wk * t.a[k];
    sum_b += wk * t.b[k];
    t.alpha[k] = static_cast<T>(inv * wk);
  }
  if (!through_stats || dx == nullptr) return;
  const GradCoefficients<T> gc(ctr, inv, sum_a, sum_b, static_cast<double>(runs.num * runs.len));
  const T beta = gc.beta, gamma = gc.gamma;
  for (int64_t r = runs.num - 1; r >= 0; --r) {  // last read first: it is the likeliest still in cache
    const int64_t off = runs.first + r * runs.stride;
    const T* xr = x + off;
    const T* gr = dy + off;
    T* dr = dx + off;
    if (l.s == 1) {
      for (int64_t k = 0; k < l.k; ++k) dr[k] = std::fma(gr[k], t.alpha[k], std::fma(xr[k] - c, beta, gamma));
      continue;
    }
    for (int64_t k = 0; k < l.k; ++k) {
      const T ak = t.alpha[k];
      for (int64_t s = k * l.s; s < (k + 1) * l.s; ++s) dr[s] = std::fma(gr[s], ak, std::fma(xr[s] - c, beta, gamma));
    }
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
  AddColumns<T>(l.n, nc, a.data(), [&](int64_t n, int64_t j) { return gb[n * width + j]; });
  AddColumns<T>(l.n, nc, bsum.data(), [&](int64_t n, int64_t j) {
    return gb[n * width + j] * (xb[n * width + j] - c[j]);
  });
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

template <typename T>
void Backward(const NormLayout& l, const T* x, const T* dy, const T* w, const double* mean, const double* rstd,
              bool through_stats, T* dx, T* dw, T* db) {
  const int64_t channels = l.channels();
  if (!through_stats && dx != nullptr) {
    std::vector<double> scale(channels);
    for (int64_t c = 0; c < channels; ++c) scale[c] = rstd[c / l.k] * static_cast<double>(WeightOf(w, c));
    Affine(l.n, channels, l.s, dy, nullptr, scale.data(), nullptr, dx);
  }
  if (!(through_stats && dx != nullptr) && dw == nullptr && db == nullptr) return;

  // Per-channel sums in double: one set for layouts whose statistics own their channels, else one per
  // block of statistics (a fixed split, so the sums do not depend on the thread count), added in order.
  const int64_t stats = l.num_stats();
  const int64_t parts =
      l.per_sample ? std::clamp<int64_t>(l.n * channels * l.s / (4 * kGrain), 1, std::min(stats, kMaxPartials)) : 1;
  std::vector<double> sums(2 * parts * channels, 0.0);
  auto sums_of = [&](int64_t part) {
    return ChannelSums{dw ? sums.data() + part * channels : nullptr,
                       db ? sums.data() + (parts + part) * channels : nullptr};
  };
  if (UsesColumns(l)) {
    ForEachColumnBlock<T>(l, [&](int64_t g0, int64_t g1) {
      BackwardColumns(l, g0, g1, x, dy, w, mean, rstd, through_stats, dx, sums_of(0));
    });
  } else {
    auto run = [&](int64_t i0, int64_t i1, ChannelSums out) {
      RunScratch<T> scratch(l.k);
      for (int64_t i = i0; i < i1; ++i) BackwardRuns(l, i, x, dy, w, mean, rstd, through_stats, dx, out, scratch);
    };
    if (parts == 1) {
      const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(1, l.count()));
      ParallelFor(0, stats, grain, [&](int64_t i0, int64_t i1) { run(i0, i1, sums_of(0)); });
    } else {
      ParallelFor(0, parts, 1, [&](int64_t p0, int64_t p1) {
        for (int64_t p = p0; p < p1; ++p) run(stats * p / parts, stats * (p + 1) / parts, sums_of(p));
      });
    }
  }
  for (int64_t c = 0; c < channels; ++c) {
    double sw = 0, sb = 0;
    for (int64_t p = 0; p < parts; ++p) {
      sw += sums[p * channels + c];
      sb += sums[(parts + p) * channels + c];
    }
    if (dw) dw[c] = static_cast<T>(sw);
    if (db) db[c] = static_cast<T>(sb);
  }
}

}  // namespace

void NormForward(DType dtype, const NormLayout& layout, const void* x, const void* weight, const void* bias,
                 double eps, void* y, double* mean, double* var, double* rstd) {
  VisitFloatDType(dtype, "normalization", [&]<typename T>() {
    Forward(layout, static_cast<const T*>(x), static_cast<const T*>(weight), static_cast<const T*>(bias), eps,
            static_cast<T*>(y), mean, var, rstd);
  });
}

void ChannelAffine(DType dtype, int64_t n, int64_t c, int64_t s, const void* x, const double* center,
                   const double* scale, const double* shift, void* y) {
  VisitFloatDType(dtype, "normalization", [&]<typename T>() {
    Affine(n, c, s, static_cast<const T*>(x), center, scale, shift, static_cast<T*>(y));
  });
}

void NormBackward(DType dtype, const NormLayout& layout, const void* x, const void* dy, const void* weight,
                  const double* mean, const double* rstd, bool through_stats, void* dx, void* dweight,
                  void* dbias) {
  VisitFloatDType(dtype, "normalization", [&]<typename T>() {
    Backward(layout, static_cast<const T*>(x), static_cast<const T*>(dy), static_cast<const T*>(weight), mean,
             rstd, through_stats, static_cast<T*>(dx), static_cast<T*>(dweight), static_cast<T*>(dbias));
  });
}

}  // namespace normgrad::cpu
