#include "core/cpu/normalization.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/parallel.h"

namespace normgrad::cpu {
namespace {

constexpr int kLanes = 16;               // double accumulators side by side: 4 AVX2 registers' worth
constexpr int64_t kChunk = 4096;         // elements whose two moment passes run from L1
constexpr int64_t kGrain = 32768;        // elements per thread worth waking a thread for
constexpr int64_t kMinRun = 32;          // shorter channel runs are processed across channels (columns)
constexpr int64_t kBlockBytes = 256 << 10;  // a column block's data, kept in L2 between its passes
constexpr int64_t kMinColumns = 64;      // columns per block at least, so rows vectorize
constexpr int64_t kMaxPartials = 64;     // per-block weight/bias gradient partials (per-sample layouts)

// sum f(i) for i in [0, n) in double, kLanes interleaved accumulators (the loop vectorizes).
template <typename F>
inline double LaneSum(int64_t n, F f) {
  double acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int l = 0; l < kLanes; ++l) acc[l] += f(i + l);
  }
  double tail = 0;
  for (; i < n; ++i) tail += f(i);
  for (int w = kLanes / 2; w > 0; w /= 2) {
    for (int l = 0; l < w; ++l) acc[l] += acc[l + w];
  }
  return acc[0] + tail;
}

// Adds sum(dy) to *sum_dy and sum(dy * (x - mean)) to *sum_dy_xmu over a contiguous run.
template <typename T>
inline void GradSums(const T* x, const T* dy, int64_t n, double mean, double* sum_dy, double* sum_dy_xmu) {
  double a[kLanes] = {}, b[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int l = 0; l < kLanes; ++l) {
      const double g = dy[i + l];
      a[l] += g;
      b[l] = std::fma(g, static_cast<double>(x[i + l]) - mean, b[l]);
    }
  }
  double ta = 0, tb = 0;
  for (; i < n; ++i) {
    ta += dy[i];
    tb = std::fma(static_cast<double>(dy[i]), static_cast<double>(x[i]) - mean, tb);
  }
  for (int w = kLanes / 2; w > 0; w /= 2) {
    for (int l = 0; l < w; ++l) {
      a[l] += a[l + w];
      b[l] += b[l + w];
    }
  }
  *sum_dy += a[0] + ta;
  *sum_dy_xmu += b[0] + tb;
}

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

// Merges the moments of x[0, n) into acc, two passes per chunk.
template <typename T>
void AccumulateRun(Moments& acc, const T* x, int64_t n) {
  for (int64_t i = 0; i < n; i += kChunk) {
    const int64_t len = std::min(kChunk, n - i);
    const T* p = x + i;
    const double mean = LaneSum(len, [p](int64_t j) { return static_cast<double>(p[j]); }) / len;
    const double m2 = LaneSum(len, [p, mean](int64_t j) {
      const double d = static_cast<double>(p[j]) - mean;
      return d * d;
    });
    Merge(acc, {static_cast<double>(len), mean, m2});
  }
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

// Batch norm with short channel runs reads whole rows across channels instead: one row of x is
// [G * K * S] columns, and a block of whole groups' columns is processed with per-column arrays.
bool UsesColumns(const NormLayout& l) { return !l.per_sample && l.k * l.s < kMinRun; }

// Groups per column block: the block's data fits kBlockBytes but spans at least kMinColumns columns.
int64_t GroupsPerBlock(const NormLayout& l, size_t item_size) {
  const int64_t len = l.k * l.s;
  const int64_t fit = kBlockBytes / std::max<int64_t>(1, l.n * len * static_cast<int64_t>(item_size));
  return std::clamp(std::max(fit, (kMinColumns + len - 1) / len), int64_t{1}, l.g);
}

// The mean split into the data's dtype (center, subtracted exactly in float near the mean) and the
// rounding error left over, in double.
template <typename T>
struct Centered {
  explicit Centered(double mean) : center(static_cast<T>(mean)), rest(mean - static_cast<double>(center)) {}
  T center;
  double rest;
};

// y = (x - center) * scale + shift over a contiguous run with scalar coefficients.
template <typename T>
inline void AffineRun(const T* x, T* y, int64_t n, T center, T scale, T shift) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::fma(x[i] - center, scale, shift);
}

// The same with one coefficient per element of the run.
template <typename T>
inline void AffineColumns(const T* x, T* y, int64_t n, const T* center, const T* scale, const T* shift) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::fma(x[i] - center[i], scale[i], shift[i]);
}

// dx = dy * alpha + (x - center) * beta + gamma, the training input gradient, per element coefficients.
template <typename T>
inline void GradColumns(const T* x, const T* dy, T* dx, int64_t n, const T* center, const T* alpha,
                        const T* beta, const T* gamma) {
  for (int64_t i = 0; i < n; ++i) dx[i] = std::fma(dy[i], alpha[i], std::fma(x[i] - center[i], beta[i], gamma[i]));
}

template <typename T>
inline T WeightOf(const T* w, int64_t c) {
  return w ? w[c] : T(1);
}

// ---- forward

// Statistic i over runs of K channel rows of S: moments, then the affine pass over the same runs.
template <typename T>
void ForwardRuns(const NormLayout& l, int64_t i, const T* x, const T* w, const T* b, double eps, T* y,
                 double* mean, double* var, double* rstd, std::vector<T>& scale, std::vector<T>& shift) {
  const Runs runs = RunsOf(l, i);
  Moments m;
  for (int64_t r = 0; r < runs.num; ++r) AccumulateRun(m, x + runs.first + r * runs.stride, runs.len);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double v = m.count > 0 ? m.m2 / m.count : nan;
  const double mu = m.count > 0 ? m.mean : nan;
  const double inv = 1 / std::sqrt(v + eps);
  mean[i] = mu;
  var[i] = v;
  rstd[i] = inv;
  const Centered<T> ctr(mu);
  const int64_t c0 = (i % l.g) * l.k;
  for (int64_t k = 0; k < l.k; ++k) {
    const double sc = inv * static_cast<double>(WeightOf(w, c0 + k));
    scale[k] = static_cast<T>(sc);
    shift[k] = static_cast<T>((b ? static_cast<double>(b[c0 + k]) : 0.0) - ctr.rest * sc);
  }
  for (int64_t r = 0; r < runs.num; ++r) {
    const int64_t off = runs.first + r * runs.stride;
    if (l.s == 1) {
      for (int64_t k = 0; k < l.k; ++k) y[off + k] = std::fma(x[off + k] - ctr.center, scale[k], shift[k]);
    } else {
      for (int64_t k = 0; k < l.k; ++k) {
        AffineRun(x + off + k * l.s, y + off + k * l.s, l.s, ctr.center, scale[k], shift[k]);
      }
    }
  }
}

// Groups [g0, g1) of a column layout: two passes of per-column double sums over the rows (mean, then
// squared deviations from the group mean), then the affine pass, all while the block is in cache.
template <typename T>
void ForwardColumns(const NormLayout& l, int64_t g0, int64_t g1, const T* x, const T* w, const T* b,
                    double eps, T* y, double* mean, double* var, double* rstd) {
  const int64_t len = l.k * l.s, width = l.g * len, j0 = g0 * len, nc = (g1 - g0) * len;
  const double count = static_cast<double>(l.n * len);
  std::vector<double> acc(nc, 0.0), center(nc);
  for (int64_t n = 0; n < l.n; ++n) {
    const T* row = x + n * width + j0;
    for (int64_t j = 0; j < nc; ++j) acc[j] += static_cast<double>(row[j]);
  }
  for (int64_t g = g0; g < g1; ++g) {
    double s = 0;
    for (int64_t j = (g - g0) * len; j < (g - g0 + 1) * len; ++j) s += acc[j];
    mean[g] = s / count;
    std::fill_n(center.begin() + (g - g0) * len, len, mean[g]);
  }
  std::fill(acc.begin(), acc.end(), 0.0);
  for (int64_t n = 0; n < l.n; ++n) {
    const T* row = x + n * width + j0;
    for (int64_t j = 0; j < nc; ++j) {
      const double d = static_cast<double>(row[j]) - center[j];
      acc[j] = std::fma(d, d, acc[j]);
    }
  }
  std::vector<T> ctr(nc), scale(nc), shift(nc);
  for (int64_t g = g0; g < g1; ++g) {
    double s = 0;
    for (int64_t j = (g - g0) * len; j < (g - g0 + 1) * len; ++j) s += acc[j];
    var[g] = s / count;
    rstd[g] = 1 / std::sqrt(var[g] + eps);
    const Centered<T> c(mean[g]);
    for (int64_t k = 0; k < l.k; ++k) {
      const int64_t ch = g * l.k + k, j = (g - g0) * len + k * l.s;
      const double sc = rstd[g] * static_cast<double>(WeightOf(w, ch));
      std::fill_n(ctr.begin() + j, l.s, c.center);
      std::fill_n(scale.begin() + j, l.s, static_cast<T>(sc));
      std::fill_n(shift.begin() + j, l.s, static_cast<T>((b ? static_cast<double>(b[ch]) : 0.0) - c.rest * sc));
    }
  }
  for (int64_t n = 0; n < l.n; ++n) {
    AffineColumns(x + n * width + j0, y + n * width + j0, nc, ctr.data(), scale.data(), shift.data());
  }
}

template <typename T>
void Forward(const NormLayout& l, const T* x, const T* w, const T* b, double eps, T* y, double* mean,
             double* var, double* rstd) {
  if (UsesColumns(l)) {
    const int64_t per_block = GroupsPerBlock(l, sizeof(T));
    const int64_t blocks = (l.g + per_block - 1) / per_block;
    const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(1, l.n * l.k * l.s * per_block));
    ParallelFor(0, blocks, grain, [&](int64_t b0, int64_t b1) {
      for (int64_t blk = b0; blk < b1; ++blk) {
        ForwardColumns(l, blk * per_block, std::min(l.g, (blk + 1) * per_block), x, w, b, eps, y, mean, var, rstd);
      }
    });
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
  // Per channel: the center rounded to T and the shift with the center's rounding error folded in.
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
        const int64_t ch = r % c;
        AffineRun(x + r * s, y + r * s, s, ctr[ch], sc[ch], sh[ch]);
      }
    });
    return;
  }
  // Short runs: expand the coefficients to one per column of a row [C * S].
  const int64_t width = c * s;
  std::vector<T> cc(width), cs(width), ch(width);
  for (int64_t j = 0; j < width; ++j) {
    cc[j] = ctr[j / s];
    cs[j] = sc[j / s];
    ch[j] = sh[j / s];
  }
  ParallelFor(0, n, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, width)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      AffineColumns(x + r * width, y + r * width, width, cc.data(), cs.data(), ch.data());
    }
  });
}

// ---- backward

// Where a statistic's per-channel gradient sums go: dweight (scaled by rstd) and dbias accumulators in
// double, indexed by channel; either may be null.
struct ChannelSums {
  double* dweight;
  double* dbias;
};

// Statistic i over runs: per channel sum(dy) and sum(dy * (x - mean)), then (training) dx.
template <typename T>
void BackwardRuns(const NormLayout& l, int64_t i, const T* x, const T* dy, const T* w, const double* mean,
                  const double* rstd, bool through_stats, T* dx, ChannelSums out, std::vector<double>& a,
                  std::vector<double>& bsum, std::vector<T>& alpha) {
  const Runs runs = RunsOf(l, i);
  const double mu = mean[i], inv = rstd[i];
  const int64_t c0 = (i % l.g) * l.k;
  std::fill(a.begin(), a.end(), 0.0);
  std::fill(bsum.begin(), bsum.end(), 0.0);
  for (int64_t r = 0; r < runs.num; ++r) {
    const int64_t off = runs.first + r * runs.stride;
    if (l.s == 1) {
      for (int64_t k = 0; k < l.k; ++k) {
        const double g = dy[off + k];
        a[k] += g;
        bsum[k] = std::fma(g, static_cast<double>(x[off + k]) - mu, bsum[k]);
      }
    } else {
      for (int64_t k = 0; k < l.k; ++k) GradSums(x + off + k * l.s, dy + off + k * l.s, l.s, mu, &a[k], &bsum[k]);
    }
  }
  double sum_a = 0, sum_b = 0;
  for (int64_t k = 0; k < l.k; ++k) {
    if (out.dweight) out.dweight[c0 + k] += inv * bsum[k];
    if (out.dbias) out.dbias[c0 + k] += a[k];
    const double wk = static_cast<double>(WeightOf(w, c0 + k));
    sum_a += wk * a[k];
    sum_b += wk * bsum[k];
  }
  if (!through_stats || dx == nullptr) return;
  const double m = static_cast<double>(runs.num * runs.len);
  const Centered<T> ctr(mu);
  const double beta = -inv * inv * inv * sum_b / m;
  const T bt = static_cast<T>(beta), gm = static_cast<T>(-inv * sum_a / m - ctr.rest * beta);
  for (int64_t k = 0; k < l.k; ++k) alpha[k] = static_cast<T>(inv * static_cast<double>(WeightOf(w, c0 + k)));
  for (int64_t r = 0; r < runs.num; ++r) {
    const int64_t off = runs.first + r * runs.stride;
    if (l.s == 1) {
      for (int64_t k = 0; k < l.k; ++k) {
        dx[off + k] = std::fma(dy[off + k], alpha[k], std::fma(x[off + k] - ctr.center, bt, gm));
      }
    } else {
      for (int64_t k = 0; k < l.k; ++k) {
        const T* xr = x + off + k * l.s;
        const T* gr = dy + off + k * l.s;
        T* dr = dx + off + k * l.s;
        const T ak = alpha[k];
        for (int64_t s = 0; s < l.s; ++s) dr[s] = std::fma(gr[s], ak, std::fma(xr[s] - ctr.center, bt, gm));
      }
    }
  }
}

// Groups [g0, g1) of a column layout: per-column sums over the rows, then (training) dx by columns.
template <typename T>
void BackwardColumns(const NormLayout& l, int64_t g0, int64_t g1, const T* x, const T* dy, const T* w,
                     const double* mean, const double* rstd, bool through_stats, T* dx, ChannelSums out) {
  const int64_t len = l.k * l.s, width = l.g * len, j0 = g0 * len, nc = (g1 - g0) * len;
  std::vector<double> center(nc), a(nc, 0.0), bsum(nc, 0.0);
  for (int64_t j = 0; j < nc; ++j) center[j] = mean[g0 + j / len];
  for (int64_t n = 0; n < l.n; ++n) {
    const T* xr = x + n * width + j0;
    const T* gr = dy + n * width + j0;
    for (int64_t j = 0; j < nc; ++j) {
      const double g = gr[j];
      a[j] += g;
      bsum[j] = std::fma(g, static_cast<double>(xr[j]) - center[j], bsum[j]);
    }
  }
  const bool want_dx = through_stats && dx != nullptr;
  std::vector<T> ctr(want_dx ? nc : 0), alpha(ctr.size()), beta(ctr.size()), gamma(ctr.size());
  const double m = static_cast<double>(l.n * len);
  for (int64_t g = g0; g < g1; ++g) {
    double sum_a = 0, sum_b = 0;
    for (int64_t k = 0; k < l.k; ++k) {
      const int64_t ch = g * l.k + k, j = (g - g0) * len + k * l.s;
      double ca = 0, cb = 0;
      for (int64_t s = 0; s < l.s; ++s) {
        ca += a[j + s];
        cb += bsum[j + s];
      }
      if (out.dweight) out.dweight[ch] += rstd[g] * cb;
      if (out.dbias) out.dbias[ch] += ca;
      const double wk = static_cast<double>(WeightOf(w, ch));
      sum_a += wk * ca;
      sum_b += wk * cb;
    }
    if (!want_dx) continue;
    const double inv = rstd[g];
    const Centered<T> c(mean[g]);
    const double bt = -inv * inv * inv * sum_b / m;
    const T gm = static_cast<T>(-inv * sum_a / m - c.rest * bt);
    for (int64_t k = 0; k < l.k; ++k) {
      const int64_t j = (g - g0) * len + k * l.s;
      std::fill_n(ctr.begin() + j, l.s, c.center);
      std::fill_n(alpha.begin() + j, l.s, static_cast<T>(inv * static_cast<double>(WeightOf(w, g * l.k + k))));
      std::fill_n(beta.begin() + j, l.s, static_cast<T>(bt));
      std::fill_n(gamma.begin() + j, l.s, gm);
    }
  }
  if (!want_dx) return;
  for (int64_t n = 0; n < l.n; ++n) {
    const int64_t off = n * width + j0;
    GradColumns(x + off, dy + off, dx + off, nc, ctr.data(), alpha.data(), beta.data(), gamma.data());
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
  const int64_t total = l.n * channels * l.s;
  const int64_t parts = l.per_sample ? std::clamp<int64_t>(total / (4 * kGrain), 1, std::min(stats, kMaxPartials)) : 1;
  std::vector<double> sums((dw ? parts * channels : 0) + (db ? parts * channels : 0), 0.0);
  auto sums_of = [&](int64_t part) {
    double* base = sums.data();
    return ChannelSums{dw ? base + part * channels : nullptr,
                       db ? base + (dw ? parts * channels : 0) + part * channels : nullptr};
  };
  if (UsesColumns(l)) {
    const int64_t per_block = GroupsPerBlock(l, sizeof(T));
    const int64_t blocks = (l.g + per_block - 1) / per_block;
    const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(1, l.n * l.k * l.s * per_block));
    ParallelFor(0, blocks, grain, [&](int64_t b0, int64_t b1) {
      for (int64_t blk = b0; blk < b1; ++blk) {
        BackwardColumns(l, blk * per_block, std::min(l.g, (blk + 1) * per_block), x, dy, w, mean, rstd,
                        through_stats, dx, sums_of(0));
      }
    });
  } else {
    const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(1, l.count()));
    auto run = [&](int64_t i0, int64_t i1, ChannelSums out) {
      std::vector<double> a(l.k), bsum(l.k);
      std::vector<T> alpha(l.k);
      for (int64_t i = i0; i < i1; ++i) BackwardRuns(l, i, x, dy, w, mean, rstd, through_stats, dx, out, a, bsum, alpha);
    };
    if (parts == 1) {
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
      const ChannelSums s = sums_of(p);
      if (dw) sw += s.dweight[c];
      if (db) sb += s.dbias[c];
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
