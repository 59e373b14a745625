#include "nn/functional/loss.h"

#include <limits>
#include <vector>

#include "autograd/node.h"
#include "autograd/ops.h"
#include "core/kernels/elementwise.h"
#include "core/kernels/loss.h"
#include "core/kernels/reduce.h"
#include "core/kernels/softmax.h"

namespace normgrad::nn::functional {

using autograd::BackwardContext;
using autograd::Save;
using Grads = std::vector<Tensor>;

namespace {

// The dims a softmax along `dim` sums over (a rank-0 input is a softmax of one element).
std::vector<int64_t> SoftmaxDims(const Tensor& x, int64_t dim) {
  return x.dim() == 0 ? std::vector<int64_t>{} : std::vector<int64_t>{dim};
}

using kernels::TargetTotals;

// Per-sample losses [N] combined as `reduction` asks; a mean divides by the total weight of the samples
// that are not ignored (their number without class weights; no graph: the caller records one node).
Tensor Reduce(const Tensor& per_sample, Reduction reduction, const TargetTotals& totals, bool weighted) {
  switch (reduction) {
    case Reduction::kMean:
      if (!weighted && totals.counted == per_sample.numel()) return kernels::mean(per_sample);
      // A total of 0 (every sample ignored, or every weight 0) gives NaN, as in PyTorch.
      if (totals.weight == 0) {
        return full({}, std::numeric_limits<double>::quiet_NaN(),
                    {.dtype = per_sample.dtype(), .device = per_sample.device()});
      }
      return kernels::div(kernels::sum(per_sample), totals.weight);
    case Reduction::kSum:
      return kernels::sum(per_sample);
    case Reduction::kNone:
      return per_sample;
  }
  __builtin_unreachable();
}

// 1 / the total weight a mean divides by (a negative total divides as it is), as in PyTorch: with every
// sample ignored the gradient is zero (0, not 1 / 0, keeps 0 * (1 / 0) from making it NaN); with samples
// that count but weigh 0 in all, it is NaN everywhere.
double MeanScale(const TargetTotals& totals) {
  if (totals.counted == 0) return 0.0;
  return totals.weight == 0 ? std::numeric_limits<double>::quiet_NaN() : 1.0 / totals.weight;
}

// The upstream gradient of the reduced loss as a per-sample column that broadcasts over [N, C]:
// d(mean)/d(loss_i) = 1 / total weight, d(sum)/d(loss_i) = 1, and the [N] gradient itself for no
// reduction (the caller zeroes the ignored samples' rows).
Tensor SampleGradColumn(const Tensor& grad, Reduction reduction, const TargetTotals& totals) {
  switch (reduction) {
    case Reduction::kMean:
      return mul(grad, MeanScale(totals));
    case Reduction::kSum:
      return grad;
    case Reduction::kNone:
      return unsqueeze(grad, 1);
  }
  __builtin_unreachable();
}

// Class weights are constants, as in PyTorch (which has no derivative for them): refused when they would
// need a gradient.
void CheckConstantWeight(const char* op, const Tensor& weight) {
  NG_CHECK(!weight.defined() || !weight.requires_grad() || !GradMode::is_enabled(), op,
           ": weight is a constant (no gradient flows to it); expected a weight that does not require grad (detach "
           "it)");
}

// weight [C] as a row [1, C] that scales every sample's target distribution.
Tensor WeightRow(const Tensor& weight) { return reshape(weight, {1, weight.size(0)}); }

}  // namespace

Tensor log_softmax(const Tensor& input, int64_t dim) {
  return autograd::Record(
      "LogSoftmaxBackward", kernels::log_softmax(input, dim), {input},
      [dim](const BackwardContext& ctx) -> Grads {
        // Recorded for double backward: d/dx = g - exp(y) sum(g); otherwise one fused pass.
        if (GradMode::is_enabled()) {
          return {sub(ctx.grad, mul(exp(ctx.output), sum(ctx.grad, SoftmaxDims(ctx.output, dim), true)))};
        }
        return {kernels::log_softmax_backward(ctx.grad, ctx.output, dim)};
      },
      /*keep_output=*/true);
}

Tensor softmax(const Tensor& input, int64_t dim) {
  return autograd::Record(
      "SoftmaxBackward", kernels::softmax(input, dim), {input},
      [dim](const BackwardContext& ctx) -> Grads {
        // d/dx = y (g - sum(g y)).
        if (GradMode::is_enabled()) {
          const Tensor& y = ctx.output;
          return {mul(y, sub(ctx.grad, sum(mul(ctx.grad, y), SoftmaxDims(y, dim), true)))};
        }
        return {kernels::softmax_backward(ctx.grad, ctx.output, dim)};
      },
      /*keep_output=*/true);
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& options) {
  CheckConstantWeight("cross_entropy", options.weight);
  TargetTotals totals;
  Tensor per_sample = kernels::cross_entropy(logits, target, options.label_smoothing, options.ignore_index,
                                             options.weight, &totals);
  Tensor loss = Reduce(per_sample, options.reduction, totals, options.weight.defined());
  return autograd::Record(
      "CrossEntropyBackward", std::move(loss), {logits},
      [x = Save(logits), target, options, totals](const BackwardContext& ctx) -> Grads {
        const Tensor& logits = x.get();
        if (GradMode::is_enabled()) {
          // (softmax(x) sum_c q_c - q) g with q = w (1 - e) onehot + w e / C, recorded through softmax; the
          // rows of ignored samples are zero (their one-hot rows are zero, so the row sums are the mask).
          const double e = options.label_smoothing;
          Tensor onehot = kernels::one_hot(target, logits.size(1), logits.dtype(), options.ignore_index);
          const Tensor mask = kernels::sum(onehot, {1}, /*keepdim=*/true);
          Tensor q = kernels::mul(onehot, 1 - e);
          kernels::add_(q, kernels::mul(mask, e / static_cast<double>(logits.size(1))));
          Tensor q_sum = mask;
          if (options.weight.defined()) {
            q = kernels::mul(q, WeightRow(options.weight));
            q_sum = kernels::sum(q, {1}, /*keepdim=*/true);
          }
          const Tensor column = SampleGradColumn(ctx.grad, options.reduction, totals);
          return {mul(sub(mul(softmax(logits, 1), q_sum), q), column)};
        }
        const double scale = options.reduction == Reduction::kMean ? MeanScale(totals) : 1.0;
        return {kernels::cross_entropy_backward(ctx.grad, logits, target, options.label_smoothing, scale,
                                                options.ignore_index, options.weight)};
      });
}

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction, int64_t ignore_index,
                const Tensor& weight) {
  CheckConstantWeight("nll_loss", weight);
  TargetTotals totals;
  Tensor per_sample = kernels::nll_loss(log_probs, target, ignore_index, weight, &totals);
  Tensor loss = Reduce(per_sample, reduction, totals, weight.defined());
  const int64_t classes = log_probs.size(1);
  return autograd::Record(
      "NllLossBackward", std::move(loss), {log_probs},
      [target, reduction, totals, classes, ignore_index, weight,
       dtype = log_probs.dtype()](const BackwardContext& ctx) -> Grads {
        // -w onehot g: linear in the upstream gradient, so it is recorded as it is (ignored rows are zero).
        Tensor onehot = kernels::one_hot(target, classes, dtype, ignore_index);
        if (weight.defined()) onehot = kernels::mul(onehot, WeightRow(weight));
        return {mul(onehot, neg(SampleGradColumn(ctx.grad, reduction, totals)))};
      });
}

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  NG_CHECK(target.shape() == input.shape(), "mse_loss: expected target of shape ", ShapeToString(input.shape()),
           " (the input's), got ", ShapeToString(target.shape()));
  NG_CHECK(IsFloating(input.dtype()) && target.dtype() == input.dtype(),
           "mse_loss: expected a floating-point input and a target of its dtype, got ", input.dtype(), " and ",
           target.dtype());
  const Tensor diff = sub(input, target);
  const Tensor squared = mul(diff, diff);
  switch (reduction) {
    case Reduction::kMean:
      return mean(squared);
    case Reduction::kSum:
      return sum(squared);
    case Reduction::kNone:
      return squared;
  }
  __builtin_unreachable();
}

int64_t count_correct(const Tensor& logits, const Tensor& target, int64_t k) {
  return kernels::count_correct(logits, target, k);
}

}  // namespace normgrad::nn::functional
