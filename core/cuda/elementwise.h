#ifndef NORMGRAD_CORE_CUDA_ELEMENTWISE_H_
#define NORMGRAD_CORE_CUDA_ELEMENTWISE_H_

// The elementwise kernels of core/cpu/elementwise.h on a CUDA device: the same functions, arguments and
// results (operands hold device pointers), so that core/kernels/elementwise.cc picks one set or the other
// by the tensors' device. Each is one grid-stride kernel over the strided plan of core/cuda/strided.h,
// queued on the default stream.

#include <optional>

#include "core/cpu/elementwise.h"

namespace normgrad::cuda {

void Unary(cpu::UnaryOp op, DType dtype, const Shape& shape, const cpu::Operand& out, const cpu::Operand& a);
void Binary(cpu::BinaryOp op, DType dtype, const Shape& shape, const cpu::Operand& out, const cpu::Operand& a,
            const cpu::Operand& b);
void BinaryScalar(cpu::BinaryOp op, DType dtype, const Shape& shape, const cpu::Operand& out,
                  const cpu::Operand& a, double scalar, bool scalar_first);
void Clamp(DType dtype, const Shape& shape, const cpu::Operand& out, const cpu::Operand& a,
           std::optional<double> lo, std::optional<double> hi);
void Where(DType cond_dtype, DType dtype, const Shape& shape, const cpu::Operand& out, const cpu::Operand& cond,
           const cpu::Operand& a, const cpu::Operand& b);
void Fill(DType dtype, const Shape& shape, const cpu::Operand& out, double value);
void Convert(DType out_dtype, DType in_dtype, const Shape& shape, const cpu::Operand& out, const cpu::Operand& a);

}  // namespace normgrad::cuda

#endif  // NORMGRAD_CORE_CUDA_ELEMENTWISE_H_
