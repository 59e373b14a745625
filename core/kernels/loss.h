#ifndef NORMGRAD_CORE_KERNELS_LOSS_H_
#define NORMGRAD_CORE_KERNELS_LOSS_H_

// Tensor-level classification losses over logits or log-probabilities [N, C] with int64 class targets
// [N], per sample (the reductions and autograd are in nn/functional/loss.h), and accuracy counting.
// float32 and float64; inputs of any strides. Errors:
//   "cross_entropy: expected logits of 2 dims [N, C], got [10]"
//   "cross_entropy: expected target of dtype int64 (class indices), got float32"
//   "cross_entropy: expected target of shape [4], got [4, 1]"
//   "cross_entropy: expected target values in [0, 10) or ignore_index (-100), got 12 at index 3"
//   "cross_entropy: expected label_smoothing in [0, 1], got 1.5"

#include <cstdint>
#include <optional>

#include "core/tensor.h"

namespace normgrad::kernels {

// PyTorch's default ignore_index: a sample whose target is -100 counts for nothing.
inline constexpr int64_t kIgnoreIndex = -100;

// Checks input [N, C] (floating) against target (int64 [N], values in [0, C), or ignore_index when given);
// `input_name` is how the message calls the input ("logits", "log_probs"). Returns the number of samples
// whose target is not ignore_index.
int64_t CheckClassTarget(const char* op, const char* input_name, const Tensor& input, const Tensor& target,
                         std::optional<int64_t> ignore_index = std::nullopt);

// Per-sample cross-entropy with label smoothing e, [N]: logsumexp(x_i) - (1 - e) x[i, t_i] - e/C sum_c x[i, c]
// (the cross-entropy of softmax(x_i) against 1 - e on the target class plus e spread uniformly), 0 where
// the target is ignore_index. With `counted`, also stores the number of samples not ignored there (from
// the target check, so that a mean over them needs no second read of the target).
Tensor cross_entropy(const Tensor& logits, const Tensor& target, double label_smoothing = 0.0,
                     int64_t ignore_index = kIgnoreIndex, int64_t* counted = nullptr);

// d/dlogits of sum_i g_i loss_i with g_i = scale * grad_loss[i] (grad_loss [N]) or scale * grad_loss
// (grad_loss a one-element tensor, as after a mean or sum): g_i (softmax(x_i) - q_i), q_i the smoothed
// target distribution; 0 in the rows whose target is ignore_index.
Tensor cross_entropy_backward(const Tensor& grad_loss, const Tensor& logits, const Tensor& target,
                              double label_smoothing, double scale, int64_t ignore_index = kIgnoreIndex);

// Per-sample negative log-likelihood, [N]: -log_probs[i, target[i]], 0 where the target is ignore_index;
// `counted` as for cross_entropy.
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, int64_t ignore_index = kIgnoreIndex,
                int64_t* counted = nullptr);

// [N, classes] of `dtype`: 1 at (i, target[i]), 0 elsewhere; a row of zeros where the target is
// ignore_index (when given). Other targets must be in [0, classes).
Tensor one_hot(const Tensor& target, int64_t classes, DType dtype, std::optional<int64_t> ignore_index = std::nullopt);

// How many rows of logits [N, C] have their target among the k largest values (k = 1: the first argmax
// equals the target; ties rank the smaller class index higher). Error: "count_correct: expected k >= 1, got 0".
int64_t count_correct(const Tensor& logits, const Tensor& target, int64_t k = 1);

}  // namespace normgrad::kernels

#endif  // NORMGRAD_CORE_KERNELS_LOSS_H_
