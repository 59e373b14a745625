// The direct-convolution inner loops for AVX2 + FMA, the build's baseline instruction set.
#include "core/cpu/conv_direct_kernels.h"
#include "core/cpu/conv_direct_kernels_impl.h"

namespace normgrad::cpu {

const DirectKernels& Avx2DirectKernels() {
  static const DirectKernels kernels = MakeDirectKernels<8>();
  return kernels;
}

}  // namespace normgrad::cpu
