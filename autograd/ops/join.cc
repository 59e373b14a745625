#include "autograd/ops/join.h"

#include "autograd/node.h"
#include "autograd/ops/view.h"
#include "core/kernels/join.h"

namespace normgrad {

using autograd::BackwardContext;
using autograd::Record;
using Grads = std::vector<Tensor>;

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  Tensor out = kernels::cat(tensors, dim);
  const int64_t d = dim < 0 ? dim + out.dim() : dim;
  std::vector<int64_t> sizes;
  for (const Tensor& t : tensors) sizes.push_back(t.size(d));
  return Record("CatBackward", std::move(out), tensors, [d, sizes](const BackwardContext& ctx) -> Grads {
    Grads grads;
    int64_t start = 0;
    for (size_t i = 0; i < sizes.size(); ++i) {
      grads.push_back(ctx.needs(i) ? narrow(ctx.grad, d, start, sizes[i]) : Tensor());
      start += sizes[i];
    }
    return grads;
  });
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  Tensor out = kernels::stack(tensors, dim);
  const int64_t d = dim < 0 ? dim + out.dim() : dim;
  return Record("StackBackward", std::move(out), tensors, [d](const BackwardContext& ctx) -> Grads {
    Grads grads;
    for (size_t i = 0; i < ctx.edges.size(); ++i) {
      grads.push_back(ctx.needs(i) ? select(ctx.grad, d, static_cast<int64_t>(i)) : Tensor());
    }
    return grads;
  });
}

}  // namespace normgrad
