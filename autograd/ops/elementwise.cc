#include "autograd/ops/elementwise.h"

#include <cmath>
#include <numbers>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops/reduce.h"
#include "core/kernels/device_copy.h"
#include "core/kernels/elementwise.h"

namespace normgrad {

using autograd::BackwardContext;
using autograd::Record;
using autograd::Save;
using Grads = std::vector<Tensor>;

namespace {

// The gradient for input i of a binary op, summed back over the dims that input was broadcast along.
Tensor ReduceTo(const BackwardContext& ctx, size_t i, const Tensor& g) {
  return sum_to(g, ctx.edges[i].shape);
}

// relu's gradient from a context that kept the output (relu, add_relu). One fused pass, into the incoming
// gradient's memory when the engine handed it over; while backward is being recorded, the recorded form.
Tensor ReluGrad(const BackwardContext& ctx) {
  if (GradMode::is_enabled()) return relu_backward(ctx.grad, ctx.output);
  if (!ctx.grad_reusable) return kernels::relu_backward(ctx.grad, ctx.output);
  kernels::relu_backward_(ctx.grad, ctx.output);
  return ctx.grad;
}

// sign(x): 1, 0 or -1, in x's dtype (not differentiated: its derivative is 0 almost everywhere).
Tensor Sign(const Tensor& x) { return kernels::sub(kernels::gt(x, 0.0), kernels::lt(x, 0.0)); }

}  // namespace

// ---- binary

Tensor add(const Tensor& a, const Tensor& b) {
  return Record("AddBackward", kernels::add(a, b), {a, b}, [](const BackwardContext& ctx) -> Grads {
    return {ctx.needs(0) ? ReduceTo(ctx, 0, ctx.grad) : Tensor(), ctx.needs(1) ? ReduceTo(ctx, 1, ctx.grad) : Tensor()};
  });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  return Record("SubBackward", kernels::sub(a, b), {a, b}, [](const BackwardContext& ctx) -> Grads {
    return {ctx.needs(0) ? ReduceTo(ctx, 0, ctx.grad) : Tensor(),
            ctx.needs(1) ? ReduceTo(ctx, 1, neg(ctx.grad)) : Tensor()};
  });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  return Record("MulBackward", kernels::mul(a, b), {a, b},
                [sa = Save(a), sb = Save(b)](const BackwardContext& ctx) -> Grads {
                  return {ctx.needs(0) ? ReduceTo(ctx, 0, mul(ctx.grad, sb.get())) : Tensor(),
                          ctx.needs(1) ? ReduceTo(ctx, 1, mul(ctx.grad, sa.get())) : Tensor()};
                });
}

Tensor div(const Tensor& a, const Tensor& b) {
  return Record("DivBackward", kernels::div(a, b), {a, b},
                [sa = Save(a), sb = Save(b)](const BackwardContext& ctx) -> Grads {
                  const Tensor& b = sb.get();
                  return {ctx.needs(0) ? ReduceTo(ctx, 0, div(ctx.grad, b)) : Tensor(),
                          ctx.needs(1) ? ReduceTo(ctx, 1, neg(div(mul(ctx.grad, sa.get()), mul(b, b)))) : Tensor()};
                });
}

Tensor pow(const Tensor& a, const Tensor& b) {
  return Record(
      "PowBackward", kernels::pow(a, b), {a, b},
      [sa = Save(a), sb = Save(b)](const BackwardContext& ctx) -> Grads {
        const Tensor &a = sa.get(), &b = sb.get();
        Tensor ga, gb;
        // As PyTorch: b a^(b-1) is 0 where b = 0 (at a = 0 it would be 0 * inf), and a^b log(a) takes its
        // limit 0 at a = 0 where b >= 0 (-inf where b < 0).
        if (ctx.needs(0)) {
          const Tensor b_zero = kernels::eq(b, 0.0);
          ga = ReduceTo(ctx, 0, where(b_zero, kernels::mul(b_zero, 0.0), mul(ctx.grad, mul(b, pow(a, sub(b, 1.0))))));
        }
        if (ctx.needs(1)) {
          const Tensor limit = kernels::mul(kernels::eq(a, 0.0), kernels::ge(b, 0.0));
          const Tensor safe_a = where(limit, kernels::add(limit, a), a);  // 1 where the limit applies
          gb = ReduceTo(ctx, 1, where(limit, kernels::mul(limit, 0.0), mul(ctx.grad, mul(pow(a, b), log(safe_a)))));
        }
        return {ga, gb};
      });
}

// ---- with a scalar

Tensor add(const Tensor& a, double s) {
  return Record("AddScalarBackward", kernels::add(a, s), {a},
                [](const BackwardContext& ctx) -> Grads { return {ctx.grad}; });
}

Tensor sub(const Tensor& a, double s) {
  return Record("SubScalarBackward", kernels::sub(a, s), {a},
                [](const BackwardContext& ctx) -> Grads { return {ctx.grad}; });
}

Tensor sub(double s, const Tensor& a) {
  return Record("RsubScalarBackward", kernels::sub(s, a), {a},
                [](const BackwardContext& ctx) -> Grads { return {neg(ctx.grad)}; });
}

Tensor mul(const Tensor& a, double s) {
  return Record("MulScalarBackward", kernels::mul(a, s), {a},
                [s](const BackwardContext& ctx) -> Grads { return {mul(ctx.grad, s)}; });
}

Tensor div(const Tensor& a, double s) {
  return Record("DivScalarBackward", kernels::div(a, s), {a},
                [s](const BackwardContext& ctx) -> Grads { return {div(ctx.grad, s)}; });
}

Tensor div(double s, const Tensor& a) {
  return Record("RdivScalarBackward", kernels::div(s, a), {a},
                [s, sa = Save(a)](const BackwardContext& ctx) -> Grads {
                  const Tensor& a = sa.get();
                  return {mul(div(ctx.grad, mul(a, a)), -s)};
                });
}

Tensor pow(const Tensor& a, double exponent) {
  return Record("PowScalarBackward", kernels::pow(a, exponent), {a},
                [exponent, sa = Save(a)](const BackwardContext& ctx) -> Grads {
                  if (exponent == 0) return {mul(ctx.grad, 0.0)};
                  return {mul(ctx.grad, mul(pow(sa.get(), exponent - 1), exponent))};
                });
}

// ---- unary

Tensor neg(const Tensor& x) {
  return Record("NegBackward", kernels::neg(x), {x}, [](const BackwardContext& ctx) -> Grads { return {neg(ctx.grad)}; });
}

Tensor abs(const Tensor& x) {
  return Record("AbsBackward", kernels::abs(x), {x},
                [sx = Save(x)](const BackwardContext& ctx) -> Grads { return {mul(ctx.grad, Sign(sx.get()))}; });
}

Tensor relu(const Tensor& x) {
  return Record(
      "ReluBackward", kernels::relu(x), {x},
      [](const BackwardContext& ctx) -> Grads { return {ReluGrad(ctx)}; }, /*keep_output=*/true);
}

Tensor add_relu(const Tensor& a, const Tensor& b) {
  return Record(
      "AddReluBackward", kernels::add_relu(a, b), {a, b},
      [](const BackwardContext& ctx) -> Grads {
        const Tensor g = ReluGrad(ctx);
        return {ctx.needs(0) ? ReduceTo(ctx, 0, g) : Tensor(), ctx.needs(1) ? ReduceTo(ctx, 1, g) : Tensor()};
      },
      /*keep_output=*/true);
}

Tensor exp(const Tensor& x) {
  return Record(
      "ExpBackward", kernels::exp(x), {x},
      [](const BackwardContext& ctx) -> Grads { return {mul(ctx.grad, ctx.output)}; }, /*keep_output=*/true);
}

Tensor log(const Tensor& x) {
  return Record("LogBackward", kernels::log(x), {x},
                [sx = Save(x)](const BackwardContext& ctx) -> Grads { return {div(ctx.grad, sx.get())}; });
}

Tensor sqrt(const Tensor& x) {
  return Record(
      "SqrtBackward", kernels::sqrt(x), {x},
      [](const BackwardContext& ctx) -> Grads { return {div(ctx.grad, mul(ctx.output, 2.0))}; },
      /*keep_output=*/true);
}

Tensor rsqrt(const Tensor& x) {
  return Record(
      "RsqrtBackward", kernels::rsqrt(x), {x},
      [](const BackwardContext& ctx) -> Grads { return {mul(ctx.grad, mul(pow(ctx.output, 3.0), -0.5))}; },
      /*keep_output=*/true);
}

Tensor sigmoid(const Tensor& x) {
  return Record(
      "SigmoidBackward", kernels::sigmoid(x), {x},
      [](const BackwardContext& ctx) -> Grads { return {mul(ctx.grad, mul(ctx.output, sub(1.0, ctx.output)))}; },
      /*keep_output=*/true);
}

Tensor tanh(const Tensor& x) {
  return Record(
      "TanhBackward", kernels::tanh(x), {x},
      [](const BackwardContext& ctx) -> Grads { return {mul(ctx.grad, sub(1.0, mul(ctx.output, ctx.output)))}; },
      /*keep_output=*/true);
}

Tensor erf(const Tensor& x) {
  return Record("ErfBackward", kernels::erf(x), {x}, [sx = Save(x)](const BackwardContext& ctx) -> Grads {
    const Tensor& x = sx.get();
    return {mul(ctx.grad, mul(exp(neg(mul(x, x))), 2.0 / std::sqrt(std::numbers::pi)))};
  });
}

Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi) {
  return Record("ClampBackward", kernels::clamp(x, lo, hi), {x},
                [lo, hi, sx = Save(x)](const BackwardContext& ctx) -> Grads {
                  const Tensor& x = sx.get();
                  Tensor inside = kernels::eq(x, x);  // 1 everywhere but NaN
                  if (lo) inside = kernels::mul(inside, kernels::ge(x, *lo));
                  if (hi) inside = kernels::mul(inside, kernels::le(x, *hi));
                  return {mul(ctx.grad, inside)};
                });
}

Tensor relu_backward(const Tensor& grad, const Tensor& output) {
  // Checked here, so that a mismatch names this op rather than the select below.
  NG_CHECK(grad.dtype() == output.dtype() && grad.device() == output.device(),
           "relu_backward: expected grad and output of the same dtype and device, got ", DTypeName(grad.dtype()),
           " on ", grad.device(), " and ", DTypeName(output.dtype()), " on ", output.device());
  return where(kernels::le(output, 0.0), zeros({}, {.dtype = grad.dtype(), .device = grad.device()}), grad);
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  return Record("WhereBackward", kernels::where(cond, a, b), {a, b},
                [sc = Save(cond)](const BackwardContext& ctx) -> Grads {
                  const Tensor& cond = sc.get();
                  const Tensor zero = kernels::mul(ctx.grad.detach(), 0.0);
                  return {ctx.needs(0) ? ReduceTo(ctx, 0, where(cond, ctx.grad, zero)) : Tensor(),
                          ctx.needs(1) ? ReduceTo(ctx, 1, where(cond, zero, ctx.grad)) : Tensor()};
                });
}

// ---- comparisons and conversion: not differentiable

Tensor eq(const Tensor& a, const Tensor& b) { return kernels::eq(a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return kernels::ne(a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return kernels::lt(a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return kernels::le(a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return kernels::gt(a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return kernels::ge(a, b); }
Tensor eq(const Tensor& a, double s) { return kernels::eq(a, s); }
Tensor ne(const Tensor& a, double s) { return kernels::ne(a, s); }
Tensor lt(const Tensor& a, double s) { return kernels::lt(a, s); }
Tensor le(const Tensor& a, double s) { return kernels::le(a, s); }
Tensor gt(const Tensor& a, double s) { return kernels::gt(a, s); }
Tensor ge(const Tensor& a, double s) { return kernels::ge(a, s); }
Tensor to_dtype(const Tensor& x, DType dtype) {
  if (x.dtype() == dtype) return x;
  Tensor out = kernels::to_dtype(x, dtype);
  if (!IsFloating(x.dtype()) || !IsFloating(dtype)) return out;
  return Record("ToDtypeBackward", std::move(out), {x}, [from = x.dtype()](const BackwardContext& ctx) -> Grads {
    return {to_dtype(ctx.grad, from)};
  });
}

Tensor to(const Tensor& x, Device device) {
  if (x.device() == device) return x;
  return Record("ToDeviceBackward", kernels::to(x, device), {x}, [from = x.device()](const BackwardContext& ctx) -> Grads {
    return {to(ctx.grad, from)};
  });
}

// ---- operators

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator+(const Tensor& a, double s) { return add(a, s); }
Tensor operator-(const Tensor& a, double s) { return sub(a, s); }
Tensor operator*(const Tensor& a, double s) { return mul(a, s); }
Tensor operator/(const Tensor& a, double s) { return div(a, s); }
Tensor operator+(double s, const Tensor& a) { return add(a, s); }
Tensor operator-(double s, const Tensor& a) { return sub(s, a); }
Tensor operator*(double s, const Tensor& a) { return mul(a, s); }
Tensor operator/(double s, const Tensor& a) { return div(s, a); }
Tensor operator-(const Tensor& x) { return neg(x); }

// ---- in place

namespace {

// In-place writes are not recorded: refuse them on tensors the graph may need, unless recording is off.
// In-place ops are not recorded: neither the destination nor (with grad mode on) the source may require
// grad, or the source's gradient would be silently lost.
void CheckInPlace(const Tensor& dst, const char* op, const Tensor* src) {
  NG_CHECK(dst.defined(), op, ": expected a defined tensor, got an undefined one");
  NG_CHECK(!(GradMode::is_enabled() && dst.requires_grad()), op,
           ": expected a tensor that does not require grad, got one that does (shape ",
           ShapeToString(dst.shape()), "); run the update under NoGradGuard");
  NG_CHECK(!(GradMode::is_enabled() && src != nullptr && src->defined() && src->requires_grad()), op,
           ": expected a source that does not require grad, got one that does (shape ", ShapeToString(src->shape()),
           "); in-place ops are not recorded: use the out-of-place op, or run the update under NoGradGuard");
}

template <typename Write>
const Tensor& InPlace(const Tensor& dst, const char* op, Write&& write, const Tensor* src = nullptr) {
  CheckInPlace(dst, op, src);
  write();
  dst.BumpVersion();
  return dst;
}

}  // namespace

const Tensor& add_(const Tensor& dst, const Tensor& src) {
  return InPlace(
      dst, "add_", [&] { kernels::add_(dst, src); }, &src);
}
const Tensor& sub_(const Tensor& dst, const Tensor& src) {
  return InPlace(
      dst, "sub_", [&] { kernels::sub_(dst, src); }, &src);
}
const Tensor& mul_(const Tensor& dst, const Tensor& src) {
  return InPlace(
      dst, "mul_", [&] { kernels::mul_(dst, src); }, &src);
}
const Tensor& div_(const Tensor& dst, const Tensor& src) {
  return InPlace(
      dst, "div_", [&] { kernels::div_(dst, src); }, &src);
}
const Tensor& add_(const Tensor& dst, double s) { return InPlace(dst, "add_", [&] { kernels::add_(dst, s); }); }
const Tensor& sub_(const Tensor& dst, double s) { return InPlace(dst, "sub_", [&] { kernels::sub_(dst, s); }); }
const Tensor& mul_(const Tensor& dst, double s) { return InPlace(dst, "mul_", [&] { kernels::mul_(dst, s); }); }
const Tensor& div_(const Tensor& dst, double s) { return InPlace(dst, "div_", [&] { kernels::div_(dst, s); }); }
const Tensor& fill_(const Tensor& dst, double value) { return InPlace(dst, "fill_", [&] { kernels::fill_(dst, value); }); }
const Tensor& zero_(const Tensor& dst) { return InPlace(dst, "zero_", [&] { kernels::fill_(dst, 0.0); }); }
const Tensor& copy_(const Tensor& dst, const Tensor& src) {
  return InPlace(
      dst, "copy_", [&] { kernels::copy_(dst, src); }, &src);
}

// The Tensor members declared in core/tensor.h.
const Tensor& Tensor::add_(const Tensor& src) const { return normgrad::add_(*this, src); }
const Tensor& Tensor::sub_(const Tensor& src) const { return normgrad::sub_(*this, src); }
const Tensor& Tensor::mul_(const Tensor& src) const { return normgrad::mul_(*this, src); }
const Tensor& Tensor::div_(const Tensor& src) const { return normgrad::div_(*this, src); }
const Tensor& Tensor::add_(double s) const { return normgrad::add_(*this, s); }
const Tensor& Tensor::sub_(double s) const { return normgrad::sub_(*this, s); }
const Tensor& Tensor::mul_(double s) const { return normgrad::mul_(*this, s); }
const Tensor& Tensor::div_(double s) const { return normgrad::div_(*this, s); }
const Tensor& Tensor::fill_(double value) const { return normgrad::fill_(*this, value); }
const Tensor& Tensor::zero_() const { return normgrad::zero_(*this); }
const Tensor& Tensor::copy_(const Tensor& src) const { return normgrad::copy_(*this, src); }

}  // namespace normgrad
