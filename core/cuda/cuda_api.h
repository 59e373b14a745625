#ifndef NORMGRAD_CORE_CUDA_CUDA_API_H_
#define NORMGRAD_CORE_CUDA_CUDA_API_H_

// The CUDA runtime and cuBLAS as core/cuda's sources see them: the toolkit's headers in a CUDA build
// (NORMGRAD_CUDA, set by --config=cuda), the host emulation of core/cuda/emulation otherwise. Only
// core/cuda's own sources include this; its public headers speak plain C++.
//
// Every runtime and cuBLAS call goes through NG_CUDA_CHECK / NG_CUBLAS_CHECK, which throw normgrad::Error
// naming the call, the file and line, and the library's message:
//   "CUDA error at core/cuda/memory.cc:57: cudaMalloc(&ptr, bytes) failed: out of memory
//    (cudaErrorMemoryAllocation)".

#if defined(NORMGRAD_CUDA)
#include <cublas_v2.h>
#include <cuda_runtime.h>
#else
#include "core/cuda/emulation/execution.h"
#include "core/cuda/emulation/runtime.h"
#endif

// Set where kernels are compiled: by nvcc in a CUDA build, by any compiler against the emulation.
// (g++ compiling core/cuda's .cc files in a CUDA build sees no threadIdx.)
#if defined(__CUDACC__) || !defined(NORMGRAD_CUDA)
#define NORMGRAD_KERNEL_CODE 1
#endif

namespace normgrad::cuda::detail {

// Throws normgrad::Error for a failed call `expr` at file:line (and clears CUDA's last error).
[[noreturn]] void FailCuda(cudaError_t error, const char* expr, const char* file, int line);
[[noreturn]] void FailCublas(cublasStatus_t status, const char* expr, const char* file, int line);

}  // namespace normgrad::cuda::detail

#define NG_CUDA_CHECK(expr)                                                      \
  do {                                                                           \
    const cudaError_t ng_cuda_error = (expr);                                    \
    if (ng_cuda_error != cudaSuccess) [[unlikely]] {                             \
      ::normgrad::cuda::detail::FailCuda(ng_cuda_error, #expr, __FILE__, __LINE__); \
    }                                                                            \
  } while (false)

#define NG_CUBLAS_CHECK(expr)                                                       \
  do {                                                                              \
    const cublasStatus_t ng_cublas_status = (expr);                                 \
    if (ng_cublas_status != CUBLAS_STATUS_SUCCESS) [[unlikely]] {                   \
      ::normgrad::cuda::detail::FailCublas(ng_cublas_status, #expr, __FILE__, __LINE__); \
    }                                                                               \
  } while (false)

#endif  // NORMGRAD_CORE_CUDA_CUDA_API_H_
