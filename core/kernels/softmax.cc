#include "core/kernels/softmax.h"

#include "core/cpu/softmax.h"
#include "core/cuda/device.h"
#include "core/cuda/softmax.h"
#include "core/kernels/copy.h"

namespace normgrad::kernels {
namespace {

// The family's device switch (with core/kernels/loss.cc for the losses): core/cpu/softmax.h or its twin
// core/cuda/softmax.h (the function pointer types check that the signatures agree).
template <typename T>
struct Backend {
  decltype(&cpu::LogSoftmaxForward<T>) log_softmax_forward;
  decltype(&cpu::LogSoftmaxBackward<T>) log_softmax_backward;
  decltype(&cpu::SoftmaxForward<T>) softmax_forward;
  decltype(&cpu::SoftmaxBackward<T>) softmax_backward;
};

template <typename T>
const Backend<T>& On(Device device) {
  static constexpr Backend<T> kCpu{cpu::LogSoftmaxForward<T>, cpu::LogSoftmaxBackward<T>, cpu::SoftmaxForward<T>,
                                   cpu::SoftmaxBackward<T>};
  static constexpr Backend<T> kCuda{cuda::LogSoftmaxForward<T>, cuda::LogSoftmaxBackward<T>,
                                    cuda::SoftmaxForward<T>, cuda::SoftmaxBackward<T>};
  switch (device.type) {
    case Device::Type::kCPU: return kCpu;
    case Device::Type::kCUDA:
      cuda::MakeCurrent(device.index);
      return kCuda;
  }
  __builtin_unreachable();
}

// x viewed as [outer, n, inner] around `dim`.
cpu::SoftmaxShape SoftmaxShapeOf(const char* op, const Shape& shape, int64_t dim) {
  const int64_t rank = static_cast<int64_t>(shape.size());
  const int64_t d = NormalizeDim(dim, std::max<int64_t>(rank, 1), op);
  cpu::SoftmaxShape s;
  if (rank == 0) return s;
  for (int64_t i = 0; i < d; ++i) s.outer *= shape[i];
  s.n = shape[d];
  for (int64_t i = d + 1; i < rank; ++i) s.inner *= shape[i];
  return s;
}

template <typename Kernel>
Tensor Forward(const char* op, const Tensor& x, int64_t dim, Kernel&& kernel) {
  const cpu::SoftmaxShape s = SoftmaxShapeOf(op, x.shape(), dim);
  Tensor y = empty(x.shape(), {.dtype = x.dtype(), .device = x.device()});
  const Tensor xc = contiguous(x);
  VisitFloatDType(x.dtype(), op, [&]<typename T>() {
    if (y.numel() > 0) kernel(On<T>(x.device()), s, xc.data_ptr<T>(), y.data_ptr<T>());
  });
  return y;
}

template <typename Kernel>
Tensor Backward(const char* op, const Tensor& grad_y, const Tensor& y, int64_t dim, Kernel&& kernel) {
  NG_CHECK(grad_y.shape() == y.shape() && grad_y.dtype() == y.dtype(), op, ": expected grad_y of ", y.dtype(), " ",
           ShapeToString(y.shape()), " (the output's), got ", grad_y.dtype(), " ", ShapeToString(grad_y.shape()));
  NG_CHECK(grad_y.device() == y.device(), op, ": expected grad_y and y on the same device, got ", grad_y.device(),
           " and ", y.device());
  const cpu::SoftmaxShape s = SoftmaxShapeOf(op, y.shape(), dim);
  Tensor grad_x = empty(y.shape(), {.dtype = y.dtype(), .device = y.device()});
  const Tensor gc = contiguous(grad_y), yc = contiguous(y);
  VisitFloatDType(y.dtype(), op, [&]<typename T>() {
    if (grad_x.numel() > 0) kernel(On<T>(y.device()), s, gc.data_ptr<T>(), yc.data_ptr<T>(), grad_x.data_ptr<T>());
  });
  return grad_x;
}

}  // namespace

Tensor log_softmax(const Tensor& x, int64_t dim) {
  return Forward("log_softmax", x, dim,
                 []<typename T>(const Backend<T>& on, const cpu::SoftmaxShape& s, const T* in, T* out) {
                   on.log_softmax_forward(s, in, out);
                 });
}

Tensor log_softmax_backward(const Tensor& grad_y, const Tensor& y, int64_t dim) {
  return Backward("log_softmax_backward", grad_y, y, dim,
                  []<typename T>(const Backend<T>& on, const cpu::SoftmaxShape& s, const T* g, const T* out, T* gx) {
                    on.log_softmax_backward(s, g, out, gx);
                  });
}

Tensor softmax(const Tensor& x, int64_t dim) {
  return Forward("softmax", x, dim,
                 []<typename T>(const Backend<T>& on, const cpu::SoftmaxShape& s, const T* in, T* out) {
                   on.softmax_forward(s, in, out);
                 });
}

Tensor softmax_backward(const Tensor& grad_y, const Tensor& y, int64_t dim) {
  return Backward("softmax_backward", grad_y, y, dim,
                  []<typename T>(const Backend<T>& on, const cpu::SoftmaxShape& s, const T* g, const T* out, T* gx) {
                    on.softmax_backward(s, g, out, gx);
                  });
}

}  // namespace normgrad::kernels
