#ifndef NORMGRAD_AUTOGRAD_OPS_ELEMENTWISE_H_
#define NORMGRAD_AUTOGRAD_OPS_ELEMENTWISE_H_

// Differentiable elementwise ops. Each computes with the kernel of the same name in
// core/kernels/elementwise.h (same broadcasting, dtype rules and errors) and, when an input requires grad
// and grad mode is on, records its backward. Every backward is written with these same ops, so gradients
// of gradients (create_graph) are exact.
//
// Gradients of broadcast operands are summed back to the operand's shape (sum_to in reduce.h).

#include <optional>

#include "core/tensor.h"

namespace normgrad {

// ---- binary: out = a (op) b, NumPy broadcasting
Tensor add(const Tensor& a, const Tensor& b);  // d/da = 1, d/db = 1
Tensor sub(const Tensor& a, const Tensor& b);  // d/da = 1, d/db = -1
Tensor mul(const Tensor& a, const Tensor& b);  // d/da = b, d/db = a
Tensor div(const Tensor& a, const Tensor& b);  // d/da = 1/b, d/db = -a/b^2
// a^b; d/da = b a^(b-1), d/db = a^b log(a) (taken as 0 where a = 0, as PyTorch does).
Tensor pow(const Tensor& a, const Tensor& b);

// ---- with a scalar
Tensor add(const Tensor& a, double s);
Tensor sub(const Tensor& a, double s);
Tensor sub(double s, const Tensor& a);
Tensor mul(const Tensor& a, double s);
Tensor div(const Tensor& a, double s);
Tensor div(double s, const Tensor& a);  // s / a; d/da = -s/a^2
Tensor pow(const Tensor& a, double exponent);  // d/da = e a^(e-1) (0 for e = 0)

// ---- unary
Tensor neg(const Tensor& x);
Tensor abs(const Tensor& x);      // d/dx = sign(x), 0 at 0
Tensor relu(const Tensor& x);     // d/dx = 0 where x <= 0, else 1 (NaN passes the gradient, as PyTorch)
Tensor exp(const Tensor& x);      // d/dx = exp(x)
Tensor log(const Tensor& x);      // d/dx = 1/x
Tensor sqrt(const Tensor& x);     // d/dx = 1/(2 sqrt(x))
Tensor rsqrt(const Tensor& x);    // d/dx = -rsqrt(x)^3 / 2
Tensor sigmoid(const Tensor& x);  // d/dx = s (1 - s)
Tensor tanh(const Tensor& x);     // d/dx = 1 - tanh(x)^2
Tensor erf(const Tensor& x);      // d/dx = 2 / sqrt(pi) e^(-x^2)
// relu(a + b) in one pass and one node (the residual connection of a ResNet block), a and b broadcast;
// the same values as relu(add(a, b)). d/da = d/db = 0 where a + b <= 0, else 1, summed over the dims
// each was broadcast along.
Tensor add_relu(const Tensor& a, const Tensor& b);
// relu's backward from its output: 0 where output <= 0, else grad (NaN output included), as
// kernels::relu_backward and PyTorch's threshold_backward; recorded, differentiable in grad (the backward
// of relu's backward when create_graph records it).
Tensor relu_backward(const Tensor& grad, const Tensor& output);
// min(max(x, lo), hi); the gradient passes where lo <= x <= hi and is 0 outside.
Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi);

// out = cond != 0 ? a : b (cond is not differentiated).
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

// ---- comparisons (not differentiable): 1 where the relation holds, 0 elsewhere, in the inputs' dtype
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, double s);
Tensor ne(const Tensor& a, double s);
Tensor lt(const Tensor& a, double s);
Tensor le(const Tensor& a, double s);
Tensor gt(const Tensor& a, double s);
Tensor ge(const Tensor& a, double s);

// x converted to `dtype` (x itself when it already has that dtype). Differentiable between floating
// dtypes: the gradient is converted back to x's dtype ("ToDtypeBackward"). A conversion to or from int64
// is not differentiated.
Tensor to_dtype(const Tensor& x, DType dtype);

// x on `device` (x itself when it is already there; kernels::to's errors otherwise). Differentiable: the
// gradient is copied back to x's device ("ToDeviceBackward"), so a graph may span devices. Module::to
// moves parameters without this (they stay leaves).
Tensor to(const Tensor& x, Device device);

// ---- operators, the same ops
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, double s);
Tensor operator-(const Tensor& a, double s);
Tensor operator*(const Tensor& a, double s);
Tensor operator/(const Tensor& a, double s);
Tensor operator+(double s, const Tensor& a);
Tensor operator-(double s, const Tensor& a);
Tensor operator*(double s, const Tensor& a);
Tensor operator/(double s, const Tensor& a);
Tensor operator-(const Tensor& x);

// ---- in-place writes: dst = dst (op) src (src broadcast to dst's shape), or dst = value / src.
// They bump dst's version, so a backward that saved dst notices. They are not recorded: with grad mode on,
// a dst that requires grad is refused ("add_: expected a tensor that does not require grad, ...; run the
// update under NoGradGuard"), as optimizer updates and running-statistics updates run with recording off.
// Each returns dst. The Tensor members t.add_(x), ... call these.
const Tensor& add_(const Tensor& dst, const Tensor& src);
const Tensor& sub_(const Tensor& dst, const Tensor& src);
const Tensor& mul_(const Tensor& dst, const Tensor& src);
const Tensor& div_(const Tensor& dst, const Tensor& src);
const Tensor& add_(const Tensor& dst, double s);
const Tensor& sub_(const Tensor& dst, double s);
const Tensor& mul_(const Tensor& dst, double s);
const Tensor& div_(const Tensor& dst, double s);
const Tensor& fill_(const Tensor& dst, double value);
const Tensor& zero_(const Tensor& dst);
const Tensor& copy_(const Tensor& dst, const Tensor& src);

}  // namespace normgrad

#endif  // NORMGRAD_AUTOGRAD_OPS_ELEMENTWISE_H_
