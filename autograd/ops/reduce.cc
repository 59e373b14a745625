#include "autograd/ops/reduce.h"

#include "autograd/node.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/view.h"
#include "core/kernels/elementwise.h"
#include "core/kernels/view.h"

namespace normgrad {

using autograd::BackwardContext;
using autograd::Record;
using autograd::Save;
using Grads = std::vector<Tensor>;

namespace {

// The reduced result's gradient `g` reshaped to keepdim form and broadcast back to `shape`.
Tensor ExpandBack(const Tensor& g, const Shape& shape, const std::vector<bool>& mask) {
  return expand(reshape(g, kernels::ReducedShape(shape, mask, /*keepdim=*/true)), shape);
}

int64_t ReducedCount(const Shape& shape, const std::vector<bool>& mask) {
  int64_t count = 1;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (mask[d]) count *= shape[d];
  }
  return count;
}

// amax/amin backward: the gradient shared equally among the elements equal to the extreme.
Tensor ExtremeBackward(const Tensor& g, const Tensor& x, const Tensor& out, const std::vector<bool>& mask) {
  const Shape kept = kernels::ReducedShape(x.shape(), mask, /*keepdim=*/true);
  const Tensor hit = kernels::eq(x, kernels::reshape(out.detach(), kept));
  const Tensor ties = kernels::sum(hit, /*dims=*/[&] {
    std::vector<int64_t> dims;
    for (size_t d = 0; d < mask.size(); ++d) {
      if (mask[d]) dims.push_back(static_cast<int64_t>(d));
    }
    return dims;
  }(), /*keepdim=*/true);
  return mul(ExpandBack(g, x.shape(), mask), kernels::div(hit, ties));
}

// One-hot mask along `dim` at `indices` (keepdim form), in x's dtype.
Tensor IndexMask(const Tensor& x, int64_t dim, const Tensor& indices_keepdim) {
  Shape along(x.dim(), 1);
  along[dim] = x.size(dim);
  const Tensor positions = kernels::reshape(arange(x.size(dim), {.dtype = kInt64, .device = x.device()}), along);
  return kernels::to_dtype(kernels::eq(positions, indices_keepdim), x.dtype());
}

int64_t WrapDim(int64_t dim, int64_t rank) { return dim < 0 ? dim + rank : dim; }

kernels::ValuesIndices MaxMin(const Tensor& x, int64_t dim, bool keepdim, bool is_max) {
  kernels::ValuesIndices r = is_max ? kernels::max(x, dim, keepdim) : kernels::min(x, dim, keepdim);
  const int64_t d = WrapDim(dim, x.dim());
  const Tensor indices_keepdim = keepdim ? r.indices : kernels::unsqueeze(r.indices, d);
  r.values = Record(is_max ? "MaxBackward" : "MinBackward", r.values, {x},
                    [d, keepdim, shape = x.shape(), mask = IndexMask(x, d, indices_keepdim)](
                        const BackwardContext& ctx) -> Grads {
                      const Tensor g = keepdim ? ctx.grad : unsqueeze(ctx.grad, d);
                      return {mul(expand(g, shape), mask)};
                    });
  return r;
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  const std::vector<bool> mask = kernels::ReduceMask(dims, x.dim(), "sum");
  return Record("SumBackward", kernels::sum(x, dims, keepdim), {x},
                [mask, shape = x.shape()](const BackwardContext& ctx) -> Grads {
                  return {ExpandBack(ctx.grad, shape, mask)};
                });
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  const std::vector<bool> mask = kernels::ReduceMask(dims, x.dim(), "mean");
  return Record("MeanBackward", kernels::mean(x, dims, keepdim), {x},
                [mask, shape = x.shape()](const BackwardContext& ctx) -> Grads {
                  return {div(ExpandBack(ctx.grad, shape, mask), static_cast<double>(ReducedCount(shape, mask)))};
                });
}

Tensor var(const Tensor& x, const std::vector<int64_t>& dims, double correction, bool keepdim) {
  const std::vector<bool> mask = kernels::ReduceMask(dims, x.dim(), "var");
  return Record("VarBackward", kernels::var(x, dims, correction, keepdim), {x},
                [mask, dims, correction, sx = Save(x)](const BackwardContext& ctx) -> Grads {
                  const Tensor& x = sx.get();
                  const double denominator = static_cast<double>(ReducedCount(x.shape(), mask)) - correction;
                  const Tensor centered = sub(x, mean(x, dims, /*keepdim=*/true));
                  return {mul(ExpandBack(ctx.grad, x.shape(), mask), mul(centered, 2.0 / denominator))};
                });
}

Tensor amax(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  const std::vector<bool> mask = kernels::ReduceMask(dims, x.dim(), "amax");
  return Record(
      "AmaxBackward", kernels::amax(x, dims, keepdim), {x},
      [mask, sx = Save(x)](const BackwardContext& ctx) -> Grads {
        return {ExtremeBackward(ctx.grad, sx.get(), ctx.output, mask)};
      },
      /*keep_output=*/true);
}

Tensor amin(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  const std::vector<bool> mask = kernels::ReduceMask(dims, x.dim(), "amin");
  return Record(
      "AminBackward", kernels::amin(x, dims, keepdim), {x},
      [mask, sx = Save(x)](const BackwardContext& ctx) -> Grads {
        return {ExtremeBackward(ctx.grad, sx.get(), ctx.output, mask)};
      },
      /*keep_output=*/true);
}

kernels::ValuesIndices max(const Tensor& x, int64_t dim, bool keepdim) { return MaxMin(x, dim, keepdim, true); }
kernels::ValuesIndices min(const Tensor& x, int64_t dim, bool keepdim) { return MaxMin(x, dim, keepdim, false); }

Tensor argmax(const Tensor& x) { return kernels::argmax(x); }
Tensor argmin(const Tensor& x) { return kernels::argmin(x); }
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) { return kernels::argmax(x, dim, keepdim); }
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim) { return kernels::argmin(x, dim, keepdim); }

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  const int64_t lead = x.dim() - static_cast<int64_t>(shape.size());
  bool ok = lead >= 0;
  std::vector<int64_t> dims;
  for (int64_t d = 0; ok && d < x.dim(); ++d) {
    if (d < lead) {
      dims.push_back(d);
    } else if (shape[d - lead] == 1 && x.size(d) != 1) {
      dims.push_back(d);
    } else {
      ok = shape[d - lead] == x.size(d) || shape[d - lead] == 1;
    }
  }
  NG_CHECK(ok, "sum_to: expected a shape that ", ShapeToString(x.shape()), " broadcasts from, got ",
           ShapeToString(shape));
  return reshape(sum(x, dims, /*keepdim=*/true), shape);
}

}  // namespace normgrad
