// NoDecayOnNorms: which parameters get weight decay.
#include "optim/param_groups.h"

#include <gtest/gtest.h>

#include "optim/sgd.h"

namespace normgrad::optim {
namespace {

// A normalization layer and a layer with a weight and a bias, as stand-ins for BatchNorm2d and Conv2d.
class Norm : public nn::Cloneable<Norm>, public nn::NormalizationLayer {
 public:
  Norm() : Cloneable("Norm") {
    register_parameter("weight", ones({4}));
    register_parameter("bias", zeros({4}));
    register_buffer("running_mean", zeros({4}));
  }
};

class Dense : public nn::Cloneable<Dense> {
 public:
  explicit Dense(bool bias) : Cloneable("Dense") {
    register_parameter("weight", ones({4, 4}));
    if (bias) register_parameter("bias", zeros({4}));
  }
};

class Net : public nn::Cloneable<Net> {
 public:
  Net() : Cloneable("Net") {
    register_module("conv", std::make_shared<Dense>(false));
    register_module("bn", std::make_shared<Norm>());
    auto fc = register_module("fc", std::make_shared<Dense>(true));
    register_module("fc_again", fc);  // shared: its parameters appear once
    register_parameter("frozen", ones({2, 2}), /*requires_grad=*/false);
    register_parameter("scale", ones({1}));
  }
};

TEST(NoDecayOnNorms, SplitsNormalizationParametersAndBiases) {
  Net net;
  const std::vector<ParamGroup> groups = NoDecayOnNorms(net, 5e-4);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].weight_decay, 5e-4);
  EXPECT_EQ(groups[1].weight_decay, 0.0);
  EXPECT_FALSE(groups[0].lr.has_value());
  const auto named = net.named_parameters();
  const auto name_of = [&](const Tensor& p) {
    for (const auto& [name, q] : named) {
      if (q.is_same(p)) return name;
    }
    return std::string("?");
  };
  std::vector<std::string> decay, no_decay;
  for (const Tensor& p : groups[0].params) decay.push_back(name_of(p));
  for (const Tensor& p : groups[1].params) no_decay.push_back(name_of(p));
  EXPECT_EQ(decay, (std::vector<std::string>{"scale", "conv.weight", "fc.weight"}));
  EXPECT_EQ(no_decay, (std::vector<std::string>{"bn.weight", "bn.bias", "fc.bias"}));
  // The groups make an optimizer as they are.
  SGD opt(groups, {.lr = 0.1, .momentum = 0.9});
  EXPECT_EQ(opt.param_groups()[0].weight_decay, 5e-4);
  EXPECT_EQ(opt.param_groups()[1].weight_decay, 0.0);
}

TEST(NoDecayOnNorms, OmitsEmptyGroupsAndRejectsBadInput) {
  const auto groups = NoDecayOnNorms(Dense(false), 1e-4);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].weight_decay, 1e-4);
  EXPECT_EQ(NoDecayOnNorms(Norm(), 1e-4).at(0).weight_decay, 0.0);
  EXPECT_THROW(NoDecayOnNorms(Dense(true), -1.0), Error);
  EXPECT_THROW(NoDecayOnNorms(nn::Module(), 1e-4), Error);
}

}  // namespace
}  // namespace normgrad::optim
