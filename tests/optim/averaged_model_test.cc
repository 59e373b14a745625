// AveragedModel against PyTorch's torch.optim.swa_utils.AveragedModel (tools/make_optim_fixtures.py), its
// state round trip and its errors.
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "nn/container.h"
#include "nn/linear.h"
#include "nn/normalization.h"
#include "optim/averaged_model.h"
#include "tests/optim/optim_fixtures.h"

namespace normgrad::optim {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

const json& Fixtures() { return OptimFixtures()["averaged_model"]; }

// The fixtures' model: Linear(3, 2) + BatchNorm1d(2) in float64.
std::shared_ptr<nn::Sequential> MakeModel() {
  auto model = std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Linear>(nn::LinearOptions{.in_features = 3, .out_features = 2}),
      std::make_shared<nn::BatchNorm1d>(2)});
  model->to(kFloat64);
  return model;
}

// Loads snapshot k of the fixtures into `model`.
void LoadSnapshot(nn::Module& model, int k) {
  StateDict state;
  for (const auto& [key, t] : model.state_dict()) {
    const json& values = Fixtures()["snapshots"][k][key];
    state[key] = t.dtype() == kInt64 ? full({}, values[0].get<double>(), {.dtype = kInt64})
                                     : from_vector(values.get<std::vector<double>>(), t.shape());
  }
  const absl::StatusOr<nn::LoadResult> loaded = model.load_state_dict(state);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
}

std::vector<double> Values(const nn::Module& m, const std::string& key) { return m.state_dict().at(key).to_vector<double>(); }

TEST(AveragedModel, MatchesPyTorch) {
  ASSERT_EQ(Fixtures()["cases"].size(), 3u);  // so that a truncated fixture file cannot pass
  for (const auto& [name, states] : Fixtures()["cases"].items()) {
    SCOPED_TRACE(name);
    auto model = MakeModel();
    AveragedModelOptions options;
    if (name == "ema") options.decay = 0.9;
    options.average_buffers = name == "swa_buffers";
    AveragedModel averaged(model, options);
    for (int k = 0; k < static_cast<int>(states.size()); ++k) {
      SCOPED_TRACE(k);
      LoadSnapshot(*model, k);
      averaged.update(*model);
      EXPECT_EQ(averaged.num_averaged(), k + 1);
      for (const auto& [key, expected] : states[k].items()) {
        const bool buffer = key.find("running") != std::string::npos;
        // Without average_buffers the buffers are the model's (PyTorch leaves the copy's as they were).
        const std::vector<double> want = buffer && !options.average_buffers ? Values(*model, key)
                                                                           : expected.get<std::vector<double>>();
        const std::vector<double> got = Values(*averaged.module(), key);
        ASSERT_EQ(got.size(), want.size()) << key;
        for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-14) << key << "[" << i << "]";
      }
      // Integer buffers are copied (PyTorch would average num_batches_tracked and truncate).
      EXPECT_EQ(Values(*averaged.module(), "1.num_batches_tracked"), Values(*model, "1.num_batches_tracked"));
    }
  }
}

TEST(AveragedModel, SavedAndLoadedContinuesBitForBit) {
  auto model = MakeModel();
  AveragedModel straight(model);
  AveragedModel first(model);
  for (int k = 0; k < 2; ++k) {
    LoadSnapshot(*model, k);
    straight.update(*model);
    first.update(*model);
  }
  AveragedModel resumed(MakeModel());
  ASSERT_TRUE(resumed.load_state_dict(first.state_dict()).ok());
  EXPECT_EQ(resumed.num_averaged(), 2);
  for (int k = 2; k < 4; ++k) {
    LoadSnapshot(*model, k);
    straight.update(*model);
    resumed.update(*model);
  }
  for (const auto& [key, t] : straight.state_dict()) {
    EXPECT_EQ(t.to_vector<double>(), resumed.state_dict().at(key).to_vector<double>()) << key;
  }
  EXPECT_EQ(straight.state_dict().at("n_averaged").item<int64_t>(), 4);
  EXPECT_TRUE(straight.state_dict().contains("module.0.weight"));
}

TEST(AveragedModel, ErrorsNameTheProblemAndChangeNothing) {
  auto model = MakeModel();
  try {
    AveragedModel bad(model, {.decay = 1.0});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "AveragedModel: expected decay in [0, 1) or none (an equal-weight average), got 1");
  }

  AveragedModel averaged(model);
  LoadSnapshot(*model, 0);
  averaged.update(*model);
  const StateDict before = averaged.state_dict();
  const auto expect_unchanged = [&] {
    EXPECT_EQ(averaged.num_averaged(), 1);
    for (const auto& [key, t] : averaged.state_dict()) {
      EXPECT_EQ(t.to_vector<double>(), before.at(key).to_vector<double>()) << key;
    }
  };

  // Another model: the first difference is named.
  auto wider = std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Linear>(nn::LinearOptions{.in_features = 4, .out_features = 2}),
      std::make_shared<nn::BatchNorm1d>(2)});
  wider->to(kFloat64);
  try {
    averaged.update(*wider);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "AveragedModel::update: expected the averaged model's parameter 0.weight (float64 [2, 3]), "
                           "got parameter 0.weight (float64 [2, 4])");
  }
  auto single = std::make_shared<nn::Linear>(nn::LinearOptions{.in_features = 3, .out_features = 2});
  single->to(kFloat64);
  EXPECT_THROW(averaged.update(*single), Error);
  expect_unchanged();

  const auto load_error = [&](StateDict state) {
    const absl::Status s = averaged.load_state_dict(state);
    EXPECT_FALSE(s.ok());
    expect_unchanged();
    return std::string(s.message());
  };
  StateDict state = before;
  state.erase("n_averaged");
  EXPECT_EQ(load_error(state), "AveragedModel::load_state_dict: missing key n_averaged");
  state = before;
  state["n_averaged"] = full({}, -1, {.dtype = kInt64});
  EXPECT_THAT(load_error(state), HasSubstr("expected n_averaged to be an int64 scalar >= 0, got int64 [] -1"));
  state = before;
  state["n_averaged"] = full({}, 2.0, {.dtype = kFloat64});
  EXPECT_THAT(load_error(state), HasSubstr("got float64 [] 2"));
  state = before;
  state["step"] = full({}, 1, {.dtype = kInt64});
  EXPECT_THAT(load_error(state), HasSubstr("unexpected key step (expected n_averaged and module.*)"));
  state = before;
  state["module.0.weight"] = from_vector<double>({1, 2});
  EXPECT_THAT(load_error(state), HasSubstr("0.weight"));
  state = before;
  state["module.0.bias"] = from_vector<double>({5, 6});
  state["n_averaged"] = full({}, 7, {.dtype = kInt64});
  ASSERT_TRUE(averaged.load_state_dict(state).ok());
  EXPECT_EQ(averaged.num_averaged(), 7);
  EXPECT_EQ(Values(*averaged.module(), "0.bias"), (std::vector<double>{5, 6}));
}

}  // namespace
}  // namespace normgrad::optim
