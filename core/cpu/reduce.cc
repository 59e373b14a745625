#include "core/cpu/reduce.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <type_traits>

#include "core/parallel.h"

namespace normgrad::cpu {
namespace {

constexpr int64_t kGrain = 32768;       // elements per thread worth waking a thread for
constexpr int64_t kMinWork = 16;        // fewer independent work items than this: split the reduced dims
constexpr int64_t kMaxChunks = 64;      // bound on the partial results kept when splitting reduced dims
constexpr int64_t kBlock = 256;         // outputs accumulated side by side in the vertical layout
constexpr int64_t kCascade = 4096;      // elements summed in lanes before joining the running total
constexpr int kLanes = 8;

// The reduction as two nested index spaces: kept dims (one output each) and reduced dims, each ordered
// outermost-first by input stride and with mergeable neighbours merged. Each list has at least one dim
// (a size-1 placeholder with stride 0 when empty).
//
// Two layouts: "inner" when the reduced dims hold the smallest input stride (rows of the input are
// reduced to one value each), "vertical" when a kept dim does (x[N, C] summed over N: whole rows are
// added to a block of C accumulators, which vectorizes over C).
struct ReducePlan {
  std::vector<int64_t> ksize, kin, kout;
  std::vector<int64_t> rsize, rin;
  int64_t num_out = 1, num_red = 1;
  bool vertical = false;
};

ReducePlan MakePlan(const Shape& shape, const Strides& strides, const std::vector<bool>& reduce) {
  struct Dim {
    int64_t size, in, out;
  };
  Shape kept_shape;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (!reduce[d]) kept_shape.push_back(shape[d]);
  }
  const Strides out_strides = ContiguousStrides(kept_shape);
  std::vector<Dim> kept, red;
  ReducePlan plan;
  for (size_t d = 0, k = 0; d < shape.size(); ++d) {
    if (reduce[d]) {
      plan.num_red *= shape[d];
      if (shape[d] != 1) red.push_back({shape[d], strides[d], 0});
    } else {
      plan.num_out *= shape[d];
      if (shape[d] != 1) kept.push_back({shape[d], strides[d], out_strides[k]});
      ++k;
    }
  }
  auto order_and_merge = [](std::vector<Dim>& dims, std::vector<int64_t>& size, std::vector<int64_t>& in,
                            std::vector<int64_t>* out) {
    std::stable_sort(dims.begin(), dims.end(), [](const Dim& a, const Dim& b) { return a.in > b.in; });
    for (const Dim& d : dims) {
      if (!size.empty() && in.back() == d.in * d.size && (!out || out->back() == d.out * d.size)) {
        size.back() *= d.size;
        in.back() = d.in;
        if (out) out->back() = d.out;
        continue;
      }
      size.push_back(d.size);
      in.push_back(d.in);
      if (out) out->push_back(d.out);
    }
    if (size.empty()) {
      size.push_back(1);
      in.push_back(0);
      if (out) out->push_back(0);
    }
  };
  order_and_merge(kept, plan.ksize, plan.kin, &plan.kout);
  order_and_merge(red, plan.rsize, plan.rin, nullptr);
  if (plan.num_red == 0) {  // a size-0 reduced dim that did not merge: one empty dim, so that no row is read
    plan.rsize = {0};
    plan.rin = {0};
  }
  plan.vertical = plan.ksize.back() > 1 && plan.kin.back() < plan.rin.back();
  return plan;
}

// Calls f(offset, n, r) for each row (innermost reduced dim) of the reduced space whose outermost
// reduced index is in [r_begin, r_end); `offset` is the row's first element relative to `base`, r its
// flat position in the reduced space. With a single reduced dim the rows are [r_begin, r_end) itself.
template <typename F>
void ForEachReducedRow(const ReducePlan& p, int64_t r_begin, int64_t r_end, int64_t base, F&& f) {
  const int nr = static_cast<int>(p.rsize.size());
  if (nr == 1) {
    if (r_begin < r_end) f(base + r_begin * p.rin[0], r_end - r_begin, r_begin);
    return;
  }
  const int64_t row = p.rsize[nr - 1];
  const int64_t per_outer = p.num_red / p.rsize[0];
  std::vector<int64_t> index(nr - 1, 0);  // dims 1 .. nr-2 (index[0] unused)
  for (int64_t i = r_begin; i < r_end; ++i) {
    int64_t offset = base + i * p.rin[0];
    int64_t r = i * per_outer;
    std::fill(index.begin(), index.end(), 0);
    for (;;) {
      f(offset, row, r);
      r += row;
      int d = nr - 2;
      for (; d >= 1; --d) {
        offset += p.rin[d];
        if (++index[d] < p.rsize[d]) break;
        offset -= p.rsize[d] * p.rin[d];
        index[d] = 0;
      }
      if (d < 1) break;
    }
  }
}

// Offsets of kept position `m` (flat over the kept dims [0, nk)) in the input and the output.
void KeptOffsets(const ReducePlan& p, int64_t m, int nk, int64_t* in, int64_t* out) {
  *in = *out = 0;
  for (int d = nk - 1; d >= 0; --d) {
    const int64_t i = m % p.ksize[d];
    m /= p.ksize[d];
    *in += i * p.kin[d];
    *out += i * p.kout[d];
  }
}

// Reduces work items [w_begin, w_end) over the outermost-reduced-index range [r_begin, r_end) into out
// (indexed by output position). A work item is one output (inner layout) or a block of up to kBlock
// outputs along the innermost kept dim (vertical layout).
template <typename T, typename Policy>
void RunSerial(const ReducePlan& p, const T* in, const Policy& policy, int64_t w_begin, int64_t w_end,
               int64_t r_begin, int64_t r_end, typename Policy::Acc* out) {
  using Acc = typename Policy::Acc;
  const int nk = static_cast<int>(p.ksize.size());
  const int64_t rs = p.rin.back();
  if (!p.vertical) {
    for (int64_t m = w_begin; m < w_end; ++m) {
      int64_t in_off, out_off;
      KeptOffsets(p, m, nk, &in_off, &out_off);
      Acc acc = policy.Init();
      ForEachReducedRow(p, r_begin, r_end, in_off, [&](int64_t off, int64_t n, int64_t r) {
        policy.Row(acc, in + off, rs, n, r, out_off);
      });
      out[out_off] = acc;
    }
    return;
  }
  const int64_t len = p.ksize.back(), ks = p.kin.back(), os = p.kout.back();
  const int64_t blocks = (len + kBlock - 1) / kBlock;
  std::array<Acc, kBlock> acc;
  for (int64_t w = w_begin; w < w_end; ++w) {
    const int64_t j0 = (w % blocks) * kBlock, nb = std::min(kBlock, len - j0);
    int64_t in_off, out_off;
    KeptOffsets(p, w / blocks, nk - 1, &in_off, &out_off);
    in_off += j0 * ks;
    out_off += j0 * os;
    std::fill_n(acc.begin(), nb, policy.Init());
    ForEachReducedRow(p, r_begin, r_end, in_off, [&](int64_t off, int64_t n, int64_t r) {
      for (int64_t i = 0; i < n; ++i) policy.Vertical(acc.data(), in + off + i * rs, ks, nb, r + i, out_off, os);
    });
    for (int64_t j = 0; j < nb; ++j) out[out_off + j * os] = acc[j];
  }
}

// Threads over work items when there are enough of them, else over chunks of the outermost reduced
// dim whose partial results are combined in order. Every choice depends on sizes only.
template <typename T, typename Policy>
void RunReduce(const ReducePlan& p, const T* in, const Policy& policy, typename Policy::Acc* out) {
  using Acc = typename Policy::Acc;
  const int64_t blocks = p.vertical ? (p.ksize.back() + kBlock - 1) / kBlock : 1;
  const int64_t work = p.vertical ? p.num_out / p.ksize.back() * blocks : p.num_out;
  const int64_t total = p.num_out * p.num_red;
  const int64_t r0 = p.rsize[0];
  if (total < 2 * kGrain || work == 0) {
    RunSerial(p, in, policy, 0, work, 0, r0, out);
  } else if (work >= kMinWork || r0 == 1) {
    const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(1, total / work));
    ParallelFor(0, work, grain, [&](int64_t b, int64_t e) { RunSerial(p, in, policy, b, e, 0, r0, out); });
  } else {
    const int64_t chunks = std::min({r0, total / kGrain, kMaxChunks});
    std::vector<Acc> parts(chunks * p.num_out);
    ParallelFor(0, chunks, 1, [&](int64_t b, int64_t e) {
      for (int64_t c = b; c < e; ++c) {
        RunSerial(p, in, policy, 0, work, r0 * c / chunks, r0 * (c + 1) / chunks, parts.data() + c * p.num_out);
      }
    });
    for (int64_t m = 0; m < p.num_out; ++m) {
      Acc acc = parts[m];
      for (int64_t c = 1; c < chunks; ++c) policy.Combine(acc, parts[c * p.num_out + m]);
      out[m] = acc;
    }
  }
}

// ---- policies: Init, Row (inner layout), Vertical (one reduced position of a block), Combine.

template <typename T>
using SumAcc = std::conditional_t<std::is_integral_v<T>, int64_t, double>;

// Sum of f(x) over a contiguous run, in kLanes interleaved lanes per kCascade block.
template <typename Acc, typename T, typename F>
Acc LaneSum(const T* x, int64_t n, F f) {
  Acc total = 0;
  for (int64_t b = 0; b < n; b += kCascade) {
    const int64_t e = std::min(n, b + kCascade);
    Acc lanes[kLanes] = {};
    int64_t i = b;
    for (; i + kLanes <= e; i += kLanes) {
      for (int k = 0; k < kLanes; ++k) lanes[k] += f(static_cast<Acc>(x[i + k]));
    }
    for (; i < e; ++i) lanes[0] += f(static_cast<Acc>(x[i]));
    total += ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
  }
  return total;
}

template <typename T>
struct SumPolicy {
  using Acc = SumAcc<T>;
  Acc Init() const { return 0; }
  void Row(Acc& acc, const T* x, int64_t s, int64_t n, int64_t, int64_t) const {
    if (s == 1) {
      acc += LaneSum<Acc>(x, n, [](Acc v) { return v; });
    } else {
      for (int64_t i = 0; i < n; ++i) acc += static_cast<Acc>(x[i * s]);
    }
  }
  void Vertical(Acc* acc, const T* x, int64_t s, int64_t n, int64_t, int64_t, int64_t) const {
    if (s == 1) {
      for (int64_t j = 0; j < n; ++j) acc[j] += static_cast<Acc>(x[j]);
    } else {
      for (int64_t j = 0; j < n; ++j) acc[j] += static_cast<Acc>(x[j * s]);
    }
  }
  void Combine(Acc& a, const Acc& b) const { a += b; }
};

// Sum of (x - mean[output])^2, the second pass of the variance.
template <typename T>
struct SquaredDeviationPolicy {
  using Acc = double;
  const double* mean;
  Acc Init() const { return 0; }
  void Row(Acc& acc, const T* x, int64_t s, int64_t n, int64_t, int64_t out) const {
    const double m = mean[out];
    if (s == 1) {
      acc += LaneSum<Acc>(x, n, [m](double v) { return (v - m) * (v - m); });
    } else {
      for (int64_t i = 0; i < n; ++i) {
        const double d = static_cast<double>(x[i * s]) - m;
        acc += d * d;
      }
    }
  }
  void Vertical(Acc* acc, const T* x, int64_t s, int64_t n, int64_t, int64_t out, int64_t os) const {
    for (int64_t j = 0; j < n; ++j) {
      const double d = static_cast<double>(x[j * s]) - mean[out + j * os];
      acc[j] += d * d;
    }
  }
  void Combine(Acc& a, const Acc& b) const { a += b; }
};

// v replaces the running extreme a: strictly better, or the first NaN.
template <typename T>
bool Beats(bool is_max, T v, T a) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a)) return false;
    if (std::isnan(v)) return true;
  }
  return is_max ? v > a : v < a;
}

template <typename T>
T Lowest(bool is_max) {
  if constexpr (std::is_floating_point_v<T>) {
    return is_max ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
  } else {
    return is_max ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
  }
}

template <typename T, bool kIsMax>
struct ExtremePolicy {
  using Acc = T;
  Acc Init() const { return Lowest<T>(kIsMax); }
  static T Pick(T a, T v) {
    // Branch-free form of Beats, so that the lane loop vectorizes: NaN in v wins, NaN in a stays.
    return ((kIsMax ? v > a : v < a) || (v != v && a == a)) ? v : a;
  }
  void Row(Acc& acc, const T* x, int64_t s, int64_t n, int64_t, int64_t) const {
    int64_t i = 0;
    if (s == 1 && n >= kLanes) {
      T lanes[kLanes];
      for (int k = 0; k < kLanes; ++k) lanes[k] = acc;
      for (; i + kLanes <= n; i += kLanes) {
        for (int k = 0; k < kLanes; ++k) lanes[k] = Pick(lanes[k], x[i + k]);
      }
      for (int k = 0; k < kLanes; ++k) acc = Pick(acc, lanes[k]);
    }
    for (; i < n; ++i) acc = Pick(acc, x[i * s]);
  }
  void Vertical(Acc* acc, const T* x, int64_t s, int64_t n, int64_t, int64_t, int64_t) const {
    for (int64_t j = 0; j < n; ++j) acc[j] = Pick(acc[j], x[j * s]);
  }
  void Combine(Acc& a, const Acc& b) const { a = Pick(a, b); }
};

template <typename T>
struct ArgAcc {
  T value;
  int64_t index;  // -1 before the first element
};

template <typename T>
struct ArgPolicy {
  using Acc = ArgAcc<T>;
  bool is_max;
  Acc Init() const { return {Lowest<T>(is_max), -1}; }
  void Take(Acc& a, T v, int64_t r) const {
    if (a.index < 0 || Beats(is_max, v, a.value)) a = {v, r};
  }
  void Row(Acc& acc, const T* x, int64_t s, int64_t n, int64_t r, int64_t) const {
    for (int64_t i = 0; i < n; ++i) Take(acc, x[i * s], r + i);
  }
  void Vertical(Acc* acc, const T* x, int64_t s, int64_t n, int64_t r, int64_t, int64_t) const {
    for (int64_t j = 0; j < n; ++j) Take(acc[j], x[j * s], r);
  }
  // b covers later positions than a, so a tie keeps a.
  void Combine(Acc& a, const Acc& b) const {
    if (b.index >= 0) Take(a, b.value, b.index);
  }
};

}  // namespace

void Reduce(ReduceOp op, DType dtype, const Shape& shape, const Strides& strides, const void* in,
            const std::vector<bool>& reduce, void* out) {
  const ReducePlan plan = MakePlan(shape, strides, reduce);
  VisitDType(dtype, [&]<typename T>() {
    const T* x = static_cast<const T*>(in);
    T* y = static_cast<T*>(out);
    switch (op) {
      case ReduceOp::kSum:
      case ReduceOp::kMean: {
        std::vector<SumAcc<T>> acc(plan.num_out);
        RunReduce(plan, x, SumPolicy<T>{}, acc.data());
        const double count = static_cast<double>(plan.num_red);
        for (int64_t m = 0; m < plan.num_out; ++m) {
          y[m] = op == ReduceOp::kSum ? static_cast<T>(acc[m]) : static_cast<T>(acc[m] / count);
        }
        break;
      }
      case ReduceOp::kMax: RunReduce(plan, x, ExtremePolicy<T, true>{}, y); break;
      case ReduceOp::kMin: RunReduce(plan, x, ExtremePolicy<T, false>{}, y); break;
    }
  });
}

void Variance(DType dtype, const Shape& shape, const Strides& strides, const void* in,
              const std::vector<bool>& reduce, double correction, void* out) {
  const ReducePlan plan = MakePlan(shape, strides, reduce);
  VisitFloatDType(dtype, "var", [&]<typename T>() {
    const T* x = static_cast<const T*>(in);
    std::vector<double> mean(plan.num_out), squares(plan.num_out);
    RunReduce(plan, x, SumPolicy<T>{}, mean.data());
    const double count = static_cast<double>(plan.num_red);
    for (double& m : mean) m /= count;
    RunReduce(plan, x, SquaredDeviationPolicy<T>{mean.data()}, squares.data());
    const double denominator = std::max(0.0, count - correction);
    T* y = static_cast<T*>(out);
    for (int64_t m = 0; m < plan.num_out; ++m) y[m] = static_cast<T>(squares[m] / denominator);
  });
}

void ArgReduce(bool is_max, DType dtype, const Shape& shape, const Strides& strides, const void* in,
               int64_t dim, void* values, int64_t* indices) {
  std::vector<bool> reduce(shape.size(), false);
  if (!shape.empty()) reduce[dim] = true;
  const ReducePlan plan = MakePlan(shape, strides, reduce);
  VisitDType(dtype, [&]<typename T>() {
    std::vector<ArgAcc<T>> acc(plan.num_out);
    RunReduce(plan, static_cast<const T*>(in), ArgPolicy<T>{is_max}, acc.data());
    T* v = static_cast<T*>(values);
    for (int64_t m = 0; m < plan.num_out; ++m) {
      if (v != nullptr) v[m] = acc[m].value;
      indices[m] = acc[m].index;
    }
  });
}

}  // namespace normgrad::cpu
