#ifndef NORMGRAD_CORE_KERNELS_SOFTMAX_H_
#define NORMGRAD_CORE_KERNELS_SOFTMAX_H_

// Tensor-level softmax and log-softmax along one dim, and their backward passes (no autograd; the
// differentiable versions are in nn/functional/loss.h). float32 and float64, inputs of any strides;
// dim may be negative; a rank-0 input is one softmax of one element.
// Errors: "log_softmax: expected dim in [-2, 2), got 2"; "softmax: expected a floating-point tensor
// (float32 or float64), got int64".

#include <cstdint>

#include "core/tensor.h"

namespace normgrad::kernels {

// y = x - log(sum(exp(x))) along dim, computed as x - max - log(sum(exp(x - max))).
Tensor log_softmax(const Tensor& x, int64_t dim);
// grad_x = grad_y - exp(y) * sum(grad_y) along dim, where y = log_softmax(x, dim).
Tensor log_softmax_backward(const Tensor& grad_y, const Tensor& y, int64_t dim);

// y = exp(x - max) / sum(exp(x - max)) along dim.
Tensor softmax(const Tensor& x, int64_t dim);
// grad_x = y * (grad_y - sum(grad_y * y)) along dim, where y = softmax(x, dim).
Tensor softmax_backward(const Tensor& grad_y, const Tensor& y, int64_t dim);

}  // namespace normgrad::kernels

#endif  // NORMGRAD_CORE_KERNELS_SOFTMAX_H_
