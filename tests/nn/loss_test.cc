// softmax, log_softmax and the losses against PyTorch fixtures; accuracy counting; every error.
#include "nn/functional/loss.h"

#include <gtest/gtest.h>

#include "autograd/grad_mode.h"

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "tests/nn/nn_testing.h"

namespace normgrad::nn::functional {
namespace {

using testing::ExpectError;
using testing::json;

Reduction ReductionFromName(const std::string& name) {
  return name == "mean" ? Reduction::kMean : name == "sum" ? Reduction::kSum : Reduction::kNone;
}

Tensor Target(const json& values) { return from_vector<int64_t>(values.get<std::vector<int64_t>>()); }

// A case's per-class weight (a constant), or undefined when it has none.
Tensor ClassWeight(const json& c, DType dtype) {
  return c.contains("weight") ? testing::FixtureInput(c["weight"], c["weight_shape"], dtype) : Tensor();
}

TEST(Loss, MatchesPyTorchFixtures) {
  const json fixture = testing::LoadFixture("loss.json");
  ASSERT_FALSE(fixture["cases"].empty());
  for (const json& c : fixture["cases"]) {
    for (const char* dname : {"float32", "float64"}) {
      const DType dtype = testing::DTypeFromName(dname);
      const std::string what = c["name"].get<std::string>() + " " + dname, op = c["op"];
      const json& e = c[dname];
      // The differentiated inputs, by fixture name, and the output.
      std::vector<std::pair<std::string, Tensor>> inputs;
      Tensor y;
      if (op == "log_softmax" || op == "softmax") {
        inputs = {{"x", testing::FixtureInput(c["x"], c["x_shape"], dtype, true)}};
        const int64_t dim = c["dim"];
        y = op == "softmax" ? softmax(inputs[0].second, dim) : log_softmax(inputs[0].second, dim);
      } else if (op == "cross_entropy") {
        inputs = {{"logits", testing::FixtureInput(c["logits"], c["logits_shape"], dtype, true)}};
        y = cross_entropy(inputs[0].second, Target(c["target"]),
                          {.reduction = ReductionFromName(c["reduction"]), .label_smoothing = c["label_smoothing"],
                           .ignore_index = c.value("ignore_index", int64_t{-100}), .weight = ClassWeight(c, dtype)});
      } else if (op == "nll_loss") {
        inputs = {{"log_probs", testing::FixtureInput(c["log_probs"], c["log_probs_shape"], dtype, true)}};
        y = nll_loss(inputs[0].second, Target(c["target"]), ReductionFromName(c["reduction"]),
                     c.value("ignore_index", int64_t{-100}), ClassWeight(c, dtype));
      } else {
        // The elementwise losses: input x and target t, differentiated where the fixture has a gradient.
        inputs = {{"x", testing::FixtureInput(c["x"], c["x_shape"], dtype, e.contains("dx"))},
                  {"t", testing::FixtureInput(c["t"], c["t_shape"], dtype, e.contains("dt"))}};
        const Tensor &x = inputs[0].second, &t = inputs[1].second;
        const Reduction reduction = ReductionFromName(c["reduction"]);
        auto constant = [&](const char* name) {
          return c.contains(name) ? testing::FixtureInput(c[name], c[std::string(name) + "_shape"], dtype) : Tensor();
        };
        if (op == "mse_loss") {
          y = mse_loss(x, t, reduction);
        } else if (op == "l1_loss") {
          y = l1_loss(x, t, reduction);
        } else if (op == "smooth_l1_loss") {
          y = smooth_l1_loss(x, t, reduction, c["beta"].get<double>());
        } else if (op == "huber_loss") {
          y = huber_loss(x, t, reduction, c["delta"].get<double>());
        } else if (op == "binary_cross_entropy") {
          y = binary_cross_entropy(x, t, reduction, constant("weight"));
        } else {
          ASSERT_EQ(op, "binary_cross_entropy_with_logits");
          y = binary_cross_entropy_with_logits(x, t, reduction, constant("weight"), constant("pos_weight"));
        }
      }
      const double tol = testing::Tolerance(dtype);
      testing::ExpectTensorNear(y, e["y"], e["y_shape"], tol, what + " y");
      y.backward(testing::FixtureInput(e["dy"], e["y_shape"], dtype));
      for (const auto& [name, t] : inputs) {
        if (!e.contains("d" + name)) continue;
        testing::ExpectTensorNear(t.grad(), e["d" + name], c[name + "_shape"], tol, what + " d" + name);
      }
    }
  }
}

TEST(CountCorrect, MatchesPyTorchArgmaxAndTopK) {
  const json a = testing::LoadFixture("loss.json")["accuracy"];
  const Tensor logits = testing::FixtureInput(a["logits"], a["logits_shape"], kFloat32);
  const Tensor target = Target(a["target"]);
  EXPECT_EQ(count_correct(logits, target), a["correct_top1"].get<int64_t>());
  EXPECT_EQ(count_correct(logits, target, 3), a["correct_top3"].get<int64_t>());
  EXPECT_EQ(count_correct(logits, target, 7), 50);
}

TEST(CountCorrect, TiesRankTheSmallerClassFirst) {
  const Tensor logits = from_vector<double>({1, 1, 0, 2, 2, 2}, {2, 3});
  EXPECT_EQ(count_correct(logits, from_vector<int64_t>({0, 0})), 2);
  EXPECT_EQ(count_correct(logits, from_vector<int64_t>({1, 2})), 0);
  EXPECT_EQ(count_correct(logits, from_vector<int64_t>({1, 1}), 2), 2);
}

TEST(Losses, MeanOverAnEmptyBatchIsNaN) {
  const Tensor loss = cross_entropy(zeros({0, 3}), zeros({0}, {.dtype = kInt64}));
  EXPECT_TRUE(std::isnan(loss.item()));
}

TEST(Losses, EveryIgnoredSampleGivesANaNMeanAndNoGradient) {
  // PyTorch: nan and a zero gradient (0 / 0 in the mean, nothing flowing back to the ignored rows).
  for (bool double_backward : {false, true}) {
    Tensor x = from_vector<double>({0.5, -1, 2, 0.3, 0.1, -0.7}, {2, 3}).set_requires_grad(true);
    const Tensor loss = cross_entropy(x, from_vector<int64_t>({-100, -100}), {.label_smoothing = 0.1});
    EXPECT_TRUE(std::isnan(loss.item()));
    const Tensor g = autograd::Grad({loss}, {x}, {}, {.create_graph = double_backward})[0];
    EXPECT_EQ(g.to_vector<double>(), std::vector<double>(6, 0.0)) << double_backward;
  }
  // With reduction none: zeros in the ignored places.
  const Tensor per_sample = nll_loss(from_vector<double>({-1, -2, -3, -4}, {2, 2}), from_vector<int64_t>({1, -100}),
                                     Reduction::kNone);
  EXPECT_EQ(per_sample.to_vector<double>(), (std::vector<double>{2, 0}));
}

TEST(Losses, ClassWeightsScaleEachSampleAndTheMeanDividesByTheirTotal) {
  // Two classes, equal logits: every unsmoothed per-sample loss is w_t log 2.
  const Tensor x = zeros({3, 2}, {.dtype = kFloat64}), target = from_vector<int64_t>({0, 1, 1});
  const Tensor weight = from_vector<double>({3, 0.5});
  const double log2 = std::log(2.0);
  EXPECT_EQ(cross_entropy(x, target, {.reduction = Reduction::kNone, .weight = weight}).to_vector<double>(),
            (std::vector<double>{3 * log2, 0.5 * log2, 0.5 * log2}));
  // (3 + 0.5 + 0.5) log 2 / (3 + 0.5 + 0.5): the weighted mean of equal losses is that loss.
  EXPECT_NEAR(cross_entropy(x, target, {.weight = weight}).item(), log2, 1e-15);
  EXPECT_NEAR(nll_loss(log_softmax(x, 1), target, Reduction::kMean, -100, weight).item(), log2, 1e-15);
  // A weight of ones is the unweighted loss.
  const Tensor y = from_vector<double>({0.3, -1, 2, 0.5, 0, 1}, {3, 2});
  EXPECT_NEAR(cross_entropy(y, target, {.label_smoothing = 0.2, .weight = ones({2}, {.dtype = kFloat64})}).item(),
              cross_entropy(y, target, {.label_smoothing = 0.2}).item(), 1e-15);
  // Every counted sample of weight 0: a NaN mean (0 / 0) and NaN gradients, as PyTorch gives; with
  // smoothing too (its terms do not weigh 0, but the mean still divides by 0).
  for (double smoothing : {0.0, 0.1}) {
    Tensor z = from_vector<double>({0.5, -1, 2, 0.3}, {2, 2}).set_requires_grad(true);
    const Tensor loss = cross_entropy(z, from_vector<int64_t>({0, 0}),
                                      {.label_smoothing = smoothing, .weight = from_vector<double>({0, 1})});
    EXPECT_TRUE(std::isnan(loss.item())) << smoothing;
    loss.backward();
    for (double g : z.grad().to_vector<double>()) EXPECT_TRUE(std::isnan(g)) << smoothing;
  }
}

TEST(Losses, DoubleBackwardThroughCrossEntropyAndSoftmax) {
  // d/dx of sum((dL/dx)^2) exists and matches a finite difference in one coordinate.
  const Tensor target = from_vector<int64_t>({2, 0});
  auto grad_norm = [&](const Tensor& x) {
    const Tensor loss = cross_entropy(x, target, {.label_smoothing = 0.2});
    const Tensor g = autograd::Grad({loss}, {x}, {}, {.create_graph = true})[0];
    return sum(mul(g, g));
  };
  Tensor x = from_vector<double>({0.5, -1, 2, 0.3, 0.1, -0.7}, {2, 3}).set_requires_grad(true);
  grad_norm(x).backward();
  const double eps = 1e-6, analytic = x.grad().at({0, 1});
  auto at = [&](double delta) {
    Tensor xd = from_vector<double>({0.5, -1 + delta, 2, 0.3, 0.1, -0.7}, {2, 3}).set_requires_grad(true);
    return grad_norm(xd).item();
  };
  EXPECT_NEAR(analytic, (at(eps) - at(-eps)) / (2 * eps), 1e-6);
}

TEST(Losses, Errors) {
  const Tensor logits = zeros({4, 10}), target = zeros({4}, {.dtype = kInt64});
  ExpectError([&] { cross_entropy(zeros({10}), target); }, "cross_entropy: expected logits of 2 dims [N, C], got [10]");
  ExpectError([&] { cross_entropy(logits, zeros({4})); },
              "cross_entropy: expected target of dtype int64 (class indices), got float32");
  ExpectError(
      [&] {
        cross_entropy(logits, zeros({4, 1}, {.dtype = kInt64}));
      },
      "cross_entropy: expected target of shape [4], got [4, 1]");
  ExpectError(
      [&] {
        cross_entropy(logits, from_vector<int64_t>({0, 1, 2, 12}));
      },
      "cross_entropy: expected target values in [0, 10) or ignore_index (-100), got 12 at index 3");
  ExpectError(
      [&] {
        cross_entropy(logits, from_vector<int64_t>({0, -1, 2, 3}));
      },
      "cross_entropy: expected target values in [0, 10) or ignore_index (-100), got -1 at index 1");
  // No classes: every target would have to be ignored, and the kernels would divide by the class count.
  ExpectError(
      [&] {
        cross_entropy(zeros({2, 0}), full({2}, -100, {.dtype = kInt64}));
      },
      "cross_entropy: expected at least one class, got logits of shape [2, 0]");
  ExpectError([&] { cross_entropy(logits, target, {.label_smoothing = 1.5}); },
              "cross_entropy: expected label_smoothing in [0, 1], got 1.5");
  ExpectError([&] { cross_entropy(logits, target, {.label_smoothing = -0.1}); },
              "cross_entropy: expected label_smoothing in [0, 1], got -0.1");
  ExpectError(
      [&] {
        cross_entropy(zeros({4, 10}, {.dtype = kInt64}), target);
      },
      "cross_entropy: expected logits of a floating-point dtype, got int64");
  ExpectError(
      [&] {
        nll_loss(logits, from_vector<int64_t>({0, 1, 10, 3}));
      },
      "nll_loss: expected target values in [0, 10) or ignore_index (-100), got 10 at index 2");
  ExpectError(
      [&] {
        nll_loss(zeros({2, 3, 4}), target);
      },
      "nll_loss: expected log_probs of 2 dims [N, C], got [2, 3, 4]");
  ExpectError([&] { cross_entropy(logits, target, {.weight = ones({3})}); },
              "cross_entropy: expected weight of shape [10] (one per class), got [3]");
  ExpectError([&] { cross_entropy(logits, target, {.weight = ones({10}, {.dtype = kFloat64})}); },
              "cross_entropy: expected weight of dtype float32 (the logits'), got float64");
  ExpectError([&] { nll_loss(logits, target, Reduction::kMean, -100, ones({10, 1})); },
              "nll_loss: expected weight of shape [10] (one per class), got [10, 1]");
  ExpectError(
      [&] {
        cross_entropy(logits, target, {.weight = ones({10}, {.requires_grad = true})});
      },
      "cross_entropy: weight is a constant (no gradient flows to it); expected a weight that does not require grad "
      "(detach it)");
  ExpectError(
      [&] {
        mse_loss(zeros({2, 3}), zeros({3}));
      },
      "mse_loss: expected target of shape [2, 3] (the input's), got [3]");
  ExpectError([&] { mse_loss(zeros({3}), zeros({3}, {.dtype = kFloat64})); },
              "mse_loss: expected a floating-point input and a target of its dtype, got float32 and float64");
  ExpectError([&] { l1_loss(zeros({2, 3}), zeros({2})); }, "l1_loss: expected target of shape [2, 3] (the input's), got [2]");
  ExpectError([&] { smooth_l1_loss(zeros({3}), zeros({3}), Reduction::kMean, -1); },
              "smooth_l1_loss: expected beta >= 0, got -1");
  ExpectError([&] { huber_loss(zeros({3}), zeros({3}), Reduction::kMean, 0); }, "huber_loss: expected delta > 0, got 0");
  const Tensor probs = from_vector<float>({-0.5f, 0.25f, 0.9f}, {3});
  ExpectError([&] { binary_cross_entropy(probs, zeros({3})); },
              "binary_cross_entropy: expected input values in [0, 1], got values in [-0.5, 0.9]");
  ExpectError([&] { binary_cross_entropy(zeros({2, 3}), zeros({2, 3}), Reduction::kMean, ones({2})); },
              "binary_cross_entropy: expected weight that broadcasts to the input's shape [2, 3], got [2]");
  ExpectError([&] { binary_cross_entropy_with_logits(zeros({2, 3}), zeros({2, 3}), Reduction::kSum, {}, ones({4})); },
              "binary_cross_entropy_with_logits: expected pos_weight that broadcasts to the input's shape [2, 3], "
              "got [4]");
  ExpectError([&] { binary_cross_entropy(full({3}, 0.5), full({3}, 1.5)); },
              "binary_cross_entropy: expected target values in [0, 1], got values in [1.5, 1.5]");
  const Tensor trained = ones({3}, {.requires_grad = true});
  ExpectError([&] { binary_cross_entropy(zeros({3}), zeros({3}), Reduction::kSum, trained); },
              "binary_cross_entropy: weight is a constant (no gradient flows to it); expected a weight that does not "
              "require grad (detach it)");
  {
    NoGradGuard no_grad;  // nothing would flow to it anyway
    EXPECT_EQ(binary_cross_entropy(zeros({3}), zeros({3}), Reduction::kSum, trained).item<double>(), 0.0);
  }
  ExpectError([&] { binary_cross_entropy_with_logits(zeros({3}), zeros({3}), Reduction::kSum, ones({3}, {.dtype = kFloat64})); },
              "binary_cross_entropy_with_logits: expected weight of dtype float32 (the input's), got float64");
  ExpectError([&] { count_correct(logits, target, 0); }, "count_correct: expected k >= 1, got 0");
  ExpectError(
      [&] {
        count_correct(logits, from_vector<int64_t>({0, 1}));
      },
      "count_correct: expected target of shape [4], got [2]");
  ExpectError([&] { log_softmax(logits, 2); }, "log_softmax: expected dim in [-2, 2), got 2");
  ExpectError([&] { softmax(zeros({3}, {.dtype = kInt64}), 0); },
              "softmax: expected a floating-point tensor (float32 or float64), got int64");
}

}  // namespace
}  // namespace normgrad::nn::functional
