#ifndef NORMGRAD_CORE_CUDA_STRIDED_H_
#define NORMGRAD_CORE_CUDA_STRIDED_H_

// Strided N-operand indexing for CUDA kernels. The host builds the plan with the CPU's loop planner
// (core/cpu/loops.h: size-1 dims dropped, dims ordered by the output's strides, mergeable dims merged),
// so a contiguous [N, C, H, W] operation is one dim and pays no division per element; the plan travels
// to the kernel by value.
//
// Shape legend: element i of the loop (row-major over `sizes`) lives at base[k] + offset_k(i) bytes in
// operand k, offset_k(i) = sum_d index_d(i) * strides[d][k].

#include <array>
#include <cstdint>

#include "core/cpu/loops.h"
#include "core/cuda/cuda_api.h"
#include "core/cuda/launch.h"
#include "core/error.h"

namespace normgrad::cuda {

// Dims a plan may keep after merging (a kernel parameter has a fixed size).
inline constexpr int kMaxDims = 8;

template <int N>
struct StridedPlan {
  int ndim = 0;  // 0: a single element
  int64_t numel = 0;
  int64_t sizes[kMaxDims] = {};
  int64_t strides[kMaxDims][N] = {};
  char* base[N] = {};

  // Byte offsets of loop element i in each operand.
  __host__ __device__ __forceinline__ void Offsets(int64_t i, int64_t (&off)[N]) const {
    for (int k = 0; k < N; ++k) off[k] = 0;
    if (ndim == 1) {
      for (int k = 0; k < N; ++k) off[k] = i * strides[0][k];
      return;
    }
    for (int d = ndim - 1; d >= 0; --d) {
      const int64_t q = i / sizes[d], r = i - q * sizes[d];
      for (int k = 0; k < N; ++k) off[k] += r * strides[d][k];
      i = q;
    }
  }
};

// The plan of a loop over `shape` with operands `ops` of item sizes `item_sizes`. Throws
// "op: expected at most 8 dims on CUDA after merging contiguous dims, got 9" for exotic layouts.
template <int N>
StridedPlan<N> MakeStridedPlan(const Shape& shape, const std::array<cpu::Operand, N>& ops,
                               const std::array<int64_t, N>& item_sizes, const char* op) {
  const cpu::LoopPlan<N> loop = cpu::MakeLoopPlan<N>(shape, ops, item_sizes);
  const int ndim = static_cast<int>(loop.sizes.size());
  NG_CHECK(ndim <= kMaxDims, op, ": expected at most ", kMaxDims,
           " dims on CUDA after merging contiguous dims, got ", ndim);
  StridedPlan<N> plan;
  plan.ndim = ndim;
  plan.numel = loop.numel;
  for (int d = 0; d < ndim; ++d) {
    plan.sizes[d] = loop.sizes[d];
    for (int k = 0; k < N; ++k) plan.strides[d][k] = loop.strides[d][k];
  }
  for (int k = 0; k < N; ++k) plan.base[k] = loop.base[k];
  return plan;
}

}  // namespace normgrad::cuda

#endif  // NORMGRAD_CORE_CUDA_STRIDED_H_
