#include "core/cuda/cuda_api.h"
#include "core/error.h"

namespace normgrad::cuda::detail {

void FailCuda(cudaError_t error, const char* expr, const char* file, int line) {
  // Reading the last error resets it, so that the next check reports its own call.
  cudaGetLastError();
  Fail("CUDA error at ", file, ":", line, ": ", expr, " failed: ", cudaGetErrorString(error), " (",
       cudaGetErrorName(error), ")");
}

void FailCublas(cublasStatus_t status, const char* expr, const char* file, int line) {
  Fail("cuBLAS error at ", file, ":", line, ": ", expr, " failed: ", cublasGetStatusString(status), " (status ",
       static_cast<int>(status), ")");
}

}  // namespace normgrad::cuda::detail
