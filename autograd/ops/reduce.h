#ifndef NORMGRAD_AUTOGRAD_OPS_REDUCE_H_
#define NORMGRAD_AUTOGRAD_OPS_REDUCE_H_

// Differentiable reductions over `dims` (all dims when empty; negative dims count from the end), with
// the semantics and errors of core/kernels/reduce.h.

#include <vector>

#include "core/kernels/reduce.h"
#include "core/tensor.h"

namespace normgrad {

// d/dx = the upstream gradient broadcast back over the reduced dims.
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// d/dx = broadcast gradient / count.
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// sum((x - mean)^2) / (count - correction); d/dx = 2 (x - mean) / (count - correction) * gradient.
Tensor var(const Tensor& x, const std::vector<int64_t>& dims = {}, double correction = 1, bool keepdim = false);
// Largest / smallest value; the gradient is shared equally by the elements that tie for it.
Tensor amax(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor amin(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// Values and indices along `dim`; the values' gradient goes to the element at the returned index.
kernels::ValuesIndices max(const Tensor& x, int64_t dim, bool keepdim = false);
kernels::ValuesIndices min(const Tensor& x, int64_t dim, bool keepdim = false);
// Not differentiable (int64 results).
Tensor argmax(const Tensor& x);
Tensor argmin(const Tensor& x);
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim = false);

// x summed down to `shape`, which x's shape broadcasts from (the adjoint of expand): the leading dims x
// has beyond `shape`, and the dims where `shape` has size 1, are summed. x itself when the shapes match.
// Error: "sum_to: expected a shape that [2, 3] broadcasts from, got [4]".
Tensor sum_to(const Tensor& x, const Shape& shape);

}  // namespace normgrad

#endif  // NORMGRAD_AUTOGRAD_OPS_REDUCE_H_
