#ifndef NORMGRAD_AUTOGRAD_OPS_JOIN_H_
#define NORMGRAD_AUTOGRAD_OPS_JOIN_H_

// Differentiable cat and stack (core/kernels/join.h): each input's gradient is its slice of the
// output's gradient.

#include <vector>

#include "core/tensor.h"

namespace normgrad {

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim);

}  // namespace normgrad

#endif  // NORMGRAD_AUTOGRAD_OPS_JOIN_H_
