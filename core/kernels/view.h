#ifndef NORMGRAD_CORE_KERNELS_VIEW_H_
#define NORMGRAD_CORE_KERNELS_VIEW_H_

#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "core/tensor.h"

namespace normgrad::kernels {

// Geometry of views: each function returns a tensor over x's storage (writes through it are visible in
// x), except reshape and flatten, which copy when no strides can express the new shape. None of them
// records autograd state; the differentiable versions are in autograd/ops/view.h. Negative dims count
// from the end; bad dims throw "op: expected dim in [-r, r), got d".

// `shape` with its one -1 (if any) replaced by what makes the element count `numel`.
// Errors: "op: expected at most one -1 in the shape, got [-1, -1]"; "op: expected sizes >= 0 or -1, got
// [-2]"; "op: expected a shape with 6 elements, got [4, 2]"; "op: expected a shape whose -1 can be inferred,
// got [3, -1, 0] for 0 elements".
Shape InferShape(const Shape& shape, int64_t numel, const char* op);

// Strides under which the elements of (shape, strides) read in row-major order form `new_shape`
// (same numel), or nullopt when no strides can (e.g. [2, 3] transposed, flattened).
std::optional<Strides> ViewStrides(const Shape& shape, const Strides& strides, const Shape& new_shape);

// x with shape `shape` (one -1 allowed), always a view.
// Error: "view: expected a shape compatible with the input's strides, got [6] for shape [2, 3] and strides
// [1, 2]; call reshape (which copies) instead".
Tensor view(const Tensor& x, const Shape& shape);

// x with shape `shape` (one -1 allowed): a view when the strides allow it, else a contiguous copy.
Tensor reshape(const Tensor& x, const Shape& shape);

// Dims start_dim..end_dim merged into one (a rank-0 x becomes [1]); reshape semantics.
// Error: "flatten: expected start_dim <= end_dim, got 2 and 1".
Tensor flatten(const Tensor& x, int64_t start_dim = 0, int64_t end_dim = -1);

// out.shape[i] = x.shape[dims[i]]. Error: "permute: expected a permutation of the 3 dims, got [0, 0, 1]".
Tensor permute(const Tensor& x, const std::vector<int64_t>& dims);

// Dims d0 and d1 swapped.
Tensor transpose(const Tensor& x, int64_t d0, int64_t d1);

// transpose(x, 0, 1) for 2-d x; 0-d and 1-d x come back as they are.
// Error: "t: expected a tensor with at most 2 dims, got [2, 3, 4]".
Tensor t(const Tensor& x);

// Indices start..start+length-1 of dim `dim` (start may be negative: counted from the end).
// Error: "narrow: expected start + length <= 4 in dim 1, got start 3 and length 2".
Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length);

// x[..., start:end:step, ...] along `dim`, with Python's rules: negative start/end count from the end,
// both are clamped to [0, size]. Error: "slice: expected a positive step, got 0".
Tensor slice(const Tensor& x, int64_t dim, int64_t start = 0,
             int64_t end = std::numeric_limits<int64_t>::max(), int64_t step = 1);

// x[..., index, ...] along `dim`, which is removed. index may be negative.
// Error: "select: expected index in [-4, 4) for dim 1 of size 4, got 5".
Tensor select(const Tensor& x, int64_t dim, int64_t index);

// Every size-1 dim removed / dim removed if its size is 1 (else x's geometry unchanged).
Tensor squeeze(const Tensor& x);
Tensor squeeze(const Tensor& x, int64_t dim);

// A size-1 dim inserted at `dim`, which is in [-(rank + 1), rank + 1).
Tensor unsqueeze(const Tensor& x, int64_t dim);

// x broadcast to `shape` without copying: new leading dims and size-1 dims get stride 0; -1 keeps a
// size. Errors: "expand: expected a target of at least 3 dims, got [2, 3] for shape [1, 2, 3]";
// "expand: expected size 3 (or an input size of 1) in dim 1, got shape [2, 3] and target [2, 4]".
Tensor expand(const Tensor& x, const Shape& shape);

}  // namespace normgrad::kernels

#endif  // NORMGRAD_CORE_KERNELS_VIEW_H_
