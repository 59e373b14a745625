// Optimizers and schedules against PyTorch (tools/make_optim_fixtures.py), state round trips, errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "autograd/grad_mode.h"
#include "core/kernels/copy.h"
#include "core/kernels/view.h"
#include "optim/adam.h"
#include "optim/clip_grad.h"
#include "optim/lr_scheduler.h"
#include "optim/sgd.h"
#include "tests/optim/optim_fixtures.h"

namespace normgrad::optim {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

const json& Fixtures() { return OptimFixtures(); }

std::vector<Tensor> InitialParams() {
  std::vector<Tensor> params;
  for (size_t i = 0; i < Fixtures()["shapes"].size(); ++i) {
    params.push_back(from_vector(Fixtures()["p0"][i].get<std::vector<double>>(),
                                 Fixtures()["shapes"][i].get<Shape>())
                         .set_requires_grad());
  }
  return params;
}

// The fixtures' gradient at step t: 0.1 * p + noise[t].
void SetGradients(const std::vector<Tensor>& params, int t) {
  for (size_t i = 0; i < params.size(); ++i) {
    std::vector<double> g = params[i].to_vector<double>();
    const std::vector<double> noise = Fixtures()["noise"][t][i].get<std::vector<double>>();
    for (size_t k = 0; k < g.size(); ++k) g[k] = 0.1 * g[k] + noise[k];
    params[i].set_grad(from_vector(g, params[i].shape()));
  }
}

// What `make` throws, or "no error".
template <typename Fn>
std::string message(Fn&& make) {
  try {
    make();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

std::unique_ptr<Optimizer> MakeOptimizer(const json& c, const std::vector<Tensor>& ps) {
  const std::string kind = c["kind"];
  if (kind == "sgd") {
    return std::make_unique<SGD>(ps, SGDOptions{.lr = c["lr"], .momentum = c.value("momentum", 0.0),
                                                .dampening = c.value("dampening", 0.0),
                                                .weight_decay = c.value("weight_decay", 0.0),
                                                .nesterov = c.value("nesterov", false),
                                                .maximize = c.value("maximize", false)});
  }
  if (kind == "sgd_groups") {
    return std::make_unique<SGD>(
        std::vector<ParamGroup>{{.params = {ps[0]}, .weight_decay = 5e-4}, {.params = {ps[1]}, .lr = 0.05}},
        SGDOptions{.lr = 0.1, .momentum = 0.9});
  }
  // A weight decay the fixture leaves out is left out here too: each class's own default applies.
  AdamOptions o{.lr = c["lr"],
                .beta1 = c.value("beta1", 0.9),
                .beta2 = c.value("beta2", 0.999),
                .amsgrad = c.value("amsgrad", false),
                .maximize = c.value("maximize", false)};
  if (c.contains("weight_decay")) o.weight_decay = c["weight_decay"].get<double>();
  if (kind == "adam") return std::make_unique<Adam>(ps, o);
  return std::make_unique<AdamW>(ps, o);
}

void ExpectClose(const std::vector<double>& actual, const std::vector<double>& expected, double rtol) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t k = 0; k < actual.size(); ++k) {
    EXPECT_NEAR(actual[k], expected[k], rtol * std::max(1.0, std::abs(expected[k]))) << "element " << k;
  }
}

TEST(Optimizers, MatchPyTorchAfter20Steps) {
  ASSERT_EQ(Fixtures()["optimizers"].size(), 12u);  // so that a truncated fixture file cannot pass
  for (const auto& [name, c] : Fixtures()["optimizers"].items()) {
    SCOPED_TRACE(name);
    std::vector<Tensor> params = InitialParams();
    std::unique_ptr<Optimizer> opt = MakeOptimizer(c["config"], params);
    for (int t = 0; t < Fixtures()["steps"].get<int>(); ++t) {
      opt->zero_grad();
      SetGradients(params, t);
      opt->step();
    }
    for (size_t i = 0; i < params.size(); ++i) {
      ExpectClose(params[i].to_vector<double>(), c["params"][i].get<std::vector<double>>(), 1e-6);
    }
  }
}

SchedulePtr MakeSchedule(const std::string& name) {
  if (name == "step") return StepLR(3, 0.5);
  if (name == "multistep") return MultiStepLR({2, 5}, 0.1);
  if (name == "cosine") return CosineAnnealingLR(10, 0.001);
  if (name == "linear") return LinearLR(0.25, 1.0, 4);
  if (name == "onecycle") return OneCycleLR({.max_lr = 0.5, .total_steps = 20});
  return Warmup(3, CosineAnnealingLR(10), 0.1);
}

// zero_grad drops every gradient; step moves only the parameters that have one, and keeps no momentum for
// the others (as PyTorch, which skips them).
TEST(Optimizers, ZeroGradDropsGradientsAndStepSkipsParametersWithout) {
  Tensor a = from_vector<double>({1, 2}).set_requires_grad(), b = from_vector<double>({3}).set_requires_grad();
  SGD opt({a, b}, {.lr = 0.1, .momentum = 0.9});
  a.set_grad(from_vector<double>({5, 5}));
  b.set_grad(from_vector<double>({5}));
  opt.zero_grad();
  EXPECT_FALSE(a.grad().defined());
  EXPECT_FALSE(b.grad().defined());
  a.set_grad(from_vector<double>({2, 4}));  // b has none
  opt.step();
  EXPECT_EQ(a.to_vector<double>(), (std::vector<double>{1 - 0.1 * 2, 2 - 0.1 * 4}));
  EXPECT_EQ(b.to_vector<double>(), std::vector<double>{3});
  const StateDict state = opt.state_dict();
  EXPECT_TRUE(state.count("state.0.momentum_buffer"));
  EXPECT_FALSE(state.count("state.1.momentum_buffer"));
}

// A strided gradient steps as its contiguous copy would; a strided parameter (which the update could not
// write in place) is refused with its shape.
TEST(Optimizers, StridedGradientsStepAsContiguousOnes) {
  const Tensor g = kernels::transpose(from_vector<double>({1, -2, 3, 0.5, 4, -1}, {2, 3}), 0, 1);  // [3, 2]
  ASSERT_FALSE(g.is_contiguous());
  for (bool adam : {false, true}) {
    SCOPED_TRACE(adam ? "Adam" : "SGD");
    Tensor strided = from_vector<double>({1, 2, 3, 4, 5, 6}, {3, 2}).set_requires_grad();
    Tensor plain = from_vector<double>({1, 2, 3, 4, 5, 6}, {3, 2}).set_requires_grad();
    auto make = [&](Tensor p) -> std::unique_ptr<Optimizer> {
      if (adam) return std::make_unique<Adam>(std::vector<Tensor>{p}, AdamOptions{.lr = 0.1});
      return std::make_unique<SGD>(std::vector<Tensor>{p}, SGDOptions{.lr = 0.1, .momentum = 0.9});
    };
    std::unique_ptr<Optimizer> a = make(strided), b = make(plain);
    for (int step = 0; step < 3; ++step) {
      strided.set_grad(g);
      plain.set_grad(kernels::contiguous(g));
      a->step();
      b->step();
    }
    EXPECT_EQ(strided.to_vector<double>(), plain.to_vector<double>());
  }
  Tensor q = kernels::transpose(zeros({2, 3}, {.dtype = kFloat64}), 0, 1).set_requires_grad();
  ASSERT_FALSE(q.is_contiguous());
  q.set_grad(zeros({3, 2}, {.dtype = kFloat64}));
  SGD sgd({q}, {.lr = 0.1});
  try {
    sgd.step();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "SGD: expected contiguous parameters, got one of shape [3, 2]");
  }
}

TEST(Schedules, MatchPyTorch) {
  ASSERT_EQ(Fixtures()["schedules"].size(), 6u);
  for (const auto& [name, expected] : Fixtures()["schedules"].items()) {
    SCOPED_TRACE(name);
    Tensor p = zeros({1}, {.requires_grad = true});
    SGD opt({p}, {.lr = 0.1, .momentum = 0.9});
    LRScheduler scheduler(opt, MakeSchedule(name));
    for (size_t t = 0; t < expected["lr"].size(); ++t) {
      EXPECT_NEAR(opt.param_groups()[0].lr, expected["lr"][t].get<double>(), 1e-12) << "step " << t;
      if (!expected["momentum"].empty()) {
        EXPECT_NEAR(opt.param_groups()[0].momentum, expected["momentum"][t].get<double>(), 1e-12) << "step " << t;
      }
      scheduler.step();
    }
  }
}

// Schedules set lr (they do not scale the lr they find, as PyTorch's chainable ones do): a second live
// scheduler on one optimizer is refused, and an lr set by hand lasts until the next step().
TEST(Schedules, OneLiveSchedulerPerOptimizerThatOwnsTheLr) {
  Tensor p = zeros({1}, {.requires_grad = true});
  SGD opt({p}, {.lr = 0.1});
  {
    LRScheduler first(opt, StepLR(1, 0.5));
    first.step();
    EXPECT_EQ(opt.param_groups()[0].lr, 0.05);
    try {
      LRScheduler second(opt, CosineAnnealingLR(10));
      ADD_FAILURE() << "a second scheduler was accepted";
    } catch (const Error& e) {
      EXPECT_THAT(std::string(e.what()), HasSubstr("LRScheduler: this SGD optimizer already has an LRScheduler"));
      EXPECT_THAT(std::string(e.what()), HasSubstr("combine the schedules into one (Sequential, Warmup)"));
    }
    EXPECT_EQ(opt.param_groups()[0].lr, 0.05);  // the refused scheduler applied nothing
  }
  LRScheduler replacement(opt, StepLR(1, 0.5));  // the first is gone: allowed, from step 0
  EXPECT_EQ(opt.param_groups()[0].lr, 0.1);
  opt.param_groups()[0].lr = 1.0;
  replacement.step();
  EXPECT_EQ(opt.param_groups()[0].lr, 0.05);  // 0.1 * 0.5: the hand-set lr is overwritten
  opt.param_groups()[0].initial_lr = 1.0;
  replacement.step();
  EXPECT_EQ(opt.param_groups()[0].lr, 0.25);  // 1.0 * 0.5^2: initial_lr moves the schedule
}

// Ten steps, save, restore into fresh objects, ten more: the same bits as twenty uninterrupted steps.
TEST(State, ResumedRunMatchesUninterruptedBitForBit) {
  for (const char* kind : {"sgd", "adamw"}) {
    SCOPED_TRACE(kind);
    const json config = kind == std::string("sgd")
                            ? json{{"kind", "sgd"}, {"lr", 0.1}, {"momentum", 0.9}, {"nesterov", true}}
                            : json{{"kind", "adamw"}, {"lr", 0.01}};
    std::vector<Tensor> straight = InitialParams();
    auto opt = MakeOptimizer(config, straight);
    LRScheduler sched(*opt, Warmup(3, CosineAnnealingLR(17)));
    for (int t = 0; t < 20; ++t) {
      SetGradients(straight, t);
      opt->step();
      sched.step();
    }

    std::vector<Tensor> first = InitialParams();
    auto opt1 = MakeOptimizer(config, first);
    LRScheduler sched1(*opt1, Warmup(3, CosineAnnealingLR(17)));
    for (int t = 0; t < 10; ++t) {
      SetGradients(first, t);
      opt1->step();
      sched1.step();
    }
    std::vector<Tensor> resumed;
    for (const Tensor& p : first) resumed.push_back(from_vector(p.to_vector<double>(), p.shape()).set_requires_grad());
    auto opt2 = MakeOptimizer(config, resumed);
    LRScheduler sched2(*opt2, Warmup(3, CosineAnnealingLR(17)));
    ASSERT_TRUE(opt2->load_state_dict(opt1->state_dict()).ok());
    ASSERT_TRUE(sched2.load_state_dict(sched1.state_dict()).ok());
    for (int t = 10; t < 20; ++t) {
      SetGradients(resumed, t);
      opt2->step();
      sched2.step();
    }
    for (size_t i = 0; i < straight.size(); ++i) {
      EXPECT_EQ(straight[i].to_vector<double>(), resumed[i].to_vector<double>());
    }
  }
}

TEST(State, MismatchedStateIsRejectedAndChangesNothing) {
  std::vector<Tensor> params = InitialParams();
  SGD opt(params, {.lr = 0.1, .momentum = 0.9});
  SetGradients(params, 0);
  opt.step();
  const StateDict before = opt.state_dict();

  StateDict wrong_shape = before;
  wrong_shape["state.0.momentum_buffer"] = zeros({2, 2}, {.dtype = kFloat64});
  EXPECT_THAT(std::string(opt.load_state_dict(wrong_shape).message()), HasSubstr("expected float64 of shape [3, 4]"));
  StateDict unknown = before;
  unknown["state.0.exp_avg"] = zeros({3, 4}, {.dtype = kFloat64});
  EXPECT_THAT(std::string(opt.load_state_dict(unknown).message()), HasSubstr("unexpected key"));
  StateDict missing = before;
  missing["param_groups.0.lr"] = full({}, 5.0, {.dtype = kFloat64});
  missing.erase("param_groups.0.momentum");
  EXPECT_THAT(std::string(opt.load_state_dict(missing).message()), HasSubstr("param_groups.0.momentum: missing"));
  StateDict too_many = before;
  too_many["state.7.momentum_buffer"] = zeros({5}, {.dtype = kFloat64});
  EXPECT_FALSE(opt.load_state_dict(too_many).ok());

  EXPECT_EQ(opt.param_groups()[0].lr, 0.1);
  const StateDict after = opt.state_dict();
  ASSERT_EQ(after.size(), before.size());
  for (const auto& [key, t] : before) EXPECT_EQ(after.at(key).to_vector<double>(), t.to_vector<double>()) << key;
}

std::vector<std::string> GroupKeys(const StateDict& state) {
  std::vector<std::string> keys;
  for (const auto& [key, t] : state) {
    if (key.starts_with("param_groups.")) keys.push_back(key);
  }
  return keys;
}

TEST(State, SavesEveryHyperparameterOfEveryGroup) {
  std::vector<Tensor> ps = InitialParams();
  SGD sgd(std::vector<ParamGroup>{{.params = {ps[0]}}, {.params = {ps[1]}, .lr = 0.05}},
          {.lr = 0.1, .momentum = 0.9, .nesterov = true});
  const StateDict s = sgd.state_dict();
  EXPECT_EQ(GroupKeys(s), (std::vector<std::string>{
                              "param_groups.0.dampening", "param_groups.0.initial_lr", "param_groups.0.lr",
                              "param_groups.0.maximize", "param_groups.0.momentum", "param_groups.0.nesterov",
                              "param_groups.0.weight_decay", "param_groups.1.dampening", "param_groups.1.initial_lr",
                              "param_groups.1.lr", "param_groups.1.maximize", "param_groups.1.momentum",
                              "param_groups.1.nesterov", "param_groups.1.weight_decay"}));
  EXPECT_EQ(s.at("param_groups.1.nesterov").dtype(), kInt64);
  EXPECT_EQ(s.at("param_groups.1.nesterov").item<int64_t>(), 1);
  EXPECT_EQ(s.at("param_groups.1.lr").item<double>(), 0.05);

  AdamW adamw(ps, {.lr = 0.01, .beta1 = 0.8, .beta2 = 0.95, .eps = 1e-6});
  const StateDict a = adamw.state_dict();
  EXPECT_EQ(GroupKeys(a), (std::vector<std::string>{"param_groups.0.amsgrad", "param_groups.0.beta2",
                                                    "param_groups.0.eps", "param_groups.0.initial_lr",
                                                    "param_groups.0.lr", "param_groups.0.maximize",
                                                    "param_groups.0.momentum", "param_groups.0.weight_decay"}));
  EXPECT_EQ(a.at("param_groups.0.momentum").item<double>(), 0.8);  // beta1
  EXPECT_EQ(a.at("param_groups.0.beta2").item<double>(), 0.95);
  EXPECT_EQ(a.at("param_groups.0.eps").item<double>(), 1e-6);
  // Options given without a weight decay keep each class's default, as PyTorch's: 1e-2 for AdamW, 0 for Adam.
  EXPECT_EQ(a.at("param_groups.0.weight_decay").item<double>(), 1e-2);
  EXPECT_EQ(Adam(ps, {.lr = 0.01}).state_dict().at("param_groups.0.weight_decay").item<double>(), 0);
}

// As PyTorch's load_state_dict: the saved hyperparameters replace the ones the optimizer was built with,
// and the resumed updates are the saved optimizer's, bit for bit.
TEST(State, LoadingReplacesTheConstructorsHyperparameters) {
  const std::vector<std::pair<json, json>> cases = {
      {{{"kind", "sgd"}, {"lr", 0.1}, {"momentum", 0.9}, {"nesterov", true}, {"maximize", true}},
       {{"kind", "sgd"}, {"lr", 0.3}, {"momentum", 0.5}, {"dampening", 0.3}}},
      {{{"kind", "adam"}, {"lr", 0.01}, {"beta1", 0.8}, {"beta2", 0.95}, {"amsgrad", true}},
       {{"kind", "adam"}, {"lr", 0.02}, {"maximize", true}}},
  };
  for (const auto& [saved_config, other_config] : cases) {
    SCOPED_TRACE(saved_config.dump());
    std::vector<Tensor> saved_params = InitialParams(), loaded_params = InitialParams();
    auto saved = MakeOptimizer(saved_config, saved_params);
    auto loaded = MakeOptimizer(other_config, loaded_params);
    SetGradients(saved_params, 0);
    saved->step();
    NoGrad([&] {
      for (size_t i = 0; i < saved_params.size(); ++i) loaded_params[i].copy_(saved_params[i]);
    });
    ASSERT_TRUE(loaded->load_state_dict(saved->state_dict()).ok());
    const Group& want = saved->param_groups()[0];
    const Group& got = loaded->param_groups()[0];
    EXPECT_EQ(got.lr, want.lr);
    EXPECT_EQ(got.momentum, want.momentum);
    EXPECT_EQ(got.dampening, want.dampening);
    EXPECT_EQ(got.nesterov, want.nesterov);
    EXPECT_EQ(got.beta2, want.beta2);
    EXPECT_EQ(got.eps, want.eps);
    EXPECT_EQ(got.amsgrad, want.amsgrad);
    EXPECT_EQ(got.maximize, want.maximize);
    for (int t = 1; t < 4; ++t) {
      SetGradients(saved_params, t);
      SetGradients(loaded_params, t);
      saved->step();
      loaded->step();
    }
    for (size_t i = 0; i < saved_params.size(); ++i) {
      EXPECT_EQ(loaded_params[i].to_vector<double>(), saved_params[i].to_vector<double>()) << "parameter " << i;
    }
  }
}

// Checkpoints written before the optimizer-specific fields were saved (examples/cifar10's among them) still
// load; those fields keep the values the optimizer was built with.
TEST(State, OldStateDictsWithoutOptimizerFieldsKeepTheConstructorsValues) {
  std::vector<Tensor> ps = InitialParams();
  SGD source(ps, {.lr = 0.2, .momentum = 0.8});
  StateDict old = source.state_dict();
  for (const char* field : {"dampening", "nesterov", "maximize"}) old.erase(std::string("param_groups.0.") + field);
  SGD sgd(ps, {.lr = 0.1, .momentum = 0.9, .nesterov = true});
  ASSERT_TRUE(sgd.load_state_dict(old).ok());
  EXPECT_EQ(sgd.param_groups()[0].lr, 0.2);
  EXPECT_EQ(sgd.param_groups()[0].momentum, 0.8);
  EXPECT_TRUE(sgd.param_groups()[0].nesterov);

  Adam adam_source(ps, {.lr = 0.01, .beta1 = 0.85});
  StateDict old_adam = adam_source.state_dict();
  for (const char* field : {"beta2", "eps", "amsgrad", "maximize"}) {
    old_adam.erase(std::string("param_groups.0.") + field);
  }
  Adam adam(ps, {.lr = 0.02, .beta2 = 0.99, .eps = 1e-7});
  ASSERT_TRUE(adam.load_state_dict(old_adam).ok());
  EXPECT_EQ(adam.param_groups()[0].momentum, 0.85);
  EXPECT_EQ(adam.param_groups()[0].beta2, 0.99);
  EXPECT_EQ(adam.param_groups()[0].eps, 1e-7);

  // Fields added after the others (amsgrad, maximize) may be missing alone: the constructor's values stay.
  StateDict before_flags = Adam(ps, {.lr = 0.01, .beta2 = 0.95}).state_dict();
  before_flags.erase("param_groups.0.amsgrad");
  before_flags.erase("param_groups.0.maximize");
  Adam flagged(ps, {.lr = 0.02, .amsgrad = true, .maximize = true});
  ASSERT_TRUE(flagged.load_state_dict(before_flags).ok());
  EXPECT_EQ(flagged.param_groups()[0].beta2, 0.95);
  EXPECT_TRUE(flagged.param_groups()[0].amsgrad);
  EXPECT_TRUE(flagged.param_groups()[0].maximize);
  // But no version wrote a field added later without the others.
  StateDict odd = Adam(ps, {.lr = 0.01}).state_dict();
  odd.erase("param_groups.0.beta2");
  odd.erase("param_groups.0.eps");
  EXPECT_EQ(flagged.load_state_dict(odd).message(),
            "Adam load_state_dict: param_groups.0.beta2: missing (the group has other fields of this optimizer: "
            "expected all of them, or none in a checkpoint written before they were saved)");
}

TEST(State, AmsgradStateResumesExactly) {
  // Four steps straight, or two, a state dict round trip into a new optimizer, and two more.
  auto run = [](bool round_trip) {
    std::vector<Tensor> params = InitialParams();
    auto opt = std::make_unique<Adam>(params, AdamOptions{.lr = 1e-2, .amsgrad = true});
    for (int t = 0; t < 4; ++t) {
      if (round_trip && t == 2) {
        const StateDict saved = opt->state_dict();
        EXPECT_TRUE(saved.contains("state.0.max_exp_avg_sq"));
        opt = std::make_unique<Adam>(params, AdamOptions{.lr = 1e-2});
        EXPECT_TRUE(opt->load_state_dict(saved).ok());
        EXPECT_TRUE(opt->param_groups()[0].amsgrad);
      }
      SetGradients(params, t);
      opt->step();
    }
    return params[0].to_vector<double>();
  };
  EXPECT_EQ(run(true), run(false));
}

TEST(State, InvalidHyperparametersAreRejectedAndChangeNothing) {
  std::vector<Tensor> params = InitialParams();
  SGD opt(params, {.lr = 0.1, .momentum = 0.9, .dampening = 0.1});
  SetGradients(params, 0);
  opt.step();
  const StateDict before = opt.state_dict();
  auto error = [&](const StateDict& state) { return std::string(opt.load_state_dict(state).message()); };
  auto with = [&](std::initializer_list<std::pair<const std::string, Tensor>> changes) {
    StateDict s = before;
    for (const auto& [key, t] : changes) s[key] = t;
    return s;
  };
  auto number = [](double v) { return full({}, v, {.dtype = kFloat64}); };
  auto flag = [](int64_t v) { return full({}, static_cast<double>(v), {.dtype = kInt64}); };

  EXPECT_EQ(error(with({{"param_groups.0.nesterov", flag(1)}})),
            "SGD load_state_dict: param_groups.0.nesterov: Nesterov momentum requires momentum > 0 and "
            "dampening = 0, got momentum 0.9 and dampening 0.1");
  EXPECT_EQ(error(with({{"param_groups.0.momentum", number(1.5)}})),
            "SGD load_state_dict: param_groups.0.momentum: expected momentum in [0, 1), got 1.5");
  EXPECT_EQ(error(with({{"param_groups.0.dampening", number(-0.5)}})),
            "SGD load_state_dict: param_groups.0.dampening: expected dampening in [0, 1], got -0.5");
  EXPECT_EQ(error(with({{"param_groups.0.lr", number(-1)}})),
            "SGD load_state_dict: param_groups.0.lr: expected lr >= 0, got -1");
  EXPECT_EQ(error(with({{"param_groups.0.nesterov", flag(2)}})),
            "SGD load_state_dict: param_groups.0.nesterov: expected an int64 scalar 0 or 1, got int64 of shape [] = 2");
  EXPECT_EQ(error(with({{"param_groups.0.nesterov", number(1)}})),
            "SGD load_state_dict: param_groups.0.nesterov: expected an int64 scalar 0 or 1, got float64 of shape [] "
            "= 1");
  EXPECT_EQ(error(with({{"param_groups.0.dampening", zeros({2}, {.dtype = kFloat64})}})),
            "SGD load_state_dict: param_groups.0.dampening: expected a floating-point scalar, got float64 of shape [2]");
  EXPECT_EQ(error(with({{"param_groups.0.beta2", number(0.9)}})),
            "SGD load_state_dict: param_groups.0.beta2: unexpected key");
  StateDict partial = before;
  partial.erase("param_groups.0.nesterov");
  EXPECT_THAT(error(partial), HasSubstr("param_groups.0.nesterov: missing (the group has other fields"));
  // An old state dict whose momentum cannot go with the Nesterov momentum this optimizer was built with.
  SGD nesterov(params, {.lr = 0.1, .momentum = 0.9, .nesterov = true});
  StateDict old = with({{"param_groups.0.momentum", number(0)}});
  for (const char* field : {"dampening", "nesterov", "maximize"}) old.erase(std::string("param_groups.0.") + field);
  EXPECT_EQ(std::string(nesterov.load_state_dict(old).message()),
            "SGD load_state_dict: param_groups.0.nesterov: Nesterov momentum requires momentum > 0 and "
            "dampening = 0, got momentum 0 and dampening 0");
  EXPECT_EQ(nesterov.param_groups()[0].momentum, 0.9);

  const StateDict after = opt.state_dict();
  ASSERT_EQ(after.size(), before.size());
  for (const auto& [key, t] : before) EXPECT_EQ(after.at(key).to_vector<double>(), t.to_vector<double>()) << key;

  Adam adam(params, {.lr = 0.01});
  const StateDict adam_before = adam.state_dict();
  StateDict bad_beta2 = adam_before, bad_eps = adam_before, bad_beta1 = adam_before;
  bad_beta2["param_groups.0.beta2"] = number(1);
  bad_eps["param_groups.0.eps"] = number(-1e-8);
  bad_beta1["param_groups.0.momentum"] = number(-0.1);
  EXPECT_EQ(std::string(adam.load_state_dict(bad_beta2).message()),
            "Adam load_state_dict: param_groups.0.beta2: expected beta2 in [0, 1), got 1");
  EXPECT_EQ(std::string(adam.load_state_dict(bad_eps).message()),
            "Adam load_state_dict: param_groups.0.eps: expected eps >= 0, got -1e-08");
  EXPECT_EQ(std::string(adam.load_state_dict(bad_beta1).message()),
            "Adam load_state_dict: param_groups.0.momentum: expected beta1 (the group's momentum) in [0, 1), got -0.1");
  EXPECT_EQ(adam.param_groups()[0].beta2, 0.999);
  EXPECT_EQ(adam.param_groups()[0].eps, 1e-8);
}

TEST(State, AdamStepCountsMustBeFloat64Scalars) {
  std::vector<Tensor> params = InitialParams();
  Adam opt(params, {.lr = 0.01});
  SetGradients(params, 0);
  opt.step();
  StateDict bad = opt.state_dict();
  bad["state.0.step"] = full({}, 1.0);  // float32, as PyTorch keeps it
  EXPECT_THAT(std::string(opt.load_state_dict(bad).message()),
              HasSubstr("state.0.step: expected float64 of shape [], got float32 of shape []"));
  bad["state.0.step"] = full({1}, 1.0, {.dtype = kFloat64});
  EXPECT_THAT(std::string(opt.load_state_dict(bad).message()), HasSubstr("got float64 of shape [1]"));
}

// A parameter's Adam state is whole or absent, and its step count a whole number: a partial state would
// load, then fail in the middle of the next step() with some parameters already updated.
TEST(State, AdamStateMustBeCompleteAndChangesNothingOtherwise) {
  std::vector<Tensor> params = InitialParams();
  Adam opt(params, {.lr = 0.01});
  SetGradients(params, 0);
  opt.step();
  const StateDict before = opt.state_dict();
  auto error = [&](const StateDict& state) { return std::string(opt.load_state_dict(state).message()); };

  StateDict no_moment = before;
  no_moment.erase("state.1.exp_avg_sq");
  EXPECT_EQ(error(no_moment),
            "Adam load_state_dict: state.1.exp_avg_sq: missing (a parameter's state has step, "
            "exp_avg and exp_avg_sq, or none of them)");
  StateDict no_step = before;
  no_step.erase("state.0.step");
  EXPECT_THAT(error(no_step), HasSubstr("state.0.step: missing"));
  for (const double step : {-1.0, 2.5, std::nan("")}) {
    StateDict bad_step = before;
    bad_step["state.0.step"] = full({}, step, {.dtype = kFloat64});
    EXPECT_EQ(error(bad_step), absl::StrCat("Adam load_state_dict: state.0.step: expected a whole number of steps "
                                            ">= 0, got ",
                                            step));
  }
  const StateDict after = opt.state_dict();
  ASSERT_EQ(after.size(), before.size());
  for (const auto& [key, t] : before) EXPECT_EQ(after.at(key).to_vector<double>(), t.to_vector<double>()) << key;
  SetGradients(params, 1);
  opt.step();  // the state it kept still steps
}

TEST(Errors, BadHyperparameters) {
  std::vector<Tensor> ps = InitialParams();
  EXPECT_THAT(message([&] { SGD(ps, {.momentum = 0.9}); }),
              HasSubstr("SGD: expected a learning rate (SGDOptions::lr, or the lr of every parameter group), got none "
                        "for parameter group 0; SGD has no default one, as in PyTorch"));
  // Groups that each set their lr need none in the options.
  EXPECT_EQ(message([&] {
              SGD(std::vector<ParamGroup>{{.params = {ps[0]}, .lr = 0.1}, {.params = {ps[1]}, .lr = 0.2}}, {});
            }),
            "no error");
  EXPECT_THAT(message([&] { SGD(ps, {.lr = -1}); }), HasSubstr("SGD: expected lr >= 0, got -1"));
  EXPECT_THAT(message([&] { SGD(ps, {.lr = 0.1, .weight_decay = -1e-4}); }), HasSubstr("expected weight_decay >= 0"));
  EXPECT_THAT(message([&] { SGD(ps, {.lr = 0.1, .momentum = 1.0}); }),
              HasSubstr("expected momentum in [0, 1), got 1"));
  EXPECT_THAT(message([&] { SGD(ps, {.lr = 0.1, .nesterov = true}); }),
              HasSubstr("Nesterov momentum requires momentum > 0"));
  EXPECT_THAT(message([&] { SGD(ps, {.lr = 0.1, .momentum = 0.9, .dampening = 2}); }),
              HasSubstr("SGD: expected dampening in [0, 1], got 2"));
  EXPECT_THAT(message([&] { Adam(ps, {.beta2 = 1.0}); }), HasSubstr("Adam: expected beta2 in [0, 1)"));
  EXPECT_THAT(message([&] { AdamW(ps, {.eps = -1}); }), HasSubstr("AdamW: expected eps >= 0, got -1"));
  EXPECT_THAT(message([&] { SGD(std::vector<Tensor>{}, {.lr = 0.1}); }), HasSubstr("expected at least one parameter"));
  EXPECT_THAT(message([&] { SGD({ps[0], ps[0]}, {.lr = 0.1}); }), HasSubstr("appears in more than one group"));
  EXPECT_THAT(message([&] { OneCycleLR({.total_steps = 1}); }), HasSubstr("total_steps > 1"));
  // The schedules' arguments.
  EXPECT_THAT(message([&] { StepLR(0); }), HasSubstr("StepLR: expected step_size > 0, got 0"));
  EXPECT_THAT(message([&] { MultiStepLR({5, 2}); }), HasSubstr("MultiStepLR: expected increasing milestones"));
  EXPECT_THAT(message([&] { CosineAnnealingLR(0); }), HasSubstr("CosineAnnealingLR: expected t_max > 0, got 0"));
  EXPECT_THAT(message([&] { LinearLR(0, 1, 5); }), HasSubstr("LinearLR: expected start_factor in (0, 1], got 0"));
  EXPECT_THAT(message([&] { LinearLR(0.5, 1.5, 5); }), HasSubstr("LinearLR: expected end_factor in [0, 1], got 1.5"));
  EXPECT_THAT(message([&] { LinearLR(0.5, 1, 0); }), HasSubstr("LinearLR: expected total_iters > 0, got 0"));
  EXPECT_THAT(message([&] { OneCycleLR({.total_steps = 10, .pct_start = 1}); }),
              HasSubstr("OneCycleLR: expected pct_start in (0, 1), got 1"));
  EXPECT_THAT(message([&] { OneCycleLR({.total_steps = 10, .pct_start = 0.05}); }),
              HasSubstr("OneCycleLR: expected both phases to last at least one step"));
  EXPECT_THAT(message([&] { Sequential({StepLR(1)}, {1}); }),
              HasSubstr("Sequential: expected one milestone fewer than schedules, got 1 schedules and 1 milestones"));
  EXPECT_THAT(message([&] {
                Sequential({StepLR(1), StepLR(1), StepLR(1)}, {4, 2});
              }),
              HasSubstr("Sequential: expected increasing milestones"));
  EXPECT_THAT(message([&] { Warmup(0, StepLR(1)); }), HasSubstr("Warmup: expected warmup_steps > 0, got 0"));
  SGD sgd(ps, {.lr = 0.1});
  EXPECT_THAT(message([&] { LRScheduler(sgd, nullptr); }), HasSubstr("LRScheduler: expected a schedule, got null"));
}

// A group's own hyperparameters give the same steps, bit for bit, as an optimizer of its own with them as
// options (which the fixtures check against PyTorch); state_dict saves them per group.
TEST(ParamGroups, OwnHyperparametersStepAsSeparateOptimizers) {
  const int steps = 5;
  auto run = [&](auto make_grouped, auto make_first, auto make_second) {
    std::vector<Tensor> grouped = InitialParams(), separate = InitialParams();
    auto opt = make_grouped(grouped);
    auto first = make_first(std::vector<Tensor>{separate[0]});
    auto second = make_second(std::vector<Tensor>(separate.begin() + 1, separate.end()));
    for (int t = 0; t < steps; ++t) {
      SetGradients(grouped, t);
      SetGradients(separate, t);
      opt->step();
      first->step();
      second->step();
    }
    for (size_t i = 0; i < grouped.size(); ++i) {
      EXPECT_EQ(grouped[i].to_vector<double>(), separate[i].to_vector<double>()) << "parameter " << i;
    }
    return opt;
  };
  auto sgd = run(
      [](const std::vector<Tensor>& ps) {
        return std::make_unique<SGD>(
            std::vector<ParamGroup>{{.params = {ps[0]}},
                                    {.params = {ps.begin() + 1, ps.end()}, .lr = 0.05, .momentum = 0.5,
                                     .dampening = 0, .nesterov = true, .maximize = true}},
            SGDOptions{.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .weight_decay = 1e-3});
      },
      [](std::vector<Tensor> ps) {
        return std::make_unique<SGD>(ps, SGDOptions{.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .weight_decay = 1e-3});
      },
      [](std::vector<Tensor> ps) {
        return std::make_unique<SGD>(ps, SGDOptions{.lr = 0.05, .momentum = 0.5, .weight_decay = 1e-3,
                                                     .nesterov = true, .maximize = true});
      });
  const StateDict state = sgd->state_dict();
  EXPECT_EQ(state.at("param_groups.0.momentum").item<double>(), 0.9);
  EXPECT_EQ(state.at("param_groups.1.momentum").item<double>(), 0.5);
  EXPECT_EQ(state.at("param_groups.1.dampening").item<double>(), 0.0);
  EXPECT_EQ(state.at("param_groups.1.nesterov").item<int64_t>(), 1);
  EXPECT_EQ(state.at("param_groups.0.maximize").item<int64_t>(), 0);
  run(
      [](const std::vector<Tensor>& ps) {
        return std::make_unique<AdamW>(
            std::vector<ParamGroup>{{.params = {ps[0]}, .beta1 = 0.8, .eps = 1e-6, .amsgrad = true},
                                    {.params = {ps.begin() + 1, ps.end()}, .weight_decay = 0.1, .beta2 = 0.9}},
            AdamOptions{.lr = 0.01});
      },
      [](std::vector<Tensor> ps) {
        return std::make_unique<AdamW>(ps, AdamOptions{.lr = 0.01, .beta1 = 0.8, .eps = 1e-6, .amsgrad = true});
      },
      [](std::vector<Tensor> ps) {
        return std::make_unique<AdamW>(ps, AdamOptions{.lr = 0.01, .beta2 = 0.9, .weight_decay = 0.1});
      });
}

TEST(ParamGroups, HyperparametersAnOptimizerLacksOrOutOfRangeAreRefusedByGroup) {
  const std::vector<Tensor> ps = InitialParams();
  EXPECT_EQ(message([&] {
              SGD(std::vector<ParamGroup>{{.params = {ps[0]}}, {.params = {ps[1]}, .beta2 = 0.9}}, {.lr = 0.1});
            }),
            "SGD: parameter group 1 sets beta2, which SGD does not have");
  EXPECT_EQ(message([&] { Adam(std::vector<ParamGroup>{{.params = {ps[0]}, .nesterov = false}}, {}); }),
            "Adam: parameter group 0 sets nesterov, which Adam does not have");
  EXPECT_EQ(message([&] {
              SGD(std::vector<ParamGroup>{{.params = {ps[0]}}, {.params = {ps[1]}, .momentum = 1.5}}, {.lr = 0.1});
            }),
            "SGD: expected momentum in [0, 1), got 1.5 (parameter group 1)");
  EXPECT_EQ(message([&] {
              SGD(std::vector<ParamGroup>{{.params = {ps[0]}, .nesterov = true}}, {.lr = 0.1, .momentum = 0.9,
                                                                                   .dampening = 0.5});
            }),
            "SGD: Nesterov momentum requires momentum > 0 and dampening = 0, got momentum 0.9 and dampening 0.5 "
            "(parameter group 0)");
  EXPECT_EQ(message([&] { AdamW(std::vector<ParamGroup>{{.params = {ps[0]}, .beta1 = 1.0}}); }),
            "AdamW: expected beta1 (the group's momentum) in [0, 1), got 1 (parameter group 0)");
  for (const char* field : {"beta1", "eps", "amsgrad"}) {
    ParamGroup group{.params = {ps[0]}};
    if (std::string(field) == "beta1") group.beta1 = 0.9;
    if (std::string(field) == "eps") group.eps = 1e-8;
    if (std::string(field) == "amsgrad") group.amsgrad = true;
    EXPECT_EQ(message([&] { SGD(std::vector<ParamGroup>{group}, {.lr = 0.1}); }),
              absl::StrCat("SGD: parameter group 0 sets ", field, ", which SGD does not have"));
  }
  EXPECT_EQ(message([&] { Adam(std::vector<ParamGroup>{{.params = {ps[0]}, .momentum = 0.9}}, {}); }),
            "Adam: parameter group 0 sets momentum, which Adam does not have");
  EXPECT_EQ(message([&] { Adam(std::vector<ParamGroup>{{.params = {ps[0]}, .dampening = 0.0}}, {}); }),
            "Adam: parameter group 0 sets dampening, which Adam does not have");
  // The options are checked even where every group sets its own value (as PyTorch checks its defaults),
  // and their errors name no group.
  EXPECT_EQ(message([&] { SGD(std::vector<ParamGroup>{{.params = {ps[0]}, .momentum = 0.9}}, {.lr = 0.1, .nesterov = true}); }),
            "SGD: Nesterov momentum requires momentum > 0 and dampening = 0, got momentum 0 and dampening 0");
  EXPECT_EQ(message([&] { Adam(std::vector<ParamGroup>{{.params = {ps[0]}, .beta1 = 0.9}}, {.beta1 = 1.5}); }),
            "Adam: expected beta1 (the group's momentum) in [0, 1), got 1.5");
  EXPECT_EQ(message([&] { SGD(ps, {.lr = 0.1, .momentum = 1.0}); }), "SGD: expected momentum in [0, 1), got 1");
}

// load_state_dict replaces each group's own hyperparameters with the saved ones.
TEST(ParamGroups, LoadingReplacesEachGroupsHyperparameters) {
  const std::vector<Tensor> ps = InitialParams();
  SGD saved(std::vector<ParamGroup>{{.params = {ps[0]}}, {.params = {ps[1]}, .momentum = 0.5, .nesterov = true}},
            {.lr = 0.1, .momentum = 0.9});
  SGD loaded(std::vector<ParamGroup>{{.params = {ps[0]}}, {.params = {ps[1]}}}, {.lr = 0.1, .momentum = 0.3});
  ASSERT_TRUE(loaded.load_state_dict(saved.state_dict()).ok());
  EXPECT_EQ(loaded.param_groups()[0].momentum, 0.9);
  EXPECT_EQ(loaded.param_groups()[1].momentum, 0.5);
  EXPECT_TRUE(loaded.param_groups()[1].nesterov);
  EXPECT_FALSE(loaded.param_groups()[0].nesterov);
}

TEST(OneCycle, SteppingPastTheEndIsAnError) {
  Tensor p = zeros({1}, {.requires_grad = true});
  SGD opt({p}, {.lr = 0.1});
  LRScheduler sched(opt, OneCycleLR({.total_steps = 4}));
  for (int i = 0; i < 4; ++i) sched.step();  // PyTorch allows total_steps calls
  EXPECT_THROW(sched.step(), Error);
}

// Loading a step the schedule does not reach, or a step count of another dtype, is refused before the
// scheduler or the optimizer changes.
TEST(OneCycle, LoadingAStepBeyondTheEndIsRefusedAndChangesNothing) {
  Tensor p = zeros({1}, {.requires_grad = true});
  SGD opt({p}, {.lr = 0.1, .momentum = 0.9});
  LRScheduler sched(opt, OneCycleLR({.total_steps = 4}));
  sched.step();
  const double lr = opt.param_groups()[0].lr, momentum = opt.param_groups()[0].momentum;
  const absl::Status beyond = sched.load_state_dict({{"last_step", full({}, 5, {.dtype = kInt64})}});
  EXPECT_EQ(beyond.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(beyond.message()),
              HasSubstr("LRScheduler load_state_dict: last_step 5 is beyond this schedule: OneCycleLR: stepped 5 "
                        "times, more than total_steps = 4"));
  EXPECT_EQ(std::string(sched.load_state_dict({{"last_step", full({}, 2.0, {.dtype = kFloat64})}}).message()),
            "LRScheduler load_state_dict: expected exactly one int64 scalar \"last_step\", got float64 of shape []");
  EXPECT_EQ(std::string(sched.load_state_dict({}).message()),
            "LRScheduler load_state_dict: expected exactly one int64 scalar \"last_step\", got 0 keys, none of them "
            "\"last_step\"");
  EXPECT_EQ(std::string(sched.load_state_dict({{"last_step", full({}, -1, {.dtype = kInt64})}}).message()),
            "LRScheduler load_state_dict: expected last_step >= 0, got -1");
  EXPECT_EQ(sched.last_step(), 1);
  EXPECT_EQ(opt.param_groups()[0].lr, lr);
  EXPECT_EQ(opt.param_groups()[0].momentum, momentum);
  ASSERT_TRUE(sched.load_state_dict({{"last_step", full({}, 4, {.dtype = kInt64})}}).ok());
  EXPECT_EQ(sched.last_step(), 4);
}

TEST(ClipGradNorm, ScalesOnlyAboveTheLimit) {
  Tensor a = zeros({2}, {.dtype = kFloat64, .requires_grad = true});
  Tensor b = zeros({1}, {.dtype = kFloat64, .requires_grad = true});
  a.set_grad(from_vector<double>({3, 0}));
  b.set_grad(from_vector<double>({4}));
  EXPECT_DOUBLE_EQ(ClipGradNorm({a, b}, 10.0), 5.0);
  EXPECT_EQ(a.grad().at({0}), 3.0);  // under the limit: untouched
  EXPECT_DOUBLE_EQ(ClipGradNorm({a, b}, 1.0), 5.0);
  EXPECT_NEAR(a.grad().at({0}), 3.0 / (5.0 + 1e-6), 1e-15);
  EXPECT_NEAR(b.grad().at({0}), 4.0 / (5.0 + 1e-6), 1e-15);
  EXPECT_NEAR(ClipGradNorm({a, b}, 100.0, kInfNorm), 4.0 / (5.0 + 1e-6), 1e-15);
}

// The L1 norm; a parameter without a gradient is skipped; a strided gradient is replaced by a scaled
// contiguous copy (the parameter's grad() then holds it); bad arguments are named.
TEST(ClipGradNorm, L1NormSkipsMissingGradientsAndScalesStridedOnes) {
  Tensor a = zeros({2, 2}, {.dtype = kFloat64, .requires_grad = true});
  Tensor b = zeros({3}, {.dtype = kFloat64, .requires_grad = true});
  Tensor none = zeros({2}, {.dtype = kFloat64, .requires_grad = true});
  a.set_grad(kernels::transpose(from_vector<double>({3, 0, -1, 4}, {2, 2}), 0, 1));  // [[3, -1], [0, 4]]
  ASSERT_FALSE(a.grad().is_contiguous());
  b.set_grad(from_vector<double>({-2, 0, 2}));
  EXPECT_DOUBLE_EQ(ClipGradNorm({a, none, b}, 2.0, 1.0), 12.0);  // |3| + |-1| + |4| + |-2| + |2|
  EXPECT_FALSE(none.grad().defined());
  EXPECT_TRUE(a.grad().is_contiguous());
  const double coef = 2.0 / (12.0 + 1e-6);
  EXPECT_EQ(a.grad().to_vector<double>(), (std::vector<double>{3 * coef, -1 * coef, 0 * coef, 4 * coef}));
  EXPECT_EQ(b.grad().to_vector<double>(), (std::vector<double>{-2 * coef, 0, 2 * coef}));
  auto message = [&](double max_norm, double norm_type) {
    try {
      ClipGradNorm({a}, max_norm, norm_type);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message(-1, 2), "ClipGradNorm: expected max_norm >= 0, got -1");
  EXPECT_EQ(message(1, 0), "ClipGradNorm: expected norm_type > 0, got 0");
}

// As PyTorch: a NaN gradient makes the norm NaN (the largest-magnitude norm too), and every gradient NaN.
TEST(ClipGradNorm, ANaNGradientMakesEveryGradientNaN) {
  for (const double norm_type : {2.0, kInfNorm}) {
    Tensor a = zeros({2}, {.dtype = kFloat64, .requires_grad = true});
    Tensor b = zeros({1}, {.dtype = kFloat64, .requires_grad = true});
    a.set_grad(from_vector<double>({std::nan(""), 1}));
    b.set_grad(from_vector<double>({4}));
    EXPECT_TRUE(std::isnan(ClipGradNorm({a, b}, 1.0, norm_type))) << norm_type;
    EXPECT_TRUE(std::isnan(b.grad().at({0}))) << norm_type;
    EXPECT_TRUE(std::isnan(a.grad().at({1}))) << norm_type;
  }
}

}  // namespace
}  // namespace normgrad::optim
