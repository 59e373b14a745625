#include "core/kernels/view.h"

#include <algorithm>

#include "core/kernels/copy.h"

namespace normgrad::kernels {
namespace {

Tensor Alias(const Tensor& x, Shape shape, Strides strides, int64_t offset) {
  return x.AliasWithGeometry(std::move(shape), std::move(strides), offset);
}

void CheckHasDims(const Tensor& x, const char* op) {
  NG_CHECK(x.dim() >= 1, op, ": expected a tensor with at least 1 dim, got a scalar (shape [])");
}

}  // namespace

Shape InferShape(const Shape& shape, int64_t numel, const char* op) {
  Shape out = shape;
  int64_t known = 1, infer_at = -1;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == -1) {
      NG_CHECK(infer_at < 0, op, ": expected at most one -1 in the shape, got ", ShapeToString(shape));
      infer_at = static_cast<int64_t>(d);
    } else {
      NG_CHECK(shape[d] >= 0, op, ": expected sizes >= 0 or -1, got ", ShapeToString(shape));
      NG_CHECK(!__builtin_mul_overflow(known, shape[d], &known), op, ": expected a shape with ", numel,
               " elements, got ", ShapeToString(shape));
    }
  }
  if (infer_at >= 0) {
    NG_CHECK(known != 0, op, ": expected a shape whose -1 can be inferred, got ", ShapeToString(shape),
             " for ", numel, " elements");
    NG_CHECK(numel % known == 0, op, ": expected a shape with ", numel, " elements, got ",
             ShapeToString(shape));
    out[infer_at] = numel / known;
  }
  NG_CHECK(Numel(out) == numel, op, ": expected a shape with ", numel, " elements, got ",
           ShapeToString(shape));
  return out;
}

// Walks both shapes from the innermost dim. x's dims fall into chunks that are contiguous among
// themselves (each dim's stride is the next one's stride times its size); the new shape must split into
// groups with the same element counts, which then step through the chunk with row-major strides scaled
// by the chunk's innermost stride.
std::optional<Strides> ViewStrides(const Shape& shape, const Strides& strides, const Shape& new_shape) {
  if (Numel(shape) == 0 || shape.empty()) return ContiguousStrides(new_shape);
  Strides out(new_shape.size());
  int64_t view_d = static_cast<int64_t>(new_shape.size()) - 1;
  int64_t chunk_stride = strides.back(), chunk_numel = 1, view_numel = 1;
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    chunk_numel *= shape[d];
    const bool chunk_ends = d == 0 || (shape[d - 1] != 1 && strides[d - 1] != chunk_numel * chunk_stride);
    if (!chunk_ends) continue;
    while (view_d >= 0 && (view_numel < chunk_numel || new_shape[view_d] == 1)) {
      out[view_d] = view_numel * chunk_stride;
      view_numel *= new_shape[view_d];
      --view_d;
    }
    if (view_numel != chunk_numel) return std::nullopt;
    if (d > 0) {
      chunk_stride = strides[d - 1];
      chunk_numel = 1;
      view_numel = 1;
    }
  }
  if (view_d != -1) return std::nullopt;
  return out;
}

Tensor view(const Tensor& x, const Shape& shape) {
  const Shape target = InferShape(shape, x.numel(), "view");
  std::optional<Strides> strides = ViewStrides(x.shape(), x.strides(), target);
  NG_CHECK(strides.has_value(), "view: expected a shape compatible with the input's strides, got ",
           ShapeToString(shape), " for shape ", ShapeToString(x.shape()), " and strides ",
           ShapeToString(x.strides()), "; call reshape (which copies) instead");
  return Alias(x, target, *strides, x.storage_offset());
}

Tensor reshape(const Tensor& x, const Shape& shape) {
  const Shape target = InferShape(shape, x.numel(), "reshape");
  if (std::optional<Strides> strides = ViewStrides(x.shape(), x.strides(), target)) {
    return Alias(x, target, *strides, x.storage_offset());
  }
  const Tensor copy = clone(x);
  return Alias(copy, target, ContiguousStrides(target), 0);
}

Tensor flatten(const Tensor& x, int64_t start_dim, int64_t end_dim) {
  if (x.dim() == 0) return reshape(x, {1});
  const int64_t start = NormalizeDim(start_dim, x.dim(), "flatten");
  const int64_t end = NormalizeDim(end_dim, x.dim(), "flatten");
  NG_CHECK(start <= end, "flatten: expected start_dim <= end_dim, got ", start_dim, " and ", end_dim);
  Shape shape(x.shape().begin(), x.shape().begin() + start);
  int64_t merged = 1;
  for (int64_t d = start; d <= end; ++d) merged *= x.size(d);
  shape.push_back(merged);
  shape.insert(shape.end(), x.shape().begin() + end + 1, x.shape().end());
  return reshape(x, shape);
}

Tensor permute(const Tensor& x, const std::vector<int64_t>& dims) {
  const int64_t rank = x.dim();
  std::vector<bool> seen(rank, false);
  bool valid = static_cast<int64_t>(dims.size()) == rank;
  Shape shape;
  Strides strides;
  for (size_t i = 0; valid && i < dims.size(); ++i) {
    const int64_t d = dims[i] < 0 ? dims[i] + rank : dims[i];
    valid = d >= 0 && d < rank && !seen[d];
    if (!valid) break;
    seen[d] = true;
    shape.push_back(x.size(d));
    strides.push_back(x.stride(d));
  }
  NG_CHECK(valid, "permute: expected a permutation of the ", rank, " dims, got ", ShapeToString(dims));
  return Alias(x, shape, strides, x.storage_offset());
}

Tensor transpose(const Tensor& x, int64_t d0, int64_t d1) {
  const int64_t a = NormalizeDim(d0, x.dim(), "transpose"), b = NormalizeDim(d1, x.dim(), "transpose");
  Shape shape = x.shape();
  Strides strides = x.strides();
  if (x.dim() > 0) {
    std::swap(shape[a], shape[b]);
    std::swap(strides[a], strides[b]);
  }
  return Alias(x, shape, strides, x.storage_offset());
}

Tensor t(const Tensor& x) {
  NG_CHECK(x.dim() <= 2, "t: expected a tensor with at most 2 dims, got ", ShapeToString(x.shape()));
  return x.dim() == 2 ? transpose(x, 0, 1) : Alias(x, x.shape(), x.strides(), x.storage_offset());
}

Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length) {
  CheckHasDims(x, "narrow");
  const int64_t d = NormalizeDim(dim, x.dim(), "narrow");
  const int64_t size = x.size(d);
  NG_CHECK(start >= -size && start <= size, "narrow: expected start in [", -size, ", ", size, "] in dim ", d,
           ", got ", start);
  if (start < 0) start += size;
  NG_CHECK(length >= 0 && length <= size - start, "narrow: expected start + length <= ", size, " in dim ", d,
           ", got start ", start, " and length ", length);
  Shape shape = x.shape();
  shape[d] = length;
  return Alias(x, shape, x.strides(), x.storage_offset() + start * x.stride(d));
}

Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step) {
  CheckHasDims(x, "slice");
  const int64_t d = NormalizeDim(dim, x.dim(), "slice");
  NG_CHECK(step > 0, "slice: expected a positive step, got ", step);
  const int64_t size = x.size(d);
  auto clamp = [size](int64_t i) { return std::clamp<int64_t>(i < 0 ? i + size : i, 0, size); };
  start = clamp(start);
  end = std::max(start, clamp(end));
  Shape shape = x.shape();
  Strides strides = x.strides();
  shape[d] = (end - start + step - 1) / step;
  strides[d] *= step;
  return Alias(x, shape, strides, x.storage_offset() + start * x.stride(d));
}

Tensor select(const Tensor& x, int64_t dim, int64_t index) {
  CheckHasDims(x, "select");
  const int64_t d = NormalizeDim(dim, x.dim(), "select");
  const int64_t size = x.size(d);
  NG_CHECK(index >= -size && index < size, "select: expected index in [", -size, ", ", size, ") for dim ", d,
           " of size ", size, ", got ", index);
  if (index < 0) index += size;
  Shape shape = x.shape();
  Strides strides = x.strides();
  shape.erase(shape.begin() + d);
  strides.erase(strides.begin() + d);
  return Alias(x, shape, strides, x.storage_offset() + index * x.stride(d));
}

Tensor squeeze(const Tensor& x) {
  Shape shape;
  Strides strides;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (x.size(d) == 1) continue;
    shape.push_back(x.size(d));
    strides.push_back(x.stride(d));
  }
  return Alias(x, shape, strides, x.storage_offset());
}

Tensor squeeze(const Tensor& x, int64_t dim) {
  const int64_t d = NormalizeDim(dim, x.dim(), "squeeze");
  Shape shape = x.shape();
  Strides strides = x.strides();
  if (x.dim() > 0 && shape[d] == 1) {
    shape.erase(shape.begin() + d);
    strides.erase(strides.begin() + d);
  }
  return Alias(x, shape, strides, x.storage_offset());
}

Tensor unsqueeze(const Tensor& x, int64_t dim) {
  const int64_t d = NormalizeDim(dim, x.dim() + 1, "unsqueeze");
  Shape shape = x.shape();
  Strides strides = x.strides();
  // Any stride works for a size-1 dim; this one keeps a contiguous x contiguous.
  const int64_t stride = d < x.dim() ? x.stride(d) * x.size(d) : 1;
  shape.insert(shape.begin() + d, 1);
  strides.insert(strides.begin() + d, stride);
  return Alias(x, shape, strides, x.storage_offset());
}

Tensor expand(const Tensor& x, const Shape& shape) {
  const int64_t rank = static_cast<int64_t>(shape.size()), lead = rank - x.dim();
  NG_CHECK(lead >= 0, "expand: expected a target of at least ", x.dim(), " dims, got ", ShapeToString(shape),
           " for shape ", ShapeToString(x.shape()));
  Shape out_shape(rank);
  Strides out_strides(rank);
  for (int64_t d = 0; d < rank; ++d) {
    if (d < lead) {
      NG_CHECK(shape[d] >= 0, "expand: expected a size >= 0 for the new leading dim ", d, ", got ",
               ShapeToString(shape));
      out_shape[d] = shape[d];
      out_strides[d] = 0;
      continue;
    }
    const int64_t size = x.size(d - lead);
    const int64_t target = shape[d] == -1 ? size : shape[d];
    NG_CHECK(target == size || (size == 1 && target >= 0), "expand: expected size ", size,
             " (or an input size of 1) in dim ", d, ", got shape ", ShapeToString(x.shape()), " and target ",
             ShapeToString(shape));
    out_shape[d] = target;
    out_strides[d] = target == size ? x.stride(d - lead) : 0;
  }
  return Alias(x, out_shape, out_strides, x.storage_offset());
}

}  // namespace normgrad::kernels
