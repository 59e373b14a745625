#include "core/kernels/join.h"

#include "core/kernels/device_copy.h"
#include "core/kernels/view.h"

namespace normgrad::kernels {
namespace {

void CheckDTypes(const std::vector<Tensor>& tensors, const char* op) {
  NG_CHECK(!tensors.empty(), op, ": expected a non-empty list of tensors");
  for (size_t i = 1; i < tensors.size(); ++i) {
    NG_CHECK(tensors[i].dtype() == tensors[0].dtype(), op, ": expected tensors of the same dtype, got ",
             DTypeName(tensors[0].dtype()), " (tensor 0) and ", DTypeName(tensors[i].dtype()), " (tensor ", i,
             ")");
  }
}

}  // namespace

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  CheckDTypes(tensors, "cat");
  const Tensor& first = tensors[0];
  NG_CHECK(first.dim() >= 1, "cat: expected tensors with at least 1 dim, got a scalar (tensor 0)");
  const int64_t d = NormalizeDim(dim, first.dim(), "cat");
  Shape shape = first.shape();
  shape[d] = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& x = tensors[i];
    NG_CHECK(x.device() == first.device(), "cat: expected tensors on the same device, got ", first.device(),
             " (tensor 0) and ", x.device(), " (tensor ", i, ")");
    NG_CHECK(x.dim() == first.dim(), "cat: expected tensors of the same rank, got ",
             ShapeToString(first.shape()), " (tensor 0) and ", ShapeToString(x.shape()), " (tensor ", i, ")");
    for (int64_t j = 0; j < x.dim(); ++j) {
      NG_CHECK(j == d || x.size(j) == first.size(j), "cat: expected the same size in every dim but ", d,
               ", got ", ShapeToString(first.shape()), " (tensor 0) and ", ShapeToString(x.shape()),
               " (tensor ", i, ")");
    }
    shape[d] += x.size(d);
  }
  Tensor out = empty(shape, {.dtype = first.dtype(), .device = first.device()});
  int64_t offset = 0;
  for (const Tensor& x : tensors) {
    const Tensor part = narrow(out, d, offset, x.size(d));
    StridedCopy(part, x);
    offset += x.size(d);
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  CheckDTypes(tensors, "stack");
  const int64_t d = NormalizeDim(dim, tensors[0].dim() + 1, "stack");
  std::vector<Tensor> columns;
  columns.reserve(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    NG_CHECK(tensors[i].shape() == tensors[0].shape(), "stack: expected tensors of the same shape, got ",
             ShapeToString(tensors[0].shape()), " (tensor 0) and ", ShapeToString(tensors[i].shape()),
             " (tensor ", i, ")");
    columns.push_back(unsqueeze(tensors[i], d));
  }
  return cat(columns, d);
}

}  // namespace normgrad::kernels
