#include "autograd/ops/linalg.h"

#include "autograd/node.h"
#include "autograd/ops/reduce.h"
#include "autograd/ops/view.h"
#include "core/kernels/linalg.h"

namespace normgrad {

using autograd::BackwardContext;
using autograd::Record;
using autograd::Save;
using Grads = std::vector<Tensor>;

namespace {

// C = A B for operands of rank >= 2 (batch dims broadcast): dA = dC B^T, dB = A^T dC, each summed back
// over the batch dims its operand was broadcast along.
Tensor MatmulRecord(const char* name, Tensor out, const Tensor& a, const Tensor& b) {
  return Record(name, std::move(out), {a, b}, [sa = Save(a), sb = Save(b)](const BackwardContext& ctx) -> Grads {
    const Tensor &a = sa.get(), &b = sb.get();
    return {ctx.needs(0) ? sum_to(matmul(ctx.grad, transpose(b, -1, -2)), a.shape()) : Tensor(),
            ctx.needs(1) ? sum_to(matmul(transpose(a, -1, -2), ctx.grad), b.shape()) : Tensor()};
  });
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  Tensor out = kernels::matmul(a, b);  // checks the arguments
  if (a.dim() >= 2 && b.dim() >= 2) return MatmulRecord("MatmulBackward", std::move(out), a, b);
  // A 1-d operand is a matrix with an added dim that the result drops: differentiate through that view.
  const Tensor a2 = a.dim() == 1 ? unsqueeze(a, 0) : a;
  const Tensor b2 = b.dim() == 1 ? unsqueeze(b, 1) : b;
  Tensor product = matmul(a2, b2);
  if (b.dim() == 1) product = squeeze(product, -1);
  if (a.dim() == 1) product = squeeze(product, b.dim() == 1 ? -1 : -2);
  return product;
}

Tensor bmm(const Tensor& a, const Tensor& b) { return MatmulRecord("BmmBackward", kernels::bmm(a, b), a, b); }

}  // namespace normgrad
