#ifndef NORMGRAD_CORE_KERNELS_JOIN_H_
#define NORMGRAD_CORE_KERNELS_JOIN_H_

#include <vector>

#include "core/tensor.h"

namespace normgrad::kernels {

// The tensors joined along `dim` (torch.cat): all have the same dtype and rank (>= 1) and equal sizes in
// every other dim; out.size(dim) is the sum of theirs. Tensors of size 0 in `dim` are allowed.
// Errors: "cat: expected a non-empty list of tensors"; "cat: expected tensors with at least 1 dim, got a
// scalar (tensor 0)"; "cat: expected tensors of the same dtype, got float32 (tensor 0) and float64
// (tensor 1)"; "cat: expected tensors of the same rank, got [2, 3] (tensor 0) and [3] (tensor 1)";
// "cat: expected the same size in every dim but 1, got [2, 3] (tensor 0) and [3, 3] (tensor 1)".
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim);

// The tensors, all of the same shape, joined along a new dim `dim` in [-(rank + 1), rank + 1)
// (torch.stack). Errors: "stack: expected a non-empty list of tensors"; "stack: expected tensors of the
// same shape, got [2, 3] (tensor 0) and [3, 2] (tensor 1)"; dtype as for cat.
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim);

}  // namespace normgrad::kernels

#endif  // NORMGRAD_CORE_KERNELS_JOIN_H_
