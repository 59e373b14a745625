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

namespace {

// The checks every elementwise loss makes of its input and target.
void CheckInputAndTarget(const char* op, const Tensor& input, const Tensor& target) {
  NG_CHECK(target.shape() == input.shape(), op, ": expected target of shape ", ShapeToString(input.shape()),
           " (the input's), got ", ShapeToString(target.shape()));
  NG_CHECK(IsFloating(input.dtype()) && target.dtype() == input.dtype(), op,
           ": expected a floating-point input and a target of its dtype, got ", input.dtype(), " and ",
           target.dtype());
}

// An optional tensor that multiplies the elementwise losses, broadcast to the input's shape.
void CheckLossWeight(const char* op, const char* name, const Tensor& weight, const Tensor& input) {
  if (!weight.defined()) return;
  NG_CHECK(weight.dtype() == input.dtype(), op, ": expected ", name, " of dtype ", input.dtype(),
           " (the input's), got ", weight.dtype());
  NG_CHECK(weight.device() == input.device(), op, ": expected ", name, " on the input's device (",
           input.device().ToString(), "), got ", weight.device().ToString());
  bool broadcasts = weight.dim() <= input.dim();
  for (int64_t i = 1; broadcasts && i <= weight.dim(); ++i) {
    const int64_t w = weight.size(weight.dim() - i);
    broadcasts = w == 1 || w == input.size(input.dim() - i);
  }
  NG_CHECK(broadcasts, op, ": expected ", name, " that broadcasts to the input's shape ",
           ShapeToString(input.shape()), ", got ", ShapeToString(weight.shape()));
}

// Elementwise losses combined as `reduction` asks (differentiable).
Tensor Reduced(const Tensor& losses, Reduction reduction) {
  switch (reduction) {
    case Reduction::kMean:
      return mean(losses);
    case Reduction::kSum:
      return sum(losses);
    case Reduction::kNone:
      return losses;
  }
  __builtin_unreachable();
}

// max(log(t), -100), PyTorch's clamp of binary_cross_entropy's logs.
Tensor ClampedLog(const Tensor& t) { return clamp(log(t), -100.0, std::nullopt); }

}  // namespace

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  CheckInputAndTarget("mse_loss", input, target);
  const Tensor diff = sub(input, target);
  return Reduced(mul(diff, diff), reduction);
}

Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  CheckInputAndTarget("l1_loss", input, target);
  return Reduced(abs(sub(input, target)), reduction);
}

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction reduction, double beta) {
  CheckInputAndTarget("smooth_l1_loss", input, target);
  NG_CHECK(beta >= 0, "smooth_l1_loss: expected beta >= 0, got ", beta);
  const Tensor d = abs(sub(input, target));
  if (beta == 0) return Reduced(d, reduction);
  return Reduced(where(kernels::lt(d, beta), mul(mul(d, d), 0.5 / beta), sub(d, 0.5 * beta)), reduction);
}

Tensor huber_loss(const Tensor& input, const Tensor& target, Reduction reduction, double delta) {
  CheckInputAndTarget("huber_loss", input, target);
  NG_CHECK(delta > 0, "huber_loss: expected delta > 0, got ", delta);
  const Tensor d = abs(sub(input, target));
  return Reduced(where(kernels::lt(d, delta), mul(mul(d, d), 0.5), mul(sub(d, 0.5 * delta), delta)), reduction);
}

Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, Reduction reduction, const Tensor& weight) {
  const char* op = "binary_cross_entropy";
  CheckInputAndTarget(op, input, target);
  CheckLossWeight(op, "weight", weight, input);
  CheckConstantWeight(op, weight);
  for (const auto& [name, t] : {std::pair{"input", &input}, {"target", &target}}) {
    if (t->numel() == 0) continue;
    const double lo = kernels::amin(*t).item<double>(), hi = kernels::amax(*t).item<double>();
    NG_CHECK(lo >= 0 && hi <= 1, op, ": expected ", name, " values in [0, 1], got values in [", lo, ", ", hi, "]");
  }
  // The value, without a graph; the node below gives PyTorch's gradients.
  Tensor losses;
  {
    NoGradGuard no_grad;
    const Tensor x = input.detach(), y = target.detach();
    losses = neg(add(mul(y, ClampedLog(x)), mul(sub(1.0, y), ClampedLog(sub(1.0, x)))));
    if (weight.defined()) losses = mul(losses, weight);
  }
  Tensor loss = Reduced(losses, reduction);
  if (!autograd::AnyRequiresGrad({input, target})) return loss;
  return autograd::Record(
      "BinaryCrossEntropyBackward", std::move(loss), {input, target},
      [x = Save(input), y = Save(target), weight, reduction](const BackwardContext& ctx) -> Grads {
        const Tensor& in = x.get();
        const Tensor& t = y.get();
        // The upstream gradient of each element.
        Tensor g = reduction == Reduction::kNone ? ctx.grad : expand(ctx.grad, in.shape());
        if (reduction == Reduction::kMean) g = mul(g, 1.0 / static_cast<double>(in.numel()));
        if (weight.defined()) g = mul(g, weight);
        Grads grads(2);
        // PyTorch's floor is the float 1e-12 (9.99999996e-13), in float64 as well.
        constexpr double kFloor = static_cast<double>(1e-12f);
        if (ctx.needs(0)) grads[0] = mul(g, div(sub(in, t), clamp(mul(in, sub(1.0, in)), kFloor, std::nullopt)));
        // Without the forward's clamp, as PyTorch's: -logit(input), infinite at 0 and 1.
        if (ctx.needs(1)) grads[1] = mul(g, sub(log(sub(1.0, in)), log(in)));
        return grads;
      });
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, Reduction reduction,
                                        const Tensor& weight, const Tensor& pos_weight) {
  const char* op = "binary_cross_entropy_with_logits";
  CheckInputAndTarget(op, input, target);
  CheckLossWeight(op, "weight", weight, input);
  CheckLossWeight(op, "pos_weight", pos_weight, input);
  const Tensor m = relu(neg(input));
  const Tensor softplus = add(log(add(exp(neg(m)), exp(sub(neg(input), m)))), m);  // log(1 + exp(-input))
  const Tensor positive = pos_weight.defined() ? mul(add(mul(sub(pos_weight, 1.0), target), 1.0), softplus) : softplus;
  Tensor losses = add(mul(sub(1.0, target), input), positive);
  if (weight.defined()) losses = mul(losses, weight);
  return Reduced(losses, reduction);
}

int64_t count_correct(const Tensor& logits, const Tensor& target, int64_t k) {
  return kernels::count_correct(logits, target, k);
}

}  // namespace normgrad::nn::functional
