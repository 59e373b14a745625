// Gradient-check cases for nn/functional's softmax, log-softmax and losses (all with double backward).
#include "core/random.h"
#include "nn/functional/loss.h"
#include "tests/autograd/op_list.h"

namespace normgrad::testing {
namespace {

namespace F = nn::functional;
using V = const std::vector<Tensor>&;

Generator& Gen() {
  static Generator gen(505);
  return gen;
}

Tensor N(const Shape& shape) { return randn(shape, {.dtype = kFloat64, .requires_grad = true}, &Gen()); }

Tensor Probabilities(const Shape& shape) {
  return uniform(shape, 0.1, 0.9, {.dtype = kFloat64, .requires_grad = true}, &Gen());
}

std::vector<OpCase> LossOpCases() {
  const Tensor target = from_vector<int64_t>({2, 0, 3});
  auto ce = [target](F::Reduction reduction, double smoothing) {
    return [=](V x) { return F::cross_entropy(x[0], target, {.reduction = reduction, .label_smoothing = smoothing}); };
  };
  auto nll = [target](F::Reduction reduction) { return [=](V x) { return F::nll_loss(x[0], target, reduction); }; };
  // The middle sample ignored: PyTorch's default -100, or class 1 named as the ignored one.
  const Tensor partly_ignored = from_vector<int64_t>({2, -100, 3}), class_ignored = from_vector<int64_t>({2, 1, 1});
  auto ce_ignoring = [](const Tensor& t, int64_t ignore_index, double smoothing) {
    return [=](V x) {
      return F::cross_entropy(x[0], t, {.label_smoothing = smoothing, .ignore_index = ignore_index});
    };
  };
  // Class weights (constants) with smoothing and an ignored sample; the mean divides by their total.
  const Tensor weight = from_vector<double>({0.5, 2, 1, 0.25});
  auto ce_weighted = [=](F::Reduction reduction, double smoothing) {
    return [=](V x) {
      return F::cross_entropy(x[0], partly_ignored,
                              {.reduction = reduction, .label_smoothing = smoothing, .weight = weight});
    };
  };
  auto mse = [](F::Reduction reduction) { return [=](V x) { return F::mse_loss(x[0], x[1], reduction); }; };
  return {
      {"log_softmax", [](V x) { return F::log_softmax(x[0], 1); }, {N({3, 4})}},
      {"log_softmax_dim0", [](V x) { return F::log_softmax(x[0], 0); }, {N({3, 4})}},
      {"log_softmax_3d_last", [](V x) { return F::log_softmax(x[0], -1); }, {N({2, 2, 3})}},
      {"softmax", [](V x) { return F::softmax(x[0], 1); }, {N({3, 4})}},
      {"softmax_3d_middle", [](V x) { return F::softmax(x[0], 1); }, {N({2, 3, 2})}},
      {"cross_entropy_mean", ce(F::Reduction::kMean, 0), {N({3, 4})}},
      {"cross_entropy_sum_smoothed", ce(F::Reduction::kSum, 0.1), {N({3, 4})}},
      {"cross_entropy_none_smoothed", ce(F::Reduction::kNone, 0.3), {N({3, 4})}},
      {"cross_entropy_mean_ignoring", ce_ignoring(partly_ignored, -100, 0), {N({3, 4})}},
      {"cross_entropy_mean_smoothed_ignoring_a_class", ce_ignoring(class_ignored, 1, 0.2), {N({3, 4})}},
      {"nll_loss_mean_ignoring",
       [partly_ignored](V x) { return F::nll_loss(x[0], partly_ignored, F::Reduction::kMean); },
       {N({3, 4})}},
      {"cross_entropy_mean_weighted", ce_weighted(F::Reduction::kMean, 0), {N({3, 4})}},
      {"cross_entropy_mean_smoothed_weighted", ce_weighted(F::Reduction::kMean, 0.2), {N({3, 4})}},
      {"cross_entropy_none_smoothed_weighted", ce_weighted(F::Reduction::kNone, 0.1), {N({3, 4})}},
      // Weights of both signs whose total is negative (-3): the mean divides by it as it is.
      {"cross_entropy_mean_negative_total_weight",
       [](V x) {
         return F::cross_entropy(x[0], from_vector<int64_t>({1, 1, 0}),
                                 {.label_smoothing = 0.1, .weight = from_vector<double>({1, -2, 1, 0.5})});
       },
       {N({3, 4})}},
      {"nll_loss_mean_weighted",
       [=](V x) { return F::nll_loss(x[0], partly_ignored, F::Reduction::kMean, -100, weight); },
       {N({3, 4})}},
      {"nll_loss_mean", nll(F::Reduction::kMean), {N({3, 4})}},
      {"nll_loss_sum", nll(F::Reduction::kSum), {N({3, 4})}},
      {"nll_loss_none", nll(F::Reduction::kNone), {N({3, 4})}},
      {"mse_loss_mean", mse(F::Reduction::kMean), {N({2, 3}), N({2, 3})}},
      {"mse_loss_sum", mse(F::Reduction::kSum), {N({2, 3}), N({2, 3})}},
      {"mse_loss_none", mse(F::Reduction::kNone), {N({2, 3}), N({2, 3})}},
      {"l1_loss", [](V x) { return F::l1_loss(x[0], x[1]); }, {N({2, 3}), N({2, 3})}},
      {"smooth_l1_loss", [](V x) { return F::smooth_l1_loss(x[0], x[1], F::Reduction::kSum, 0.8); },
       {N({3, 4}), N({3, 4})}},
      {"huber_loss", [](V x) { return F::huber_loss(x[0], x[1], F::Reduction::kNone, 0.6); }, {N({3, 4}), N({3, 4})}},
      // Probabilities and targets inside (0, 1), away from the edges where the logs are clamped. The weights
      // are inputs, so that the device parity test moves them too; pos_weight is differentiated.
      {"binary_cross_entropy",
       [](V x) { return F::binary_cross_entropy(x[0], x[1], F::Reduction::kMean, x[2]); },
       {Probabilities({2, 3}), Probabilities({2, 3}), from_vector<double>({0.5, 1.5, 1.0}, {3})}},
      {"binary_cross_entropy_with_logits",
       [](V x) { return F::binary_cross_entropy_with_logits(x[0], x[1], F::Reduction::kSum, x[2], x[3]); },
       {N({2, 3}), Probabilities({2, 3}), from_vector<double>({1.0, 0.25}, {2, 1}),
        from_vector<double>({0.5, 2.0, 1.0}, {3}).set_requires_grad(true)}},
  };
}

const bool kRegistered = RegisterOpCases(LossOpCases);

}  // namespace
}  // namespace normgrad::testing
