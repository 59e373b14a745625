#ifndef NORMGRAD_CORE_CUDA_SOFTMAX_H_
#define NORMGRAD_CORE_CUDA_SOFTMAX_H_

// Softmax and classification losses on a CUDA device, the counterparts of core/cpu/softmax.h with the
// same arguments (device pointers; see cpu::SoftmaxShape for the shape legend) and results: one warp per
// softmax (per row of logits), its lanes striding over the n values, the max and the sums combined in
// double by warp shuffles in a fixed order. CountCorrect returns its count to the host.

#include <cstdint>

#include "core/cpu/softmax.h"

namespace normgrad::cuda {

template <typename T>
void LogSoftmaxForward(const cpu::SoftmaxShape& s, const T* x, T* y);
template <typename T>
void LogSoftmaxBackward(const cpu::SoftmaxShape& s, const T* grad_y, const T* y, T* grad_x);
template <typename T>
void SoftmaxForward(const cpu::SoftmaxShape& s, const T* x, T* y);
template <typename T>
void SoftmaxBackward(const cpu::SoftmaxShape& s, const T* grad_y, const T* y, T* grad_x);
template <typename T>
void CrossEntropyForward(int64_t rows, int64_t classes, const T* logits, const int64_t* target, int64_t ignore_index,
                         const T* weight, double smoothing, T* loss);
template <typename T>
void CrossEntropyBackward(int64_t rows, int64_t classes, const T* logits, const int64_t* target, int64_t ignore_index,
                          const T* weight, double smoothing, const T* grad_loss, int64_t grad_stride, double scale,
                          T* grad_logits);
template <typename T>
void NllLossForward(int64_t rows, int64_t classes, const T* log_probs, const int64_t* target, int64_t ignore_index,
                    const T* weight,
                    T* loss);
template <typename T>
int64_t CountCorrect(int64_t rows, int64_t classes, const T* x, const int64_t* target, int64_t k);

}  // namespace normgrad::cuda

#endif  // NORMGRAD_CORE_CUDA_SOFTMAX_H_
