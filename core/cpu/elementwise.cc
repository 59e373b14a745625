#include "core/cpu/elementwise.h"

#include <cmath>
#include <cstdint>
#include <type_traits>

namespace normgrad::cpu {
namespace {

// Row functions: the first branch (all unit strides) and the broadcast-scalar branches are the ones
// the compiler vectorizes; the last branch walks any strides.
template <typename To, typename Ti, typename F>
struct UnaryRow {
  F f;
  void operator()(const std::array<char*, 2>& p, const std::array<int64_t, 2>& s, int64_t n) const {
    To* out = reinterpret_cast<To*>(p[0]);
    const Ti* a = reinterpret_cast<const Ti*>(p[1]);
    if (s[0] == sizeof(To) && s[1] == sizeof(Ti)) {
      for (int64_t i = 0; i < n; ++i) out[i] = f(a[i]);
    } else if (s[0] == sizeof(To) && s[1] == 0) {
      const To v = f(*a);
      for (int64_t i = 0; i < n; ++i) out[i] = v;
    } else {
      for (int64_t i = 0; i < n; ++i) {
        *reinterpret_cast<To*>(p[0] + i * s[0]) = f(*reinterpret_cast<const Ti*>(p[1] + i * s[1]));
      }
    }
  }
};

template <typename T, typename F>
struct BinaryRow {
  F f;
  void operator()(const std::array<char*, 3>& p, const std::array<int64_t, 3>& s, int64_t n) const {
    T* out = reinterpret_cast<T*>(p[0]);
    const T* a = reinterpret_cast<const T*>(p[1]);
    const T* b = reinterpret_cast<const T*>(p[2]);
    constexpr int64_t k = sizeof(T);
    if (s[0] == k && s[1] == k && s[2] == k) {
      for (int64_t i = 0; i < n; ++i) out[i] = f(a[i], b[i]);
    } else if (s[0] == k && s[1] == k && s[2] == 0) {
      const T bv = *b;
      for (int64_t i = 0; i < n; ++i) out[i] = f(a[i], bv);
    } else if (s[0] == k && s[1] == 0 && s[2] == k) {
      const T av = *a;
      for (int64_t i = 0; i < n; ++i) out[i] = f(av, b[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) {
        *reinterpret_cast<T*>(p[0] + i * s[0]) =
            f(*reinterpret_cast<const T*>(p[1] + i * s[1]), *reinterpret_cast<const T*>(p[2] + i * s[2]));
      }
    }
  }
};

template <typename To, typename Ti, typename F>
void RunUnary(const Shape& shape, const Operand& out, const Operand& a, F f) {
  ForEachElement<2>(shape, {out, a}, {sizeof(To), sizeof(Ti)}, UnaryRow<To, Ti, F>{f});
}

template <typename T, typename F>
void RunBinary(const Shape& shape, const Operand& out, const Operand& a, const Operand& b, F f) {
  ForEachElement<3>(shape, {out, a, b}, {sizeof(T), sizeof(T), sizeof(T)}, BinaryRow<T, F>{f});
}

template <typename T>
T Sigmoid(T x) {
  // For x < 0, e^-x could overflow; e^x / (1 + e^x) is the same value computed from a small e^x.
  if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
  const T e = std::exp(x);
  return e / (T(1) + e);
}

template <typename T>
void UnaryTyped(UnaryOp op, const Shape& shape, const Operand& out, const Operand& a) {
  switch (op) {
    case UnaryOp::kNeg: return RunUnary<T, T>(shape, out, a, [](T x) { return -x; });
    case UnaryOp::kAbs: return RunUnary<T, T>(shape, out, a, [](T x) { return x < T(0) ? -x : x; });
    case UnaryOp::kRelu: return RunUnary<T, T>(shape, out, a, [](T x) { return x < T(0) ? T(0) : x; });
    default: break;
  }
  if constexpr (std::is_floating_point_v<T>) {
    switch (op) {
      case UnaryOp::kExp: return RunUnary<T, T>(shape, out, a, [](T x) { return std::exp(x); });
      case UnaryOp::kLog: return RunUnary<T, T>(shape, out, a, [](T x) { return std::log(x); });
      case UnaryOp::kSqrt: return RunUnary<T, T>(shape, out, a, [](T x) { return std::sqrt(x); });
      case UnaryOp::kRsqrt: return RunUnary<T, T>(shape, out, a, [](T x) { return T(1) / std::sqrt(x); });
      case UnaryOp::kSigmoid: return RunUnary<T, T>(shape, out, a, [](T x) { return Sigmoid(x); });
      case UnaryOp::kTanh: return RunUnary<T, T>(shape, out, a, [](T x) { return std::tanh(x); });
      case UnaryOp::kErf: return RunUnary<T, T>(shape, out, a, [](T x) { return std::erf(x); });
      default: break;
    }
  }
  Fail("cpu::Unary: operation not available for dtype ", DTypeName(DTypeOf<T>()));
}

template <typename T>
void BinaryTyped(BinaryOp op, const Shape& shape, const Operand& out, const Operand& a, const Operand& b) {
  switch (op) {
    case BinaryOp::kAdd: return RunBinary<T>(shape, out, a, b, [](T x, T y) { return x + y; });
    case BinaryOp::kSub: return RunBinary<T>(shape, out, a, b, [](T x, T y) { return x - y; });
    case BinaryOp::kMul: return RunBinary<T>(shape, out, a, b, [](T x, T y) { return x * y; });
    case BinaryOp::kEq: return RunBinary<T>(shape, out, a, b, [](T x, T y) { return T(x == y); });
    case BinaryOp::kNe: return RunBinary<T>(shape, out, a, b, [](T x, T y) { return T(x != y); });
    case BinaryOp::kLt: return RunBinary<T>(shape, out, a, b, [](T x, T y) { return T(x < y); });
    case BinaryOp::kLe: return RunBinary<T>(shape, out, a, b, [](T x, T y) { return T(x <= y); });
    case BinaryOp::kGt: return RunBinary<T>(shape, out, a, b, [](T x, T y) { return T(x > y); });
    case BinaryOp::kGe: return RunBinary<T>(shape, out, a, b, [](T x, T y) { return T(x >= y); });
    default: break;
  }
  if constexpr (std::is_floating_point_v<T>) {
    switch (op) {
      case BinaryOp::kDiv: return RunBinary<T>(shape, out, a, b, [](T x, T y) { return x / y; });
      case BinaryOp::kPow: return RunBinary<T>(shape, out, a, b, [](T x, T y) { return std::pow(x, y); });
      default: break;
    }
  }
  Fail("cpu::Binary: operation not available for dtype ", DTypeName(DTypeOf<T>()));
}

// a ^ s for a fixed exponent: the common exponents get exact and vectorizable forms (as PyTorch does,
// so x^0.5 is sqrt(x), including sqrt(-0) = -0).
template <typename T>
void PowScalar(const Shape& shape, const Operand& out, const Operand& a, T s) {
  if (s == T(2)) return RunUnary<T, T>(shape, out, a, [](T x) { return x * x; });
  if (s == T(3)) return RunUnary<T, T>(shape, out, a, [](T x) { return x * x * x; });
  if (s == T(1)) return RunUnary<T, T>(shape, out, a, [](T x) { return x; });
  if (s == T(0)) return RunUnary<T, T>(shape, out, a, [](T) { return T(1); });
  if (s == T(0.5)) return RunUnary<T, T>(shape, out, a, [](T x) { return std::sqrt(x); });
  if (s == T(-0.5)) return RunUnary<T, T>(shape, out, a, [](T x) { return T(1) / std::sqrt(x); });
  if (s == T(-1)) return RunUnary<T, T>(shape, out, a, [](T x) { return T(1) / x; });
  if (s == T(-2)) return RunUnary<T, T>(shape, out, a, [](T x) { return T(1) / (x * x); });
  RunUnary<T, T>(shape, out, a, [s](T x) { return std::pow(x, s); });
}

template <typename T>
void BinaryScalarTyped(BinaryOp op, const Shape& shape, const Operand& out, const Operand& a, T s,
                       bool scalar_first) {
  // Each op is written once as f(x, y) and applied as f(a, s) or f(s, a).
  auto run = [&](auto f) {
    if (scalar_first) {
      RunUnary<T, T>(shape, out, a, [f, s](T x) { return f(s, x); });
    } else {
      RunUnary<T, T>(shape, out, a, [f, s](T x) { return f(x, s); });
    }
  };
  switch (op) {
    case BinaryOp::kAdd: return run([](T x, T y) { return x + y; });
    case BinaryOp::kSub: return run([](T x, T y) { return x - y; });
    case BinaryOp::kMul: return run([](T x, T y) { return x * y; });
    case BinaryOp::kEq: return run([](T x, T y) { return T(x == y); });
    case BinaryOp::kNe: return run([](T x, T y) { return T(x != y); });
    case BinaryOp::kLt: return run([](T x, T y) { return T(x < y); });
    case BinaryOp::kLe: return run([](T x, T y) { return T(x <= y); });
    case BinaryOp::kGt: return run([](T x, T y) { return T(x > y); });
    case BinaryOp::kGe: return run([](T x, T y) { return T(x >= y); });
    default: break;
  }
  if constexpr (std::is_floating_point_v<T>) {
    switch (op) {
      case BinaryOp::kDiv: return run([](T x, T y) { return x / y; });
      case BinaryOp::kPow:
        if (!scalar_first) return PowScalar<T>(shape, out, a, s);
        return run([](T x, T y) { return std::pow(x, y); });
      default: break;
    }
  }
  Fail("cpu::BinaryScalar: operation not available for dtype ", DTypeName(DTypeOf<T>()));
}

}  // namespace

void Unary(UnaryOp op, DType dtype, const Shape& shape, const Operand& out, const Operand& a) {
  VisitDType(dtype, [&]<typename T>() { UnaryTyped<T>(op, shape, out, a); });
}

void Binary(BinaryOp op, DType dtype, const Shape& shape, const Operand& out, const Operand& a,
            const Operand& b) {
  VisitDType(dtype, [&]<typename T>() { BinaryTyped<T>(op, shape, out, a, b); });
}

void BinaryScalar(BinaryOp op, DType dtype, const Shape& shape, const Operand& out, const Operand& a,
                  double scalar, bool scalar_first) {
  VisitDType(dtype, [&]<typename T>() {
    BinaryScalarTyped<T>(op, shape, out, a, static_cast<T>(scalar), scalar_first);
  });
}

void Clamp(DType dtype, const Shape& shape, const Operand& out, const Operand& a, std::optional<double> lo,
           std::optional<double> hi) {
  VisitDType(dtype, [&]<typename T>() {
    if (lo && hi) {
      const T l = static_cast<T>(*lo), h = static_cast<T>(*hi);
      RunUnary<T, T>(shape, out, a, [l, h](T x) {
        const T y = x < l ? l : x;
        return y > h ? h : y;
      });
    } else if (lo) {
      const T l = static_cast<T>(*lo);
      RunUnary<T, T>(shape, out, a, [l](T x) { return x < l ? l : x; });
    } else if (hi) {
      const T h = static_cast<T>(*hi);
      RunUnary<T, T>(shape, out, a, [h](T x) { return x > h ? h : x; });
    } else {
      RunUnary<T, T>(shape, out, a, [](T x) { return x; });
    }
  });
}

void AddRelu(DType dtype, const Shape& shape, const Operand& out, const Operand& a, const Operand& b) {
  VisitDType(dtype, [&]<typename T>() {
    RunBinary<T>(shape, out, a, b, [](T x, T y) {
      const T s = x + y;
      return s < T(0) ? T(0) : s;  // as kRelu: NaN stays NaN
    });
  });
}

void ReluBackward(DType dtype, const Shape& shape, const Operand& out, const Operand& grad, const Operand& output) {
  VisitDType(dtype, [&]<typename T>() {
    RunBinary<T>(shape, out, grad, output, [](T g, T y) { return y <= T(0) ? T(0) : g; });
  });
}

namespace {

template <typename C, typename T>
struct WhereRow {
  void operator()(const std::array<char*, 4>& p, const std::array<int64_t, 4>& s, int64_t n) const {
    if (s[0] == sizeof(T) && s[1] == sizeof(C) && s[2] == sizeof(T) && s[3] == sizeof(T)) {
      T* out = reinterpret_cast<T*>(p[0]);
      const C* c = reinterpret_cast<const C*>(p[1]);
      const T* a = reinterpret_cast<const T*>(p[2]);
      const T* b = reinterpret_cast<const T*>(p[3]);
      for (int64_t i = 0; i < n; ++i) out[i] = c[i] != C(0) ? a[i] : b[i];
      return;
    }
    for (int64_t i = 0; i < n; ++i) {
      const bool c = *reinterpret_cast<const C*>(p[1] + i * s[1]) != C(0);
      *reinterpret_cast<T*>(p[0] + i * s[0]) = *reinterpret_cast<const T*>(p[c ? 2 : 3] + i * s[c ? 2 : 3]);
    }
  }
};

}  // namespace

void Where(DType cond_dtype, DType dtype, const Shape& shape, const Operand& out, const Operand& cond,
           const Operand& a, const Operand& b) {
  VisitDType(cond_dtype, [&]<typename C>() {
    VisitDType(dtype, [&]<typename T>() {
      ForEachElement<4>(shape, {out, cond, a, b}, {sizeof(T), sizeof(C), sizeof(T), sizeof(T)},
                        WhereRow<C, T>{});
    });
  });
}

void Fill(DType dtype, const Shape& shape, const Operand& out, double value) {
  VisitDType(dtype, [&]<typename T>() {
    const T v = static_cast<T>(value);
    ForEachElement<1>(shape, {out}, {sizeof(T)},
                      [v](const std::array<char*, 1>& p, const std::array<int64_t, 1>& s, int64_t n) {
                        if (s[0] == sizeof(T)) {
                          T* o = reinterpret_cast<T*>(p[0]);
                          for (int64_t i = 0; i < n; ++i) o[i] = v;
                        } else {
                          for (int64_t i = 0; i < n; ++i) *reinterpret_cast<T*>(p[0] + i * s[0]) = v;
                        }
                      });
  });
}

void Convert(DType out_dtype, DType in_dtype, const Shape& shape, const Operand& out, const Operand& a) {
  VisitDType(out_dtype, [&]<typename To>() {
    VisitDType(in_dtype, [&]<typename Ti>() {
      RunUnary<To, Ti>(shape, out, a, [](Ti x) { return static_cast<To>(x); });
    });
  });
}

}  // namespace normgrad::cpu
