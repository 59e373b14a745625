#ifndef NORMGRAD_NN_FUNCTIONAL_LOSS_H_
#define NORMGRAD_NN_FUNCTIONAL_LOSS_H_

// Differentiable softmax, log-softmax and losses (torch.nn.functional's), and accuracy counting.
// Classification losses take [N, C] scores and int64 class targets [N]; a sample whose target is
// ignore_index (PyTorch's -100 by default) adds nothing to the loss or its gradient. An optional per-class
// `weight` [C] (a constant of the input's dtype and device, PyTorch's `weight`) scales each class's terms;
// a mean divides by the total weight of the samples that count, sum_i weight[target[i]] (their number
// without weights), as in PyTorch: NaN when it is 0, with a zero gradient when no sample counts (and NaN
// when samples count but weigh 0 in all). Errors for bad targets (wrong
// dtype or shape, values outside [0, C) other than ignore_index), bad weights and label_smoothing outside
// [0, 1] are listed in core/kernels/loss.h; a weight that requires grad is refused.

#include <cstdint>

#include "core/tensor.h"

namespace normgrad::nn::functional {

// x - log(sum(exp(x))) along dim (computed stably). Double backward exact.
Tensor log_softmax(const Tensor& input, int64_t dim);
// exp(x) / sum(exp(x)) along dim (computed stably). Double backward exact.
Tensor softmax(const Tensor& input, int64_t dim);

// How per-sample losses are combined: their mean over the batch, their sum, or none ([N]).
enum class Reduction { kMean, kSum, kNone };

struct CrossEntropyOptions {
  Reduction reduction = Reduction::kMean;
  // e in [0, 1]: the target distribution puts 1 - e + e / C on the target class and e / C on the others.
  double label_smoothing = 0.0;
  // Samples with this target count for nothing (a negative value never in [0, C), like PyTorch's -100,
  // or a class that is then left out).
  int64_t ignore_index = -100;
  // Per-class weights [C], e.g. inverse class frequencies for an unbalanced dataset; undefined: 1 each.
  Tensor weight;
};

// -sum_c q_c log_softmax(logits)_c per sample, q the (smoothed) target distribution scaled by the class
// weights, w_c q_c; logits [N, C], target int64 [N]. One fused kernel each way: the backward is
// (softmax(logits) sum_c q_c - q) * the sample's gradient. Double backward exact (through softmax).
Tensor cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& options = {});

// -weight[t] log_probs[i, t] per sample, t = target[i] (weight 1 when undefined); log_probs [N, C], target
// int64 [N]. Double backward exact.
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction = Reduction::kMean,
                int64_t ignore_index = -100, const Tensor& weight = Tensor());

// (input - target)^2 elementwise, reduced; input and target of the same shape and dtype. Built from
// differentiable ops (gradients for both; double backward exact).
// Errors: "mse_loss: expected target of shape [2, 3] (the input's), got [3]"; "mse_loss: expected a
// floating-point input and a target of its dtype, got float32 and float64".
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::kMean);

// The regression losses below take input and target of the same shape and floating-point dtype (errors as
// mse_loss's, named after each), reduce as mse_loss does, and are built from differentiable ops: gradients
// for both input and target, double backward exact, on every device.

// |input - target| elementwise (torch.nn.functional.l1_loss); the gradient at input = target is 0.
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::kMean);

// With d = input - target: 0.5 d^2 / beta where |d| < beta, |d| - 0.5 beta elsewhere
// (torch.nn.functional.smooth_l1_loss); beta = 0 is l1_loss. Error: "smooth_l1_loss: expected beta >= 0, got -1".
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::kMean,
                      double beta = 1.0);

// With d = input - target: 0.5 d^2 where |d| < delta, delta (|d| - 0.5 delta) elsewhere
// (torch.nn.functional.huber_loss: smooth_l1_loss times beta = delta). Error: "huber_loss: expected
// delta > 0, got 0".
Tensor huber_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::kMean,
                  double delta = 1.0);

// -weight (target log(input) + (1 - target) log(1 - input)) elementwise, each log clamped to >= -100 (so
// an input of exactly 0 or 1 costs 100, not infinity), as torch.nn.functional.binary_cross_entropy:
// input holds probabilities in [0, 1], target (of its shape and dtype) values in [0, 1], weight (optional)
// broadcasts to the input's shape and is a constant (as in PyTorch, which has no derivative for it). The
// input's gradient is PyTorch's, weight (input - target) / max(input (1 - input), 1e-12); the target's is
// weight (log(1 - input) - log(input)), unclamped as PyTorch 2's. Errors: "binary_cross_entropy: expected
// input values in [0, 1], got values in [-0.5, 0.9]" (target likewise, as PyTorch 2 checks), and the shape,
// dtype and device errors of mse_loss and of the weight.
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::kMean,
                            const Tensor& weight = {});

// binary_cross_entropy of sigmoid(input), computed from the logits without overflow
// (torch.nn.functional.binary_cross_entropy_with_logits): with m = max(-input, 0),
//   (1 - target) input + p (log(exp(-m) + exp(-input - m)) + m),   p = 1 + (pos_weight - 1) target,
// times weight. pos_weight (optional) weighs the positive term, usually per class ([C] for an [N, C]
// input); it and weight (optional) broadcast to the input's shape. Built from differentiable ops: gradients
// for input, target, weight and pos_weight.
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        Reduction reduction = Reduction::kMean, const Tensor& weight = {},
                                        const Tensor& pos_weight = {});

// The number of samples whose target class is among the k largest logits (k = 1: the argmax over dim 1,
// the first one on ties, equals the target); logits [N, C], target int64 [N].
int64_t count_correct(const Tensor& logits, const Tensor& target, int64_t k = 1);

}  // namespace normgrad::nn::functional

#endif  // NORMGRAD_NN_FUNCTIONAL_LOSS_H_
