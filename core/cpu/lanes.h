#ifndef NORMGRAD_CORE_CPU_LANES_H_
#define NORMGRAD_CORE_CPU_LANES_H_

// Vectorized sums that end in double, for memory-bound reductions (normalization statistics and their
// gradients) on float or double data.
//
// Converting every float to double costs more than the memory traffic it rides on, so the sums run in
// the data's type over short blocks (kBlockSteps values per lane) and each block's lanes are then added
// into double accumulators. A block sum of float values is exact to a few float roundings of that block's
// magnitude (about 1e-7 relative); across blocks, the total keeps double accuracy. Callers subtract a
// center near the mean first (x - c is exact in float for x within a factor 2 of c), so the
// magnitudes summed are those of the deviations, never of the offsets. A float block overflows where
// double would not only for squares of deviations beyond ~1e19 (or values beyond ~1e37); the moment code
// notices the inf and redoes such data in double.
//
// Written with the GCC/Clang vector extension: 32-byte vectors (AVX2 registers on x86-64-v3, pairs of
// SSE or NEON registers elsewhere).

#include <cstdint>
#include <cstring>
#include <type_traits>

namespace normgrad::cpu::lanes {

using D4 = double __attribute__((vector_size(32)));
using F8 = float __attribute__((vector_size(32)));
using F4 = float __attribute__((vector_size(16)));

template <typename T>
using Vec = std::conditional_t<std::is_same_v<T, float>, F8, D4>;

template <typename T>
inline constexpr int64_t kWidth = 32 / sizeof(T);  // lanes of a Vec<T>
inline constexpr int kUnroll = 4;                   // independent vectors per step
inline constexpr int kBlockSteps = 8;               // steps summed in T before adding into double

template <typename T>
inline Vec<T> Load(const T* p) {
  Vec<T> v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <typename T>
inline void Store(T* p, Vec<T> v) {
  std::memcpy(p, &v, sizeof v);
}

// Asks for the cache lines of one step (kUnroll vectors) at p. The sums that stream from memory
// prefetch the same step of the next run: the hardware prefetchers stop at page boundaries, and a
// channel's runs in an [N, C, H, W] tensor are often a page or less, a channel stride apart.
template <typename T>
inline void Prefetch(const T* p) {
  for (int64_t b = 0; b < kUnroll * 32; b += 64) __builtin_prefetch(reinterpret_cast<const char*>(p) + b);
}

// A double sum: 8 lanes and a scalar tail.
struct DoubleSum {
  D4 v[2] = {};
  double tail = 0;

  template <typename T>
  void Add(Vec<T> x) {
    if constexpr (std::is_same_v<T, float>) {
      v[0] += __builtin_convertvector(__builtin_shufflevector(x, x, 0, 1, 2, 3), D4);
      v[1] += __builtin_convertvector(__builtin_shufflevector(x, x, 4, 5, 6, 7), D4);
    } else {
      v[0] += x;
    }
  }
  double Total() const {
    const D4 s = v[0] + v[1];
    return ((s[0] + s[1]) + (s[2] + s[3])) + tail;
  }
};

// The element sets these sums run over: `runs` runs of `len` contiguous elements, `stride` apart (one
// run: runs = 1). Lane accumulators persist across runs, so short runs cost no extra reductions.
struct RunSet {
  int64_t runs, stride, len;
};

// Calls step(offset) for each vector step (kUnroll * kWidth<T> elements at offset) of every run,
// flush() after every kBlockSteps steps and at the end, and tail(offset) for each element left over at
// the end of a run.
template <typename T, typename Step, typename Flush, typename Tail>
inline void ForEachStep(const RunSet& set, Step step, Flush flush, Tail tail) {
  constexpr int64_t width = kUnroll * kWidth<T>;
  int steps = 0;
  for (int64_t r = 0; r < set.runs; ++r) {
    const int64_t base = r * set.stride;
    int64_t i = 0;
    for (; i + width <= set.len; i += width) {
      step(base + i);
      if (++steps == kBlockSteps) {
        flush();
        steps = 0;
      }
    }
    for (; i < set.len; ++i) tail(base + i);
  }
  flush();
}

// s += sum(x) over the set.
template <typename T>
inline void AddSum(DoubleSum& s, const T* x, const RunSet& set) {
  Vec<T> acc[kUnroll] = {};
  ForEachStep<T>(
      set,
      [&](int64_t i) {
        Prefetch(x + i + set.stride);
        for (int u = 0; u < kUnroll; ++u) acc[u] += Load(x + i + u * kWidth<T>);
      },
      [&] {
        for (int u = 0; u < kUnroll; ++u) {
          s.Add<T>(acc[u]);
          acc[u] = Vec<T>{};
        }
      },
      [&](int64_t i) { s.tail += x[i]; });
}

// s1 += sum(x - c), s2 += sum((x - c)^2) over the set.
template <typename T>
inline void AddCenteredSums(DoubleSum& s1, DoubleSum& s2, const T* x, const RunSet& set, T c) {
  Vec<T> a[kUnroll] = {}, b[kUnroll] = {};
  ForEachStep<T>(
      set,
      [&](int64_t i) {
        for (int u = 0; u < kUnroll; ++u) {
          const Vec<T> d = Load(x + i + u * kWidth<T>) - c;
          a[u] += d;
          b[u] += d * d;
        }
      },
      [&] {
        for (int u = 0; u < kUnroll; ++u) {
          s1.Add<T>(a[u]);
          s2.Add<T>(b[u]);
          a[u] = b[u] = Vec<T>{};
        }
      },
      [&](int64_t i) {
        const double d = static_cast<double>(x[i] - c);
        s1.tail += d;
        s2.tail += d * d;
      });
}

// sdy += sum(g), sdyx += sum(g * (x - c)) over the set (the same offsets in x and dy), with g = dy, or
// g = dy * w for a single run (set.runs == 1) when w, indexed like the run, is given. With relu_out (a
// fused relu's output, indexed like x), g is first masked as relu's backward masks it: 0 where
// relu_out <= 0, else dy. masked (optional, indexed like x; dy itself or overlapping no other) receives g.
// Always inlined, so that the pointers a caller passes as null fold away.
template <typename T>
[[gnu::always_inline]] inline void AddGradSums(DoubleSum& sdy, DoubleSum& sdyx, const T* x, const T* dy,
                                               const RunSet& set, T c, const T* w = nullptr,
                                               const T* relu_out = nullptr, T* masked = nullptr) {
  Vec<T> a[kUnroll] = {}, b[kUnroll] = {};
  auto grad = [&](int64_t i) {
    Vec<T> g = w ? Load(dy + i) * Load(w + i) : Load(dy + i);
    if (relu_out) g = Load(relu_out + i) <= T(0) ? Vec<T>{} : g;
    return g;
  };
  ForEachStep<T>(
      set,
      [&](int64_t i) {
        Prefetch(x + i + set.stride);
        Prefetch(dy + i + set.stride);
        if (relu_out) Prefetch(relu_out + i + set.stride);
        for (int u = 0; u < kUnroll; ++u) {
          const Vec<T> g = grad(i + u * kWidth<T>);
          if (masked) Store(masked + i + u * kWidth<T>, g);
          a[u] += g;
          b[u] += g * (Load(x + i + u * kWidth<T>) - c);
        }
      },
      [&] {
        for (int u = 0; u < kUnroll; ++u) {
          sdy.Add<T>(a[u]);
          sdyx.Add<T>(b[u]);
          a[u] = b[u] = Vec<T>{};
        }
      },
      [&](int64_t i) {
        double g = w ? static_cast<double>(dy[i] * w[i]) : static_cast<double>(dy[i]);
        if (relu_out && relu_out[i] <= T(0)) g = 0;
        if (masked) masked[i] = static_cast<T>(g);
        sdy.tail += g;
        sdyx.tail += g * static_cast<double>(x[i] - c);
      });
}

}  // namespace normgrad::cpu::lanes

#endif  // NORMGRAD_CORE_CPU_LANES_H_
