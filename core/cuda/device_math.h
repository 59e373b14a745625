#ifndef NORMGRAD_CORE_CUDA_DEVICE_MATH_H_
#define NORMGRAD_CORE_CUDA_DEVICE_MATH_H_

// Overloads of CUDA's math functions for float and double, so that kernels templated on the element type
// call expf for float and exp for double. They exist on the GPU and (with execution.h) on the host; the
// calls are qualified so that normgrad's tensor functions of the same names never hide them.

#include <cmath>

#include "core/cuda/cuda_api.h"

namespace normgrad::cuda {

__device__ __forceinline__ float Exp(float x) { return ::expf(x); }
__device__ __forceinline__ double Exp(double x) { return ::exp(x); }
__device__ __forceinline__ float Log(float x) { return ::logf(x); }
__device__ __forceinline__ double Log(double x) { return ::log(x); }
__device__ __forceinline__ float Sqrt(float x) { return ::sqrtf(x); }
__device__ __forceinline__ double Sqrt(double x) { return ::sqrt(x); }
__device__ __forceinline__ float Tanh(float x) { return ::tanhf(x); }
__device__ __forceinline__ double Tanh(double x) { return ::tanh(x); }
__device__ __forceinline__ float Erf(float x) { return ::erff(x); }
__device__ __forceinline__ double Erf(double x) { return ::erf(x); }
__device__ __forceinline__ float Pow(float x, float y) { return ::powf(x, y); }
__device__ __forceinline__ double Pow(double x, double y) { return ::pow(x, y); }
__device__ __forceinline__ float Fma(float x, float y, float z) { return ::fmaf(x, y, z); }
__device__ __forceinline__ double Fma(double x, double y, double z) { return ::fma(x, y, z); }
__device__ __forceinline__ bool IsNan(float x) { return x != x; }
__device__ __forceinline__ bool IsNan(double x) { return x != x; }

}  // namespace normgrad::cuda

#endif  // NORMGRAD_CORE_CUDA_DEVICE_MATH_H_
