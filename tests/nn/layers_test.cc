// The layer modules: every configuration in the PyTorch fixtures (outputs, gradients, buffers after each
// training and eval step, state dict keys), the train/eval difference, default initialization, option
// validation, input-rank errors and RecomputeBatchNormStatistics.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "core/random.h"
#include "nn/activation.h"
#include "nn/container.h"
#include "nn/conv.h"
#include "nn/dropout.h"
#include "nn/flatten.h"
#include "nn/functional/normalization.h"
#include "nn/linear.h"
#include "nn/normalization.h"
#include "nn/pooling.h"
#include "tests/nn/module_fixtures.h"

namespace normgrad::nn {
namespace {

// What f throws, or "no error".
std::string ErrorMessage(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return std::string(e.what());
  }
  return std::string("no error");
}

using fixtures::ExpectClose;
using fixtures::TensorFromJson;
using Json = nlohmann::json;

// ---- building the module a fixture case names

template <typename T>
T Option(const Json& o, const char* key, T fallback) {
  return o.contains(key) ? o[key].get<T>() : fallback;
}

// Conv2d's padding: [h, w], "same" or "valid".
Conv2dPadding PaddingOption(const Json& o) {
  if (!o.contains("padding")) return 0;
  if (o["padding"] == "same") return kSame;
  if (o["padding"] == "valid") return kValid;
  const auto v = o["padding"].get<std::vector<int64_t>>();
  return {v[0], v[1]};
}

PaddingMode PaddingModeOption(const Json& o) {
  const std::string mode = o.value("padding_mode", "zeros");
  if (mode == "reflect") return PaddingMode::kReflect;
  if (mode == "replicate") return PaddingMode::kReplicate;
  if (mode == "circular") return PaddingMode::kCircular;
  EXPECT_EQ(mode, "zeros");
  return PaddingMode::kZeros;
}

IntPair PairOption(const Json& o, const char* key, int64_t fallback) {
  if (!o.contains(key)) return fallback;
  const auto v = o[key].get<std::vector<int64_t>>();
  return {v[0], v[1]};
}

std::shared_ptr<Module> MakeLayer(const Json& c) {
  const std::string kind = c["module"];
  const Json& o = c["options"];
  if (kind.starts_with("BatchNorm")) {
    const BatchNormOptions options{
        .num_features = o["num_features"],
        .eps = Option(o, "eps", 1e-5),
        .momentum = !o.contains("momentum") ? std::optional<double>(0.1)
                    : o["momentum"].is_null() ? std::nullopt
                                              : std::optional<double>(o["momentum"].get<double>()),
        .affine = Option(o, "affine", true),
        .track_running_stats = Option(o, "track_running_stats", true)};
    if (kind == "BatchNorm1d") return std::make_shared<BatchNorm1d>(options);
    if (kind == "BatchNorm2d") return std::make_shared<BatchNorm2d>(options);
    return std::make_shared<BatchNorm3d>(options);
  }
  if (kind.starts_with("InstanceNorm")) {
    const InstanceNormOptions options{.num_features = o["num_features"],
                                      .eps = Option(o, "eps", 1e-5),
                                      .momentum = Option(o, "momentum", 0.1),
                                      .affine = Option(o, "affine", false),
                                      .track_running_stats = Option(o, "track_running_stats", false)};
    if (kind == "InstanceNorm1d") return std::make_shared<InstanceNorm1d>(options);
    if (kind == "InstanceNorm2d") return std::make_shared<InstanceNorm2d>(options);
    return std::make_shared<InstanceNorm3d>(options);
  }
  if (kind == "LayerNorm") {
    return std::make_shared<LayerNorm>(
        LayerNormOptions{.normalized_shape = o["normalized_shape"].get<Shape>(), .eps = Option(o, "eps", 1e-5)});
  }
  if (kind == "GroupNorm") {
    return std::make_shared<GroupNorm>(GroupNormOptions{.num_groups = o["num_groups"], .num_channels = o["num_channels"]});
  }
  if (kind == "Conv2d") {
    return std::make_shared<Conv2d>(Conv2dOptions{.in_channels = o["in_channels"],
                                                  .out_channels = o["out_channels"],
                                                  .kernel_size = PairOption(o, "kernel_size", 0),
                                                  .stride = PairOption(o, "stride", 1),
                                                  .padding = PaddingOption(o),
                                                  .dilation = PairOption(o, "dilation", 1),
                                                  .groups = Option<int64_t>(o, "groups", 1),
                                                  .bias = Option(o, "bias", true),
                                                  .padding_mode = PaddingModeOption(o)});
  }
  if (kind == "ConvTranspose2d") {
    return std::make_shared<ConvTranspose2d>(ConvTranspose2dOptions{.in_channels = o["in_channels"],
                                                                    .out_channels = o["out_channels"],
                                                                    .kernel_size = PairOption(o, "kernel_size", 0),
                                                                    .stride = PairOption(o, "stride", 1),
                                                                    .padding = PairOption(o, "padding", 0),
                                                                    .output_padding = PairOption(o, "output_padding", 0),
                                                                    .groups = Option<int64_t>(o, "groups", 1),
                                                                    .bias = Option(o, "bias", true),
                                                                    .dilation = PairOption(o, "dilation", 1)});
  }
  if (kind == "Linear") {
    return std::make_shared<Linear>(LinearOptions{.in_features = o["in_features"], .out_features = o["out_features"]});
  }
  const Pool2dOptions pool{.kernel_size = PairOption(o, "kernel_size", 0),
                           .stride = PairOption(o, "stride", 0),
                           .padding = PairOption(o, "padding", 0)};
  if (kind == "MaxPool2d") return std::make_shared<MaxPool2d>(pool);
  if (kind == "AvgPool2d") return std::make_shared<AvgPool2d>(pool);
  if (kind == "AdaptiveAvgPool2d") return std::make_shared<AdaptiveAvgPool2d>(PairOption(o, "output_size", 0));
  if (kind == "ReLU") return std::make_shared<ReLU>();
  if (kind == "Flatten") return std::make_shared<Flatten>();
  ADD_FAILURE() << "unknown module " << kind;
  return nullptr;
}

std::vector<std::string> LayerNames() {
  std::vector<std::string> names;
  for (const Json& c : fixtures::ModuleFixtures()["layers"]) names.push_back(c["name"]);
  return names;
}

const Json& LayerCase(const std::string& name) {
  for (const Json& c : fixtures::ModuleFixtures()["layers"]) {
    if (c["name"] == name) return c;
  }
  throw std::runtime_error("no fixture " + name);
}

class PyTorchLayer : public testing::TestWithParam<std::string> {};

// Each case: the state dict loads strictly (same keys and shapes as PyTorch's), then every step gives
// PyTorch's output and leaves PyTorch's buffers; the first step's gradients match too.
TEST_P(PyTorchLayer, MatchesPyTorchStepByStep) {
  const Json& c = LayerCase(GetParam());
  std::shared_ptr<Module> m = MakeLayer(c);
  ASSERT_NE(m, nullptr);
  m->to(kFloat64);
  auto loaded = m->load_state_dict(fixtures::StateFromJson(c["state"]));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  constexpr double kRtol = 1e-10, kAtol = 1e-12;
  int index = 0;
  for (const Json& step : c["steps"]) {
    const std::string where = GetParam() + " step " + std::to_string(index++);
    m->train(step["train"].get<bool>());
    Tensor x = TensorFromJson(step["input"]);
    x.set_requires_grad(step.contains("grad_output"));
    Tensor y = (*m)(x);
    ExpectClose(y, TensorFromJson(step["output"]), kRtol, kAtol, where + " output");
    if (step.contains("grad_output")) {
      m->zero_grad();
      y.backward(TensorFromJson(step["grad_output"]));
      ExpectClose(x.grad(), TensorFromJson(step["input_grad"]), kRtol, kAtol, where + " input grad");
      for (const auto& [name, p] : m->named_parameters()) {
        ExpectClose(p.grad(), TensorFromJson(step["param_grads"][name]), kRtol, kAtol, where + " grad of " + name);
      }
    }
    const StateDict state = m->state_dict();
    ASSERT_EQ(state.size(), step["state_after"].size()) << where;
    for (const auto& [key, expected] : step["state_after"].items()) {
      ASSERT_TRUE(state.contains(key)) << where << ": " << key;
      EXPECT_EQ(state.at(key).dtype(), TensorFromJson(expected).dtype()) << where << ": " << key;
      ExpectClose(state.at(key), TensorFromJson(expected), kRtol, kAtol, where + " " + key);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, PyTorchLayer, testing::ValuesIn(LayerNames()),
                         [](const testing::TestParamInfo<std::string>& info) { return info.param; });

// ---- train() / eval()

TEST(TrainEval, BatchStatisticsInTrainingRunningStatisticsInEval) {
  Generator gen(3);
  BatchNorm2d bn(3);
  {
    NoGradGuard no_grad;
    bn.buffer("running_mean").copy_(from_vector<float>({0.5f, -1.0f, 2.0f}));
    bn.buffer("running_var").copy_(from_vector<float>({4.0f, 0.25f, 1.0f}));
  }
  const Tensor x = normal({8, 3, 4, 4}, 1.0, 3.0, {}, &gen);

  // Training: each channel of the output has mean 0 and (biased) variance 1: the batch's statistics.
  const Tensor y_train = bn(x);
  const Tensor per_channel = reshape(permute(y_train, {1, 0, 2, 3}), {3, -1});
  ExpectClose(mean(per_channel, {1}), zeros({3}), 0, 1e-5, "training mean");
  ExpectClose(var(per_channel, {1}, /*correction=*/0), ones({3}), 0, 1e-3, "training variance");

  // Eval: (x - running_mean) / sqrt(running_var + eps), whatever the batch; no buffer changes, bit for bit.
  bn.eval();
  const StateDict before = nn::Clone(std::make_shared<BatchNorm2d>(bn))->state_dict();
  const Tensor y_eval = bn(x);
  const Tensor rm = reshape(bn.buffer("running_mean"), {1, 3, 1, 1});
  const Tensor rv = reshape(bn.buffer("running_var"), {1, 3, 1, 1});
  ExpectClose(y_eval, (x - rm) / sqrt(rv + 1e-5), 1e-5, 1e-5, "eval output");
  for (const auto& [key, t] : bn.state_dict()) {
    EXPECT_EQ(t.to_vector<double>(), before.at(key).to_vector<double>()) << key;
  }
  // The same input again in training moves the running statistics and counts the batch.
  bn.train();
  bn(x);
  EXPECT_NE(bn.buffer("running_mean").to_vector<double>(), before.at("running_mean").to_vector<double>());
  EXPECT_EQ(bn.buffer("num_batches_tracked").item<int64_t>(), before.at("num_batches_tracked").item<int64_t>() + 1);
}

TEST(TrainEval, WithoutRunningStatisticsBothModesUseTheBatch) {
  Generator gen(4);
  BatchNorm1d bn(BatchNormOptions{.num_features = 2, .track_running_stats = false});
  EXPECT_TRUE(bn.buffers().empty());
  const Tensor x = randn({6, 2}, {}, &gen);
  const Tensor y_train = bn(x);
  bn.eval();
  EXPECT_EQ(bn(x).to_vector<float>(), y_train.to_vector<float>());
}

// ---- errors: each leaves the buffers as they were

TEST(BatchNorm, RejectsOtherRanksAndChannelCounts) {
  BatchNorm1d bn1(3);
  BatchNorm2d bn2(3);
  BatchNorm3d bn3(3);
  EXPECT_EQ(ErrorMessage([&] { bn1(zeros({2, 3, 4, 4})); }), "BatchNorm1d: expected 2D or 3D input, got 4D input of shape [2, 3, 4, 4]");
  EXPECT_EQ(ErrorMessage([&] { bn2(zeros({2, 3, 4})); }), "BatchNorm2d: expected 4D input, got 3D input of shape [2, 3, 4]");
  EXPECT_EQ(ErrorMessage([&] { bn3(zeros({2, 3, 4, 4})); }), "BatchNorm3d: expected 5D input, got 4D input of shape [2, 3, 4, 4]");
  EXPECT_EQ(ErrorMessage([&] { bn2(zeros({2, 4, 2, 2})); }), "BatchNorm2d: expected 3 channels in dim 1, got input of shape [2, 4, 2, 2]");
  // One value per channel in training: the functional op refuses, and nothing was counted or updated.
  EXPECT_THROW(bn1(ones({1, 3})), Error);
  EXPECT_EQ(bn1.buffer("num_batches_tracked").item<int64_t>(), 0);
  EXPECT_EQ(bn1.buffer("running_mean").to_vector<float>(), std::vector<float>(3, 0.0f));
  EXPECT_EQ(bn2.buffer("num_batches_tracked").item<int64_t>(), 0);
  EXPECT_THROW(BatchNorm2d(0), Error);
  EXPECT_THROW(BatchNorm2d(BatchNormOptions{.num_features = 2, .momentum = 1.5}), Error);
  // No per-channel tensors (no affine, no running statistics): any channel count, as in PyTorch.
  BatchNorm2d plain(BatchNormOptions{.num_features = 3, .affine = false, .track_running_stats = false});
  EXPECT_EQ(plain(randn({2, 5, 3, 3})).shape(), (Shape{2, 5, 3, 3}));
  EXPECT_THROW(BatchNorm2d(BatchNormOptions{.num_features = 3, .affine = false})(randn({2, 5, 3, 3})), Error);
}

TEST(InstanceNorm, RejectsOtherRanks) {
  InstanceNorm2d in(InstanceNormOptions{.num_features = 3, .affine = true});
  EXPECT_THROW(in(zeros({3, 4})), Error);
  EXPECT_THROW(in(zeros({1, 2, 3, 4, 5})), Error);
  EXPECT_THROW(in(zeros({2, 4, 3, 3})), Error);  // affine: the channel count must match
  EXPECT_EQ(InstanceNorm2d(3)(ones({2, 5, 3, 3})).shape(), (Shape{2, 5, 3, 3}));  // no per-channel tensors: any C
}

TEST(Pooling, ModulesPassCeilModeAndCountIncludePad) {
  // 7 x 7 input, 2 x 2 windows at stride 2: 3 x 3 rounded down, 4 x 4 with ceil_mode.
  const Tensor x = randn({1, 2, 7, 7});
  MaxPool2d floor_max(Pool2dOptions{.kernel_size = 2});
  MaxPool2d ceil_max(Pool2dOptions{.kernel_size = 2, .ceil_mode = true});
  EXPECT_EQ(floor_max(x).shape(), (Shape{1, 2, 3, 3}));
  EXPECT_EQ(ceil_max(x).shape(), (Shape{1, 2, 4, 4}));
  EXPECT_EQ(ceil_max.extra_repr(), "kernel_size=[2, 2], stride=[2, 2], padding=[0, 0], ceil_mode=true");
  // Without the padding in the count, a mean over a corner window of ones is 1, not 1/4.
  AvgPool2d exclude(Pool2dOptions{.kernel_size = 2, .stride = 1, .padding = 1, .count_include_pad = false});
  EXPECT_EQ(exclude(ones({1, 1, 2, 2})).to_vector<float>(), std::vector<float>(9, 1.0f));
  EXPECT_EQ(exclude.extra_repr(), "kernel_size=[2, 2], stride=[1, 1], padding=[1, 1], count_include_pad=false");
}

TEST(Options, InvalidOptionsThrow) {
  EXPECT_THROW(Conv2d(Conv2dOptions{.in_channels = 3, .out_channels = 4, .kernel_size = 3, .groups = 2}), Error);
  EXPECT_THROW(Conv2d(Conv2dOptions{.in_channels = 3, .out_channels = 4}), Error);  // no kernel size
  EXPECT_THROW(Conv2d(Conv2dOptions{.in_channels = 3, .out_channels = 4, .kernel_size = 3, .padding = -1}), Error);
  EXPECT_THROW(Linear(LinearOptions{.in_features = 0, .out_features = 2}), Error);
  EXPECT_THROW(GroupNorm(GroupNormOptions{.num_groups = 3, .num_channels = 4}), Error);
  EXPECT_THROW(LayerNorm(Shape{}), Error);
  EXPECT_THROW(LayerNorm(Shape{4, 0}), Error);
  EXPECT_THROW(MaxPool2d(Pool2dOptions{.kernel_size = 2, .padding = 2}), Error);
  EXPECT_THROW(AvgPool2d(Pool2dOptions{.kernel_size = 0}), Error);
  EXPECT_EQ(ErrorMessage([] { MaxPool2d(Pool2dOptions{.kernel_size = 2, .count_include_pad = false}); }),
            "MaxPool2d: count_include_pad is an option of AvgPool2d only");
  EXPECT_THROW(AdaptiveAvgPool2d(0), Error);
  EXPECT_THROW(Dropout(DropoutOptions{.p = 1.5}), Error);
}

// ---- RecomputeBatchNormStatistics

// A model with a tracking batch norm after a linear layer and one without running statistics.
struct RecomputeModel {
  explicit RecomputeModel(Generator& gen)
      : linear(std::make_shared<Linear>(LinearOptions{.in_features = 3, .out_features = 4}, &gen)),
        bn(std::make_shared<BatchNorm1d>(4)),
        untracked(std::make_shared<BatchNorm1d>(BatchNormOptions{.num_features = 2, .track_running_stats = false})),
        model(std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
            linear, bn, std::make_shared<ReLU>(),
            std::make_shared<Linear>(LinearOptions{.in_features = 4, .out_features = 2}, &gen), untracked})) {
    for (int i = 0; i < 3; ++i) (*model)(randn({8, 3}, {}, &gen));  // running statistics away from the defaults
    model->eval();
  }
  // next_input for RecomputeBatchNormStatistics: `inputs` one by one; throws at `fail_at` when given.
  std::function<std::optional<Tensor>()> Feed(const std::vector<Tensor>& inputs, int fail_at = -1) {
    return [inputs, fail_at, next = 0]() mutable -> std::optional<Tensor> {
      if (next == fail_at) throw Error("no more data");
      if (next == static_cast<int>(inputs.size())) return std::nullopt;
      return inputs[next++];
    };
  }
  std::shared_ptr<Linear> linear;
  std::shared_ptr<BatchNorm1d> bn, untracked;
  std::shared_ptr<Sequential> model;
};

TEST(RecomputeBatchNormStatistics, AveragesTheBatchesStatisticsAndRestoresTheSettings) {
  Generator gen(6);
  RecomputeModel m(gen);
  const std::vector<Tensor> inputs = {randn({8, 3}, {}, &gen), randn({8, 3}, {}, &gen), randn({5, 3}, {}, &gen)};
  EXPECT_EQ(RecomputeBatchNormStatistics(*m.model, m.Feed(inputs)), 3);

  // Each batch's mean and unbiased variance of the batch norm's input, averaged with equal weights.
  std::vector<double> mean(4, 0.0), var(4, 0.0);
  for (const Tensor& x : inputs) {
    const std::vector<double> h = NoGrad([&] { return (*m.linear)(x); }).to_vector<double>();
    const int64_t n = x.size(0);
    for (int64_t c = 0; c < 4; ++c) {
      double sum = 0, squares = 0;
      for (int64_t i = 0; i < n; ++i) sum += h[i * 4 + c];
      for (int64_t i = 0; i < n; ++i) squares += (h[i * 4 + c] - sum / n) * (h[i * 4 + c] - sum / n);
      mean[c] += sum / n / 3;
      var[c] += squares / (n - 1) / 3;
    }
  }
  const std::vector<double> got_mean = m.bn->buffer("running_mean").to_vector<double>();
  const std::vector<double> got_var = m.bn->buffer("running_var").to_vector<double>();
  for (int c = 0; c < 4; ++c) {
    EXPECT_NEAR(got_mean[c], mean[c], 1e-5 * (1 + std::abs(mean[c]))) << "channel " << c;
    EXPECT_NEAR(got_var[c], var[c], 1e-5 * var[c]) << "channel " << c;
  }
  EXPECT_EQ(m.bn->buffer("num_batches_tracked").item<int64_t>(), 3);
  EXPECT_EQ(m.bn->options().momentum, 0.1);
  EXPECT_FALSE(m.model->is_training());
  EXPECT_TRUE(m.untracked->buffers().empty());

  // The model's mode is put back whatever it was; without batch norm layers nothing runs.
  m.model->train();
  RecomputeBatchNormStatistics(*m.model, m.Feed(inputs));
  EXPECT_TRUE(m.model->is_training());
  auto plain = std::make_shared<Linear>(LinearOptions{.in_features = 3, .out_features = 2}, &gen);
  EXPECT_EQ(RecomputeBatchNormStatistics(*plain, [&]() -> std::optional<Tensor> {
              ADD_FAILURE() << "a model without batch norm asked for inputs";
              return std::nullopt;
            }),
            0);
}

// RecomputeModel's network under a module whose train() keeps its batch norm in eval mode (frozen).
class FrozenBatchNorm : public Cloneable<FrozenBatchNorm> {
 public:
  explicit FrozenBatchNorm(const RecomputeModel& m) : Cloneable("FrozenBatchNorm"), bn_(m.bn) {
    register_module("net", m.model);
  }
  Tensor forward(const Tensor& x) override { return (*child("net"))(x); }
  Module& train(bool on = true) override {
    Module::train(on);
    bn_->eval();
    return *this;
  }

 private:
  std::shared_ptr<BatchNorm1d> bn_;
};

TEST(RecomputeBatchNormStatistics, LeavesLayersThatTrainKeepsInEvalMode) {
  Generator gen(8);
  RecomputeModel m(gen);
  const auto frozen = std::make_shared<FrozenBatchNorm>(m);
  const StateDict before = m.bn->clone()->state_dict();
  // The only tracking layer stays frozen: nothing to recompute, nothing runs, nothing changes.
  EXPECT_EQ(RecomputeBatchNormStatistics(*frozen, m.Feed({randn({8, 3}, {}, &gen)})), 0);
  for (const auto& [key, t] : m.bn->state_dict()) {
    EXPECT_EQ(t.to_vector<double>(), before.at(key).to_vector<double>()) << key;
  }
}

TEST(RecomputeBatchNormStatistics, FailureOrNoBatchesKeepTheOldStatistics) {
  Generator gen(7);
  RecomputeModel m(gen);
  std::map<std::string, std::vector<double>> before;
  for (const auto& [key, t] : m.model->state_dict()) before[key] = t.to_vector<double>();
  const auto expect_unchanged = [&](const char* when) {
    for (const auto& [key, t] : m.model->state_dict()) EXPECT_EQ(t.to_vector<double>(), before.at(key)) << key << " " << when;
    EXPECT_EQ(m.bn->options().momentum, 0.1) << when;
    EXPECT_FALSE(m.model->is_training()) << when;
  };
  const std::vector<Tensor> inputs = {randn({8, 3}, {}, &gen), randn({8, 3}, {}, &gen)};
  EXPECT_THROW(RecomputeBatchNormStatistics(*m.model, m.Feed(inputs, /*fail_at=*/1)), Error);
  expect_unchanged("after a failing input");
  // One value per channel is refused by batch norm in training, after a first good batch.
  EXPECT_THROW(RecomputeBatchNormStatistics(*m.model, m.Feed({inputs[0], randn({1, 3}, {}, &gen)})), Error);
  expect_unchanged("after a failing batch");
  EXPECT_EQ(RecomputeBatchNormStatistics(*m.model, m.Feed({})), 0);
  expect_unchanged("after no batches");
}

TEST(BatchNorm, SetMomentumChecksItsArgument) {
  BatchNorm2d bn(3);
  bn.set_momentum(std::nullopt);
  EXPECT_EQ(bn.options().momentum, std::nullopt);
  bn.set_momentum(0.3);
  try {
    bn.set_momentum(1.5);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "BatchNorm2d: expected momentum in [0, 1] or none (cumulative average), got 1.5");
  }
  EXPECT_EQ(bn.options().momentum, 0.3);
}

// PyTorch fills a missing num_batches_tracked with 0 (state dicts from before the buffer existed); every
// other key stays required.
TEST(BatchNorm, LoadsStateDictsWithoutNumBatchesTracked) {
  Generator gen(3);
  auto make = [&] {
    return std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
        std::make_shared<Conv2d>(Conv2dOptions{.in_channels = 2, .out_channels = 3, .kernel_size = 1}, &gen),
        std::make_shared<BatchNorm2d>(3)});
  };
  auto model = make(), source = make();
  source->state_dict().at("1.running_mean").fill_(1.5);
  StateDict old = source->state_dict();
  old.erase("1.num_batches_tracked");
  for (bool strict : {true, false}) {
    SCOPED_TRACE(strict ? "strict" : "non-strict");
    model->state_dict().at("1.num_batches_tracked").fill_(7);
    const absl::StatusOr<LoadResult> loaded = model->load_state_dict(old, strict);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_TRUE(loaded->clean());
    EXPECT_EQ((*model)[1]->buffer("num_batches_tracked").item<int64_t>(), 0);
    EXPECT_EQ((*model)[1]->buffer("running_mean").to_vector<float>(), std::vector<float>(3, 1.5f));
  }

  // Another missing key still fails strict loading, naming only that key, and changes nothing.
  model->state_dict().at("1.num_batches_tracked").fill_(7);
  StateDict without_var = old;
  without_var.erase("1.running_var");
  const absl::StatusOr<LoadResult> failed = model->load_state_dict(without_var);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().message(),
            "load_state_dict: the state dict does not fit Sequential: missing keys: 1.running_var");
  EXPECT_EQ((*model)[1]->buffer("num_batches_tracked").item<int64_t>(), 7);
  const absl::StatusOr<LoadResult> partial = model->load_state_dict(without_var, /*strict=*/false);
  ASSERT_TRUE(partial.ok());
  EXPECT_EQ(partial->missing_keys, std::vector<std::string>{"1.running_var"});
  EXPECT_EQ((*model)[1]->buffer("num_batches_tracked").item<int64_t>(), 0);

  // Instance norm with running statistics has the buffer too, and PyTorch fills it the same way.
  InstanceNorm2d in(InstanceNormOptions{.num_features = 3, .track_running_stats = true});
  in.buffer("num_batches_tracked").fill_(4);
  StateDict in_old = in.state_dict();
  in_old.erase("num_batches_tracked");
  ASSERT_TRUE(in.load_state_dict(in_old).ok());
  EXPECT_EQ(in.buffer("num_batches_tracked").item<int64_t>(), 0);
}

// PyTorch (1.13) refuses group norm only when N * C / num_groups * spatial size is 1, and ties the module to
// num_channels only through its weight and bias.
TEST(RMSNorm, IsRmsNormWithAWeightThatGetsNoDecay) {
  RMSNorm norm(RMSNormOptions{.normalized_shape = {3}, .eps = 1e-4});
  const Tensor weight = norm.parameter("weight");
  EXPECT_EQ(weight.to_vector<float>(), std::vector<float>(3, 1.0f));
  EXPECT_EQ(norm.named_parameters().size(), 1u);
  const Tensor x = from_vector<float>({3, 0, 4, 1, 1, 1}, {2, 3});
  EXPECT_EQ(norm(x).to_vector<float>(), functional::rms_norm(x, {3}, weight, 1e-4).to_vector<float>());
  EXPECT_EQ(norm.extra_repr(), "[3], eps=0.0001, elementwise_affine=true");
  EXPECT_EQ(RMSNorm(Shape{2, 2}).extra_repr(), "[2, 2], eps=none, elementwise_affine=true");
  EXPECT_TRUE(RMSNorm(RMSNormOptions{.normalized_shape = {3}, .elementwise_affine = false}).named_parameters().empty());
  EXPECT_NE(dynamic_cast<const NormalizationLayer*>(&norm), nullptr);  // optim::NoDecayOnNorms leaves it out
  EXPECT_THROW(RMSNorm(RMSNormOptions{.normalized_shape = {3}, .eps = -1.0}), Error);
  EXPECT_THROW(RMSNorm(Shape{0}), Error);
}

TEST(LayerNorm, WithoutBiasHasOnlyAWeight) {
  LayerNorm norm(LayerNormOptions{.normalized_shape = {4}, .bias = false});
  EXPECT_EQ(norm.state_dict().size(), 1u);
  EXPECT_TRUE(norm.state_dict().count("weight"));
  const Tensor x = randn({2, 4});
  EXPECT_EQ(norm(x).to_vector<float>(), functional::layer_norm(x, {4}, norm.parameter("weight")).to_vector<float>());
}

// ConvTranspose2d's weight is [in_channels, out_channels / groups, kh, kw]: PyTorch's initialization takes
// fan_in from its dim 1, out_channels / groups * kh * kw, for both the weight's and the bias's bound.
TEST(ConvTranspose2d, InitializationReprAndErrorsAsPyTorch) {
  Generator gen(21);
  ConvTranspose2d conv({.in_channels = 4, .out_channels = 6, .kernel_size = {3, 2}, .groups = 2}, &gen);
  EXPECT_EQ(conv.parameter("weight").shape(), (Shape{4, 3, 3, 2}));
  const double bound = 1 / std::sqrt(3.0 * 3 * 2);  // kaiming_uniform(a = sqrt(5)): 1 / sqrt(fan_in)
  double largest = 0;
  for (float v : conv.parameter("weight").to_vector<float>()) largest = std::max(largest, std::abs(double{v}));
  EXPECT_LE(largest, bound);
  EXPECT_GT(largest, 0.8 * bound);  // 72 draws fill the range
  for (float v : conv.parameter("bias").to_vector<float>()) EXPECT_LE(std::abs(v), bound);
  EXPECT_EQ(conv.extra_repr(), "4, 6, kernel_size=[3, 2], stride=[1, 1], groups=2");
  EXPECT_EQ(ConvTranspose2d({.in_channels = 2, .out_channels = 2, .kernel_size = 3, .stride = 2, .padding = 1,
                             .output_padding = 1, .bias = false, .dilation = 2})
                .extra_repr(),
            "2, 2, kernel_size=[3, 3], stride=[2, 2], padding=[1, 1], dilation=[2, 2], output_padding=[1, 1], "
            "bias=false");
  EXPECT_THAT([] { ConvTranspose2d({.in_channels = 2, .out_channels = 2, .kernel_size = 3, .output_padding = 1}); },
              ::testing::ThrowsMessage<Error>(::testing::HasSubstr(
                  "ConvTranspose2d: expected output_padding >= 0 and smaller than stride or dilation in each dim, got "
                  "output_padding [1, 1] with stride [1, 1] and dilation [1, 1]")));
  EXPECT_THAT([] { ConvTranspose2d({.in_channels = 3, .out_channels = 2, .kernel_size = 3, .groups = 2}); },
              ::testing::ThrowsMessage<Error>(::testing::HasSubstr("ConvTranspose2d: expected groups >= 1 dividing")));
}

TEST(GroupNorm, SingleValuesAndChannelCountsAsInPyTorch) {
  Generator gen(5);
  GroupNorm gn4(GroupNormOptions{.num_groups = 4, .num_channels = 4});
  EXPECT_EQ(ErrorMessage([&] { gn4(randn({1, 4}, {}, &gen)); }),
            "group_norm: expected more than 1 value per group over the batch (N * C / num_groups * spatial size > 1), "
            "got input of shape [1, 4] with num_groups 4");
  EXPECT_THAT(ErrorMessage([&] { gn4(randn({1, 4, 1}, {}, &gen)); }), ::testing::HasSubstr("got input of shape [1, 4, 1]"));
  // One value per (sample, group) but two samples: PyTorch runs it, and each value normalizes to 0.
  const Tensor y = gn4(randn({2, 4}, {}, &gen));
  for (float v : y.to_vector<float>()) EXPECT_NEAR(v, 0.0f, 1e-3f);
  EXPECT_EQ(gn4(randn({1, 4, 2}, {}, &gen)).shape(), (Shape{1, 4, 2}));

  // Without affine, any channel count that num_groups divides.
  GroupNorm plain(GroupNormOptions{.num_groups = 2, .num_channels = 4, .affine = false});
  const Tensor x6 = randn({2, 6, 3}, {}, &gen);
  EXPECT_EQ(plain(x6).to_vector<float>(), functional::group_norm(x6, 2).to_vector<float>());
  EXPECT_EQ(ErrorMessage([&] { plain(randn({2, 3, 3}, {}, &gen)); }),
            "group_norm: expected num_groups > 0 dividing the 3 channels, got 2");
  GroupNorm affine(GroupNormOptions{.num_groups = 2, .num_channels = 4});
  EXPECT_EQ(ErrorMessage([&] { affine(x6); }), "GroupNorm: expected input [N, 4, *], got shape [2, 6, 3]");
}

// ---- initialization

TEST(Init, PyTorchDefaults) {
  Generator gen(11);
  Conv2d conv(Conv2dOptions{.in_channels = 16, .out_channels = 64, .kernel_size = 3}, &gen);
  const double bound = 1.0 / std::sqrt(16.0 * 9);  // kaiming_uniform(a = sqrt(5)) = U(+-1/sqrt(fan_in))
  const auto in_bound = [](const Tensor& t, double b) {
    for (float v : t.to_vector<float>()) {
      if (std::abs(v) > b) return false;
    }
    return true;
  };
  EXPECT_TRUE(in_bound(conv.parameter("weight"), bound));
  EXPECT_TRUE(in_bound(conv.parameter("bias"), bound));
  // U(-b, b) has variance b^2 / 3: 9216 draws pin it within a few percent.
  EXPECT_NEAR(var(conv.parameter("weight")).item(), bound * bound / 3, 0.05 * bound * bound / 3);
  Linear linear(LinearOptions{.in_features = 100, .out_features = 50}, &gen);
  EXPECT_TRUE(in_bound(linear.parameter("weight"), 0.1));
  EXPECT_TRUE(in_bound(linear.parameter("bias"), 0.1));
  EXPECT_NEAR(var(linear.parameter("weight")).item(), 0.01 / 3, 0.05 * 0.01 / 3);

  BatchNorm2d bn(4);
  EXPECT_EQ(bn.parameter("weight").to_vector<float>(), std::vector<float>(4, 1.0f));
  EXPECT_EQ(bn.parameter("bias").to_vector<float>(), std::vector<float>(4, 0.0f));
  EXPECT_EQ(bn.buffer("running_mean").to_vector<float>(), std::vector<float>(4, 0.0f));
  EXPECT_EQ(bn.buffer("running_var").to_vector<float>(), std::vector<float>(4, 1.0f));
  EXPECT_EQ(bn.buffer("num_batches_tracked").dtype(), kInt64);
  EXPECT_EQ(bn.buffer("num_batches_tracked").dim(), 0);

  // The same seed draws the same weights.
  Generator a(5), b(5);
  EXPECT_EQ(Conv2d(Conv2dOptions{.in_channels = 2, .out_channels = 2, .kernel_size = 3}, &a).parameter("weight").to_vector<float>(),
            Conv2d(Conv2dOptions{.in_channels = 2, .out_channels = 2, .kernel_size = 3}, &b).parameter("weight").to_vector<float>());
}

// ---- small modules

TEST(Dropout, DropsInTrainingOnly) {
  Generator gen(9);
  Dropout drop(DropoutOptions{.p = 0.25}, &gen);
  const Tensor x = ones({10000});
  const std::vector<float> y = drop(x).to_vector<float>();
  int64_t zeros_seen = 0;
  for (float v : y) {
    if (v == 0) ++zeros_seen;
    else EXPECT_FLOAT_EQ(v, 1 / 0.75f);
  }
  EXPECT_NEAR(zeros_seen / 10000.0, 0.25, 0.02);
  drop.eval();
  EXPECT_EQ(drop(x).to_vector<float>(), x.to_vector<float>());
}

TEST(Sequential, AppliesInOrderWithIndexNames) {
  Generator gen(1);
  auto seq = std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
      std::make_shared<Conv2d>(Conv2dOptions{.in_channels = 3, .out_channels = 4, .kernel_size = 3, .padding = 1}, &gen),
      std::make_shared<BatchNorm2d>(4), std::make_shared<ReLU>()});
  seq->push_back(std::make_shared<Flatten>());
  EXPECT_EQ(seq->size(), 4u);
  EXPECT_THROW((*seq)[4], Error);
  std::vector<std::string> keys;
  for (const auto& [key, t] : seq->state_dict()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"0.bias", "0.weight", "1.bias", "1.num_batches_tracked", "1.running_mean",
                                            "1.running_var", "1.weight"}));
  const Tensor x = randn({2, 3, 5, 5}, {}, &gen);
  seq->eval();
  EXPECT_EQ((*seq)(x).shape(), (Shape{2, 100}));
  EXPECT_EQ((*seq)(x).to_vector<float>(), NoGrad([&] { return flatten(relu((*(*seq)[1])((*(*seq)[0])(x))), 1); }).to_vector<float>());
  EXPECT_EQ(Sequential()(x).to_vector<float>(), x.to_vector<float>());
  EXPECT_EQ(Identity()(x).to_vector<float>(), x.to_vector<float>());
  EXPECT_EQ(seq->ToString(),
            "Sequential()  # 120 parameters\n"
            "  (0): Conv2d(3, 4, kernel_size=[3, 3], stride=[1, 1], padding=[1, 1])  # 112 parameters\n"
            "  (1): BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=true, track_running_stats=true)  # 8 parameters\n"
            "  (2): ReLU()\n"
            "  (3): Flatten(start_dim=1, end_dim=-1)");
}

}  // namespace
}  // namespace normgrad::nn
