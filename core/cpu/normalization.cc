#include "core/cpu/normalization.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/cpu/lanes.h"
#include "core/cpu/normalization_internal.h"
#include "core/parallel.h"

namespace normgrad::cpu {
namespace {

using lanes::DoubleSum;
using normalization_internal::AffineCoefficients;
using normalization_internal::BackwardByColumns;
using normalization_internal::Centered;
using normalization_internal::ChannelSums;
using normalization_internal::Finite;
using normalization_internal::ForwardByColumns;
using normalization_internal::FromCentered;
using normalization_internal::GradCoefficients;
using normalization_internal::kGrain;
using normalization_internal::kMinRun;
using normalization_internal::Merge;
using normalization_internal::Moments;
using normalization_internal::MomentsInDouble;
using normalization_internal::NoActivation;
using normalization_internal::ReluGrad;
using normalization_internal::UsesColumns;
using normalization_internal::WeightOf;
using normalization_internal::WithActivation;

constexpr int64_t kChunk = 4096;       // elements whose two moment passes run from L1
constexpr int64_t kMaxPartials = 64;   // per-block weight/bias gradient partials (per-sample layouts)

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
    Moments chunk_moments = FromCentered(count, c, s1.Total(), s2.Total());
    if (!Finite(chunk_moments)) {
      chunk_moments = MomentsInDouble((r1 - r0) * len, [&](int64_t i) {
        return static_cast<double>(first[(i / len) * runs.stride + i % len]);
      });
    }
    Merge(m, chunk_moments);
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

// ---- forward

// Statistic i over runs of K channel rows of S: moments, then the affine pass over the same runs.
template <typename T>
void ForwardRuns(const NormLayout& l, int64_t i, const T* x, const T* w, const T* b, double eps, T* y,
                 double* mean, double* var, double* rstd, std::vector<T>& scale, std::vector<T>& shift, bool relu,
                 const T* residual) {
  const Runs runs = RunsOf(l, i);
  const Moments m = RunMoments(x, runs);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  mean[i] = m.count > 0 ? m.mean : nan;
  var[i] = m.count > 0 ? m.m2 / m.count : nan;
  rstd[i] = 1 / std::sqrt(var[i] + eps);
  const Centered<T> ctr(mean[i]);
  const int64_t c0 = (i % l.g) * l.k;
  const T c = ctr.center;
  if (l.s == 1) {
    // One position per channel (layer norm): the affine varies along the run, so normalize first,
    // n = (x - center) * rstd - rest * rstd, then apply the weight and bias arrays.
    const T r = static_cast<T>(rstd[i]), r0 = static_cast<T>(-ctr.rest * rstd[i]);
    const T* wk = w ? w + c0 : nullptr;
    const T* bk = b ? b + c0 : nullptr;
    auto apply = [&](auto affine) {
      for (int64_t run = 0; run < runs.num; ++run) {
        const T* xr = x + runs.first + run * runs.stride;
        T* yr = y + runs.first + run * runs.stride;
        for (int64_t k = 0; k < l.k; ++k) yr[k] = affine(std::fma(xr[k] - c, r, r0), k);
      }
    };
    if (wk && bk) {
      apply([&](T n, int64_t k) { return std::fma(n, wk[k], bk[k]); });
    } else if (wk) {
      apply([&](T n, int64_t k) { return n * wk[k]; });
    } else if (bk) {
      apply([&](T n, int64_t k) { return n + bk[k]; });
    } else {
      apply([](T n, int64_t) { return n; });
    }
    return;
  }
  for (int64_t k = 0; k < l.k; ++k) {
    const AffineCoefficients<T> a(ctr, rstd[i], w, b, c0 + k);
    scale[k] = a.scale;
    shift[k] = a.shift;
  }
  auto normalize = [&](auto act) {
    for (int64_t r = runs.num - 1; r >= 0; --r) {  // last read first: it is the likeliest still in cache
      const int64_t off = runs.first + r * runs.stride;
      const T* xr = x + off;
      T* yr = y + off;
      for (int64_t k = 0; k < l.k; ++k) {
        const T sc = scale[k], sh = shift[k];
        for (int64_t s = k * l.s; s < (k + 1) * l.s; ++s) yr[s] = act(std::fma(xr[s] - c, sc, sh), off + s);
      }
    }
  };
  WithActivation(relu, residual, normalize);
}

template <typename T>
void Forward(const NormLayout& l, const T* x, const T* w, const T* b, double eps, T* y, double* mean,
             double* var, double* rstd, bool relu, const T* residual) {
  if (UsesColumns(l)) {
    ForwardByColumns(l, x, w, b, eps, y, mean, var, rstd, relu, residual);
    return;
  }
  const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(1, l.count()));
  ParallelFor(0, l.num_stats(), grain, [&](int64_t i0, int64_t i1) {
    std::vector<T> scale(l.s == 1 ? 0 : l.k), shift(scale.size());
    for (int64_t i = i0; i < i1; ++i) {
      ForwardRuns(l, i, x, w, b, eps, y, mean, var, rstd, scale, shift, relu, residual);
    }
  });
}

// ---- given statistics

template <typename T, typename Act>
void Affine(int64_t n, int64_t c, int64_t s, const T* x, const double* center, const double* scale,
            const double* shift, T* y, Act act) {
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
        for (int64_t i = 0; i < s; ++i) yr[i] = act(std::fma(xr[i] - cc, a, b), r * s + i);
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
      for (int64_t j = 0; j < width; ++j) yr[j] = act(std::fma(xr[j] - cc[j], cs[j], ch[j]), r * width + j);
    }
  });
}

// ---- backward

// Per-task scratch of BackwardRuns: one entry per channel of a statistic (k) for runs of several
// positions; for one position per channel (rows), weight and bias gradient partials per channel in the
// data's type, added into the double sums every kRowsPerFlush rows.
template <typename T>
struct RunScratch {
  static constexpr int kRowsPerFlush = 8;
  RunScratch(const NormLayout& l)
      : sdy(l.s == 1 ? 0 : l.k), sdyx(sdy.size()), a(sdy.size()), b(sdy.size()), alpha(sdy.size()),
        row_dw(l.s == 1 ? l.channels() : 0, T(0)), row_db(row_dw.size(), T(0)) {}
  void Flush(ChannelSums out) {
    for (size_t c = 0; c < row_dw.size(); ++c) {
      if (out.dweight) out.dweight[c] += static_cast<double>(row_dw[c]);
      if (out.dbias) out.dbias[c] += static_cast<double>(row_db[c]);
      row_dw[c] = row_db[c] = T(0);
    }
    rows = 0;
  }
  std::vector<DoubleSum> sdy, sdyx;
  std::vector<double> a, b;
  std::vector<T> alpha;
  std::vector<T> row_dw, row_db;
  int rows = 0;
};

// BackwardRuns for one position per channel (layer norm's rows): the weight varies along the run, so the
// sums are of g = dy * weight directly, and the weight and bias gradients accumulate elementwise.
template <typename T>
void BackwardRow(const NormLayout& l, const Runs& runs, const T* x, const T* dy, const T* w,
                 const Centered<T>& ctr, double inv, bool through_stats, T* dx, ChannelSums out, int64_t c0,
                 RunScratch<T>& t) {
  const T c = ctr.center, r = static_cast<T>(inv), r0 = static_cast<T>(-ctr.rest * inv);
  DoubleSum sg, sgx;
  for (int64_t run = 0; run < runs.num; ++run) {
    const int64_t off = runs.first + run * runs.stride;
    const T* xr = x + off;
    const T* gr = dy + off;
    lanes::AddGradSums(sg, sgx, xr, gr, {1, 0, l.k}, c, w);
    if (out.dweight) {
      T* dw = t.row_dw.data() + c0;
      for (int64_t k = 0; k < l.k; ++k) dw[k] = std::fma(gr[k], std::fma(xr[k] - c, r, r0), dw[k]);
    }
    if (out.dbias) {
      T* db = t.row_db.data() + c0;
      for (int64_t k = 0; k < l.k; ++k) db[k] += gr[k];
    }
    if (++t.rows == RunScratch<T>::kRowsPerFlush) t.Flush(out);
  }
  if (!through_stats || dx == nullptr) return;
  const double sum_a = sg.Total();
  const GradCoefficients<T> gc(ctr, inv, sum_a, sgx.Total() - ctr.rest * sum_a,
                               static_cast<double>(runs.num * runs.len));
  const T beta = gc.beta, gamma = gc.gamma;
  for (int64_t run = 0; run < runs.num; ++run) {
    const int64_t off = runs.first + run * runs.stride;
    const T* xr = x + off;
    const T* gr = dy + off;
    T* dr = dx + off;
    if (w) {
      for (int64_t k = 0; k < l.k; ++k) dr[k] = std::fma(gr[k] * w[k], r, std::fma(xr[k] - c, beta, gamma));
    } else {
      for (int64_t k = 0; k < l.k; ++k) dr[k] = std::fma(gr[k], r, std::fma(xr[k] - c, beta, gamma));
    }
  }
}

// Statistic i over runs: per channel sum(dy) and sum(dy * (x - mean)), then (training) dx.
template <typename T>
void BackwardRuns(const NormLayout& l, int64_t i, const T* x, const T* dy, const T* w, const double* mean,
                  const double* rstd, bool through_stats, T* dx, ChannelSums out, RunScratch<T>& t,
                  const T* relu_out, T* masked_dy) {
  const Runs runs = RunsOf(l, i);
  const Centered<T> ctr(mean[i]);
  const T c = ctr.center;
  const double inv = rstd[i];
  const int64_t c0 = (i % l.g) * l.k;
  if (l.s == 1) {
    BackwardRow(l, runs, x, dy, w ? w + c0 : nullptr, ctr, inv, through_stats, dx, out, c0, t);
    return;
  }
  std::fill(t.sdy.begin(), t.sdy.end(), DoubleSum());
  std::fill(t.sdyx.begin(), t.sdyx.end(), DoubleSum());
  const lanes::RunSet set{runs.num, runs.stride, l.s};
  for (int64_t k = 0; k < l.k; ++k) {
    const int64_t off = runs.first + k * l.s;
    lanes::AddGradSums(t.sdy[k], t.sdyx[k], x + off, dy + off, set, c, static_cast<const T*>(nullptr),
                       relu_out ? relu_out + off : nullptr, masked_dy ? masked_dy + off : nullptr);
  }
  // The masked gradient, once written, is dx's pass's dy: two arrays to read instead of three.
  if (masked_dy) {
    dy = masked_dy;
    relu_out = nullptr;
  }
  for (int64_t k = 0; k < l.k; ++k) {
    t.a[k] = t.sdy[k].Total();
    t.b[k] = t.sdyx[k].Total();
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
  auto input_grad = [&](auto grad) {
    for (int64_t r = runs.num - 1; r >= 0; --r) {  // last read first: it is the likeliest still in cache
      const int64_t off = runs.first + r * runs.stride;
      const T* xr = x + off;
      T* dr = dx + off;
      for (int64_t k = 0; k < l.k; ++k) {
        const T ak = t.alpha[k];
        for (int64_t s = k * l.s; s < (k + 1) * l.s; ++s) {
          dr[s] = std::fma(grad(off + s), ak, std::fma(xr[s] - c, beta, gamma));
        }
      }
    }
  };
  if (relu_out) return input_grad([&](int64_t e) { return ReluGrad(dy[e], relu_out[e]); });
  input_grad([&](int64_t e) { return dy[e]; });
}

template <typename T>
void Backward(const NormLayout& l, const T* x, const T* dy, const T* w, const double* mean, const double* rstd,
              bool through_stats, T* dx, T* dw, T* db, const T* relu_out, T* masked_dy) {
  const int64_t channels = l.channels();
  std::vector<T> masked;
  if (relu_out != nullptr && (!through_stats || UsesColumns(l) || (masked_dy != nullptr && dx == nullptr))) {
    // Eval (rare in a training loop), short runs, and a masked gradient wanted without dx (whose sums pass
    // writes it otherwise): the masked gradient once, then the plain backward (masking on the fly inside
    // the column sums would let the compiler contract their products differently from the plain
    // backward's, and the results would no longer match it bit for bit).
    const int64_t size = l.n * channels * l.s;
    if (masked_dy == nullptr) masked.resize(size);
    T* out = masked_dy != nullptr ? masked_dy : masked.data();
    ParallelFor(0, size, kGrain, [&](int64_t b, int64_t e) {
#pragma GCC ivdep  // out is dy itself or overlaps nothing
      for (int64_t i = b; i < e; ++i) out[i] = ReluGrad(dy[i], relu_out[i]);
    });
    dy = out;
    relu_out = nullptr;
    masked_dy = nullptr;
  }
  if (!through_stats && dx != nullptr) {
    std::vector<double> scale(channels);
    for (int64_t c = 0; c < channels; ++c) scale[c] = rstd[c / l.k] * static_cast<double>(WeightOf(w, c));
    Affine(l.n, channels, l.s, dy, nullptr, scale.data(), nullptr, dx, NoActivation{});
  }
  if (!(through_stats && dx != nullptr) && dw == nullptr && db == nullptr) return;

  // Per-channel sums in double: one set for layouts whose statistics own their channels (batch norm:
  // threads write disjoint channels), else one per part, a block of consecutive statistics (a split fixed
  // by the shapes, so the sums do not depend on the thread count), added in order at the end.
  const int64_t stats = l.num_stats();
  const int64_t parts =
      l.per_sample ? std::clamp<int64_t>(l.n * channels * l.s / kGrain, 1, std::min(stats, kMaxPartials)) : 1;
  std::vector<double> sums(2 * parts * channels, 0.0);
  auto sums_of = [&](int64_t part) {
    return ChannelSums{dw ? sums.data() + part * channels : nullptr,
                       db ? sums.data() + (parts + part) * channels : nullptr};
  };
  if (UsesColumns(l)) {
    BackwardByColumns(l, x, dy, w, mean, rstd, through_stats, dx, sums_of(0));
  } else {
    auto run = [&](int64_t i0, int64_t i1, ChannelSums out) {
      RunScratch<T> scratch(l);
      for (int64_t i = i0; i < i1; ++i) {
        BackwardRuns(l, i, x, dy, w, mean, rstd, through_stats, dx, out, scratch, relu_out, masked_dy);
      }
      scratch.Flush(out);
    };
    if (!l.per_sample) {
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
                 double eps, void* y, double* mean, double* var, double* rstd, bool relu, const void* residual) {
  VisitFloatDType(dtype, "normalization", [&]<typename T>() {
    Forward(layout, static_cast<const T*>(x), static_cast<const T*>(weight), static_cast<const T*>(bias), eps,
            static_cast<T*>(y), mean, var, rstd, relu, static_cast<const T*>(residual));
  });
}

void ChannelAffine(DType dtype, int64_t n, int64_t c, int64_t s, const void* x, const double* center,
                   const double* scale, const double* shift, void* y, bool relu, const void* residual) {
  VisitFloatDType(dtype, "normalization", [&]<typename T>() {
    const T* in = static_cast<const T*>(x);
    T* out = static_cast<T*>(y);
    WithActivation(relu, static_cast<const T*>(residual),
                   [&](auto act) { Affine(n, c, s, in, center, scale, shift, out, act); });
  });
}

void NormBackward(DType dtype, const NormLayout& layout, const void* x, const void* dy, const void* weight,
                  const double* mean, const double* rstd, bool through_stats, void* dx, void* dweight,
                  void* dbias, const void* relu_out, void* masked_dy) {
  VisitFloatDType(dtype, "normalization", [&]<typename T>() {
    Backward(layout, static_cast<const T*>(x), static_cast<const T*>(dy), static_cast<const T*>(weight), mean,
             rstd, through_stats, static_cast<T*>(dx), static_cast<T*>(dweight), static_cast<T*>(dbias),
             static_cast<const T*>(relu_out), static_cast<T*>(masked_dy));
  });
}

}  // namespace normgrad::cpu
