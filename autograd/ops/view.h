#ifndef NORMGRAD_AUTOGRAD_OPS_VIEW_H_
#define NORMGRAD_AUTOGRAD_OPS_VIEW_H_

// Differentiable views and copies, with the semantics and errors of core/kernels/view.h and
// core/kernels/copy.h. Views share storage with their input; their backward maps the gradient back
// through the inverse geometry (reshape back, inverse permutation, scatter into zeros for slices, sum for
// expanded dims).

#include <cstdint>
#include <limits>
#include <vector>

#include "core/tensor.h"

namespace normgrad {

Tensor view(const Tensor& x, const Shape& shape);
Tensor reshape(const Tensor& x, const Shape& shape);
Tensor flatten(const Tensor& x, int64_t start_dim = 0, int64_t end_dim = -1);
Tensor permute(const Tensor& x, const std::vector<int64_t>& dims);
Tensor transpose(const Tensor& x, int64_t d0, int64_t d1);
Tensor t(const Tensor& x);
Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length);
Tensor slice(const Tensor& x, int64_t dim, int64_t start = 0, int64_t end = std::numeric_limits<int64_t>::max(),
             int64_t step = 1);
Tensor select(const Tensor& x, int64_t dim, int64_t index);
Tensor squeeze(const Tensor& x);
Tensor squeeze(const Tensor& x, int64_t dim);
Tensor unsqueeze(const Tensor& x, int64_t dim);
Tensor expand(const Tensor& x, const Shape& shape);
// A copy of `input` whose slice input[..., start:end:step, ...] along `dim` is replaced by `src` (which has
// that slice's shape; torch.slice_scatter). d/dinput = the gradient with that slice zeroed, d/dsrc = the
// gradient's slice. It is also the backward of slice, narrow and select.
// Error: "slice_scatter: expected src of shape [2, 2], got [2, 3]".
Tensor slice_scatter(const Tensor& input, const Tensor& src, int64_t dim, int64_t start = 0,
                     int64_t end = std::numeric_limits<int64_t>::max(), int64_t step = 1);
// x when contiguous, else a row-major copy; the gradient passes through unchanged.
Tensor contiguous(const Tensor& x);
// A copy with its own storage; the gradient passes through unchanged.
Tensor clone(const Tensor& x);

}  // namespace normgrad

#endif  // NORMGRAD_AUTOGRAD_OPS_VIEW_H_
