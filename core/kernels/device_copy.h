#ifndef NORMGRAD_CORE_KERNELS_DEVICE_COPY_H_
#define NORMGRAD_CORE_KERNELS_DEVICE_COPY_H_

// Copies within and between devices. Never records autograd state.

#include "core/tensor.h"

namespace normgrad::kernels {

// x on `device`: x itself when it is already there, else a contiguous copy with x's shape and dtype (host
// to device and back through cudaMemcpy, after making x contiguous on its own device). Throws when the
// device cannot be used: "normgrad was built without CUDA; rebuild with --config=cuda", or the CUDA
// runtime's reason ("no CUDA device: CUDA driver version is insufficient for CUDA runtime version").
Tensor to(const Tensor& x, Device device);

// dst = src elementwise: same shape, dtype and device, any strides (dst without overlapping elements).
// The copy family's device switch: core/cpu/copy.h or core/cuda/copy.h.
void StridedCopy(const Tensor& dst, const Tensor& src);

}  // namespace normgrad::kernels

#endif  // NORMGRAD_CORE_KERNELS_DEVICE_COPY_H_
