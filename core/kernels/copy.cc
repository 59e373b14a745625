#include "core/kernels/copy.h"

#include "core/kernels/device_copy.h"

namespace normgrad::kernels {

Tensor clone(const Tensor& x) {
  Tensor out = empty(x.shape(), {.dtype = x.dtype(), .device = x.device()});
  StridedCopy(out, x);
  return out;
}

Tensor contiguous(const Tensor& x) { return x.is_contiguous() ? x : clone(x); }

}  // namespace normgrad::kernels
