#ifndef NORMGRAD_CORE_CUDA_POOLING_H_
#define NORMGRAD_CORE_CUDA_POOLING_H_

// 2-d pooling on a CUDA device, the counterparts of core/cpu/pooling.h with the same arguments (device
// pointers; see cpu::PoolShape for the shape legend) and the same results, bit for bit: forwards run one
// thread per output; backwards gather, one thread per input element, the gradients of the outputs whose
// windows hold it (max pooling: those whose index names it), in output order as the CPU adds them (no
// atomics, so results do not depend on scheduling). Max pooling's backward needs the whole shape, the
// windows included, not only the indices.

#include <cstdint>

#include "core/cpu/pooling.h"

namespace normgrad::cuda {

template <typename T>
void MaxPool2dForward(const cpu::PoolShape& s, const T* input, T* output, int64_t* indices);
template <typename T>
void MaxPool2dBackward(const cpu::PoolShape& s, const T* grad_output, const int64_t* indices, T* grad_input);
template <typename T>
void AvgPool2dForward(const cpu::PoolShape& s, const T* input, T* output);
template <typename T>
void AvgPool2dBackward(const cpu::PoolShape& s, const T* grad_output, T* grad_input);
template <typename T>
void AdaptiveAvgPool2dForward(const cpu::PoolShape& s, const T* input, T* output);
template <typename T>
void AdaptiveAvgPool2dBackward(const cpu::PoolShape& s, const T* grad_output, T* grad_input);

}  // namespace normgrad::cuda

#endif  // NORMGRAD_CORE_CUDA_POOLING_H_
