#ifndef NORMGRAD_OPTIM_CLIP_GRAD_H_
#define NORMGRAD_OPTIM_CLIP_GRAD_H_

#include <limits>
#include <vector>

#include "core/tensor.h"

namespace normgrad::optim {

inline constexpr double kInfNorm = std::numeric_limits<double>::infinity();

// torch.nn.utils.clip_grad_norm_: the norm of all gradients taken together (the norm of the per-tensor
// norms; norm_type 2 by default, kInfNorm for the largest magnitude), and, when it exceeds max_norm,
// every gradient scaled in place by max_norm / (norm + 1e-6). Parameters without a gradient are skipped.
// Returns the norm before clipping. A NaN anywhere makes the norm NaN and, as in PyTorch, every gradient
// NaN. Throws for max_norm < 0 or norm_type <= 0.
double ClipGradNorm(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0);

}  // namespace normgrad::optim

#endif  // NORMGRAD_OPTIM_CLIP_GRAD_H_
