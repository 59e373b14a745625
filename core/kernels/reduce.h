#ifndef NORMGRAD_CORE_KERNELS_REDUCE_H_
#define NORMGRAD_CORE_KERNELS_REDUCE_H_

// Tensor-level reductions (no autograd; see autograd/ops/reduce.h for the differentiable ones).
//
// `dims` lists the reduced dims, negative ones counting from the end; an empty list reduces every dim
// (as torch.sum(x, dim=[])). With keepdim the reduced dims stay as size 1, else they are removed.
// Inputs may have any strides. Errors: "sum: expected dim in [-2, 2), got 3",
// "sum: expected distinct dims, got dim 1 twice".

#include <vector>

#include "core/tensor.h"

namespace normgrad::kernels {

// Reduced-dims mask for `dims` of a rank-`rank` tensor (all dims when `dims` is empty), checked as above.
std::vector<bool> ReduceMask(const std::vector<int64_t>& dims, int64_t rank, const char* op);
// x's shape with the masked dims removed (or kept as size 1 with keepdim).
Shape ReducedShape(const Shape& shape, const std::vector<bool>& mask, bool keepdim);

// Sum; double accumulation for float32 (int64 for int64). An empty reduction gives 0.
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// sum / count; floating types only; an empty reduction gives NaN.
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// sum((x - mean)^2) / max(0, count - correction): correction 1 is the unbiased estimate (torch.var's
// default), 0 the biased one. Two passes in double; never negative. Floating types only.
Tensor var(const Tensor& x, const std::vector<int64_t>& dims = {}, double correction = 1, bool keepdim = false);
// Largest / smallest value over dims (NaN if any is NaN). Throws for an empty reduction:
// "amax: expected a non-empty reduction, got shape [2, 0] reduced over dim 1".
Tensor amax(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor amin(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);

// Values and int64 indices of the largest (smallest) element along `dim`, the first one on ties; NaN
// beats every number. Throws for a dim of size 0.
struct ValuesIndices {
  Tensor values;
  Tensor indices;
};
ValuesIndices max(const Tensor& x, int64_t dim, bool keepdim = false);
ValuesIndices min(const Tensor& x, int64_t dim, bool keepdim = false);

// The position of the first largest (smallest) element: along `dim`, or, without dim, in x flattened
// in row-major order (a rank-0 int64 tensor). Throws for an empty tensor or dim.
Tensor argmax(const Tensor& x);
Tensor argmin(const Tensor& x);
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim = false);

}  // namespace normgrad::kernels

#endif  // NORMGRAD_CORE_KERNELS_REDUCE_H_
