#ifndef NORMGRAD_CORE_SHAPE_H_
#define NORMGRAD_CORE_SHAPE_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace normgrad {

// Sizes and strides are counted in elements, outermost dimension first.
using Shape = std::vector<int64_t>;
using Strides = std::vector<int64_t>;

// Product of the sizes; 1 for a scalar (rank 0).
int64_t Numel(const Shape& shape);

// Row-major strides for `shape`.
Strides ContiguousStrides(const Shape& shape);

// "[2, 3, 4]"; a scalar prints as "[]".
std::string ShapeToString(const Shape& shape);

// Maps a possibly negative `dim` into [0, rank); throws "op: expected dim in [-rank, rank), got d".
int64_t NormalizeDim(int64_t dim, int64_t rank, std::string_view op);

// NumPy broadcasting of two shapes: sizes align from the right and must be equal or 1.
// Throws "op: expected broadcastable shapes, got [2, 3] and [4]".
Shape BroadcastShapes(const Shape& a, const Shape& b, std::string_view op);

}  // namespace normgrad

#endif  // NORMGRAD_CORE_SHAPE_H_
