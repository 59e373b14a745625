#include "core/kernels/device_copy.h"

#include "core/cpu/copy.h"
#include "core/cuda/copy.h"
#include "core/cuda/device.h"
#include "core/cuda/memory.h"
#include "core/kernels/copy.h"

namespace normgrad {

namespace detail {

Tensor ToCpu(const Tensor& t) { return kernels::to(t, kCPU); }

}  // namespace detail

namespace kernels {

void StridedCopy(const Tensor& dst, const Tensor& src) {
  NG_CHECK(dst.shape() == src.shape() && dst.dtype() == src.dtype() && dst.device() == src.device(),
           "StridedCopy: expected tensors of the same shape, dtype and device, got ", ShapeToString(dst.shape()),
           " ", DTypeName(dst.dtype()), " on ", dst.device(), " and ", ShapeToString(src.shape()), " ",
           DTypeName(src.dtype()), " on ", src.device());
  switch (dst.device().type) {
    case Device::Type::kCPU:
      cpu::StridedCopy(dst.data_ptr(), dst.strides(), src.data_ptr(), src.strides(), src.shape(),
                       ItemSize(src.dtype()));
      return;
    case Device::Type::kCUDA:
      cuda::MakeCurrent(dst.device().index);
      cuda::StridedCopy(dst.data_ptr(), dst.strides(), src.data_ptr(), src.strides(), src.shape(),
                        ItemSize(src.dtype()));
      return;
  }
}

Tensor to(const Tensor& x, Device device) {
  if (x.device() == device) return x;
  const Tensor src = contiguous(x);
  Tensor out = empty(x.shape(), {.dtype = x.dtype(), .device = device});
  const size_t nbytes = x.numel() * ItemSize(x.dtype());
  const Device from = x.device();
  if (from.is_cpu() && device.is_cuda()) {
    cuda::CopyToDevice(out.data_ptr(), src.data_ptr(), nbytes, device.index);
  } else if (from.is_cuda() && device.is_cpu()) {
    cuda::CopyToHost(out.data_ptr(), src.data_ptr(), nbytes, from.index);
  } else {
    cuda::CopyBetweenDevices(out.data_ptr(), device.index, src.data_ptr(), from.index, nbytes);
  }
  return out;
}

}  // namespace kernels
}  // namespace normgrad
