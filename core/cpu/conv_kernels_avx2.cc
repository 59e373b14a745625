// The float32 convolution inner loops (direct and Winograd) for AVX2 + FMA, the build's baseline
// instruction set.
#include "core/cpu/conv_direct_kernels.h"
#include "core/cpu/conv_direct_kernels_impl.h"
#include "core/cpu/conv_winograd_kernels.h"
#include "core/cpu/conv_winograd_kernels_impl.h"

namespace normgrad::cpu {

const DirectKernels& Avx2DirectKernels() {
  static const DirectKernels kernels = MakeDirectKernels<8>();
  return kernels;
}

const WinogradKernels& Avx2WinogradKernels() {
  static const WinogradKernels kernels = MakeWinogradKernels<8>();
  return kernels;
}

}  // namespace normgrad::cpu
