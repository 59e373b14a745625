#ifndef NORMGRAD_CORE_KERNELS_OPTIMIZER_STEP_H_
#define NORMGRAD_CORE_KERNELS_OPTIMIZER_STEP_H_

// The optimizer updates' device switch: the fused updates of core/cpu/optimizer_step.h or their twins in
// core/cuda/optimizer_step.h, for parameters on `device` (pointers into that device's memory; the function
// pointer types check that the signatures agree).
//   OptimizerStepOn<float>(p.device()).sgd(p.data_ptr<float>(), ...)

#include "core/cpu/optimizer_step.h"
#include "core/cuda/device.h"
#include "core/cuda/optimizer_step.h"
#include "core/device.h"

namespace normgrad::kernels {

template <typename T>
struct OptimizerStepBackend {
  decltype(&cpu::SgdStep<T>) sgd;
  decltype(&cpu::AdamStep<T>) adam;
};

template <typename T>
const OptimizerStepBackend<T>& OptimizerStepOn(Device device) {
  static constexpr OptimizerStepBackend<T> kCpu{cpu::SgdStep<T>, cpu::AdamStep<T>};
  static constexpr OptimizerStepBackend<T> kCuda{cuda::SgdStep<T>, cuda::AdamStep<T>};
  switch (device.type) {
    case Device::Type::kCPU: return kCpu;
    case Device::Type::kCUDA:
      cuda::MakeCurrent(device.index);
      return kCuda;
  }
  __builtin_unreachable();
}

}  // namespace normgrad::kernels

#endif  // NORMGRAD_CORE_KERNELS_OPTIMIZER_STEP_H_
