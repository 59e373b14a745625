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
//   "cross_entropy: expected weight of shape [10] (one per class), got [3]"
//   "cross_entropy: expected weight of dtype float32 (the logits'), got float64"
// A per-class `weight` [C] is optional everywhere: an undefined tensor weighs every class 1.

#include <cstdint>
#include <optional>

#include "core/tensor.h"

namespace normgrad::kernels {

// PyTorch's default ignore_index: a sample whose target is -100 counts for nothing.
inline constexpr int64_t kIgnoreIndex = -100;

// The samples whose target is not ignore_index: how many, and their total weight sum_i weight[target[i]]
// (their number without a weight), which a mean divides by.
struct TargetTotals {
  int64_t counted = 0;
  double weight = 0;
};

// Checks input [N, C] (floating) against target (int64 [N], values in [0, C), or ignore_index when given)
// and weight ([C], the input's dtype and device, when defined); `input_name` is how the message calls the
// input ("logits", "log_probs").
TargetTotals CheckClassTarget(const char* op, const char* input_name, const Tensor& input, const Tensor& target,
                              std::optional<int64_t> ignore_index = std::nullopt, const Tensor& weight = Tensor());

// Per-sample cross-entropy with label smoothing e and class weights w, [N]:
//   (1 - e) w_t (logsumexp(x_i) - x[i, t]) + e / C sum_c w_c (logsumexp(x_i) - x[i, c]),  t = target[i]
// (without weights, the cross-entropy of softmax(x_i) against 1 - e on the target class plus e spread
// uniformly), 0 where the target is ignore_index. With `totals`, also stores CheckClassTarget's totals
// there (so that a mean needs no second read of the target).
Tensor cross_entropy(const Tensor& logits, const Tensor& target, double label_smoothing = 0.0,
                     int64_t ignore_index = kIgnoreIndex, const Tensor& weight = Tensor(),
                     TargetTotals* totals = nullptr);

// d/dlogits of sum_i g_i loss_i with g_i = scale * grad_loss[i] (grad_loss [N]) or scale * grad_loss
// (grad_loss a one-element tensor, as after a mean or sum): g_i (softmax(x_i) sum_c q_c - q_i), q_i the
// weighted, smoothed target distribution; 0 in the rows whose target is ignore_index.
Tensor cross_entropy_backward(const Tensor& grad_loss, const Tensor& logits, const Tensor& target,
                              double label_smoothing, double scale, int64_t ignore_index = kIgnoreIndex,
                              const Tensor& weight = Tensor());

// Per-sample negative log-likelihood, [N]: -w_t log_probs[i, t] with t = target[i], 0 where the target is
// ignore_index; `totals` as for cross_entropy.
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, int64_t ignore_index = kIgnoreIndex,
                const Tensor& weight = Tensor(), TargetTotals* totals = nullptr);

// [N, classes] of `dtype`: 1 at (i, target[i]), 0 elsewhere; a row of zeros where the target is
// ignore_index (when given). Other targets must be in [0, classes).
Tensor one_hot(const Tensor& target, int64_t classes, DType dtype, std::optional<int64_t> ignore_index = std::nullopt);

// How many rows of logits [N, C] have their target among the k largest values (k = 1: the first argmax
// equals the target; ties rank the smaller class index higher). Error: "count_correct: expected k >= 1, got 0".
int64_t count_correct(const Tensor& logits, const Tensor& target, int64_t k = 1);

}  // namespace normgrad::kernels

#endif  // NORMGRAD_CORE_KERNELS_LOSS_H_
