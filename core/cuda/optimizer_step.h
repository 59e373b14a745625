#ifndef NORMGRAD_CORE_CUDA_OPTIMIZER_STEP_H_
#define NORMGRAD_CORE_CUDA_OPTIMIZER_STEP_H_

// The fused parameter updates of core/cpu/optimizer_step.h on a CUDA device (device pointers, the same
// arguments and formulas, operation by operation): one grid-stride kernel per parameter.

#include <cstdint>

namespace normgrad::cuda {

template <typename T>
void SgdStep(T* p, const T* g, T* buf, int64_t n, double lr, double momentum, double dampening, double weight_decay,
             bool nesterov, bool maximize, bool first_step);

template <typename T>
void AdamStep(T* p, const T* g, T* m, T* v, T* max_v, int64_t n, double lr, double beta1, double beta2, double eps,
              double weight_decay, bool decoupled, bool maximize, int64_t t);

}  // namespace normgrad::cuda

#endif  // NORMGRAD_CORE_CUDA_OPTIMIZER_STEP_H_
