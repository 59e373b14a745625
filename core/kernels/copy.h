#ifndef NORMGRAD_CORE_KERNELS_COPY_H_
#define NORMGRAD_CORE_KERNELS_COPY_H_

#include "core/tensor.h"

namespace normgrad::kernels {

// x itself when x.is_contiguous(), else a row-major copy of x. Never records autograd state.
Tensor contiguous(const Tensor& x);

// A row-major copy of x with its own storage, even when x is contiguous.
Tensor clone(const Tensor& x);

}  // namespace normgrad::kernels

#endif  // NORMGRAD_CORE_KERNELS_COPY_H_
