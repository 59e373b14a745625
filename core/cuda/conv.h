#ifndef NORMGRAD_CORE_CUDA_CONV_H_
#define NORMGRAD_CORE_CUDA_CONV_H_

// 2-d convolution on a CUDA device, the counterparts of core/cpu/conv.h with the same arguments (device
// pointers, contiguous NCHW; see cpu::ConvShape for the shape legend): im2col + cuBLAS GEMM.
//
// The batch goes through in chunks of images whose column matrices fit a fixed budget (64 Mi elements):
//   forward          cols = im2col(x);  y_g = W_g · cols_g (one strided-batched GEMM per group); + bias
//   backward input   cols_g = W_g^T · dy_g;  dx = col2im(cols), which gathers (one thread per input element,
//                    no atomics: the result does not depend on scheduling)
//   backward weight  P_n,g = dy_n,g · cols_n,g^T into scratch, then dW = sum over n of P (in order)

#include "core/cpu/conv.h"

namespace normgrad::cuda {

template <typename T>
void Conv2dForward(const cpu::ConvShape& s, const T* input, const T* weight, const T* bias, T* output);

template <typename T>
void Conv2dBackwardInput(const cpu::ConvShape& s, const T* grad_output, const T* weight, T* grad_input,
                         bool accumulate);

template <typename T>
void Conv2dBackwardWeight(const cpu::ConvShape& s, const T* grad_output, const T* input, T* grad_weight);

}  // namespace normgrad::cuda

#endif  // NORMGRAD_CORE_CUDA_CONV_H_
