// Elementwise kernels; the per-element formulas are those of core/cpu/elementwise.cc, written for the
// device (same special cases, so CPU and CUDA agree to the last bit wherever the math library does).

#include <type_traits>

#include "core/cuda/device_math.h"
#include "core/cuda/elementwise.h"
#include "core/cuda/launch.h"
#include "core/cuda/strided.h"

namespace normgrad::cuda {
namespace {

using cpu::BinaryOp;
using cpu::Operand;
using cpu::UnaryOp;

bool NeedsFloat(UnaryOp op) { return op != UnaryOp::kNeg && op != UnaryOp::kAbs && op != UnaryOp::kRelu; }
bool NeedsFloat(BinaryOp op) { return op == BinaryOp::kDiv || op == BinaryOp::kPow; }

template <typename T>
__device__ __forceinline__ T Sigmoid(T x) {
  // For x < 0, e^-x could overflow; e^x / (1 + e^x) is the same value computed from a small e^x.
  if (x >= T(0)) return T(1) / (T(1) + Exp(-x));
  const T e = Exp(x);
  return e / (T(1) + e);
}

// The host rejects floating-point-only ops on int64 before launching, so the int64 kernels never reach
// the floating branches.
template <typename T>
__device__ __forceinline__ T ApplyUnary(UnaryOp op, T x) {
  switch (op) {
    case UnaryOp::kNeg: return -x;
    case UnaryOp::kAbs: return x < T(0) ? -x : x;
    case UnaryOp::kRelu: return x < T(0) ? T(0) : x;
    default: break;
  }
  if constexpr (std::is_floating_point_v<T>) {
    switch (op) {
      case UnaryOp::kExp: return Exp(x);
      case UnaryOp::kLog: return Log(x);
      case UnaryOp::kSqrt: return Sqrt(x);
      case UnaryOp::kRsqrt: return T(1) / Sqrt(x);
      case UnaryOp::kSigmoid: return Sigmoid(x);
      case UnaryOp::kTanh: return Tanh(x);
      case UnaryOp::kErf: return Erf(x);
      default: break;
    }
  }
  return x;
}

template <typename T>
__device__ __forceinline__ T ApplyBinary(BinaryOp op, T x, T y) {
  switch (op) {
    case BinaryOp::kAdd: return x + y;
    case BinaryOp::kSub: return x - y;
    case BinaryOp::kMul: return x * y;
    case BinaryOp::kEq: return T(x == y);
    case BinaryOp::kNe: return T(x != y);
    case BinaryOp::kLt: return T(x < y);
    case BinaryOp::kLe: return T(x <= y);
    case BinaryOp::kGt: return T(x > y);
    case BinaryOp::kGe: return T(x >= y);
    default: break;
  }
  if constexpr (std::is_floating_point_v<T>) {
    switch (op) {
      case BinaryOp::kDiv: return x / y;
      case BinaryOp::kPow: return Pow(x, y);
      default: break;
    }
  }
  return x;
}

// x ^ s for a fixed exponent, with the exact forms of the common exponents (x^0.5 is sqrt(x)).
template <typename T>
__device__ __forceinline__ T PowScalar(T x, T s) {
  if (s == T(2)) return x * x;
  if (s == T(3)) return x * x * x;
  if (s == T(1)) return x;
  if (s == T(0)) return T(1);
  if (s == T(0.5)) return Sqrt(x);
  if (s == T(-0.5)) return T(1) / Sqrt(x);
  if (s == T(-1)) return T(1) / x;
  if (s == T(-2)) return T(1) / (x * x);
  return Pow(x, s);
}

template <typename T>
__device__ __forceinline__ T& At(char* base, int64_t offset) {
  return *reinterpret_cast<T*>(base + offset);
}

template <typename T>
__global__ void UnaryKernel(UnaryOp op, StridedPlan<2> plan) {
  for (int64_t i = GlobalThreadIndex(); i < plan.numel; i += GridStride()) {
    int64_t off[2];
    plan.Offsets(i, off);
    At<T>(plan.base[0], off[0]) = ApplyUnary(op, At<T>(plan.base[1], off[1]));
  }
}

template <typename T>
__global__ void BinaryKernel(BinaryOp op, StridedPlan<3> plan) {
  for (int64_t i = GlobalThreadIndex(); i < plan.numel; i += GridStride()) {
    int64_t off[3];
    plan.Offsets(i, off);
    At<T>(plan.base[0], off[0]) = ApplyBinary(op, At<T>(plan.base[1], off[1]), At<T>(plan.base[2], off[2]));
  }
}

template <typename T>
__global__ void BinaryScalarKernel(BinaryOp op, StridedPlan<2> plan, T s, bool scalar_first) {
  for (int64_t i = GlobalThreadIndex(); i < plan.numel; i += GridStride()) {
    int64_t off[2];
    plan.Offsets(i, off);
    const T x = At<T>(plan.base[1], off[1]);
    T y;
    if constexpr (std::is_floating_point_v<T>) {
      y = op == BinaryOp::kPow && !scalar_first ? PowScalar(x, s)
                                                : (scalar_first ? ApplyBinary(op, s, x) : ApplyBinary(op, x, s));
    } else {
      y = scalar_first ? ApplyBinary(op, s, x) : ApplyBinary(op, x, s);
    }
    At<T>(plan.base[0], off[0]) = y;
  }
}

template <typename T>
__global__ void ClampKernel(StridedPlan<2> plan, bool has_lo, T lo, bool has_hi, T hi) {
  for (int64_t i = GlobalThreadIndex(); i < plan.numel; i += GridStride()) {
    int64_t off[2];
    plan.Offsets(i, off);
    T y = At<T>(plan.base[1], off[1]);
    if (has_lo) y = y < lo ? lo : y;
    if (has_hi) y = y > hi ? hi : y;
    At<T>(plan.base[0], off[0]) = y;
  }
}

template <typename C, typename T>
__global__ void WhereKernel(StridedPlan<4> plan) {
  for (int64_t i = GlobalThreadIndex(); i < plan.numel; i += GridStride()) {
    int64_t off[4];
    plan.Offsets(i, off);
    const bool c = At<C>(plan.base[1], off[1]) != C(0);
    At<T>(plan.base[0], off[0]) = c ? At<T>(plan.base[2], off[2]) : At<T>(plan.base[3], off[3]);
  }
}

template <typename T>
__global__ void FillKernel(StridedPlan<1> plan, T value) {
  for (int64_t i = GlobalThreadIndex(); i < plan.numel; i += GridStride()) {
    int64_t off[1];
    plan.Offsets(i, off);
    At<T>(plan.base[0], off[0]) = value;
  }
}

template <typename To, typename Ti>
__global__ void ConvertKernel(StridedPlan<2> plan) {
  for (int64_t i = GlobalThreadIndex(); i < plan.numel; i += GridStride()) {
    int64_t off[2];
    plan.Offsets(i, off);
    At<To>(plan.base[0], off[0]) = static_cast<To>(At<Ti>(plan.base[1], off[1]));
  }
}

void CheckFloatOp(bool needs_float, DType dtype, const char* op) {
  NG_CHECK(!needs_float || IsFloating(dtype), op, ": operation not available for dtype ", DTypeName(dtype));
}

}  // namespace

void Unary(UnaryOp op, DType dtype, const Shape& shape, const Operand& out, const Operand& a) {
  CheckFloatOp(NeedsFloat(op), dtype, "cuda::Unary");
  VisitDType(dtype, [&]<typename T>() {
    const auto plan = MakeStridedPlan<2>(shape, {out, a}, {sizeof(T), sizeof(T)}, "cuda::Unary");
    if (plan.numel > 0) Launch<UnaryKernel<T>>(GridSize(plan.numel), kBlockSize, op, plan);
  });
}

void Binary(BinaryOp op, DType dtype, const Shape& shape, const Operand& out, const Operand& a, const Operand& b) {
  CheckFloatOp(NeedsFloat(op), dtype, "cuda::Binary");
  VisitDType(dtype, [&]<typename T>() {
    const auto plan = MakeStridedPlan<3>(shape, {out, a, b}, {sizeof(T), sizeof(T), sizeof(T)}, "cuda::Binary");
    if (plan.numel > 0) Launch<BinaryKernel<T>>(GridSize(plan.numel), kBlockSize, op, plan);
  });
}

void BinaryScalar(BinaryOp op, DType dtype, const Shape& shape, const Operand& out, const Operand& a,
                  double scalar, bool scalar_first) {
  CheckFloatOp(NeedsFloat(op), dtype, "cuda::BinaryScalar");
  VisitDType(dtype, [&]<typename T>() {
    const auto plan = MakeStridedPlan<2>(shape, {out, a}, {sizeof(T), sizeof(T)}, "cuda::BinaryScalar");
    if (plan.numel > 0) {
      Launch<BinaryScalarKernel<T>>(GridSize(plan.numel), kBlockSize, op, plan, static_cast<T>(scalar),
                                    scalar_first);
    }
  });
}

void Clamp(DType dtype, const Shape& shape, const Operand& out, const Operand& a, std::optional<double> lo,
           std::optional<double> hi) {
  VisitDType(dtype, [&]<typename T>() {
    const auto plan = MakeStridedPlan<2>(shape, {out, a}, {sizeof(T), sizeof(T)}, "cuda::Clamp");
    if (plan.numel > 0) {
      Launch<ClampKernel<T>>(GridSize(plan.numel), kBlockSize, plan, lo.has_value(),
                             static_cast<T>(lo.value_or(0)), hi.has_value(), static_cast<T>(hi.value_or(0)));
    }
  });
}

void Where(DType cond_dtype, DType dtype, const Shape& shape, const Operand& out, const Operand& cond,
           const Operand& a, const Operand& b) {
  VisitDType(cond_dtype, [&]<typename C>() {
    VisitDType(dtype, [&]<typename T>() {
      const auto plan = MakeStridedPlan<4>(shape, {out, cond, a, b}, {sizeof(T), sizeof(C), sizeof(T), sizeof(T)},
                                           "cuda::Where");
      if (plan.numel > 0) Launch<WhereKernel<C, T>>(GridSize(plan.numel), kBlockSize, plan);
    });
  });
}

void Fill(DType dtype, const Shape& shape, const Operand& out, double value) {
  VisitDType(dtype, [&]<typename T>() {
    const auto plan = MakeStridedPlan<1>(shape, {out}, {sizeof(T)}, "cuda::Fill");
    if (plan.numel > 0) Launch<FillKernel<T>>(GridSize(plan.numel), kBlockSize, plan, static_cast<T>(value));
  });
}

void Convert(DType out_dtype, DType in_dtype, const Shape& shape, const Operand& out, const Operand& a) {
  VisitDType(out_dtype, [&]<typename To>() {
    VisitDType(in_dtype, [&]<typename Ti>() {
      const auto plan = MakeStridedPlan<2>(shape, {out, a}, {sizeof(To), sizeof(Ti)}, "cuda::Convert");
      if (plan.numel > 0) Launch<ConvertKernel<To, Ti>>(GridSize(plan.numel), kBlockSize, plan);
    });
  });
}

}  // namespace normgrad::cuda
