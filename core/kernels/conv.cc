#include "core/kernels/conv.h"

#include "core/cpu/conv.h"
#include "core/cuda/conv.h"
#include "core/cuda/device.h"
#include "core/kernels/copy.h"

namespace normgrad::kernels {
namespace {

// Checks the operands' ranks, dtypes and sizes against each other and the options (shapes only: the
// backward passes check against the shapes of tensors they no longer have), and returns the geometry.
cpu::ConvShape CheckConv2d(const Shape& input, DType input_dtype, const Shape& weight, DType weight_dtype,
                           const Conv2dFuncOptions& o) {
  NG_CHECK(input.size() == 4, "conv2d: expected input of 4 dims [N, C, H, W], got ", ShapeToString(input));
  NG_CHECK(weight.size() == 4, "conv2d: expected weight of 4 dims [C_out, C_in / groups, kH, kW], got ",
           ShapeToString(weight));
  NG_CHECK(IsFloating(input_dtype), "conv2d: expected a floating-point input (float32 or float64), got ", input_dtype);
  NG_CHECK(weight_dtype == input_dtype, "conv2d: expected weight of dtype ", input_dtype, " (the input's), got ",
           weight_dtype);
  NG_CHECK(o.stride[0] >= 1 && o.stride[1] >= 1, "conv2d: expected stride >= 1, got ",
           ShapeToString({o.stride[0], o.stride[1]}));
  NG_CHECK(o.dilation[0] >= 1 && o.dilation[1] >= 1, "conv2d: expected dilation >= 1, got ",
           ShapeToString({o.dilation[0], o.dilation[1]}));
  NG_CHECK(o.padding[0] >= 0 && o.padding[1] >= 0, "conv2d: expected padding >= 0, got ",
           ShapeToString({o.padding[0], o.padding[1]}));
  NG_CHECK(o.groups >= 1, "conv2d: expected groups >= 1, got ", o.groups);
  NG_CHECK(input[1] % o.groups == 0, "conv2d: expected groups (", o.groups, ") to divide the input channels, got ",
           input[1]);
  NG_CHECK(weight[0] % o.groups == 0, "conv2d: expected groups (", o.groups,
           ") to divide the output channels, got weight ", ShapeToString(weight));
  NG_CHECK(weight[1] * o.groups == input[1], "conv2d: expected input with ", weight[1] * o.groups, " channels (weight ",
           ShapeToString(weight), ", groups ", o.groups, "), got ", ShapeToString(input));
  cpu::ConvShape s;
  s.batch = input[0];
  s.in_channels = input[1];
  s.out_channels = weight[0];
  s.groups = o.groups;
  s.in_h = input[2];
  s.in_w = input[3];
  s.kernel_h = weight[2];
  s.kernel_w = weight[3];
  s.stride_h = o.stride[0];
  s.stride_w = o.stride[1];
  s.pad_h = o.padding[0];
  s.pad_w = o.padding[1];
  s.dilation_h = o.dilation[0];
  s.dilation_w = o.dilation[1];
  s.out_h = cpu::ConvOutputSize(s.in_h, s.kernel_h, s.stride_h, s.pad_h, s.dilation_h);
  s.out_w = cpu::ConvOutputSize(s.in_w, s.kernel_w, s.stride_w, s.pad_w, s.dilation_w);
  NG_CHECK(s.kernel_h >= 1 && s.kernel_w >= 1 && s.out_h >= 1 && s.out_w >= 1, "conv2d: expected the kernel (",
           s.kernel_h, " x ", s.kernel_w, " with dilation ", ShapeToString({o.dilation[0], o.dilation[1]}),
           ") to fit in the padded input (", s.in_h + 2 * s.pad_h, " x ", s.in_w + 2 * s.pad_w, "), got input ",
           ShapeToString(input), " with padding ", ShapeToString({o.padding[0], o.padding[1]}));
  return s;
}

// The family's device switch: core/cpu/conv.h or its twin core/cuda/conv.h (the function pointer types
// check that the signatures agree).
template <typename T>
struct Backend {
  decltype(&cpu::Conv2dForward<T>) forward;
  decltype(&cpu::Conv2dBackwardInput<T>) backward_input;
  decltype(&cpu::Conv2dBackwardWeight<T>) backward_weight;
};

template <typename T>
const Backend<T>& On(Device device) {
  static constexpr Backend<T> kCpu{cpu::Conv2dForward<T>, cpu::Conv2dBackwardInput<T>, cpu::Conv2dBackwardWeight<T>};
  static constexpr Backend<T> kCuda{cuda::Conv2dForward<T>, cuda::Conv2dBackwardInput<T>,
                                    cuda::Conv2dBackwardWeight<T>};
  switch (device.type) {
    case Device::Type::kCPU: return kCpu;
    case Device::Type::kCUDA:
      cuda::MakeCurrent(device.index);
      return kCuda;
  }
  __builtin_unreachable();
}

void CheckSameDevice(const char* op, const Tensor& a, const char* a_name, const Tensor& b, const char* b_name) {
  NG_CHECK(a.device() == b.device(), op, ": expected ", a_name, " and ", b_name, " on the same device, got ",
           a.device(), " and ", b.device());
}

Shape OutputShape(const cpu::ConvShape& s) { return {s.batch, s.out_channels, s.out_h, s.out_w}; }

void CheckGradOutput(const char* op, const Tensor& grad_output, const cpu::ConvShape& s, DType dtype) {
  NG_CHECK(grad_output.shape() == OutputShape(s), op, ": expected grad_output of shape ", ShapeToString(OutputShape(s)),
           ", got ", ShapeToString(grad_output.shape()));
  NG_CHECK(grad_output.dtype() == dtype, op, ": expected grad_output of dtype ", dtype, ", got ", grad_output.dtype());
}

cpu::ConvShape CheckBackwardInput(const char* op, const Tensor& grad_output, const Tensor& weight,
                                  const Shape& input_shape, const Conv2dFuncOptions& options) {
  const cpu::ConvShape s = CheckConv2d(input_shape, weight.dtype(), weight.shape(), weight.dtype(), options);
  CheckGradOutput(op, grad_output, s, weight.dtype());
  CheckSameDevice(op, grad_output, "grad_output", weight, "weight");
  return s;
}

// grad_input = the input gradient, or += with accumulate (arguments checked, grad_output not empty).
void RunBackwardInput(const cpu::ConvShape& s, const Tensor& grad_output, const Tensor& weight,
                      const Tensor& grad_input, bool accumulate) {
  const Tensor dy = contiguous(grad_output), w = contiguous(weight);
  VisitFloatDType(weight.dtype(), "conv2d_backward_input", [&]<typename T>() {
    On<T>(grad_input.device())
        .backward_input(s, dy.data_ptr<T>(), w.data_ptr<T>(), grad_input.data_ptr<T>(), accumulate);
  });
}

}  // namespace

Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, const Conv2dFuncOptions& options) {
  const cpu::ConvShape s = CheckConv2d(input.shape(), input.dtype(), weight.shape(), weight.dtype(), options);
  if (bias.defined()) {
    NG_CHECK(bias.shape() == Shape{s.out_channels}, "conv2d: expected bias of shape [", s.out_channels, "], got ",
             ShapeToString(bias.shape()));
    NG_CHECK(bias.dtype() == input.dtype(), "conv2d: expected bias of dtype ", input.dtype(), " (the input's), got ",
             bias.dtype());
  }
  CheckSameDevice("conv2d", input, "input", weight, "weight");
  if (bias.defined()) CheckSameDevice("conv2d", input, "input", bias, "bias");
  Tensor out = empty(OutputShape(s), {.dtype = input.dtype(), .device = input.device()});
  if (out.numel() == 0) return out;
  const Tensor x = contiguous(input), w = contiguous(weight), b = bias.defined() ? contiguous(bias) : Tensor();
  VisitFloatDType(input.dtype(), "conv2d", [&]<typename T>() {
    On<T>(out.device()).forward(s, x.data_ptr<T>(), w.data_ptr<T>(), b.defined() ? b.data_ptr<T>() : nullptr,
                                out.data_ptr<T>());
  });
  return out;
}

Tensor conv2d_backward_input(const Tensor& grad_output, const Tensor& weight, const Shape& input_shape,
                             const Conv2dFuncOptions& options) {
  const cpu::ConvShape s = CheckBackwardInput("conv2d_backward_input", grad_output, weight, input_shape, options);
  if (grad_output.numel() == 0) return zeros(input_shape, {.dtype = weight.dtype(), .device = weight.device()});
  Tensor grad_input = empty(input_shape, {.dtype = weight.dtype(), .device = weight.device()});
  RunBackwardInput(s, grad_output, weight, grad_input, /*accumulate=*/false);
  return grad_input;
}

void conv2d_backward_input_add_(const Tensor& grad_input, const Tensor& grad_output, const Tensor& weight,
                                const Conv2dFuncOptions& options) {
  constexpr const char* kOp = "conv2d_backward_input_add_";
  NG_CHECK(grad_input.defined(), kOp, ": expected a defined grad_input");
  const cpu::ConvShape s = CheckBackwardInput(kOp, grad_output, weight, grad_input.shape(), options);
  NG_CHECK(grad_input.dtype() == weight.dtype(), kOp, ": expected grad_input of dtype ", weight.dtype(),
           " (the weight's), got ", grad_input.dtype());
  NG_CHECK(grad_input.is_contiguous(), kOp, ": expected a contiguous grad_input, got strides ",
           ShapeToString(grad_input.strides()));
  CheckSameDevice(kOp, grad_input, "grad_input", weight, "weight");
  if (grad_output.numel() > 0) RunBackwardInput(s, grad_output, weight, grad_input, /*accumulate=*/true);
}

Tensor conv2d_backward_weight(const Tensor& grad_output, const Tensor& input, const Shape& weight_shape,
                              const Conv2dFuncOptions& options) {
  const cpu::ConvShape s = CheckConv2d(input.shape(), input.dtype(), weight_shape, input.dtype(), options);
  CheckGradOutput("conv2d_backward_weight", grad_output, s, input.dtype());
  CheckSameDevice("conv2d_backward_weight", grad_output, "grad_output", input, "input");
  if (grad_output.numel() == 0) return zeros(weight_shape, {.dtype = input.dtype(), .device = input.device()});
  Tensor grad_weight = empty(weight_shape, {.dtype = input.dtype(), .device = input.device()});
  const Tensor dy = contiguous(grad_output), x = contiguous(input);
  VisitFloatDType(input.dtype(), "conv2d_backward_weight", [&]<typename T>() {
    On<T>(grad_weight.device()).backward_weight(s, dy.data_ptr<T>(), x.data_ptr<T>(), grad_weight.data_ptr<T>());
  });
  return grad_weight;
}

}  // namespace normgrad::kernels
