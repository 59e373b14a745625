// nn::functional's normalization family against PyTorch fixtures (tools/make_normalization_fixtures.py):
// outputs, running statistics and gradients, in float64 and float32, through both backward paths (the
// fused kernels, and the differentiable form that create_graph records); the argument errors; and the
// autograd contracts (saved inputs, running statistics as buffers).
#include "nn/functional/normalization.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "core/kernels/elementwise.h"
#include "core/random.h"
#include "tests/testing/error.h"

namespace normgrad {
namespace {

namespace F = nn::functional;
using nlohmann::json;
using testing::ExpectError;

// |actual - expected| <= rtol * (|expected| + 0.1 max|expected|): relative, with a floor for entries
// near 0 (a float32 result is accurate to its rounding relative to the values it was computed from).
// A gradient whose terms cancel (two values per statistic, a constant channel) passes `scale`, the size of
// those terms, which then sets the floor.
void ExpectClose(const Tensor& actual, const json& expected, double rtol, const std::string& what,
                 double scale = 0) {
  if (expected.is_null()) {
    EXPECT_FALSE(actual.defined()) << what;
    return;
  }
  ASSERT_TRUE(actual.defined()) << what;
  const std::vector<double> e = expected.get<std::vector<double>>();
  const std::vector<double> a = actual.to_vector<double>();
  ASSERT_EQ(a.size(), e.size()) << what;
  for (double v : e) scale = std::max(scale, std::abs(v));
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_NEAR(a[i], e[i], rtol * (std::abs(e[i]) + 0.1 * scale)) << what << " element " << i;
  }
}

// A fixture input: its values are float32 numbers printed with 9 digits, recovered exactly by rounding.
Tensor Input(const json& values, const Shape& shape, DType dtype, bool requires_grad) {
  if (values.is_null()) return Tensor();
  std::vector<double> v = values.get<std::vector<double>>();
  for (double& x : v) x = static_cast<float>(x);
  Tensor t = to_dtype(from_vector(v, shape), dtype);
  if (requires_grad) t.set_requires_grad(true);
  return t;
}

json LoadFixtures(const std::string& name = "normalization.json") {
  std::ifstream file("tests/nn/testdata/" + name);
  EXPECT_TRUE(file.good()) << "fixture missing; run tools/make_normalization_fixtures.py";
  return file.good() ? json::parse(file) : json();
}

// Runs one fixture case in `dtype` and checks everything it records; create_graph selects the backward
// path that is recorded for double backward.
void CheckCase(const json& c, DType dtype, bool create_graph) {
  const std::string op = c["op"];
  const Shape shape = c["shape"];
  const Shape affine = op == "layer_norm" ? c["normalized_shape"].get<Shape>() : Shape{shape[1]};
  const Tensor x = Input(c["x"], shape, dtype, true), dy = Input(c["dy"], shape, dtype, false);
  const Tensor w = Input(c["weight"], affine, dtype, true), b = Input(c["bias"], affine, dtype, true);
  const Tensor rm = Input(c["running_mean"], {shape[1]}, dtype, false);
  const Tensor rv = Input(c["running_var"], {shape[1]}, dtype, false);
  Tensor y;
  if (op == "batch_norm") {
    y = F::batch_norm(x, rm, rv, w, b, c["training"], c["momentum"], c["eps"]);
  } else if (op == "instance_norm") {
    y = F::instance_norm(x, rm, rv, w, b, c["use_input_stats"], c["momentum"], c["eps"]);
  } else if (op == "group_norm") {
    y = F::group_norm(x, c["num_groups"], w, b, c["eps"]);
  } else {
    y = F::layer_norm(x, affine, w, b, c["eps"]);
  }
  const double rtol = dtype == kFloat64 ? 1e-10 : 1e-5;
  ExpectClose(y, c["y"], rtol, "output");
  ExpectClose(rm, c["new_running_mean"], rtol, "running_mean");
  ExpectClose(rv, c["new_running_var"], rtol, "running_var");
  std::vector<Tensor> inputs = {x};
  if (w.defined()) inputs.push_back(w);
  if (b.defined()) inputs.push_back(b);
  const std::vector<Tensor> grads = autograd::Grad({y}, inputs, {dy}, {.create_graph = create_graph});
  ExpectClose(grads[0], c["grad_input"], rtol, "grad_input", c["grad_input_scale"]);
  if (w.defined()) ExpectClose(grads[1], c["grad_weight"], rtol, "grad_weight");
  if (b.defined()) ExpectClose(grads[2], c["grad_bias"], rtol, "grad_bias");
}

TEST(Normalization, MatchesPyTorchFixtures) {
  const json fixture = LoadFixtures();
  ASSERT_GE(fixture["cases"].size(), 50u);
  for (const json& c : fixture["cases"]) {
    for (DType dtype : {kFloat64, kFloat32}) {
      for (bool create_graph : {false, true}) {
        json brief = c;
        for (const char* big : {"x", "dy", "weight", "bias", "running_mean", "running_var", "y", "new_running_mean",
                                "new_running_var", "grad_input", "grad_weight", "grad_bias"}) {
          brief.erase(big);
        }
        SCOPED_TRACE(brief.dump() + " " + DTypeName(dtype) + (create_graph ? " create_graph" : ""));
        CheckCase(c, dtype, create_graph);
      }
    }
  }
}

TEST(Normalization, FixtureGridCoversTheCases) {
  const json fixture = LoadFixtures();
  std::set<std::string> seen;
  for (const json& c : fixture["cases"]) {
    std::string key = c["op"].get<std::string>() + " rank " + std::to_string(c["shape"].size());
    if (c.contains("training")) key += c["training"].get<bool>() ? " train" : " eval";
    seen.insert(key);
    if (c.contains("name")) seen.insert(c["name"].get<std::string>());
  }
  for (int rank = 2; rank <= 5; ++rank) {
    EXPECT_TRUE(seen.count("batch_norm rank " + std::to_string(rank) + " train")) << rank;
    EXPECT_TRUE(seen.count("batch_norm rank " + std::to_string(rank) + " eval")) << rank;
  }
  for (const char* name : {"large_offset", "constant_channel", "one_position_two_samples", "extreme_eps"}) {
    EXPECT_TRUE(seen.count(name)) << name;
  }
}

TEST(Normalization, OptionsOverloadIsThePositionalOne) {
  Generator gen(3);
  const Tensor x = randn({4, 3, 2}, {}, &gen), w = randn({3}, {}, &gen), b = randn({3}, {}, &gen);
  Tensor rm1 = zeros({3}), rv1 = ones({3}), rm2 = zeros({3}), rv2 = ones({3});
  const Tensor a = F::batch_norm(x, rm1, rv1, w, b, true, 0.3, 1e-3);
  const Tensor o = F::batch_norm(x, rm2, rv2, {.weight = w, .bias = b, .training = true, .momentum = 0.3, .eps = 1e-3});
  EXPECT_EQ(a.to_vector<float>(), o.to_vector<float>());
  EXPECT_EQ(rm1.to_vector<float>(), rm2.to_vector<float>());
  EXPECT_EQ(rv1.to_vector<float>(), rv2.to_vector<float>());
  // Defaults: eval, momentum 0.1, eps 1e-5.
  const Tensor e = F::batch_norm(x, rm1, rv1, {.weight = w});
  const Tensor ep = F::batch_norm(x, rm1, rv1, w, {}, false, 0.1, 1e-5);
  EXPECT_EQ(e.to_vector<float>(), ep.to_vector<float>());
}

// batch_norm_relu is relu(batch_norm(...)) and batch_norm_add_relu is add_relu(batch_norm(...), residual),
// bit for bit: outputs, running statistics and the gradients of input, weight, bias (and residual), in both
// dtypes, training and eval, for channel runs long enough for the run-by-run kernels ([N, C, 6, 6]) and
// short ones done by columns ([N, C, 3, 3] and [N, C]). The bias puts about half of each channel below 0,
// so the relu's mask matters. The caller's upstream gradient is left as it was.
TEST(Normalization, FusedBatchNormReluOpsAreTheSeparateOpsBitForBit) {
  Generator gen(12);
  for (bool add : {false, true}) {
    for (DType dtype : {kFloat32, kFloat64}) {
      for (const Shape& shape : {Shape{8, 4, 6, 6}, Shape{16, 5, 3, 3}, Shape{32, 6}}) {
        for (bool training : {true, false}) {
          const int64_t c = shape[1];
          SCOPED_TRACE(absl::StrCat(add ? "add_relu " : "relu ", DTypeName(dtype), " ", ShapeToString(shape),
                                    training ? " train" : " eval"));
          const TensorOptions leaf{.dtype = dtype, .requires_grad = true};
          const Tensor x = normal(shape, 0.5, 2, leaf, &gen), w = normal({c}, 1, 0.5, leaf, &gen);
          const Tensor b = normal({c}, 0, 1, leaf, &gen), r = randn(shape, leaf, &gen);
          const Tensor dy = randn(shape, {.dtype = dtype}, &gen), dy_before = clone(dy);
          const Tensor rm0 = normal({c}, 0.3, 0.2, {.dtype = dtype}, &gen);
          const Tensor rv0 = uniform({c}, 1, 4, {.dtype = dtype}, &gen);
          Tensor rm_fused = clone(rm0), rv_fused = clone(rv0), rm_plain = clone(rm0), rv_plain = clone(rv0);
          const Tensor fused = add ? F::batch_norm_add_relu(x, r, rm_fused, rv_fused, w, b, training, 0.2, 1e-3)
                                   : F::batch_norm_relu(x, rm_fused, rv_fused, w, b, training, 0.2, 1e-3);
          const Tensor normalized = F::batch_norm(x, rm_plain, rv_plain, w, b, training, 0.2, 1e-3);
          const Tensor plain = add ? add_relu(normalized, r) : relu(normalized);
          EXPECT_EQ(fused.to_vector<double>(), plain.to_vector<double>());
          EXPECT_EQ(rm_fused.to_vector<double>(), rm_plain.to_vector<double>());
          EXPECT_EQ(rv_fused.to_vector<double>(), rv_plain.to_vector<double>());
          const std::vector<Tensor> leaves = add ? std::vector<Tensor>{x, w, b, r} : std::vector<Tensor>{x, w, b};
          const std::vector<Tensor> g_fused = autograd::Grad({fused}, leaves, {dy});
          const std::vector<Tensor> g_plain = autograd::Grad({plain}, leaves, {dy});
          for (size_t i = 0; i < leaves.size(); ++i) {
            EXPECT_EQ(g_fused[i].to_vector<double>(), g_plain[i].to_vector<double>()) << "gradient " << i;
          }
          EXPECT_EQ(dy.to_vector<double>(), dy_before.to_vector<double>());
        }
      }
    }
  }
}

// Equal values, NaN matching NaN.
bool SameValues(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i] && !(std::isnan(a[i]) && std::isnan(b[i]))) return false;
  }
  return true;
}

// relu passes the gradient where its output is NaN, as PyTorch's threshold_backward (NaN <= 0 is false).
// A NaN input element gives a NaN output there alone in eval mode, with the gradient dy * w / sqrt(var + eps),
// and in training its whole channel's, whose bias gradient is then the channel's sum of dy; the residual's
// gradient is dy there. The same through relu's own op, on the runs and columns paths, and in the recorded
// backward of create_graph.
TEST(Normalization, ReluPassesTheGradientWhereItsOutputIsNan) {
  Generator gen(17);
  const double eps = 1e-3;
  for (bool add : {false, true}) {
    for (DType dtype : {kFloat32, kFloat64}) {
      for (const Shape& shape : {Shape{8, 4, 6, 6}, Shape{16, 5, 3, 3}, Shape{32, 6}}) {
        for (bool training : {false, true}) {
          for (bool create_graph : {false, true}) {
            const int64_t c = shape[1], inner = Numel(shape) / (shape[0] * c);
            SCOPED_TRACE(absl::StrCat(add ? "add_relu " : "relu ", DTypeName(dtype), " ", ShapeToString(shape),
                                      training ? " train" : " eval", create_graph ? " create_graph" : ""));
            std::vector<double> values = normal(shape, 0.5, 2, {.dtype = kFloat64}, &gen).to_vector<double>();
            const std::vector<int64_t> nan_at = {0, Numel(shape) / 2 + 1, Numel(shape) - 1};
            for (int64_t e : nan_at) values[e] = std::numeric_limits<double>::quiet_NaN();
            const TensorOptions leaf{.dtype = dtype, .requires_grad = true};
            const Tensor x = kernels::to_dtype(from_vector<double>(values, shape), dtype).set_requires_grad();
            const Tensor w = normal({c}, 1, 0.5, leaf, &gen), b = normal({c}, 0, 1, leaf, &gen);
            const Tensor r = randn(shape, leaf, &gen), dy = randn(shape, {.dtype = dtype}, &gen);
            const Tensor rm = normal({c}, 0.3, 0.2, {.dtype = dtype}, &gen);
            const Tensor rv = uniform({c}, 1, 4, {.dtype = dtype}, &gen);
            // Training uses no running statistics, so that the NaN does not reach them.
            const Tensor rm_used = training ? Tensor() : rm, rv_used = training ? Tensor() : rv;
            const Tensor fused = add ? F::batch_norm_add_relu(x, r, rm_used, rv_used, w, b, training, 0.2, eps)
                                     : F::batch_norm_relu(x, rm_used, rv_used, w, b, training, 0.2, eps);
            const Tensor normalized = F::batch_norm(x, rm_used, rv_used, w, b, training, 0.2, eps);
            const Tensor plain = add ? add_relu(normalized, r) : relu(normalized);
            const std::vector<Tensor> leaves = add ? std::vector<Tensor>{x, b, r} : std::vector<Tensor>{x, b};
            const BackwardOptions options{.create_graph = create_graph};
            const std::vector<Tensor> g_fused = autograd::Grad({fused}, leaves, {dy}, options);
            const std::vector<Tensor> g_plain = autograd::Grad({plain}, leaves, {dy}, options);
            for (size_t i = 0; i < leaves.size(); ++i) {
              EXPECT_TRUE(SameValues(g_fused[i].to_vector<double>(), g_plain[i].to_vector<double>()))
                  << "gradient " << i;
            }
            const std::vector<double> out = fused.to_vector<double>(), dx = g_fused[0].to_vector<double>();
            const std::vector<double> db = g_fused[1].to_vector<double>(), dys = dy.to_vector<double>();
            const std::vector<double> ws = w.to_vector<double>(), rvs = rv.to_vector<double>();
            for (int64_t e : nan_at) {
              const int64_t ch = e / inner % c;
              EXPECT_TRUE(std::isnan(out[e])) << e;
              if (add) {
                EXPECT_EQ(g_fused[2].to_vector<double>()[e], dys[e]) << e;
              }
              if (!training) {
                const double expected = dys[e] * ws[ch] / std::sqrt(rvs[ch] + eps);
                EXPECT_NEAR(dx[e], expected, 1e-5 * std::abs(expected)) << e;
                continue;
              }
              double channel_sum = 0;
              for (int64_t i = ch * inner; i < Numel(shape); i += c * inner) {
                for (int64_t j = i; j < i + inner; ++j) channel_sum += dys[j];
              }
              EXPECT_NEAR(db[ch], channel_sum, 1e-5 * static_cast<double>(Numel(shape) / c)) << ch;
            }
          }
        }
      }
    }
  }
}

TEST(Normalization, BatchNormReluRecordsOneNode) {
  Generator gen(13);
  const Tensor x = randn({4, 3, 5}, {.requires_grad = true}, &gen);
  const Tensor y = F::batch_norm_relu(x, {}, {}, {}, {}, /*training=*/true);
  ASSERT_TRUE(y.grad_fn());
  EXPECT_STREQ(y.grad_fn()->name(), "BatchNormReluBackward");
  for (float v : y.to_vector<float>()) EXPECT_GE(v, 0.0f);
  EXPECT_FALSE(F::batch_norm_relu(x.detach(), {}, {}, {}, {}, true).requires_grad());
}

// In a graph, the gradient that reaches the fused op is the engine's own (here mul's): the residual's
// gradient is then written over it, and the results stay those of the unfused ops. The residual is also
// the convolution-free branch's input, as in a ResNet block, so its gradients add up.
TEST(Normalization, BatchNormAddReluInAGraph) {
  Generator gen(15);
  const TensorOptions leaf{.requires_grad = true};
  const Tensor x = randn({4, 3, 6, 6}, leaf, &gen), a = randn({4, 3, 6, 6}, leaf, &gen);
  const Tensor w = normal({3}, 1, 0.3, leaf, &gen), b = randn({3}, leaf, &gen);
  auto loss = [&](bool fused) {
    const Tensor r = mul(a, 1.5);
    const Tensor y = fused ? F::batch_norm_add_relu(mul(x, r), r, {}, {}, w, b, true)
                           : add_relu(F::batch_norm(mul(x, r), {}, {}, w, b, true), r);
    return sum(mul(y, 3.0));
  };
  const std::vector<Tensor> g_fused = autograd::Grad({loss(true)}, {x, a, w, b});
  const std::vector<Tensor> g_plain = autograd::Grad({loss(false)}, {x, a, w, b});
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(g_fused[i].to_vector<float>(), g_plain[i].to_vector<float>()) << i;
}

TEST(Normalization, BatchNormAddReluRecordsOneNodeAndChecksTheResidual) {
  Generator gen(16);
  const Tensor x = randn({4, 3, 5}, {.requires_grad = true}, &gen), r = randn({4, 3, 5}, {}, &gen);
  const Tensor y = F::batch_norm_add_relu(x, r, {}, {}, {}, {}, /*training=*/true);
  ASSERT_TRUE(y.grad_fn());
  EXPECT_STREQ(y.grad_fn()->name(), "BatchNormAddReluBackward");
  for (float v : y.to_vector<float>()) EXPECT_GE(v, 0.0f);
  EXPECT_FALSE(F::batch_norm_add_relu(x.detach(), r, {}, {}, {}, {}, true).requires_grad());
  Tensor rm = zeros({3}), rv = ones({3});
  ExpectError([&] { F::batch_norm_add_relu(x, randn({4, 3, 6}), rm, rv, {}, {}, true); },
              "batch_norm: expected residual of shape [4, 3, 5], got [4, 3, 6]");
  ExpectError([&] { F::batch_norm_add_relu(x, randn({4, 3, 5}, {.dtype = kFloat64}), rm, rv, {}, {}, true); },
              "batch_norm: expected residual of dtype float32 (the input's), got float64");
  ExpectError([&] { F::batch_norm_add_relu(x, Tensor(), rm, rv, {}, {}, true); },
              "batch_norm_add_relu: expected a residual tensor, got an undefined one");
  EXPECT_EQ(rm.to_vector<float>(), std::vector<float>(3, 0.0f));  // a rejected call updates nothing
}

// Running statistics are buffers: updated in place with their version bumped, never part of the graph.
TEST(Normalization, RunningStatisticsAreBuffers) {
  Generator gen(4);
  const Tensor x = randn({5, 2, 3}, {.requires_grad = true}, &gen);
  Tensor rm = zeros({2}), rv = ones({2});
  const uint64_t version = rv.storage().version();
  const Tensor y = F::batch_norm(x, rm, rv, {}, {}, true);
  EXPECT_GT(rv.storage().version(), version);
  EXPECT_FALSE(rm.requires_grad());
  // An eval forward normalizes with the statistics of its call: updating them afterwards (another
  // training step) does not change its gradient.
  const Tensor w = ones({2}, {.requires_grad = true});
  const Tensor ye = F::batch_norm(x, rm, rv, w, {}, false);
  const std::vector<double> expected_scale = {1 / std::sqrt(rv.at({0}) + 1e-5), 1 / std::sqrt(rv.at({1}) + 1e-5)};
  F::batch_norm(x, rm, rv, {}, {}, true);
  const Tensor dx = autograd::Grad({ye}, {x}, {ones({5, 2, 3})})[0];
  for (int64_t c = 0; c < 2; ++c) EXPECT_NEAR(dx.at({0, c, 0}), expected_scale[c], 1e-6);
}

TEST(Normalization, ModifiedInputIsCaughtInBackward) {
  Generator gen(5);
  Tensor x = randn({4, 3}, {}, &gen);
  const Tensor w = ones({3}, {.requires_grad = true});
  const Tensor y = F::layer_norm(x, {3}, w);
  x.add_(1.0);
  ExpectError([&] { sum(y).backward(); }, "modified by an in-place operation");
}

TEST(Normalization, NoGraphWithoutGradients) {
  Generator gen(6);
  const Tensor x = randn({4, 3}, {}, &gen);
  EXPECT_FALSE(F::batch_norm(x, {}, {}, {}, {}, true).requires_grad());
  const Tensor w = ones({3}, {.requires_grad = true});
  EXPECT_FALSE(NoGrad([&] { return F::group_norm(x, 3, w); }).requires_grad());
  EXPECT_TRUE(F::instance_norm(reshape(x, {2, 3, 2}), {}, {}, w).requires_grad());
}

// A gradient penalty: d/dw of |dL/dx|^2 through batch norm's backward, against finite differences.
TEST(Normalization, GradientPenaltyThroughBatchNorm) {
  Generator gen(7);
  const Tensor x = randn({4, 2, 3}, {.dtype = kFloat64, .requires_grad = true}, &gen);
  Tensor w = normal({2}, 1, 0.3, {.dtype = kFloat64, .requires_grad = true}, &gen);
  const Tensor target = randn({4, 2, 3}, {.dtype = kFloat64}, &gen);
  auto penalty = [&](const Tensor& weight) {
    const Tensor loss = sum(pow(F::batch_norm(x, {}, {}, weight, {}, true) - target, 3.0));
    const Tensor gx = autograd::Grad({loss}, {x}, {}, {.create_graph = true})[0];
    return sum(gx * gx);
  };
  const Tensor analytic = autograd::Grad({penalty(w)}, {w})[0];
  for (int64_t c = 0; c < 2; ++c) {
    const double h = 1e-6;
    double* p = w.data<double>() + c;
    const double original = *p;
    *p = original + h;
    const double plus = penalty(w).item();
    *p = original - h;
    const double minus = penalty(w).item();
    *p = original;
    EXPECT_NEAR(analytic.at({c}), (plus - minus) / (2 * h), 1e-5 * std::max(1.0, std::abs(analytic.at({c}))));
  }
}

// An empty input (no samples, or samples without values) gives an empty output, as in PyTorch: the running
// statistics stay as they were, and weight and bias get zero gradients, through the fused kernels and the
// differentiable form alike.
TEST(Normalization, EmptyInputsGiveEmptyOutputs) {
  for (DType dtype : {kFloat32, kFloat64}) {
    for (const Shape& shape : {Shape{0, 3}, Shape{0, 3, 4}, Shape{2, 3, 0}, Shape{0, 3, 2, 2}}) {
      for (bool create_graph : {false, true}) {
        SCOPED_TRACE(absl::StrCat(DTypeName(dtype), " ", ShapeToString(shape), create_graph ? " create_graph" : ""));
        const TensorOptions leaf{.dtype = dtype, .requires_grad = true};
        const Tensor x = zeros(shape, leaf), w = ones({3}, leaf), b = zeros({3}, leaf);
        const Tensor residual = zeros(shape, {.dtype = dtype});
        auto expect_empty = [&](const Tensor& y, const std::string& what, const Tensor& input) {
          EXPECT_EQ(y.shape(), input.shape()) << what;
          const std::vector<Tensor> g = autograd::Grad({y}, {input, w, b}, {zeros_like(input)},
                                                       {.create_graph = create_graph});
          EXPECT_EQ(g[0].shape(), input.shape()) << what;
          EXPECT_EQ(g[1].to_vector<double>(), std::vector<double>(3, 0.0)) << what;
          EXPECT_EQ(g[2].to_vector<double>(), std::vector<double>(3, 0.0)) << what;
        };
        auto expect_untouched = [](const Tensor& rm, const Tensor& rv, const std::string& what) {
          EXPECT_EQ(rm.to_vector<double>(), std::vector<double>(3, 0.5)) << what;
          EXPECT_EQ(rv.to_vector<double>(), std::vector<double>(3, 2.0)) << what;
        };
        for (bool training : {true, false}) {
          for (const std::string op : {"batch_norm", "batch_norm_relu", "batch_norm_add_relu", "instance_norm"}) {
            const std::string what = absl::StrCat(op, training ? " training" : " eval");
            if (op == "instance_norm" && training && shape.size() == 2) continue;  // one spatial element: refused
            Tensor rm = full({3}, 0.5, {.dtype = dtype}), rv = full({3}, 2.0, {.dtype = dtype});
            const Tensor y = op == "batch_norm"        ? F::batch_norm(x, rm, rv, w, b, training)
                             : op == "batch_norm_relu" ? F::batch_norm_relu(x, rm, rv, w, b, training)
                             : op == "instance_norm"   ? F::instance_norm(x, rm, rv, w, b, training)
                                                       : F::batch_norm_add_relu(x, residual, rm, rv, w, b, training);
            expect_empty(y, what, x);
            expect_untouched(rm, rv, what);
          }
        }
        expect_empty(F::group_norm(x, 3, w, b), "group_norm", x);
        const Tensor xl = zeros({shape[0], shape.back(), 3}, leaf);  // layer norm over a last dim of 3
        expect_empty(F::layer_norm(xl, {3}, w, b), "layer_norm", xl);
      }
    }
  }
}

// rms_norm against references from PyTorch's definition (tools/make_normalization_fixtures.py: PyTorch
// 1.13 lacks F.rms_norm; the script checks them against it under PyTorch >= 2.4), with the default eps
// (the dtype's epsilon) and a given one.
TEST(Normalization, RmsNormMatchesPyTorch) {
  const json fixture = LoadFixtures("rms_norm.json");
  ASSERT_EQ(fixture["cases"].size(), 5u);
  for (const json& c : fixture["cases"]) {
    for (DType dtype : {kFloat32, kFloat64}) {
      const std::string what = c["name"].get<std::string>() + " " + DTypeName(dtype);
      const json& e = c[DTypeName(dtype)];
      const Shape shape = c["shape"].get<Shape>(), normalized = c["normalized_shape"].get<Shape>();
      const Tensor x = Input(c["x"], shape, dtype, true), w = Input(c["weight"], normalized, dtype, true);
      const std::optional<double> eps = c["eps"].is_null() ? std::nullopt : std::optional(c["eps"].get<double>());
      const Tensor y = F::rms_norm(x, normalized, w, eps);
      const double rtol = dtype == kFloat32 ? 2e-5 : 1e-10;
      ExpectClose(y, e["y"], rtol, what + " y");
      const std::vector<Tensor> leaves = w.defined() ? std::vector<Tensor>{x, w} : std::vector<Tensor>{x};
      const std::vector<Tensor> g = autograd::Grad({y}, leaves, {Input(c["dy"], shape, dtype, false)});
      ExpectClose(g[0], e["dx"], rtol, what + " dx");
      if (w.defined()) ExpectClose(g[1], e["dweight"], rtol, what + " dweight");
    }
  }
  ExpectError([&] { F::rms_norm(zeros({2, 3}), {4}); },
              "rms_norm: expected an input whose trailing dims are [4], got [2, 3]");
  ExpectError([&] { F::rms_norm(zeros({2, 3}), {3}, ones({2})); }, "rms_norm: expected weight of shape [3], got [2]");
  ExpectError([&] { F::rms_norm(zeros({2, 3}), {3}, {}, -1.0); }, "rms_norm: expected eps >= 0, got -1");
}

TEST(Normalization, ErrorsLeaveRunningStatisticsUntouched) {
  Generator gen(8);
  const Tensor x = randn({4, 3, 5}, {}, &gen);
  const Tensor rm = zeros({3}), rv = ones({3});
  const double nan = std::numeric_limits<double>::quiet_NaN();
  ExpectError([&] { F::batch_norm(zeros({4}), rm, rv, {}, {}, true); },
              "batch_norm: expected an input with at least 2 dims ([N, C, ...]), got [4]");
  ExpectError([&] { F::batch_norm(x, zeros({5}), rv, {}, {}, true); },
              "batch_norm: expected running_mean of shape [3], got [5]");
  ExpectError([&] { F::batch_norm(x, rm, ones({2}), {}, {}, true); },
              "batch_norm: expected running_var of shape [3], got [2]");
  ExpectError([&] { F::batch_norm(x, rm, rv, ones({4}), {}, true); }, "batch_norm: expected weight of shape [3], got [4]");
  ExpectError([&] { F::batch_norm(x, rm, rv, {}, ones({1}), true); }, "batch_norm: expected bias of shape [3], got [1]");
  ExpectError([&] { F::batch_norm(x, rm, rv, {}, {}, true, 0.1, -1e-5); }, "batch_norm: expected eps >= 0, got -1e-05");
  ExpectError([&] { F::batch_norm(x, rm, rv, {}, {}, true, nan); }, "batch_norm: expected a finite momentum, got nan");
  ExpectError([&] { F::batch_norm(x, zeros({3}, {.dtype = kFloat64}), ones({3}, {.dtype = kFloat64}), {}, {}, true); },
              "batch_norm: expected running_mean of dtype float32 (the input's), got float64");
  ExpectError([&] { F::batch_norm(x, {}, rv, {}, {}, true); },
              "batch_norm: expected running_mean and running_var both given or both absent, got running_var only");
  ExpectError([&] { F::batch_norm(randn({1, 3}, {}, &gen), rm, rv, {}, {}, true); },
              "batch_norm: expected more than 1 value per channel when training, got input of shape [1, 3]");
  ExpectError([&] { F::batch_norm(x, {}, {}, {}, {}, false); },
              "batch_norm: expected running_mean and running_var in eval mode (training = false)");
  ExpectError([&] { F::instance_norm(x, rm, rv, {}, {}, false, 0.1, -1); }, "instance_norm: expected eps >= 0, got -1");
  ExpectError([&] { F::instance_norm(x, {}, {}, {}, {}, false); },
              "instance_norm: expected running_mean and running_var when use_input_stats is false");
  ExpectError([&] { F::instance_norm(randn({4, 3}, {}, &gen), rm, rv); },
              "instance_norm: expected more than 1 spatial element when using input stats, got input of shape [4, 3]");
  ExpectError([&] { F::instance_norm(x, rm, rv, {}, {}, true, std::numeric_limits<double>::infinity()); },
              "instance_norm: expected a finite momentum, got inf");
  ExpectError([&] { F::group_norm(x, 2); }, "group_norm: expected num_groups > 0 dividing the 3 channels, got 2");
  ExpectError([&] { F::group_norm(x, 3, {}, zeros({4})); }, "group_norm: expected bias of shape [3], got [4]");
  ExpectError([&] { F::layer_norm(x, {3}); }, "layer_norm: expected an input whose trailing dims are [3], got [4, 3, 5]");
  ExpectError([&] { F::layer_norm(x, {5}, ones({3, 5})); }, "layer_norm: expected weight of shape [5], got [3, 5]");
  ExpectError([&] { F::layer_norm(zeros({2}, {.dtype = kInt64}), {2}); },
              "layer_norm: expected a floating-point input (float32 or float64), got int64");
  EXPECT_EQ(rm.to_vector<float>(), std::vector<float>(3, 0));
  EXPECT_EQ(rv.to_vector<float>(), std::vector<float>(3, 1));
  EXPECT_EQ(rm.storage().version(), 0u);
  EXPECT_EQ(rv.storage().version(), 0u);
}

}  // namespace
}  // namespace normgrad
