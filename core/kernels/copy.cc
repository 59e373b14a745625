#include "core/kernels/copy.h"

#include "core/cpu/copy.h"

namespace normgrad::kernels {

Tensor clone(const Tensor& x) {
  Tensor out = empty(x.shape(), {.dtype = x.dtype(), .device = x.device()});
  cpu::StridedCopy(out.raw_data(), out.strides(), x.raw_data(), x.strides(), x.shape(), ItemSize(x.dtype()));
  return out;
}

Tensor contiguous(const Tensor& x) { return x.is_contiguous() ? x : clone(x); }

}  // namespace normgrad::kernels
