#ifndef NORMGRAD_AUTOGRAD_OPS_LINALG_H_
#define NORMGRAD_AUTOGRAD_OPS_LINALG_H_

// Differentiable matrix products with the semantics and errors of core/kernels/linalg.h.
// For C = A B: dA = dC B^T, dB = A^T dC, summed over broadcast batch dims.

#include "core/tensor.h"

namespace normgrad {

Tensor matmul(const Tensor& a, const Tensor& b);
Tensor bmm(const Tensor& a, const Tensor& b);

}  // namespace normgrad

#endif  // NORMGRAD_AUTOGRAD_OPS_LINALG_H_
