#ifndef NORMGRAD_CORE_KERNELS_COPY_H_
#define NORMGRAD_CORE_KERNELS_COPY_H_

#include "core/tensor.h"

namespace normgrad::kernels {

// x itself when x.is_contiguous(), else a row-major copy of x. Never records autograd state.
Tensor contiguous(const Tensor& x);

// A row-major copy of x with its own storage, even when x is contiguous.
Tensor clone(const Tensor& x);

// dst[...] = src[...] elementwise, in place. dst and src have the same shape and dtype; src may be any
// strided view (expanded ones included), dst must not have overlapping elements (no stride-0 dims of size
// > 1). src may share dst's storage (it is then read from a copy). Bumps dst's version.
// Errors: "copy_: expected src of shape [2, 3], got [3]"; "copy_: expected src of dtype float32, got ...";
// "copy_: expected a destination without overlapping elements, got strides [0, 1]".
void copy_(const Tensor& dst, const Tensor& src);

}  // namespace normgrad::kernels

#endif  // NORMGRAD_CORE_KERNELS_COPY_H_
