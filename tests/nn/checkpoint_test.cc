// Save/Load of a module: metadata, round trips, and a model left unchanged by every failed load.
#include "nn/checkpoint.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "autograd/ops.h"
#include "core/random.h"

namespace normgrad {
namespace {

// y = x * weight + bias, with an int64 step counter, and a child of the same kind when nested.
class Affine : public nn::Cloneable<Affine> {
 public:
  Affine(int64_t n, bool nested) : Cloneable("Affine"), n_(n) {
    register_parameter("weight", randn({n}));
    register_parameter("bias", randn({n}));
    register_buffer("steps", full({}, 5, {.dtype = kInt64}));
    if (nested) register_module("inner", std::make_shared<Affine>(n, false));
  }
  Tensor forward(const Tensor& x) override {
    Tensor y = x * parameter("weight") + parameter("bias");
    return child("inner") ? (*child("inner"))(y) : y;
  }
  std::string extra_repr() const override { return "n=" + std::to_string(n_); }

 private:
  int64_t n_;
};

std::string TempPath(const std::string& name) {
  const std::string dir = testing::TempDir() + "/" + testing::UnitTest::GetInstance()->current_test_info()->name();
  std::filesystem::create_directories(dir);
  return dir + "/" + name;
}

void ExpectSameState(const nn::Module& a, const nn::Module& b) {
  const StateDict sa = a.state_dict(), sb = b.state_dict();
  ASSERT_EQ(sa.size(), sb.size());
  for (const auto& [key, t] : sa) {
    EXPECT_EQ(t.dtype(), sb.at(key).dtype()) << key;
    EXPECT_EQ(t.to_vector<double>(), sb.at(key).to_vector<double>()) << key;
  }
}

TEST(Checkpoint, RoundTripRestoresEveryTensorAndGivesTheMetadata) {
  const std::string path = TempPath("affine.safetensors");
  Affine saved(4, true), loaded(4, true);
  ASSERT_TRUE(Save(saved, path, {{"epoch", "7"}}).ok());
  auto metadata = Load(loaded, path);
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  ExpectSameState(saved, loaded);
  const Tensor x = randn({4});
  EXPECT_EQ(saved(x).to_vector<float>(), loaded(x).to_vector<float>());
  EXPECT_EQ(*metadata, (Metadata{{"epoch", "7"},
                                 {"format", "pt"},
                                 {"normgrad.format_version", "1"},
                                 {"normgrad.module", "Affine"},
                                 {"normgrad.module_options", "n=4"}}));
  // The same tensors under PyTorch's keys, readable without the module.
  auto raw = ReadSafetensors(path);
  ASSERT_TRUE(raw.ok());
  std::vector<std::string> keys;
  for (const auto& [key, t] : raw->tensors) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"bias", "inner.bias", "inner.steps", "inner.weight", "steps", "weight"}));
}

TEST(Checkpoint, ReservedMetadataKeysAreRefused) {
  const std::string path = TempPath("reserved.safetensors");
  Affine m(2, false);
  EXPECT_EQ(Save(m, path, {{"format", "np"}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Save(m, path, {{"normgrad.module", "X"}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(Checkpoint, FailedLoadsLeaveTheModelUnchanged) {
  const std::string dir = TempPath("");
  Affine model(3, true);
  const auto reference = nn::Clone(std::make_shared<Affine>(model));
  const auto expect_failure = [&](const std::string& path, absl::StatusCode code, const std::string& message) {
    auto s = Load(model, path);
    ASSERT_FALSE(s.ok()) << path;
    EXPECT_EQ(s.status().code(), code) << s.status();
    EXPECT_NE(s.status().message().find(message), std::string_view::npos) << s.status();
    ExpectSameState(model, *reference);
  };

  // Another architecture: a shape differs, a key is missing, another is extra.
  ASSERT_TRUE(Save(Affine(4, true), dir + "wider.safetensors").ok());
  expect_failure(dir + "wider.safetensors", absl::StatusCode::kInvalidArgument, "shape mismatches: weight (expected [3], got [4]), bias");
  ASSERT_TRUE(Save(Affine(3, false), dir + "flat.safetensors").ok());
  expect_failure(dir + "flat.safetensors", absl::StatusCode::kInvalidArgument, "missing keys: inner.weight, inner.bias");
  StateDict extra = Affine(3, true).state_dict();
  extra["extra.weight"] = zeros({3});
  ASSERT_TRUE(WriteSafetensors(dir + "extra.safetensors", extra).ok());
  expect_failure(dir + "extra.safetensors", absl::StatusCode::kInvalidArgument, "unexpected keys: extra.weight");

  // A file written for another module type, or by a newer format.
  ASSERT_TRUE(WriteSafetensors(dir + "other.safetensors", Affine(3, true).state_dict(), {{"normgrad.module", "ResNet"}}).ok());
  expect_failure(dir + "other.safetensors", absl::StatusCode::kInvalidArgument, "holds a ResNet, not a Affine");
  ASSERT_TRUE(WriteSafetensors(dir + "newer.safetensors", Affine(3, true).state_dict(), {{"normgrad.format_version", "2"}}).ok());
  expect_failure(dir + "newer.safetensors", absl::StatusCode::kInvalidArgument, "checkpoint format version \"2\"");

  // A damaged file: a good checkpoint cut short, or with a byte of its header changed.
  const std::string good = dir + "good.safetensors";
  ASSERT_TRUE(Save(Affine(3, true), good).ok());
  std::string bytes;
  {
    std::ifstream in(good, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  {
    std::ofstream out(dir + "cut.safetensors", std::ios::binary);
    out << bytes.substr(0, bytes.size() - 1);
  }
  expect_failure(dir + "cut.safetensors", absl::StatusCode::kDataLoss, "run past");
  bytes[8] = '[';
  {
    std::ofstream out(dir + "corrupt.safetensors", std::ios::binary);
    out << bytes;
  }
  expect_failure(dir + "corrupt.safetensors", absl::StatusCode::kDataLoss, "not a JSON object");
  expect_failure(dir + "absent.safetensors", absl::StatusCode::kNotFound, "cannot open");

  // And a good one still loads.
  ASSERT_TRUE(Load(model, good).ok());
}

TEST(Checkpoint, ATrainingCheckpointHoldsSeveralStatesUnderPrefixes) {
  const std::string path = TempPath("train.safetensors");
  Affine model(2, false);
  StateDict all = AddPrefix(model.state_dict(), "model.");
  all["optimizer.state.0.momentum_buffer"] = ones({2});
  ASSERT_TRUE(WriteSafetensors(path, all, {{"epoch", "1"}}).ok());
  auto read = ReadSafetensors(path);
  ASSERT_TRUE(read.ok());
  Affine restored(2, false);
  ASSERT_TRUE(restored.load_state_dict(StripPrefix(read->tensors, "model.")).ok());
  ExpectSameState(model, restored);
  EXPECT_EQ(StripPrefix(read->tensors, "optimizer.").size(), 1u);
}

}  // namespace
}  // namespace normgrad
