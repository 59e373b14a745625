#ifndef NORMGRAD_CORE_CPU_ELEMENTWISE_H_
#define NORMGRAD_CORE_CPU_ELEMENTWISE_H_

// Raw elementwise kernels over strided operands (see core/cpu/loops.h for the iteration engine).
//
// Shape legend: every kernel runs over one `shape`; each Operand carries one element stride per dim of
// that shape, 0 where the operand is broadcast. Output operands must not have stride 0 on a dim of size
// > 1 and must not partially overlap an input (the tensor-level kernels in core/kernels/ see to both).
// All operands have the same dtype unless said otherwise; callers check dtypes.

#include <optional>

#include "core/cpu/loops.h"
#include "core/dtype.h"
#include "core/shape.h"

namespace normgrad::cpu {

enum class UnaryOp {
  kNeg,      // -x
  kAbs,      // |x|
  kRelu,     // max(x, 0); NaN stays NaN
  kExp,      // e^x                       (floating types only, as are the ones below)
  kLog,      // ln x
  kSqrt,     // sqrt x
  kRsqrt,    // 1 / sqrt x
  kSigmoid,  // 1 / (1 + e^-x), evaluated without overflow for either sign of x
  kTanh,     // tanh x
  kErf,      // erf x = 2 / sqrt(pi) * integral of e^(-t^2) from 0 to x
};

enum class BinaryOp {
  kAdd, kSub, kMul,
  kDiv,  // floating types only
  kPow,  // floating types only; a^b with exact fast paths for b in {0.5, 1, 2, 3, -0.5, -1, -2}
  // Comparisons write 1 where the relation holds and 0 elsewhere, in the operands' dtype.
  kEq, kNe, kLt, kLe, kGt, kGe,
};

// out = op(a)
void Unary(UnaryOp op, DType dtype, const Shape& shape, const Operand& out, const Operand& a);

// out = op(a, b)
void Binary(BinaryOp op, DType dtype, const Shape& shape, const Operand& out, const Operand& a,
            const Operand& b);

// out = op(a, scalar), or op(scalar, a) with scalar_first. The scalar is converted to `dtype` first
// (callers check that an int64 operation gets an integral scalar).
void BinaryScalar(BinaryOp op, DType dtype, const Shape& shape, const Operand& out, const Operand& a,
                  double scalar, bool scalar_first);

// out = min(max(a, lo), hi), each bound optional; NaN stays NaN; lo > hi gives hi (as torch.clamp).
void Clamp(DType dtype, const Shape& shape, const Operand& out, const Operand& a, std::optional<double> lo,
           std::optional<double> hi);

// out = relu(a + b), rounded as relu of the rounded sum.
void AddRelu(DType dtype, const Shape& shape, const Operand& out, const Operand& a, const Operand& b);

// out = output <= 0 ? 0 : grad (NaN output: grad), relu's gradient from the gradient of its output and the output
// itself.
void ReluBackward(DType dtype, const Shape& shape, const Operand& out, const Operand& grad, const Operand& output);

// out = cond != 0 ? a : b. `cond` has dtype cond_dtype; a, b and out have dtype `dtype`.
void Where(DType cond_dtype, DType dtype, const Shape& shape, const Operand& out, const Operand& cond,
           const Operand& a, const Operand& b);

// out = value (converted to dtype).
void Fill(DType dtype, const Shape& shape, const Operand& out, double value);

// out = static_cast<out_dtype>(a). Float to int64 truncates toward zero; values outside int64's range
// (and NaN) have no defined result.
void Convert(DType out_dtype, DType in_dtype, const Shape& shape, const Operand& out, const Operand& a);

}  // namespace normgrad::cpu

#endif  // NORMGRAD_CORE_CPU_ELEMENTWISE_H_
