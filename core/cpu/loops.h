#ifndef NORMGRAD_CORE_CPU_LOOPS_H_
#define NORMGRAD_CORE_CPU_LOOPS_H_

// The strided N-d iteration engine behind every elementwise kernel.
//
// An elementwise loop runs over one shape with N operands (operand 0 is written, the others are read),
// each with its own strides; a read operand broadcast along a dim has stride 0 there. The plan
//   1. drops size-1 dims,
//   2. orders dims so that the output (then the first input that tells) walks memory outermost-first,
//   3. merges adjacent dims that every operand walks as one (a contiguous [N, C, H, W] becomes [NCHW]),
// and then hands the innermost dim to a row function row(ptrs, strides, n) in pieces. Row functions
// special-case unit strides so that the compiler vectorizes them. Large loops are cut by linear element
// index into pieces that the threads claim one at a time (ParallelForBalanced); each piece starts mid-row
// where its range begins.

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "core/parallel.h"
#include "core/shape.h"

namespace normgrad::cpu {

// Elements per thread worth waking a thread for, for cheap elementwise work.
inline constexpr int64_t kElementwiseGrain = 32768;

// One operand of an elementwise loop: its element (0, ..., 0) and its element strides, one per dim of
// the loop's shape (0 where it is broadcast).
struct Operand {
  void* data;
  Strides strides;
};

template <int N>
struct LoopPlan {
  std::vector<int64_t> sizes;                     // outermost first; empty for a single element
  std::vector<std::array<int64_t, N>> strides;    // bytes, per dim and operand
  std::array<char*, N> base;
  int64_t numel = 0;
};

template <int N>
LoopPlan<N> MakeLoopPlan(const Shape& shape, const std::array<Operand, N>& ops,
                         const std::array<int64_t, N>& item_sizes) {
  LoopPlan<N> plan;
  plan.numel = Numel(shape);
  for (int k = 0; k < N; ++k) plan.base[k] = static_cast<char*>(ops[k].data);
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    std::array<int64_t, N> s;
    for (int k = 0; k < N; ++k) s[k] = ops[k].strides[d] * item_sizes[k];
    plan.sizes.push_back(shape[d]);
    plan.strides.push_back(s);
  }
  // Insertion sort, outer dims first: a dim moves inward past another when the first operand whose
  // strides on both dims are non-zero has the smaller stride on it.
  auto inner_first = [&](size_t outer, size_t inner) {
    for (int k = 0; k < N; ++k) {
      const int64_t a = plan.strides[outer][k], b = plan.strides[inner][k];
      if (a == 0 || b == 0) continue;
      return a < b;
    }
    return false;
  };
  for (size_t i = 1; i < plan.sizes.size(); ++i) {
    for (size_t j = i; j > 0 && inner_first(j - 1, j); --j) {
      std::swap(plan.sizes[j - 1], plan.sizes[j]);
      std::swap(plan.strides[j - 1], plan.strides[j]);
    }
  }
  // Merge dim d into d + 1 when every operand steps over d exactly as over a whole row of d + 1.
  std::vector<int64_t> sizes;
  std::vector<std::array<int64_t, N>> strides;
  for (size_t d = 0; d < plan.sizes.size(); ++d) {
    if (!sizes.empty()) {
      bool mergeable = true;
      for (int k = 0; k < N; ++k) {
        mergeable = mergeable && strides.back()[k] == plan.strides[d][k] * plan.sizes[d];
      }
      if (mergeable) {
        sizes.back() *= plan.sizes[d];
        strides.back() = plan.strides[d];
        continue;
      }
    }
    sizes.push_back(plan.sizes[d]);
    strides.push_back(plan.strides[d]);
  }
  plan.sizes = std::move(sizes);
  plan.strides = std::move(strides);
  return plan;
}

// Runs row(ptrs, inner_strides, n) over the elements [begin, end) of the plan, in row-major order.
template <int N, typename Row>
void RunLoopRange(const LoopPlan<N>& plan, int64_t begin, int64_t end, Row& row) {
  const int nd = static_cast<int>(plan.sizes.size());
  std::array<char*, N> ptrs = plan.base;
  if (nd == 0) {
    if (begin < end) row(ptrs, std::array<int64_t, N>{}, int64_t{1});
    return;
  }
  std::vector<int64_t> index(nd, 0);
  int64_t rest = begin;
  for (int d = nd - 1; d >= 0; --d) {
    index[d] = rest % plan.sizes[d];
    rest /= plan.sizes[d];
    for (int k = 0; k < N; ++k) ptrs[k] += index[d] * plan.strides[d][k];
  }
  const int64_t inner = plan.sizes[nd - 1];
  const std::array<int64_t, N>& inner_strides = plan.strides[nd - 1];
  while (begin < end) {
    const int64_t n = std::min(inner - index[nd - 1], end - begin);
    row(ptrs, inner_strides, n);
    begin += n;
    index[nd - 1] += n;
    for (int k = 0; k < N; ++k) ptrs[k] += n * inner_strides[k];
    for (int d = nd - 1; d > 0 && index[d] == plan.sizes[d]; --d) {
      for (int k = 0; k < N; ++k) ptrs[k] += plan.strides[d - 1][k] - plan.sizes[d] * plan.strides[d][k];
      index[d] = 0;
      ++index[d - 1];
    }
  }
}

// The elementwise loop over `shape`: row(std::array<char*, N> ptrs, std::array<int64_t, N> byte_strides,
// int64_t n) processes n elements starting at ptrs. Threaded when the loop is large.
template <int N, typename Row>
void ForEachElement(const Shape& shape, const std::array<Operand, N>& ops,
                    const std::array<int64_t, N>& item_sizes, Row row, int64_t grain = kElementwiseGrain) {
  const LoopPlan<N> plan = MakeLoopPlan<N>(shape, ops, item_sizes);
  if (plan.numel == 0) return;
  if (plan.numel < 2 * grain) {
    RunLoopRange(plan, 0, plan.numel, row);
    return;
  }
  ParallelForBalanced(0, plan.numel, grain, [&](int64_t b, int64_t e) {
    Row local = row;
    RunLoopRange(plan, b, e, local);
  });
}

}  // namespace normgrad::cpu

#endif  // NORMGRAD_CORE_CPU_LOOPS_H_
