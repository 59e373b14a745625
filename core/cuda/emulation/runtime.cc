#include "core/cuda/emulation/runtime.h"

#include <cblas.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <type_traits>

namespace normgrad::cuda::emulation {
namespace {

// An H100 SXM: 132 multiprocessors, 2048 threads each, HBM3 at 2619 MHz on a 5120-bit bus (3.35 TB/s).
constexpr int kMultiprocessors = 132;
constexpr int kMaxThreadsPerBlock = 1024;
constexpr int kMaxThreadsPerMultiprocessor = 2048;
constexpr int kMemoryClockKhz = 2619000;
constexpr int kMemoryBusWidthBits = 5120;
constexpr size_t kTotalMemory = size_t{80} << 30;

std::atomic<bool> enabled{false};
thread_local cudaError_t last_error = cudaSuccess;

struct Memory {
  std::mutex mutex;
  std::map<uintptr_t, size_t> allocations;  // start -> mapped bytes
  size_t allocated = 0;
  int access_depth = 0;                     // live ScopedDeviceAccess objects
};

Memory& memory() {
  static auto* m = new Memory();
  return *m;
}

size_t PageRound(size_t n) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return (std::max<size_t>(n, 1) + page - 1) / page * page;
}

cudaError_t Report(cudaError_t error) {
  if (error != cudaSuccess) last_error = error;
  return error;
}

bool IsDeviceMemoryLocked(Memory& m, uintptr_t p, size_t size) {
  auto it = m.allocations.upper_bound(p);
  if (it == m.allocations.begin()) return false;
  --it;
  return p >= it->first && p + size <= it->first + it->second;
}

}  // namespace

void SetEnabled(bool on) { enabled = on; }
bool Enabled() { return enabled; }

ScopedDeviceAccess::ScopedDeviceAccess() {
  Memory& m = memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  if (m.access_depth++ == 0) {
    for (const auto& [start, size] : m.allocations) {
      mprotect(reinterpret_cast<void*>(start), size, PROT_READ | PROT_WRITE);
    }
  }
}

ScopedDeviceAccess::~ScopedDeviceAccess() {
  Memory& m = memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  if (--m.access_depth == 0) {
    for (const auto& [start, size] : m.allocations) mprotect(reinterpret_cast<void*>(start), size, PROT_NONE);
  }
}

bool IsDeviceMemory(const void* ptr, size_t size) {
  Memory& m = memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  return IsDeviceMemoryLocked(m, reinterpret_cast<uintptr_t>(ptr), size);
}

}  // namespace normgrad::cuda::emulation

using normgrad::cuda::emulation::Enabled;
using normgrad::cuda::emulation::IsDeviceMemory;
using normgrad::cuda::emulation::memory;
using normgrad::cuda::emulation::Report;
using normgrad::cuda::emulation::ScopedDeviceAccess;

const char* cudaGetErrorString(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
  }
  return "unrecognized error code";
}

const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidDevicePointer: return "cudaErrorInvalidDevicePointer";
    case cudaErrorInvalidMemcpyDirection: return "cudaErrorInvalidMemcpyDirection";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
  }
  return "cudaErrorUnknown";
}

cudaError_t cudaGetLastError() {
  const cudaError_t error = normgrad::cuda::emulation::last_error;
  normgrad::cuda::emulation::last_error = cudaSuccess;
  return error;
}

cudaError_t cudaGetDeviceCount(int* count) {
  *count = Enabled() ? 1 : 0;
  return Enabled() ? cudaSuccess : Report(cudaErrorNoDevice);
}

cudaError_t cudaGetDevice(int* device) {
  *device = 0;
  return Enabled() ? cudaSuccess : Report(cudaErrorNoDevice);
}

cudaError_t cudaSetDevice(int device) {
  if (!Enabled()) return Report(cudaErrorNoDevice);
  return device == 0 ? cudaSuccess : Report(cudaErrorInvalidDevice);
}

cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  if (!Enabled()) return Report(cudaErrorNoDevice);
  if (device != 0) return Report(cudaErrorInvalidDevice);
  using namespace normgrad::cuda::emulation;
  switch (attr) {
    case cudaDevAttrMaxThreadsPerBlock: *value = kMaxThreadsPerBlock; return cudaSuccess;
    case cudaDevAttrMultiProcessorCount: *value = kMultiprocessors; return cudaSuccess;
    case cudaDevAttrMemoryClockRate: *value = kMemoryClockKhz; return cudaSuccess;
    case cudaDevAttrGlobalMemoryBusWidth: *value = kMemoryBusWidthBits; return cudaSuccess;
    case cudaDevAttrMaxThreadsPerMultiProcessor: *value = kMaxThreadsPerMultiprocessor; return cudaSuccess;
  }
  return Report(cudaErrorInvalidValue);
}

cudaError_t cudaDeviceSynchronize() { return Enabled() ? cudaSuccess : Report(cudaErrorNoDevice); }
cudaError_t cudaMalloc(void** ptr, size_t size) {
  *ptr = nullptr;
  if (!Enabled()) return Report(cudaErrorNoDevice);
  auto& m = memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  const size_t bytes = normgrad::cuda::emulation::PageRound(size);
  if (m.allocated + bytes > normgrad::cuda::emulation::kTotalMemory) return Report(cudaErrorMemoryAllocation);
  void* p = mmap(nullptr, bytes, m.access_depth > 0 ? PROT_READ | PROT_WRITE : PROT_NONE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return Report(cudaErrorMemoryAllocation);
  m.allocations[reinterpret_cast<uintptr_t>(p)] = bytes;
  m.allocated += bytes;
  *ptr = p;
  return cudaSuccess;
}

cudaError_t cudaFree(void* ptr) {
  if (ptr == nullptr) return cudaSuccess;
  auto& m = memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  auto it = m.allocations.find(reinterpret_cast<uintptr_t>(ptr));
  if (it == m.allocations.end()) return Report(cudaErrorInvalidDevicePointer);
  munmap(ptr, it->second);
  m.allocated -= it->second;
  m.allocations.erase(it);
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t count, cudaMemcpyKind kind) {
  if (count == 0) return cudaSuccess;
  const bool dst_device = IsDeviceMemory(dst, count), src_device = IsDeviceMemory(src, count);
  bool ok = false;
  switch (kind) {
    case cudaMemcpyHostToHost: ok = !dst_device && !src_device; break;
    case cudaMemcpyHostToDevice: ok = dst_device && !src_device; break;
    case cudaMemcpyDeviceToHost: ok = !dst_device && src_device; break;
    case cudaMemcpyDeviceToDevice: ok = dst_device && src_device; break;
  }
  if (!ok) return Report(cudaErrorInvalidMemcpyDirection);
  ScopedDeviceAccess access;
  std::memmove(dst, src, count);
  return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void* ptr, int value, size_t count, cudaStream_t) {
  if (count == 0) return cudaSuccess;
  if (!IsDeviceMemory(ptr, count)) return Report(cudaErrorInvalidValue);
  ScopedDeviceAccess access;
  std::memset(ptr, value, count);
  return cudaSuccess;
}

// ---- cuBLAS

struct cublasContext {};

namespace {

// Whether a column-major matrix of `rows` x `cols` with leading dimension ld is valid device memory.
template <typename T>
bool ValidMatrix(const T* p, int rows, int cols, int ld) {
  if (ld < std::max(1, rows)) return false;
  if (rows == 0 || cols == 0) return true;
  return IsDeviceMemory(p, (static_cast<size_t>(ld) * (cols - 1) + rows) * sizeof(T));
}

template <typename T>
cublasStatus_t GemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
                                  int m, int n, int k, const T* alpha, const T* A, int lda, long long stride_a,
                                  const T* B, int ldb, long long stride_b, const T* beta, T* C, int ldc,
                                  long long stride_c, int batch_count) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (m < 0 || n < 0 || k < 0 || batch_count < 0) return CUBLAS_STATUS_INVALID_VALUE;
  const bool ta = transa == CUBLAS_OP_T, tb = transb == CUBLAS_OP_T;
  for (int i = 0; i < batch_count; ++i) {
    if (!ValidMatrix(A + i * stride_a, ta ? k : m, ta ? m : k, lda) ||
        !ValidMatrix(B + i * stride_b, tb ? n : k, tb ? k : n, ldb) || !ValidMatrix(C + i * stride_c, m, n, ldc)) {
      return CUBLAS_STATUS_INVALID_VALUE;
    }
  }
  if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
  ScopedDeviceAccess access;
  const CBLAS_TRANSPOSE cta = ta ? CblasTrans : CblasNoTrans, ctb = tb ? CblasTrans : CblasNoTrans;
  for (int i = 0; i < batch_count; ++i) {
    if constexpr (std::is_same_v<T, float>) {
      cblas_sgemm(CblasColMajor, cta, ctb, m, n, k, *alpha, A + i * stride_a, lda, B + i * stride_b, ldb, *beta,
                  C + i * stride_c, ldc);
    } else {
      cblas_dgemm(CblasColMajor, cta, ctb, m, n, k, *alpha, A + i * stride_a, lda, B + i * stride_b, ldb, *beta,
                  C + i * stride_c, ldc);
    }
  }
  return CUBLAS_STATUS_SUCCESS;
}

}  // namespace

cublasStatus_t cublasCreate(cublasHandle_t* handle) {
  if (!Enabled()) return CUBLAS_STATUS_NOT_INITIALIZED;
  *handle = new cublasContext();
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy(cublasHandle_t handle) {
  delete handle;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream(cublasHandle_t handle, cudaStream_t) {
  return handle == nullptr ? CUBLAS_STATUS_NOT_INITIALIZED : CUBLAS_STATUS_SUCCESS;
}

const char* cublasGetStatusString(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "the operation completed successfully";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "the library was not initialized";
    case CUBLAS_STATUS_INVALID_VALUE: return "an invalid numeric value was used as an argument";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "the GPU program failed to execute";
  }
  return "unknown error";
}

cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa,
                                         cublasOperation_t transb, int m, int n, int k, const float* alpha,
                                         const float* A, int lda, long long stride_a, const float* B, int ldb,
                                         long long stride_b, const float* beta, float* C, int ldc,
                                         long long stride_c, int batch_count) {
  return GemmStridedBatched(handle, transa, transb, m, n, k, alpha, A, lda, stride_a, B, ldb, stride_b, beta, C,
                            ldc, stride_c, batch_count);
}

cublasStatus_t cublasDgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa,
                                         cublasOperation_t transb, int m, int n, int k, const double* alpha,
                                         const double* A, int lda, long long stride_a, const double* B,
                                         int ldb, long long stride_b, const double* beta, double* C, int ldc,
                                         long long stride_c, int batch_count) {
  return GemmStridedBatched(handle, transa, transb, m, n, k, alpha, A, lda, stride_a, B, ldb, stride_b, beta, C,
                            ldc, stride_c, batch_count);
}
