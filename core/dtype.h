#ifndef NORMGRAD_CORE_DTYPE_H_
#define NORMGRAD_CORE_DTYPE_H_

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string_view>
#include <type_traits>

#include "core/error.h"

namespace normgrad {

// Element types: float32 for training, float64 for gradient checks, int64 for labels and indices.
enum class DType : uint8_t { kFloat32, kFloat64, kInt64 };

inline constexpr DType kFloat32 = DType::kFloat32;
inline constexpr DType kFloat64 = DType::kFloat64;
inline constexpr DType kInt64 = DType::kInt64;

constexpr size_t ItemSize(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return 4;
    case DType::kFloat64: return 8;
    case DType::kInt64: return 8;
  }
  return 0;
}

constexpr const char* DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return "float32";
    case DType::kFloat64: return "float64";
    case DType::kInt64: return "int64";
  }
  return "?";
}

constexpr bool IsFloating(DType dtype) { return dtype != DType::kInt64; }

inline std::ostream& operator<<(std::ostream& os, DType dtype) { return os << DTypeName(dtype); }

template <typename T>
constexpr DType DTypeOf() {
  if constexpr (std::is_same_v<T, float>) return DType::kFloat32;
  else if constexpr (std::is_same_v<T, double>) return DType::kFloat64;
  else {
    static_assert(std::is_same_v<T, int64_t>, "normgrad tensors hold float, double or int64_t");
    return DType::kInt64;
  }
}

// Calls `fn.template operator()<T>()` with T the C++ type of `dtype`:
//   VisitDType(x.dtype(), [&]<typename T>() { Fill<T>(x); });
template <typename Fn>
decltype(auto) VisitDType(DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::kFloat32: return fn.template operator()<float>();
    case DType::kFloat64: return fn.template operator()<double>();
    case DType::kInt64: return fn.template operator()<int64_t>();
  }
  __builtin_unreachable();
}

// The same for the floating types only; int64 is reported as an error naming `op`.
template <typename Fn>
decltype(auto) VisitFloatDType(DType dtype, std::string_view op, Fn&& fn) {
  switch (dtype) {
    case DType::kFloat32: return fn.template operator()<float>();
    case DType::kFloat64: return fn.template operator()<double>();
    case DType::kInt64: break;
  }
  Fail(op, ": expected a floating-point tensor (float32 or float64), got int64");
}

}  // namespace normgrad

#endif  // NORMGRAD_CORE_DTYPE_H_
