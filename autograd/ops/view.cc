#include "autograd/ops/view.h"

#include "autograd/node.h"
#include "autograd/ops/reduce.h"
#include "core/kernels/copy.h"
#include "core/kernels/elementwise.h"
#include "core/kernels/view.h"

namespace normgrad {

using autograd::BackwardContext;
using autograd::Record;
using Grads = std::vector<Tensor>;

namespace {

// The backward of every op that only changes the shape: the gradient reshaped back.
Tensor ReshapeRecord(const char* name, Tensor out, const Tensor& x) {
  return Record(name, std::move(out), {x}, [shape = x.shape()](const BackwardContext& ctx) -> Grads {
    return {reshape(ctx.grad, shape)};
  });
}

int64_t WrapDim(int64_t dim, int64_t rank) { return dim < 0 ? dim + rank : dim; }

// The gradient of a view that takes the window slice(x, dim, start, end, step) of an x of `shape`: zeros
// with `grad` in the window. When backward is not being recorded, one fill and one copy (slice_scatter
// would copy the zeros once more).
Tensor ZerosWithWindow(const Shape& shape, const Tensor& grad, int64_t dim, int64_t start, int64_t end,
                       int64_t step = 1) {
  Tensor out = zeros(shape, {.dtype = grad.dtype(), .device = grad.device()});
  if (GradMode::is_enabled()) return slice_scatter(out, grad, dim, start, end, step);
  kernels::copy_(kernels::slice(out, dim, start, end, step), grad);
  return out;
}

}  // namespace

Tensor view(const Tensor& x, const Shape& shape) { return ReshapeRecord("ViewBackward", kernels::view(x, shape), x); }

Tensor reshape(const Tensor& x, const Shape& shape) {
  return ReshapeRecord("ReshapeBackward", kernels::reshape(x, shape), x);
}

Tensor flatten(const Tensor& x, int64_t start_dim, int64_t end_dim) {
  return ReshapeRecord("FlattenBackward", kernels::flatten(x, start_dim, end_dim), x);
}

Tensor squeeze(const Tensor& x) { return ReshapeRecord("SqueezeBackward", kernels::squeeze(x), x); }
Tensor squeeze(const Tensor& x, int64_t dim) { return ReshapeRecord("SqueezeBackward", kernels::squeeze(x, dim), x); }
Tensor unsqueeze(const Tensor& x, int64_t dim) {
  return ReshapeRecord("UnsqueezeBackward", kernels::unsqueeze(x, dim), x);
}

Tensor permute(const Tensor& x, const std::vector<int64_t>& dims) {
  Tensor out = kernels::permute(x, dims);
  std::vector<int64_t> inverse(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) inverse[WrapDim(dims[i], x.dim())] = static_cast<int64_t>(i);
  return Record("PermuteBackward", std::move(out), {x},
                [inverse](const BackwardContext& ctx) -> Grads { return {permute(ctx.grad, inverse)}; });
}

Tensor transpose(const Tensor& x, int64_t d0, int64_t d1) {
  return Record("TransposeBackward", kernels::transpose(x, d0, d1), {x},
                [d0, d1](const BackwardContext& ctx) -> Grads { return {transpose(ctx.grad, d0, d1)}; });
}

Tensor t(const Tensor& x) {
  return Record("TBackward", kernels::t(x), {x}, [](const BackwardContext& ctx) -> Grads { return {t(ctx.grad)}; });
}

Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step) {
  return Record("SliceBackward", kernels::slice(x, dim, start, end, step), {x},
                [=, shape = x.shape()](const BackwardContext& ctx) -> Grads {
                  return {ZerosWithWindow(shape, ctx.grad, dim, start, end, step)};
                });
}

Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length) {
  Tensor out = kernels::narrow(x, dim, start, length);
  if (start < 0) start += x.size(dim);
  return Record("NarrowBackward", std::move(out), {x}, [=, shape = x.shape()](const BackwardContext& ctx) -> Grads {
    return {ZerosWithWindow(shape, ctx.grad, dim, start, start + length)};
  });
}

Tensor select(const Tensor& x, int64_t dim, int64_t index) {
  Tensor out = kernels::select(x, dim, index);
  const int64_t d = WrapDim(dim, x.dim());
  if (index < 0) index += x.size(d);
  return Record("SelectBackward", std::move(out), {x}, [=, shape = x.shape()](const BackwardContext& ctx) -> Grads {
    return {ZerosWithWindow(shape, unsqueeze(ctx.grad, d), d, index, index + 1)};
  });
}

Tensor expand(const Tensor& x, const Shape& shape) {
  return Record("ExpandBackward", kernels::expand(x, shape), {x},
                [in = x.shape()](const BackwardContext& ctx) -> Grads { return {sum_to(ctx.grad, in)}; });
}

Tensor slice_scatter(const Tensor& input, const Tensor& src, int64_t dim, int64_t start, int64_t end, int64_t step) {
  Tensor out = kernels::clone(input);
  const Tensor window = kernels::slice(out, dim, start, end, step);
  NG_CHECK(window.shape() == src.shape(), "slice_scatter: expected src of shape ", ShapeToString(window.shape()),
           ", got ", ShapeToString(src.shape()));
  NG_CHECK(src.dtype() == input.dtype(), "slice_scatter: expected src of dtype ", DTypeName(input.dtype()), ", got ",
           DTypeName(src.dtype()));
  kernels::copy_(window, src);
  return Record("SliceScatterBackward", std::move(out), {input, src}, [=](const BackwardContext& ctx) -> Grads {
    Tensor g_input, g_src;
    const Tensor g_window = slice(ctx.grad, dim, start, end, step);
    if (ctx.needs(0)) {
      g_input = slice_scatter(ctx.grad, zeros(g_window.shape(), {.dtype = ctx.grad.dtype(), .device = ctx.grad.device()}), dim, start, end, step);
    }
    if (ctx.needs(1)) g_src = g_window;
    return {g_input, g_src};
  });
}

Tensor contiguous(const Tensor& x) {
  if (x.is_contiguous()) return x;
  return Record("ContiguousBackward", kernels::contiguous(x), {x},
                [](const BackwardContext& ctx) -> Grads { return {ctx.grad}; });
}

Tensor clone(const Tensor& x) {
  return Record("CloneBackward", kernels::clone(x), {x},
                [](const BackwardContext& ctx) -> Grads { return {ctx.grad}; });
}

}  // namespace normgrad
