#ifndef NORMGRAD_CORE_CUDA_EMULATION_EXECUTION_H_
#define NORMGRAD_CORE_CUDA_EMULATION_EXECUTION_H_

// The CUDA execution model on the host, for builds without CUDA: the kernels of core/cuda/*.cu are
// compiled as C++ against this header, so CI runs their logic, launch shapes included, on a machine
// without a GPU.
//
// - A launch runs its blocks one after another. A block's threads are fibers on the calling thread, each
//   with its own stack; __syncthreads() is a real barrier among them, and the warp shuffles exchange
//   values among the 32 lanes of a warp with a barrier on each side.
// - Between barriers the fibers of a block run in a shuffled (seeded, so reproducible) order, so that a
//   read of another thread's write without a barrier in between is likely to see the stale value, as it
//   could on a GPU.
// - Barriers are checked: __syncthreads() must be reached by every thread of the block and a shuffle by
//   every lane of the warp; anything else (undefined behaviour on a GPU) fails the launch with an error.
// - __shared__ variables are static thread-locals: one instance per block, since blocks run in turn on the
//   launching thread.
// - Atomics are std::atomic_ref operations; __threadfence() is a sequentially consistent fence.
//
// Names follow CUDA's (global namespace, CUDA's spelling) so that one source serves both builds.

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __launch_bounds__(...)
#define __shared__ static thread_local

struct uint3 {
  unsigned int x, y, z;
};

struct dim3 {
  unsigned int x, y, z;
  constexpr dim3(unsigned int vx = 1, unsigned int vy = 1, unsigned int vz = 1) : x(vx), y(vy), z(vz) {}
};

// The running thread's coordinates, set by the emulator before it resumes a thread.
extern thread_local uint3 threadIdx;
extern thread_local uint3 blockIdx;
extern thread_local dim3 blockDim;
extern thread_local dim3 gridDim;
inline constexpr int warpSize = 32;

namespace normgrad::cuda::emulation {

// Runs `thread_body` once per thread of every block of grid x block (blocks in turn, threads as fibers).
// Throws normgrad::Error, naming `kernel`, when a barrier is misused or the body throws.
void Run(const char* kernel, dim3 grid, dim3 block, void (*thread_body)(void*), void* context);

// The barrier of __syncthreads() and the barrier of __syncwarp().
void SyncThreads();
void SyncWarp();

// The warp exchange behind the shuffles: the calling lane offers `value` and receives the value offered
// by lane `src_lane` of its warp (or its own value when src_lane < 0).
uint64_t ExchangeLane(uint64_t value, int src_lane);

// Names of the kernels launched so far in this process, sorted (tests check that each kernel ran).
std::vector<std::string> LaunchedKernels();

// The calling thread's lane in its warp (threads are numbered x fastest, then y, then z, as on a GPU).
int LaneId();

template <typename T>
T Shuffle(T value, int src_lane) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= sizeof(uint64_t), "shuffle of a large type");
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof(T));
  bits = ExchangeLane(bits, src_lane);
  std::memcpy(&value, &bits, sizeof(T));
  return value;
}

}  // namespace normgrad::cuda::emulation

inline void __syncthreads() { normgrad::cuda::emulation::SyncThreads(); }
inline void __syncwarp(unsigned = 0xffffffffu) { normgrad::cuda::emulation::SyncWarp(); }

// Shuffles within segments of `width` lanes (a power of two up to 32), with CUDA's rules for sources
// outside the segment (the lane keeps its own value). Every lane of the warp must take part; the mask is
// not otherwise interpreted.
template <typename T>
T __shfl_sync(unsigned, T var, int src_lane, int width = warpSize) {
  const int lane = normgrad::cuda::emulation::LaneId();
  return normgrad::cuda::emulation::Shuffle(var, lane / width * width + src_lane % width);
}
template <typename T>
T __shfl_down_sync(unsigned, T var, unsigned delta, int width = warpSize) {
  const int lane = normgrad::cuda::emulation::LaneId();
  const int src = lane + static_cast<int>(delta);
  return normgrad::cuda::emulation::Shuffle(var, src / width == lane / width ? src : -1);
}
template <typename T>
T __shfl_up_sync(unsigned, T var, unsigned delta, int width = warpSize) {
  const int lane = normgrad::cuda::emulation::LaneId();
  const int src = lane - static_cast<int>(delta);
  return normgrad::cuda::emulation::Shuffle(var, src >= lane / width * width ? src : -1);
}
template <typename T>
T __shfl_xor_sync(unsigned, T var, int lane_mask, int width = warpSize) {
  const int lane = normgrad::cuda::emulation::LaneId();
  const int src = lane ^ lane_mask;
  return normgrad::cuda::emulation::Shuffle(var, src / width == lane / width ? src : -1);
}

template <typename T>
T atomicAdd(T* address, T value) {
  return std::atomic_ref<T>(*address).fetch_add(value);
}
inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }

// A load that bypasses the GPU's non-coherent L1 is a plain load on the host.
template <typename T>
T __ldcg(const T* p) {
  return *p;
}

#endif  // NORMGRAD_CORE_CUDA_EMULATION_EXECUTION_H_
