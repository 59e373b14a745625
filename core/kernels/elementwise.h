#ifndef NORMGRAD_CORE_KERNELS_ELEMENTWISE_H_
#define NORMGRAD_CORE_KERNELS_ELEMENTWISE_H_

// Tensor-level elementwise kernels: they check their arguments, allocate the output and run the raw
// kernels of core/cpu/elementwise.h. They never record autograd nodes (autograd/ops/elementwise.h has
// the differentiable versions).
//
// Conventions shared by every function here:
// - Binary ops broadcast NumPy-style: shapes align from the right, sizes must be equal or 1.
//   Errors: "add: expected broadcastable shapes, got [2, 3] and [4]".
// - Tensor operands must have the same dtype (no implicit promotion):
//   "add: expected tensors of the same dtype, got float32 and float64".
// - Scalars are converted to the tensor's dtype; an int64 tensor takes only integral scalars:
//   "add: expected an integral scalar for an int64 tensor, got 0.5".
// - div, pow, exp, log, sqrt, rsqrt, sigmoid, tanh and erf take float32 or float64 only:
//   "exp: expected a floating-point tensor (float32 or float64), got int64".
// - Inputs may have any strides (views, broadcast stride-0 dims); outputs are new contiguous tensors.
// - There is no bool dtype: comparisons return a tensor of the inputs' dtype holding 1 where the
//   relation holds and 0 elsewhere, and `where` treats any non-zero condition as true.

#include <optional>

#include "core/tensor.h"

namespace normgrad::kernels {

// The strides that read `t` as if it had shape `shape` (t's shape broadcast to it): 0 on the dims that
// t lacks or has as size 1. Throws "op: expected a shape broadcastable to [..], got [..]" otherwise.
Strides BroadcastStrides(const Tensor& t, const Shape& shape, const char* op);

// ---- binary arithmetic: out = a (op) b, shape = broadcast(a.shape, b.shape)
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
// a ^ b elementwise (floating types); x^0.5 is computed as sqrt, x^2 as x*x, and so on, exactly.
Tensor pow(const Tensor& a, const Tensor& b);

// ---- with a scalar: out = a (op) s, or s (op) a
Tensor add(const Tensor& a, double s);
Tensor sub(const Tensor& a, double s);
Tensor sub(double s, const Tensor& a);
Tensor mul(const Tensor& a, double s);
Tensor div(const Tensor& a, double s);
Tensor div(double s, const Tensor& a);
Tensor pow(const Tensor& a, double exponent);

// ---- unary
Tensor neg(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor relu(const Tensor& x);     // max(x, 0); NaN stays NaN
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);    // 1 / sqrt(x)
Tensor sigmoid(const Tensor& x);  // 1 / (1 + e^-x)
Tensor tanh(const Tensor& x);
Tensor erf(const Tensor& x);   // the error function, 2 / sqrt(pi) * integral of e^(-t^2) from 0 to x
// min(max(x, lo), hi) with either bound optional (both absent: a copy). NaN stays NaN; lo > hi gives hi.
Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi);

// relu(a + b) in one pass (the same values as relu(add(a, b))); a and b broadcast, one dtype.
Tensor add_relu(const Tensor& a, const Tensor& b);

// relu's backward in one pass: 0 where output <= 0, else grad (output = relu(x), so where x > 0, and where
// x is NaN, as PyTorch's threshold_backward). grad and output broadcast together and have one dtype, which
// the result has.
Tensor relu_backward(const Tensor& grad, const Tensor& output);
// The same written into grad (output broadcast to grad's shape), as the in-place writes below.
void relu_backward_(const Tensor& grad, const Tensor& output);

// ---- comparisons: 1 where the relation holds, 0 elsewhere, in the inputs' dtype (see above)
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

// out = cond != 0 ? a : b, all three broadcast together. cond may have any dtype; a and b share one,
// which the output has.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

// ---- writing into existing tensors. The destination keeps its shape: the source must broadcast to it,
// and the destination may not have broadcast (stride-0) dims. A source that shares storage with the
// destination through a different view is copied first, so overlapping views give the same result as
// distinct tensors. These do not bump the storage version (the autograd layer does).
// dst = value
void fill_(const Tensor& dst, double value);
// dst = src, src broadcast to dst's shape and converted to dst's dtype.
void copy_(const Tensor& dst, const Tensor& src);
// dst = dst (op) src (same dtype), or dst (op) s.
void add_(const Tensor& dst, const Tensor& src);
void sub_(const Tensor& dst, const Tensor& src);
void mul_(const Tensor& dst, const Tensor& src);
void div_(const Tensor& dst, const Tensor& src);
void add_(const Tensor& dst, double s);
void sub_(const Tensor& dst, double s);
void mul_(const Tensor& dst, double s);
void div_(const Tensor& dst, double s);

// x converted to `dtype` in a new contiguous tensor; x itself when it already has that dtype.
// Float to int64 truncates toward zero.
Tensor to_dtype(const Tensor& x, DType dtype);

}  // namespace normgrad::kernels

#endif  // NORMGRAD_CORE_KERNELS_ELEMENTWISE_H_
