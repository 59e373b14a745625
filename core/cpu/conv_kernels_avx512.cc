// The float32 convolution inner loops (direct and Winograd) for AVX-512F, compiled for that target
// whatever the build's baseline; conv_direct.cc and conv_winograd.cc call them on a CPU that has it.
#include <cstdint>
#include <cstring>

#include "core/cpu/conv_direct_kernels.h"
#include "core/cpu/conv_winograd_kernels.h"

#pragma GCC push_options
#pragma GCC target("avx512f")
#include "core/cpu/conv_direct_kernels_impl.h"
#include "core/cpu/conv_winograd_kernels_impl.h"
#pragma GCC pop_options

namespace normgrad::cpu {

const DirectKernels& Avx512DirectKernels() {
  static const DirectKernels kernels = MakeDirectKernels<16>();
  return kernels;
}

const WinogradKernels& Avx512WinogradKernels() {
  static const WinogradKernels kernels = MakeWinogradKernels<16>();
  return kernels;
}

}  // namespace normgrad::cpu
