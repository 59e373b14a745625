#ifndef NORMGRAD_CORE_KERNELS_LINALG_H_
#define NORMGRAD_CORE_KERNELS_LINALG_H_

#include "core/tensor.h"

namespace normgrad::kernels {

// Matrix products with torch.matmul's semantics (non-differentiable; see autograd/ops/linalg.h):
//   [k] · [k] -> [] (dot);  [n, k] · [k, m] -> [n, m];
//   a 1-d operand is promoted to a matrix ([k] -> [1, k] on the left, [k, 1] on the right) and the added
//   dim is removed from the result;  [..., n, k] · [..., k, m] -> [..., n, m] with the batch dims
//   broadcast (NumPy rules).
// float32/float64 run on OpenBLAS (a transposed or row-sliced operand is passed to BLAS as it lies; other
// layouts are copied first); int64 is supported with an exact plain loop.
// Errors: "matmul: expected tensors with at least 1 dim, got [] and [3]";
//   "matmul: expected tensors of the same dtype, got float32 and float64";
//   "matmul: expected the inner dimensions to match, got [3, 4] and [5, 2]";
//   "matmul: expected broadcastable batch dims, got [2, 3, 4] and [3, 4, 5]".
Tensor matmul(const Tensor& a, const Tensor& b);

// [B, n, k] · [B, k, m] -> [B, n, m], no broadcasting.
// Errors: "bmm: expected 3-d tensors, got [3, 4] and [2, 4, 5]";
//   "bmm: expected the same batch size, got [2, 3, 4] and [3, 4, 5]";
//   "bmm: expected the inner dimensions to match, got [2, 3, 4] and [2, 5, 6]"; dtype as for matmul.
Tensor bmm(const Tensor& a, const Tensor& b);

}  // namespace normgrad::kernels

#endif  // NORMGRAD_CORE_KERNELS_LINALG_H_
