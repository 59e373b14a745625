// The CIFAR ResNets: parameter counts (He et al. 2016, Table 6), PyTorch's state dict keys and shapes,
// PyTorch's logits for the same weights in eval and training mode, train/eval on the whole model, clones,
// and checkpoints that restore bit-identical eval outputs.
#include "nn/resnet.h"

#include <limits>
#include <set>

#include <gtest/gtest.h>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "core/random.h"
#include "nn/checkpoint.h"
#include "nn/functional/shortcut.h"
#include "tests/nn/module_fixtures.h"

namespace normgrad::nn {
namespace {

using fixtures::ExpectClose;
using fixtures::TensorFromJson;
using Json = nlohmann::json;

const Json& Fixture(const std::string& name) { return fixtures::ModuleFixtures()["resnets"][name]; }

std::shared_ptr<ResNet> FromFixture(const Json& f) {
  return ResNet::Cifar(f["depth"], {.shortcut = f["shortcut"] == "A" ? ShortcutType::kA : ShortcutType::kB});
}

// The input the fixture script feeds: pattern(2 * 3 * 32 * 32, 12345) as [2, 3, 32, 32] float32.
Tensor FixtureInput() { return to_dtype(reshape(fixtures::Pattern(2 * 3 * 32 * 32, 12345), {2, 3, 32, 32}), kFloat32); }

TEST(ResNet, ParameterCountsMatchPyTorchAndThePaper) {
  ASSERT_EQ(fixtures::ModuleFixtures()["resnets"].size(), 7u);  // so that a truncated fixture file cannot pass
  for (const auto& [name, f] : fixtures::ModuleFixtures()["resnets"].items()) {
    EXPECT_EQ(CountParameters(*FromFixture(f)), f["num_parameters"].get<int64_t>()) << name;
  }
  // Table 6 of He et al. 2016 (option A), in millions.
  const std::vector<std::pair<int, double>> table6 = {{20, 0.27}, {32, 0.46}, {44, 0.66}, {56, 0.85}, {110, 1.7}};
  for (const auto& [depth, millions] : table6) {
    const double n = CountParameters(*ResNet::Cifar(depth)) / 1e6;
    EXPECT_NEAR(n, millions, depth == 110 ? 0.05 : 0.005) << depth;
  }
  EXPECT_NEAR(CountParameters(*ResNet::Cifar(18)) / 1e6, 11.2, 0.05);
}

TEST(ResNet, StateDictKeysAndShapesAreThoseOfPyTorch) {
  for (const char* name : {"resnet20_A", "resnet20_B", "resnet18"}) {
    const Json& f = Fixture(name);
    const auto model = FromFixture(f);
    const StateDict ours = model->state_dict();
    std::map<std::string, Shape> theirs;
    std::vector<std::string> their_parameter_order;
    const auto params = model->named_parameters();
    std::set<std::string> our_params;
    for (const auto& [key, p] : params) our_params.insert(key);
    for (const Json& entry : f["keys"]) {
      theirs[entry[0]] = entry[1].get<Shape>();
      if (our_params.contains(entry[0])) their_parameter_order.push_back(entry[0]);
    }
    ASSERT_EQ(ours.size(), theirs.size()) << name;
    for (const auto& [key, t] : ours) {
      ASSERT_TRUE(theirs.contains(key)) << name << ": " << key;
      EXPECT_EQ(t.shape(), theirs.at(key)) << name << ": " << key;
    }
    // named_parameters() lists them in PyTorch's order.
    ASSERT_EQ(their_parameter_order.size(), params.size()) << name;
    for (size_t i = 0; i < params.size(); ++i) EXPECT_EQ(params[i].first, their_parameter_order[i]) << name;
  }
}

TEST(ResNet, GivesPyTorchsLogitsForTheSameWeights) {
  for (const char* name : {"resnet20_A", "resnet20_B"}) {
    const Json& f = Fixture(name);
    const auto model = FromFixture(f);
    fixtures::FillPatternState(*model);
    const Tensor x = FixtureInput();
    model->eval();
    ExpectClose(NoGrad([&] { return (*model)(x); }), TensorFromJson(f["eval_logits"]), 1e-4, 1e-4,
                std::string(name) + " eval logits");
    model->train();
    ExpectClose(NoGrad([&] { return (*model)(x); }), TensorFromJson(f["train_logits"]), 1e-4, 1e-4,
                std::string(name) + " train logits");
    const StateDict state = model->state_dict();
    for (const auto& [key, expected] : f["buffers_after_train"].items()) {
      ExpectClose(state.at(key), TensorFromJson(expected), 1e-4, 1e-5, std::string(name) + " " + key);
    }
  }
}

TEST(ResNet, EvalLeavesEveryBufferUntouchedAndTrainingUpdatesEveryBatchNorm) {
  Generator gen(2);
  const auto model = ResNet::Cifar(20, {}, &gen);
  const Tensor x = randn({4, 3, 32, 32}, {}, &gen);
  model->train();
  NoGrad([&] { return (*model)(x); });  // running statistics away from their initial values
  const StateDict before = Clone(model)->state_dict();

  model->eval();
  const Tensor y1 = NoGrad([&] { return (*model)(x); });
  const Tensor y2 = NoGrad([&] { return (*model)(randn({4, 3, 32, 32}, {}, &gen)); });
  for (const auto& [key, t] : model->state_dict()) {
    EXPECT_EQ(t.to_vector<double>(), before.at(key).to_vector<double>()) << key;
  }
  // The same input gives the same output in eval, whatever came in between.
  EXPECT_EQ(NoGrad([&] { return (*model)(x); }).to_vector<float>(), y1.to_vector<float>());

  model->train();
  const Tensor y_train = NoGrad([&] { return (*model)(x); });
  EXPECT_NE(y_train.to_vector<float>(), y1.to_vector<float>());
  int batch_norms = 0;
  for (const auto& [key, t] : model->state_dict()) {
    if (key.ends_with("num_batches_tracked")) {
      ++batch_norms;
      EXPECT_EQ(t.item<int64_t>(), 2) << key;
    } else if (key.ends_with("running_mean")) {
      EXPECT_NE(t.to_vector<double>(), before.at(key).to_vector<double>()) << key;
    }
  }
  EXPECT_EQ(batch_norms, 19);
}

TEST(ResNet, TrainsEndToEnd) {
  Generator gen(8);
  const auto model = ResNet::Cifar(20, {.num_classes = 4}, &gen);
  const Tensor x = randn({4, 3, 32, 32}, {}, &gen);
  Tensor logits = (*model)(x);
  ASSERT_EQ(logits.shape(), (Shape{4, 4}));
  sum(logits * logits).backward();
  for (const auto& [name, p] : model->named_parameters()) {
    ASSERT_TRUE(p.grad().defined()) << name;
    EXPECT_EQ(p.grad().shape(), p.shape()) << name;
  }
}

TEST(ResNet, CloneAndCheckpointRestoreBitIdenticalEvalOutputs) {
  Generator gen(6);
  const auto model = ResNet::Cifar(20, {}, &gen);
  const Tensor x = randn({2, 3, 32, 32}, {}, &gen);
  NoGrad([&] { return (*model)(x); });  // training step: non-trivial running statistics
  model->eval();
  const std::vector<float> expected = NoGrad([&] { return (*model)(x); }).to_vector<float>();

  const auto copy = Clone(model);
  EXPECT_EQ(NoGrad([&] { return (*copy)(x); }).to_vector<float>(), expected);

  const std::string path = testing::TempDir() + "/resnet20.safetensors";
  ASSERT_TRUE(Save(*model, path).ok());
  const auto restored = ResNet::Cifar(20, {}, &gen);  // other weights until loaded
  auto metadata = Load(*restored, path);
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  EXPECT_EQ(metadata->at("normgrad.module_options"), "depth=20, shortcut=A, num_classes=10");
  restored->eval();
  EXPECT_EQ(NoGrad([&] { return (*restored)(x); }).to_vector<float>(), expected);

  // A checkpoint of another architecture is refused and leaves the model as it was.
  const auto resnet32 = ResNet::Cifar(32, {}, &gen);
  EXPECT_EQ(Load(*resnet32, path).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Load(*ResNet::Cifar(20, {.shortcut = ShortcutType::kB}), path).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ResNet, InvalidDepthsAndClassCounts) {
  EXPECT_THROW(ResNet::Cifar(19), Error);
  EXPECT_THROW(ResNet::Cifar(2), Error);
  EXPECT_THROW(ResNet::Cifar(20, {.num_classes = 0}), Error);
  EXPECT_THROW((*ResNet::Cifar(20))(zeros({1, 1, 32, 32})), Error);
}

// The option-A shortcut as one node: the values and gradients of the slices-and-cat it replaces, bit for
// bit, and errors that name the argument.
TEST(ZeroPadShortcut, MatchesTheSlicesAndTheCatAndNamesBadArguments) {
  Generator gen(11);
  const Tensor x = randn({2, 3, 5, 6}, {.requires_grad = true}, &gen), g = randn({2, 6, 3, 3}, {}, &gen);
  const Tensor y = functional::zero_pad_shortcut(x, 6, 2);
  constexpr int64_t kEnd = std::numeric_limits<int64_t>::max();
  Tensor x2 = clone(x.detach());
  x2.set_requires_grad();
  const Tensor expected = cat({zeros({2, 1, 3, 3}), slice(slice(x2, 2, 0, kEnd, 2), 3, 0, kEnd, 2), zeros({2, 2, 3, 3})}, 1);
  EXPECT_EQ(y.to_vector<float>(), expected.to_vector<float>());
  y.backward(g);
  expected.backward(g);
  EXPECT_EQ(x.grad().to_vector<float>(), x2.grad().to_vector<float>());

  auto message = [](auto fn) {
    try {
      fn();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message([] { functional::zero_pad_shortcut(zeros({2, 3}), 4, 2); })
                .find("zero_pad_shortcut: expected an input [N, C, H, W], got [2, 3]"),
            std::string::npos);
  EXPECT_NE(message([] { functional::zero_pad_shortcut(zeros({1, 3, 4, 4}), 2, 2); })
                .find("expected out_channels >= the input's 3 channels, got 2"),
            std::string::npos);
  EXPECT_NE(message([] { functional::zero_pad_shortcut(zeros({1, 3, 4, 4}), 4, 0); }).find("expected stride >= 1, got 0"),
            std::string::npos);
}

TEST(ResNet, PrintsItsTree) {
  const std::string text = ResNet::Cifar(20)->ToString();
  EXPECT_TRUE(text.starts_with("ResNet(depth=20, shortcut=A, num_classes=10)  # 269,722 parameters\n"
                               "  (conv1): Conv2d(3, 16, kernel_size=[3, 3], stride=[1, 1], padding=[1, 1], bias=false)"
                               "  # 432 parameters\n"))
      << text;
  EXPECT_NE(text.find("    (0): BasicBlock()  # 4,672 parameters\n"), std::string::npos) << text;
  EXPECT_NE(text.find("      (shortcut): ZeroPadShortcut(16, 32, stride=2)\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace normgrad::nn
