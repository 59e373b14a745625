#ifndef NORMGRAD_CORE_CUDA_EMULATION_RUNTIME_H_
#define NORMGRAD_CORE_CUDA_EMULATION_RUNTIME_H_

// The part of the CUDA runtime and cuBLAS APIs that normgrad calls, answered on the host for builds
// without CUDA (see execution.h for the kernels). Names, types and semantics follow CUDA's, so that the
// code calling them is the same in both builds.
//
// - The emulated device is off until a test switches it on (SetEnabled); while off there is no device.
//   When on, it is one device that reports an H100's multiprocessor count and bandwidth, so launch
//   shapes computed from those attributes are the ones a real run would use.
// - Device memory is mapped PROT_NONE except while a kernel, a copy, a memset or a cuBLAS call runs:
//   host code that dereferences a device pointer faults, as it would with a GPU. Copies check that each
//   side of a cudaMemcpy is in the memory its kind names, and cuBLAS that its matrices are device memory.
// - cuBLAS matrix products are answered by OpenBLAS, column-major as cuBLAS is.
// - There is one stream (the default, nullptr) and every call is synchronous.

#include <cstddef>

enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidDevicePointer = 17,
  cudaErrorInvalidMemcpyDirection = 21,
  cudaErrorNoDevice = 100,
  cudaErrorInvalidDevice = 101,
};

enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
};

enum cudaDeviceAttr {
  cudaDevAttrMaxThreadsPerBlock = 1,
  cudaDevAttrMultiProcessorCount = 16,
  cudaDevAttrMemoryClockRate = 36,
  cudaDevAttrGlobalMemoryBusWidth = 37,
  cudaDevAttrMaxThreadsPerMultiProcessor = 39,
};

using cudaStream_t = struct CUstream_st*;

const char* cudaGetErrorString(cudaError_t error);
const char* cudaGetErrorName(cudaError_t error);
// The last error of a launch or call, reset by reading it.
cudaError_t cudaGetLastError();
cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaGetDevice(int* device);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaMalloc(void** ptr, size_t size);
cudaError_t cudaFree(void* ptr);
cudaError_t cudaMemcpy(void* dst, const void* src, size_t count, cudaMemcpyKind kind);
cudaError_t cudaMemsetAsync(void* ptr, int value, size_t count, cudaStream_t stream = nullptr);

enum cublasStatus_t {
  CUBLAS_STATUS_SUCCESS = 0,
  CUBLAS_STATUS_NOT_INITIALIZED = 1,
  CUBLAS_STATUS_INVALID_VALUE = 7,
  CUBLAS_STATUS_EXECUTION_FAILED = 13,
};

enum cublasOperation_t {
  CUBLAS_OP_N = 0,
  CUBLAS_OP_T = 1,
};

using cublasHandle_t = struct cublasContext*;

cublasStatus_t cublasCreate(cublasHandle_t* handle);
cublasStatus_t cublasDestroy(cublasHandle_t handle);
cublasStatus_t cublasSetStream(cublasHandle_t handle, cudaStream_t stream);
const char* cublasGetStatusString(cublasStatus_t status);

// C_i = alpha op(A_i) op(B_i) + beta C_i for batch_count products, column-major: op(A_i) is m x k, op(B_i)
// k x n, C_i m x n; matrix i starts stride elements after matrix i - 1 (stride 0 repeats one matrix).
cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa,
                                         cublasOperation_t transb, int m, int n, int k, const float* alpha,
                                         const float* A, int lda, long long stride_a, const float* B, int ldb,
                                         long long stride_b, const float* beta, float* C, int ldc,
                                         long long stride_c, int batch_count);
cublasStatus_t cublasDgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa,
                                         cublasOperation_t transb, int m, int n, int k, const double* alpha,
                                         const double* A, int lda, long long stride_a, const double* B,
                                         int ldb, long long stride_b, const double* beta, double* C, int ldc,
                                         long long stride_c, int batch_count);

namespace normgrad::cuda::emulation {

// Switches the emulated device on or off (off when the process starts). Memory allocated while on stays
// valid; switching off only makes the device invisible to cudaGetDeviceCount and cudaSetDevice.
void SetEnabled(bool enabled);
bool Enabled();

// While one of these lives, device memory is readable and writable from the host (the emulator's
// kernels, copies and cuBLAS calls hold one). Nests; thread-safe.
class ScopedDeviceAccess {
 public:
  ScopedDeviceAccess();
  ~ScopedDeviceAccess();
  ScopedDeviceAccess(const ScopedDeviceAccess&) = delete;
  ScopedDeviceAccess& operator=(const ScopedDeviceAccess&) = delete;
};

// Whether [ptr, ptr + size) lies inside one live device allocation.
bool IsDeviceMemory(const void* ptr, size_t size);

}  // namespace normgrad::cuda::emulation

#endif  // NORMGRAD_CORE_CUDA_EMULATION_RUNTIME_H_
