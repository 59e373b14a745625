#include "core/kernels/elementwise.h"

#include <cmath>

#include "core/cpu/elementwise.h"
#include "core/cuda/device.h"
#include "core/cuda/elementwise.h"
#include "core/kernels/device_copy.h"

namespace normgrad::kernels {
namespace {

using cpu::BinaryOp;
using cpu::Operand;
using cpu::UnaryOp;

// The family's device switch: the raw kernels of core/cpu/elementwise.h or their twins in
// core/cuda/elementwise.h (the function pointer types check that the signatures agree).
struct Backend {
  decltype(&cpu::Unary) unary;
  decltype(&cpu::Binary) binary;
  decltype(&cpu::BinaryScalar) binary_scalar;
  decltype(&cpu::Clamp) clamp;
  decltype(&cpu::Where) where;
  decltype(&cpu::Fill) fill;
  decltype(&cpu::Convert) convert;
};

const Backend& On(Device device) {
  static constexpr Backend kCpu{cpu::Unary, cpu::Binary, cpu::BinaryScalar, cpu::Clamp,
                                cpu::Where, cpu::Fill,   cpu::Convert};
  static constexpr Backend kCuda{cuda::Unary, cuda::Binary, cuda::BinaryScalar, cuda::Clamp,
                                 cuda::Where, cuda::Fill,   cuda::Convert};
  switch (device.type) {
    case Device::Type::kCPU: return kCpu;
    case Device::Type::kCUDA:
      cuda::MakeCurrent(device.index);
      return kCuda;
  }
  __builtin_unreachable();
}

Operand AsOperand(const Tensor& t) { return {t.data_ptr(), t.strides()}; }

Operand AsOperand(const Tensor& t, const Shape& shape, const char* op) {
  return {t.data_ptr(), BroadcastStrides(t, shape, op)};
}

void CheckSameDevice(const char* op, const Tensor& a, const Tensor& b) {
  NG_CHECK(a.device() == b.device(), op, ": expected tensors on the same device, got ", a.device(), " and ",
           b.device());
}

void CheckSameDType(const char* op, const Tensor& a, const Tensor& b) {
  NG_CHECK(a.dtype() == b.dtype(), op, ": expected tensors of the same dtype, got ", DTypeName(a.dtype()),
           " and ", DTypeName(b.dtype()));
}

void CheckScalar(const char* op, DType dtype, double s) {
  // In range too: converting inf or 1e19 to int64 is undefined.
  NG_CHECK(dtype != kInt64 || (s == std::trunc(s) && s >= -0x1p63 && s < 0x1p63), op,
           ": expected an integral scalar in int64's range for an int64 tensor, got ", s);
}

void CheckFloat(const char* op, const Tensor& t) {
  NG_CHECK(IsFloating(t.dtype()), op, ": expected a floating-point tensor (float32 or float64), got ",
           DTypeName(t.dtype()));
}

bool NeedsFloat(BinaryOp op) { return op == BinaryOp::kDiv || op == BinaryOp::kPow; }

// out = run(dtype, shape, out, a, b) over a and b broadcast together, for any raw binary kernel.
template <typename Run>
Tensor BroadcastBinary(const char* op, const Tensor& a, const Tensor& b, Run run) {
  CheckSameDType(op, a, b);
  CheckSameDevice(op, a, b);
  const Shape shape = BroadcastShapes(a.shape(), b.shape(), op);
  Tensor out = empty(shape, {.dtype = a.dtype(), .device = a.device()});
  run(a.dtype(), shape, AsOperand(out), AsOperand(a, shape, op), AsOperand(b, shape, op));
  return out;
}

Tensor Binary(BinaryOp bop, const char* op, const Tensor& a, const Tensor& b) {
  CheckSameDType(op, a, b);  // before the float check, so that mixed dtypes get this message
  if (NeedsFloat(bop)) CheckFloat(op, a);
  const Device device = a.device();
  return BroadcastBinary(op, a, b,
                         [bop, device](DType dtype, const Shape& shape, const Operand& out, const Operand& x,
                                       const Operand& y) { On(device).binary(bop, dtype, shape, out, x, y); });
}

Tensor BinaryScalar(BinaryOp bop, const char* op, const Tensor& a, double s, bool scalar_first) {
  if (NeedsFloat(bop)) CheckFloat(op, a);
  CheckScalar(op, a.dtype(), s);
  Tensor out = empty(a.shape(), {.dtype = a.dtype(), .device = a.device()});
  On(out.device()).binary_scalar(bop, a.dtype(), a.shape(), AsOperand(out), AsOperand(a), s, scalar_first);
  return out;
}

Tensor Unary(UnaryOp uop, const char* op, const Tensor& x, bool float_only) {
  if (float_only) CheckFloat(op, x);
  Tensor out = empty(x.shape(), {.dtype = x.dtype(), .device = x.device()});
  On(out.device()).unary(uop, x.dtype(), x.shape(), AsOperand(out), AsOperand(x));
  return out;
}

Tensor CopyOf(const Tensor& x) {
  Tensor out = empty(x.shape(), {.dtype = x.dtype(), .device = x.device()});
  On(out.device()).convert(x.dtype(), x.dtype(), x.shape(), AsOperand(out), AsOperand(x));
  return out;
}

// The destination of an in-place write: every element written once, so no stride-0 dims.
void CheckWritable(const char* op, const Tensor& dst) {
  for (int64_t d = 0; d < dst.dim(); ++d) {
    NG_CHECK(dst.stride(d) != 0 || dst.size(d) <= 1, op, ": expected a destination without broadcast ",
             "(stride-0) dims, got shape ", ShapeToString(dst.shape()), " with strides ",
             ShapeToString(dst.strides()));
  }
}

// A source that reads the destination's storage through another view would see elements the loop
// has already overwritten; read it from a copy instead. The very same view is safe (each element is
// read before it is written, at the same position).
Tensor ReadableSource(const Tensor& dst, const Tensor& src) {
  const bool same_view = src.shape() == dst.shape() && src.strides() == dst.strides() &&
                         src.storage_offset() == dst.storage_offset();
  if (src.storage().is_same(dst.storage()) && !same_view) return CopyOf(src);
  return src;
}

void BinaryInPlace(BinaryOp bop, const char* op, const Tensor& dst, const Tensor& src) {
  CheckSameDType(op, dst, src);
  CheckSameDevice(op, dst, src);
  if (NeedsFloat(bop)) CheckFloat(op, dst);
  CheckWritable(op, dst);
  const Tensor s = ReadableSource(dst, src);
  On(dst.device()).binary(bop, dst.dtype(), dst.shape(), AsOperand(dst), AsOperand(dst), AsOperand(s, dst.shape(), op));
}

void BinaryScalarInPlace(BinaryOp bop, const char* op, const Tensor& dst, double s) {
  if (NeedsFloat(bop)) CheckFloat(op, dst);
  CheckScalar(op, dst.dtype(), s);
  CheckWritable(op, dst);
  On(dst.device()).binary_scalar(bop, dst.dtype(), dst.shape(), AsOperand(dst), AsOperand(dst), s, false);
}

}  // namespace

Strides BroadcastStrides(const Tensor& t, const Shape& shape, const char* op) {
  const Shape& from = t.shape();
  const int64_t rank = static_cast<int64_t>(shape.size()), lead = rank - t.dim();
  bool ok = lead >= 0;
  Strides strides(shape.size(), 0);
  for (int64_t d = 0; ok && d < t.dim(); ++d) {
    ok = from[d] == shape[lead + d] || from[d] == 1;
    if (from[d] != 1) strides[lead + d] = t.stride(d);
  }
  NG_CHECK(ok, op, ": expected a shape broadcastable to ", ShapeToString(shape), ", got ",
           ShapeToString(from));
  return strides;
}

Tensor add(const Tensor& a, const Tensor& b) { return Binary(BinaryOp::kAdd, "add", a, b); }
Tensor sub(const Tensor& a, const Tensor& b) { return Binary(BinaryOp::kSub, "sub", a, b); }
Tensor mul(const Tensor& a, const Tensor& b) { return Binary(BinaryOp::kMul, "mul", a, b); }
Tensor div(const Tensor& a, const Tensor& b) { return Binary(BinaryOp::kDiv, "div", a, b); }
Tensor pow(const Tensor& a, const Tensor& b) { return Binary(BinaryOp::kPow, "pow", a, b); }

Tensor add(const Tensor& a, double s) { return BinaryScalar(BinaryOp::kAdd, "add", a, s, false); }
Tensor sub(const Tensor& a, double s) { return BinaryScalar(BinaryOp::kSub, "sub", a, s, false); }
Tensor sub(double s, const Tensor& a) { return BinaryScalar(BinaryOp::kSub, "sub", a, s, true); }
Tensor mul(const Tensor& a, double s) { return BinaryScalar(BinaryOp::kMul, "mul", a, s, false); }
Tensor div(const Tensor& a, double s) { return BinaryScalar(BinaryOp::kDiv, "div", a, s, false); }
Tensor div(double s, const Tensor& a) { return BinaryScalar(BinaryOp::kDiv, "div", a, s, true); }
Tensor pow(const Tensor& a, double exponent) { return BinaryScalar(BinaryOp::kPow, "pow", a, exponent, false); }

Tensor neg(const Tensor& x) { return Unary(UnaryOp::kNeg, "neg", x, false); }
Tensor abs(const Tensor& x) { return Unary(UnaryOp::kAbs, "abs", x, false); }
Tensor relu(const Tensor& x) { return Unary(UnaryOp::kRelu, "relu", x, false); }
Tensor exp(const Tensor& x) { return Unary(UnaryOp::kExp, "exp", x, true); }
Tensor log(const Tensor& x) { return Unary(UnaryOp::kLog, "log", x, true); }
Tensor sqrt(const Tensor& x) { return Unary(UnaryOp::kSqrt, "sqrt", x, true); }
Tensor rsqrt(const Tensor& x) { return Unary(UnaryOp::kRsqrt, "rsqrt", x, true); }
Tensor sigmoid(const Tensor& x) { return Unary(UnaryOp::kSigmoid, "sigmoid", x, true); }
Tensor tanh(const Tensor& x) { return Unary(UnaryOp::kTanh, "tanh", x, true); }
Tensor erf(const Tensor& x) { return Unary(UnaryOp::kErf, "erf", x, true); }

// The fused relu kernels are CPU loops; on a GPU the same values come from the device's unfused kernels.
Tensor add_relu(const Tensor& a, const Tensor& b) {
  if (!a.device().is_cpu() || !b.device().is_cpu()) return relu(add(a, b));
  return BroadcastBinary("add_relu", a, b, cpu::AddRelu);
}

namespace {

// Off the CPU a select, as the CPU kernel and PyTorch's threshold_backward: an inf or NaN gradient where the
// output is <= 0 gives 0 (a product with the mask would give NaN).
Tensor DeviceReluBackward(const char* op, const Tensor& grad, const Tensor& output) {
  // The CPU kernel's checks, so that a mismatch names `op` rather than the select.
  CheckSameDType(op, grad, output);
  CheckSameDevice(op, grad, output);
  BroadcastShapes(grad.shape(), output.shape(), op);
  return where(le(output, 0.0), zeros({}, {.dtype = grad.dtype(), .device = grad.device()}), grad);
}

}  // namespace

Tensor relu_backward(const Tensor& grad, const Tensor& output) {
  if (!grad.device().is_cpu() || !output.device().is_cpu()) return DeviceReluBackward("relu_backward", grad, output);
  return BroadcastBinary("relu_backward", grad, output, cpu::ReluBackward);
}

void relu_backward_(const Tensor& grad, const Tensor& output) {
  CheckWritable("relu_backward_", grad);
  if (!grad.device().is_cpu() || !output.device().is_cpu()) {
    return copy_(grad, DeviceReluBackward("relu_backward_", grad, output));
  }
  CheckSameDType("relu_backward_", grad, output);
  const Tensor y = ReadableSource(grad, output);
  cpu::ReluBackward(grad.dtype(), grad.shape(), AsOperand(grad), AsOperand(grad),
                    AsOperand(y, grad.shape(), "relu_backward_"));
}

Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi) {
  if (lo) CheckScalar("clamp", x.dtype(), *lo);
  if (hi) CheckScalar("clamp", x.dtype(), *hi);
  Tensor out = empty(x.shape(), {.dtype = x.dtype(), .device = x.device()});
  On(out.device()).clamp(x.dtype(), x.shape(), AsOperand(out), AsOperand(x), lo, hi);
  return out;
}

Tensor eq(const Tensor& a, const Tensor& b) { return Binary(BinaryOp::kEq, "eq", a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return Binary(BinaryOp::kNe, "ne", a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return Binary(BinaryOp::kLt, "lt", a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return Binary(BinaryOp::kLe, "le", a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return Binary(BinaryOp::kGt, "gt", a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return Binary(BinaryOp::kGe, "ge", a, b); }
Tensor eq(const Tensor& a, double s) { return BinaryScalar(BinaryOp::kEq, "eq", a, s, false); }
Tensor ne(const Tensor& a, double s) { return BinaryScalar(BinaryOp::kNe, "ne", a, s, false); }
Tensor lt(const Tensor& a, double s) { return BinaryScalar(BinaryOp::kLt, "lt", a, s, false); }
Tensor le(const Tensor& a, double s) { return BinaryScalar(BinaryOp::kLe, "le", a, s, false); }
Tensor gt(const Tensor& a, double s) { return BinaryScalar(BinaryOp::kGt, "gt", a, s, false); }
Tensor ge(const Tensor& a, double s) { return BinaryScalar(BinaryOp::kGe, "ge", a, s, false); }

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  CheckSameDType("where", a, b);
  CheckSameDevice("where", cond, a);
  CheckSameDevice("where", a, b);
  const Shape shape = BroadcastShapes(BroadcastShapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor out = empty(shape, {.dtype = a.dtype(), .device = a.device()});
  On(out.device()).where(cond.dtype(), a.dtype(), shape, AsOperand(out), AsOperand(cond, shape, "where"),
             AsOperand(a, shape, "where"), AsOperand(b, shape, "where"));
  return out;
}

void fill_(const Tensor& dst, double value) {
  CheckWritable("fill_", dst);
  CheckScalar("fill_", dst.dtype(), value);
  On(dst.device()).fill(dst.dtype(), dst.shape(), AsOperand(dst), value);
}

void copy_(const Tensor& dst, const Tensor& src) {
  CheckWritable("copy_", dst);
  // Across devices, the source comes over first (then converts on the destination's device).
  const Tensor s = src.device() == dst.device() ? ReadableSource(dst, src) : to(src, dst.device());
  On(dst.device()).convert(dst.dtype(), s.dtype(), dst.shape(), AsOperand(dst), AsOperand(s, dst.shape(), "copy_"));
}

void add_(const Tensor& dst, const Tensor& src) { BinaryInPlace(BinaryOp::kAdd, "add_", dst, src); }
void sub_(const Tensor& dst, const Tensor& src) { BinaryInPlace(BinaryOp::kSub, "sub_", dst, src); }
void mul_(const Tensor& dst, const Tensor& src) { BinaryInPlace(BinaryOp::kMul, "mul_", dst, src); }
void div_(const Tensor& dst, const Tensor& src) { BinaryInPlace(BinaryOp::kDiv, "div_", dst, src); }
void add_(const Tensor& dst, double s) { BinaryScalarInPlace(BinaryOp::kAdd, "add_", dst, s); }
void sub_(const Tensor& dst, double s) { BinaryScalarInPlace(BinaryOp::kSub, "sub_", dst, s); }
void mul_(const Tensor& dst, double s) { BinaryScalarInPlace(BinaryOp::kMul, "mul_", dst, s); }
void div_(const Tensor& dst, double s) { BinaryScalarInPlace(BinaryOp::kDiv, "div_", dst, s); }

Tensor to_dtype(const Tensor& x, DType dtype) {
  if (x.dtype() == dtype) return x;
  Tensor out = empty(x.shape(), {.dtype = dtype, .device = x.device()});
  On(out.device()).convert(dtype, x.dtype(), x.shape(), AsOperand(out), AsOperand(x));
  return out;
}

}  // namespace normgrad::kernels
