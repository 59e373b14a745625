#include "core/kernels/copy.h"

#include "core/cpu/copy.h"

namespace normgrad::kernels {

Tensor clone(const Tensor& x) {
  Tensor out = empty(x.shape(), {.dtype = x.dtype(), .device = x.device()});
  cpu::StridedCopy(out.raw_data(), out.strides(), x.raw_data(), x.strides(), x.shape(), ItemSize(x.dtype()));
  return out;
}

Tensor contiguous(const Tensor& x) { return x.is_contiguous() ? x : clone(x); }

void copy_(const Tensor& dst, const Tensor& src) {
  NG_CHECK(dst.shape() == src.shape(), "copy_: expected src of shape ", ShapeToString(dst.shape()), ", got ",
           ShapeToString(src.shape()));
  NG_CHECK(dst.dtype() == src.dtype(), "copy_: expected src of dtype ", DTypeName(dst.dtype()), ", got ",
           DTypeName(src.dtype()));
  for (int64_t d = 0; d < dst.dim(); ++d) {
    NG_CHECK(dst.stride(d) != 0 || dst.size(d) <= 1,
             "copy_: expected a destination without overlapping elements, got strides ",
             ShapeToString(dst.strides()));
  }
  // Reading and writing the same buffer in one pass could read elements already overwritten.
  const Tensor from = src.storage().is_same(dst.storage()) ? clone(src) : src;
  cpu::StridedCopy(dst.raw_data(), dst.strides(), from.raw_data(), from.strides(), from.shape(),
                   ItemSize(from.dtype()));
  dst.BumpVersion();
}

}  // namespace normgrad::kernels
