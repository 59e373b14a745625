#include "core/kernels/pooling.h"

#include "core/cpu/pooling.h"
#include "core/cuda/device.h"
#include "core/cuda/pooling.h"
#include "core/kernels/copy.h"

namespace normgrad::kernels {
namespace {

// The planes and spatial sizes of a [N, C, H, W] or [C, H, W] input.
cpu::PoolShape CheckPoolInput(const char* op, const Shape& input, DType dtype) {
  NG_CHECK(input.size() == 3 || input.size() == 4, op,
           ": expected input of 3 or 4 dims ([C, H, W] or [N, C, H, W]), got ", ShapeToString(input));
  NG_CHECK(IsFloating(dtype), op, ": expected a floating-point input (float32 or float64), got ", dtype);
  cpu::PoolShape s;
  s.planes = Numel(Shape(input.begin(), input.end() - 2));
  s.in_h = input[input.size() - 2];
  s.in_w = input[input.size() - 1];
  return s;
}

cpu::PoolShape CheckPool2d(const char* op, const Shape& input, DType dtype, const Pool2dFuncOptions& o) {
  cpu::PoolShape s = CheckPoolInput(op, input, dtype);
  const std::array<int64_t, 2> stride = o.stride.value_or(o.kernel_size);
  NG_CHECK(o.kernel_size[0] >= 1 && o.kernel_size[1] >= 1, op, ": expected kernel_size >= 1, got ",
           ShapeToString({o.kernel_size[0], o.kernel_size[1]}));
  NG_CHECK(stride[0] >= 1 && stride[1] >= 1, op, ": expected stride >= 1, got ", ShapeToString({stride[0], stride[1]}));
  NG_CHECK(o.padding[0] >= 0 && o.padding[1] >= 0, op, ": expected padding >= 0, got ",
           ShapeToString({o.padding[0], o.padding[1]}));
  NG_CHECK(2 * o.padding[0] <= o.kernel_size[0] && 2 * o.padding[1] <= o.kernel_size[1], op,
           ": expected padding <= kernel_size / 2, got padding ", ShapeToString({o.padding[0], o.padding[1]}),
           " and kernel_size ", ShapeToString({o.kernel_size[0], o.kernel_size[1]}));
  s.kernel_h = o.kernel_size[0];
  s.kernel_w = o.kernel_size[1];
  s.stride_h = stride[0];
  s.stride_w = stride[1];
  s.pad_h = o.padding[0];
  s.pad_w = o.padding[1];
  s.count_include_pad = o.count_include_pad;
  s.out_h = cpu::PoolOutputSize(s.in_h, s.kernel_h, s.stride_h, s.pad_h, o.ceil_mode);
  s.out_w = cpu::PoolOutputSize(s.in_w, s.kernel_w, s.stride_w, s.pad_w, o.ceil_mode);
  NG_CHECK(s.out_h >= 1 && s.out_w >= 1, op, ": expected the kernel (", s.kernel_h, " x ", s.kernel_w,
           ") to fit in the padded input (", s.in_h + 2 * s.pad_h, " x ", s.in_w + 2 * s.pad_w, "), got input ",
           ShapeToString(input));
  return s;
}

Shape OutputShape(const Shape& input, const cpu::PoolShape& s) {
  Shape out(input.begin(), input.end() - 2);
  out.push_back(s.out_h);
  out.push_back(s.out_w);
  return out;
}

void CheckGradOutput(const char* op, const Tensor& grad_output, const Shape& expected, DType dtype) {
  NG_CHECK(grad_output.shape() == expected, op, ": expected grad_output of shape ", ShapeToString(expected), ", got ",
           ShapeToString(grad_output.shape()));
  NG_CHECK(grad_output.dtype() == dtype, op, ": expected grad_output of dtype ", dtype, ", got ", grad_output.dtype());
}

// The family's device switch: core/cpu/pooling.h or its twin core/cuda/pooling.h (the function pointer
// types check that the signatures agree).
template <typename T>
struct Backend {
  decltype(&cpu::MaxPool2dForward<T>) max_forward;
  decltype(&cpu::MaxPool2dBackward<T>) max_backward;
  decltype(&cpu::AvgPool2dForward<T>) avg_forward;
  decltype(&cpu::AvgPool2dBackward<T>) avg_backward;
  decltype(&cpu::AdaptiveAvgPool2dForward<T>) adaptive_forward;
  decltype(&cpu::AdaptiveAvgPool2dBackward<T>) adaptive_backward;
};

template <typename T>
const Backend<T>& On(Device device) {
  static constexpr Backend<T> kCpu{cpu::MaxPool2dForward<T>, cpu::MaxPool2dBackward<T>,
                                   cpu::AvgPool2dForward<T>, cpu::AvgPool2dBackward<T>,
                                   cpu::AdaptiveAvgPool2dForward<T>, cpu::AdaptiveAvgPool2dBackward<T>};
  static constexpr Backend<T> kCuda{cuda::MaxPool2dForward<T>, cuda::MaxPool2dBackward<T>,
                                    cuda::AvgPool2dForward<T>, cuda::AvgPool2dBackward<T>,
                                    cuda::AdaptiveAvgPool2dForward<T>, cuda::AdaptiveAvgPool2dBackward<T>};
  switch (device.type) {
    case Device::Type::kCPU: return kCpu;
    case Device::Type::kCUDA:
      cuda::MakeCurrent(device.index);
      return kCuda;
  }
  __builtin_unreachable();
}

// out = kernel(backend, contiguous(in), out) with out of `shape` on in's device, for the dtype of `in`.
template <typename Kernel>
Tensor Run(const char* op, const Tensor& in, const Shape& shape, Kernel&& kernel) {
  Tensor out = empty(shape, {.dtype = in.dtype(), .device = in.device()});
  if (out.numel() == 0) return out;
  const Tensor x = contiguous(in);
  VisitFloatDType(in.dtype(), op,
                  [&]<typename T>() { kernel(On<T>(in.device()), x.data_ptr<T>(), out.data_ptr<T>()); });
  return out;
}

// count_include_pad means nothing to a maximum: refused rather than ignored.
void CheckMaxPoolOptions(const char* op, const Pool2dFuncOptions& options) {
  NG_CHECK(options.count_include_pad, op, ": count_include_pad is an option of avg_pool2d only");
}

}  // namespace

MaxPool2dResult max_pool2d(const Tensor& input, const Pool2dFuncOptions& options) {
  CheckMaxPoolOptions("max_pool2d", options);
  const cpu::PoolShape s = CheckPool2d("max_pool2d", input.shape(), input.dtype(), options);
  MaxPool2dResult r;
  r.indices = empty(OutputShape(input.shape(), s), {.dtype = kInt64, .device = input.device()});
  r.output = Run("max_pool2d", input, r.indices.shape(), [&]<typename T>(const Backend<T>& on, const T* x, T* y) {
    on.max_forward(s, x, y, r.indices.data_ptr<int64_t>());
  });
  return r;
}

Tensor max_pool2d_backward(const Tensor& grad_output, const Tensor& indices, const Shape& input_shape,
                           const Pool2dFuncOptions& options) {
  // The windows matter to the CUDA kernel, which gathers each input's gradient from the outputs around it.
  CheckMaxPoolOptions("max_pool2d_backward", options);
  const cpu::PoolShape s = CheckPool2d("max_pool2d_backward", input_shape, grad_output.dtype(), options);
  CheckGradOutput("max_pool2d_backward", grad_output, OutputShape(input_shape, s), grad_output.dtype());
  NG_CHECK(indices.dtype() == kInt64 && indices.shape() == grad_output.shape(),
           "max_pool2d_backward: expected int64 indices of grad_output's shape ", ShapeToString(grad_output.shape()),
           ", got ", indices.dtype(), " ", ShapeToString(indices.shape()));
  NG_CHECK(indices.device() == grad_output.device(),
           "max_pool2d_backward: expected indices and grad_output on the same device, got ", indices.device(),
           " and ", grad_output.device());
  const Tensor idx = contiguous(indices);
  return Run("max_pool2d_backward", grad_output, input_shape,
             [&]<typename T>(const Backend<T>& on, const T* dy, T* dx) {
               on.max_backward(s, dy, idx.data_ptr<int64_t>(), dx);
             });
}

Tensor avg_pool2d(const Tensor& input, const Pool2dFuncOptions& options) {
  const cpu::PoolShape s = CheckPool2d("avg_pool2d", input.shape(), input.dtype(), options);
  return Run("avg_pool2d", input, OutputShape(input.shape(), s),
             [&]<typename T>(const Backend<T>& on, const T* x, T* y) { on.avg_forward(s, x, y); });
}

Tensor avg_pool2d_backward(const Tensor& grad_output, const Shape& input_shape, const Pool2dFuncOptions& options) {
  const cpu::PoolShape s = CheckPool2d("avg_pool2d_backward", input_shape, grad_output.dtype(), options);
  CheckGradOutput("avg_pool2d_backward", grad_output, OutputShape(input_shape, s), grad_output.dtype());
  return Run("avg_pool2d_backward", grad_output, input_shape,
             [&]<typename T>(const Backend<T>& on, const T* dy, T* dx) { on.avg_backward(s, dy, dx); });
}

Tensor adaptive_avg_pool2d(const Tensor& input, std::array<int64_t, 2> output_size) {
  cpu::PoolShape s = CheckPoolInput("adaptive_avg_pool2d", input.shape(), input.dtype());
  NG_CHECK(output_size[0] >= 1 && output_size[1] >= 1, "adaptive_avg_pool2d: expected output_size >= 1, got ",
           ShapeToString({output_size[0], output_size[1]}));
  NG_CHECK(s.in_h >= 1 && s.in_w >= 1, "adaptive_avg_pool2d: expected non-empty spatial dims, got ",
           ShapeToString(input.shape()));
  s.out_h = output_size[0];
  s.out_w = output_size[1];
  return Run("adaptive_avg_pool2d", input, OutputShape(input.shape(), s),
             [&]<typename T>(const Backend<T>& on, const T* x, T* y) { on.adaptive_forward(s, x, y); });
}

Tensor adaptive_avg_pool2d_backward(const Tensor& grad_output, const Shape& input_shape) {
  cpu::PoolShape s = CheckPoolInput("adaptive_avg_pool2d_backward", input_shape, grad_output.dtype());
  NG_CHECK(grad_output.dim() == static_cast<int64_t>(input_shape.size()),
           "adaptive_avg_pool2d_backward: expected grad_output of ", input_shape.size(), " dims, got ",
           ShapeToString(grad_output.shape()));
  s.out_h = grad_output.size(-2);
  s.out_w = grad_output.size(-1);
  CheckGradOutput("adaptive_avg_pool2d_backward", grad_output, OutputShape(input_shape, s), grad_output.dtype());
  return Run("adaptive_avg_pool2d_backward", grad_output, input_shape,
             [&]<typename T>(const Backend<T>& on, const T* dy, T* dx) { on.adaptive_backward(s, dy, dx); });
}

}  // namespace normgrad::kernels
