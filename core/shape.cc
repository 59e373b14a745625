#include "core/shape.h"

#include <algorithm>

#include "absl/strings/str_join.h"
#include "core/error.h"

namespace normgrad {

int64_t Numel(const Shape& shape) {
  // The product of the non-zero sizes must fit too, even where a 0 makes the tensor empty: strides are
  // products of sizes.
  int64_t nonzero = 1;
  bool any_zero = false;
  for (int64_t s : shape) {
    if (s == 0) {
      any_zero = true;
    } else {
      NG_CHECK(!__builtin_mul_overflow(nonzero, s, &nonzero), "expected a shape of fewer than 2^63 elements, got ",
               ShapeToString(shape));
    }
  }
  return any_zero ? 0 : nonzero;
}

Strides ContiguousStrides(const Shape& shape) {
  Strides strides(shape.size());
  int64_t stride = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= std::max<int64_t>(shape[i], 1);
  }
  return strides;
}

std::string ShapeToString(const Shape& shape) { return absl::StrCat("[", absl::StrJoin(shape, ", "), "]"); }

int64_t NormalizeDim(int64_t dim, int64_t rank, std::string_view op) {
  const int64_t lo = rank == 0 ? -1 : -rank;
  const int64_t hi = rank == 0 ? 1 : rank;
  NG_CHECK(dim >= lo && dim < hi, op, ": expected dim in [", lo, ", ", hi, "), got ", dim);
  return dim < 0 ? dim + std::max<int64_t>(rank, 1) : dim;
}

Shape BroadcastShapes(const Shape& a, const Shape& b, std::string_view op) {
  const size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t sa = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t sb = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    NG_CHECK(sa == sb || sa == 1 || sb == 1, op, ": expected broadcastable shapes, got ", ShapeToString(a),
             " and ", ShapeToString(b));
    out[i] = sa == 1 ? sb : sa;
  }
  return out;
}

}  // namespace normgrad
