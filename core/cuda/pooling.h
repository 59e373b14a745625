#ifndef NORMGRAD_CORE_CUDA_POOLING_H_
#define NORMGRAD_CORE_CUDA_POOLING_H_

// 2-d pooling on a CUDA device, the counterparts of core/cpu/pooling.h with the same arguments (device
// pointers; see cpu::PoolShape for the shape legend) and the same results, bit for bit where the CPU's
// order of additions is kept: forwards run one thread per output; the average backwards gather, one
// thread per input element, the gradients of the outputs whose windows hold it, in output order (no
// atomics, so results do not depend on scheduling). Max pooling's backward knows only the indices, not
// the windows, so it adds each output's gradient at its index with an atomic: with overlapping windows
// (kernel > stride), the order of additions at a shared maximum, and so its last bit, may vary.

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
