#ifndef NORMGRAD_CORE_CUDA_BLOCK_REDUCE_H_
#define NORMGRAD_CORE_CUDA_BLOCK_REDUCE_H_

// Device-side building blocks of reductions: Welford accumulators and their merge, warp shuffles of
// accumulators, and a block-wide reduction (warp shuffles, then one value per warp through shared
// memory, then warp 0). Blocks that use BlockReduce are 1-d with a multiple of 32 threads.

#include <cstdint>

#include "core/cuda/cuda_api.h"

namespace normgrad::cuda {

inline constexpr unsigned int kFullWarp = 0xffffffffu;

// Count, mean and sum of squared deviations of a set of values (Welford), in accumulator type A.
template <typename A>
struct Welford {
  A mean;
  A m2;
  int64_t n;
};

template <typename A>
__host__ __device__ __forceinline__ Welford<A> WelfordEmpty() {
  return {A(0), A(0), 0};
}

template <typename A>
__host__ __device__ __forceinline__ Welford<A> WelfordAdd(Welford<A> w, A x) {
  ++w.n;
  const A delta = x - w.mean;
  w.mean += delta / static_cast<A>(w.n);
  w.m2 += delta * (x - w.mean);
  return w;
}

// Chan et al.'s merge of two sets; exact for empty sets on either side.
template <typename A>
__host__ __device__ __forceinline__ Welford<A> WelfordMerge(Welford<A> a, Welford<A> b) {
  if (a.n == 0) return b;
  if (b.n == 0) return a;
  const int64_t n = a.n + b.n;
  const A delta = b.mean - a.mean;
  const A b_share = static_cast<A>(b.n) / static_cast<A>(n);
  return {a.mean + delta * b_share, a.m2 + b.m2 + delta * delta * static_cast<A>(a.n) * b_share, n};
}

// __shfl_down_sync of every kind of accumulator.
__device__ __forceinline__ float ShuffleDown(float v, int delta) { return __shfl_down_sync(kFullWarp, v, delta); }
__device__ __forceinline__ double ShuffleDown(double v, int delta) { return __shfl_down_sync(kFullWarp, v, delta); }
__device__ __forceinline__ long long ShuffleDown(long long v, int delta) {
  return __shfl_down_sync(kFullWarp, v, delta);
}
__device__ __forceinline__ int64_t ShuffleDown(int64_t v, int delta) {
  return static_cast<int64_t>(ShuffleDown(static_cast<long long>(v), delta));
}
template <typename A>
__device__ __forceinline__ Welford<A> ShuffleDown(const Welford<A>& w, int delta) {
  return {ShuffleDown(w.mean, delta), ShuffleDown(w.m2, delta), ShuffleDown(w.n, delta)};
}

// Uninitialized room for N values of T in shared memory (__shared__ variables cannot have constructors,
// and accumulators with default member initializers do).
template <typename T, int N>
struct alignas(T) SharedArray {
  unsigned char bytes[N * sizeof(T)];
  __device__ T* get() { return reinterpret_cast<T*>(bytes); }
};

// Combines `value` over the block with combine(a, b); the result is valid in thread 0. Every thread of
// the block calls it; `identity` is what idle lanes of the last warp-level step contribute.
template <typename Acc, typename Combine>
__device__ __forceinline__ Acc BlockReduce(Acc value, Combine combine, Acc identity) {
  __shared__ SharedArray<Acc, 32> storage;
  Acc* per_warp = storage.get();
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  for (int delta = 16; delta > 0; delta /= 2) value = combine(value, ShuffleDown(value, delta));
  if (lane == 0) per_warp[warp] = value;
  __syncthreads();
  if (warp == 0) {
    value = lane < warps ? per_warp[lane] : identity;
    for (int delta = 16; delta > 0; delta /= 2) value = combine(value, ShuffleDown(value, delta));
  }
  // per_warp may be reused by the caller's next BlockReduce.
  __syncthreads();
  return value;
}

// The cross-block step of a reduction split over `count` blocks: every thread of the block calls this
// after BlockReduce with the block's result (valid in thread 0), which is published as *slot. Returns
// true, in every thread, in the one block that finishes last; that block may then read all `count`
// slots (with LoadCoherent: they were written by other multiprocessors). *ticket counts the finished
// blocks and must start at 0.
template <typename Acc>
__device__ __forceinline__ bool PublishAndCheckLast(const Acc& block_result, Acc* slot, unsigned int* ticket,
                                                    unsigned int count) {
  __shared__ bool last;
  if (threadIdx.x == 0) {
    *slot = block_result;
    __threadfence();  // the slot is visible device-wide before the ticket says so
    last = atomicAdd(ticket, 1u) == count - 1;
  }
  __syncthreads();
  return last;
}

// A load that bypasses the multiprocessor's L1 (not coherent across blocks), for data written by other
// blocks of the same kernel.
__device__ __forceinline__ double LoadCoherent(const double* p) { return __ldcg(p); }
__device__ __forceinline__ int64_t LoadCoherent(const int64_t* p) {
  return static_cast<int64_t>(__ldcg(reinterpret_cast<const long long*>(p)));
}
template <typename A>
__device__ __forceinline__ Welford<A> LoadCoherent(const Welford<A>* p) {
  return {LoadCoherent(&p->mean), LoadCoherent(&p->m2), LoadCoherent(&p->n)};
}

// Threads per block for reducing `n` values with one block: a multiple of 32, at most 256.
inline int ReduceBlockSize(int64_t n) {
  int threads = 32;
  while (threads < 256 && threads < n) threads *= 2;
  return threads;
}

}  // namespace normgrad::cuda

#endif  // NORMGRAD_CORE_CUDA_BLOCK_REDUCE_H_
