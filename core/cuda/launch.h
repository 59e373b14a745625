#ifndef NORMGRAD_CORE_CUDA_LAUNCH_H_
#define NORMGRAD_CORE_CUDA_LAUNCH_H_

// Kernel launches, one spelling for both builds: Launch<Kernel<float>>(grid, block, args...) is
// Kernel<<<grid, block>>>(args...) under nvcc and a run on the host emulator otherwise, so the launch
// shapes computed here are the ones both builds execute.

#include <cstdint>
#include <string>

#include "core/cuda/cuda_api.h"

namespace normgrad::cuda {

// Threads per block of the grid-stride kernels: a multiple of the warp size that keeps 8 blocks resident
// per multiprocessor.
inline constexpr int kBlockSize = 256;

// Blocks for a grid-stride loop over n items with `block` threads each: enough to fill every
// multiprocessor of the current device once, fewer when n needs fewer. At least 1.
unsigned int GridSize(int64_t n, int block = kBlockSize);

// Multiprocessors of the current device (cached per device).
int MultiprocessorCount();

#if defined(NORMGRAD_KERNEL_CODE)
// The grid-stride loop of a 1-d launch: this thread's first index and the step between its indices.
__device__ __forceinline__ int64_t GlobalThreadIndex() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ int64_t GridStride() { return static_cast<int64_t>(blockDim.x) * gridDim.x; }
#endif

namespace detail {

// "BatchNormCollectStats" from the __PRETTY_FUNCTION__ of KernelName<BatchNormCollectStats<float>>.
std::string ParseKernelName(const char* pretty_function);

// Throws normgrad::Error unless grid x block is a shape CUDA can launch: 1 to 1024 threads per block
// (z at most 64), grid.y and grid.z at most 65535, no empty dimension.
void CheckLaunchShape(const char* kernel, dim3 grid, dim3 block);

}  // namespace detail

// The kernel's name without namespaces and template arguments (for messages and the emulator's log).
template <auto Kernel>
const char* KernelName() {
  static const std::string name = detail::ParseKernelName(__PRETTY_FUNCTION__);
  return name.c_str();
}

// Runs Kernel over grid x block on the default stream. Throws normgrad::Error for a shape CUDA cannot
// launch and for a launch CUDA rejects.
template <auto Kernel, typename... Args>
void Launch(dim3 grid, dim3 block, const Args&... args) {
  const char* name = KernelName<Kernel>();
  detail::CheckLaunchShape(name, grid, block);
#if defined(__CUDACC__)
  Kernel<<<grid, block>>>(args...);
  if (const cudaError_t error = cudaGetLastError(); error != cudaSuccess) {
    detail::FailCuda(error, name, __FILE__, __LINE__);
  }
#elif !defined(NORMGRAD_CUDA)
  auto body = [&] { Kernel(args...); };
  emulation::Run(name, grid, block, [](void* b) { (*static_cast<decltype(body)*>(b))(); }, &body);
#else
  static_assert(sizeof...(Args) < 0, "kernels are launched from .cu files, which nvcc compiles");
#endif
}

}  // namespace normgrad::cuda

#endif  // NORMGRAD_CORE_CUDA_LAUNCH_H_
