// The Module base: registries, names, modes, clone, dtype conversion, state_dict / load_state_dict,
// printing. Uses small modules defined here so that only the base is under test.
#include "nn/module.h"

#include "nn/container.h"

#include <gtest/gtest.h>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"

namespace normgrad::nn {
namespace {

// y = x * weight + bias, counting its training-mode calls in an int64 buffer.
class Scale : public Cloneable<Scale> {
 public:
  explicit Scale(int64_t n) : Cloneable("Scale") {
    register_parameter("weight", arange(1.0, n + 1.0));
    register_parameter("bias", zeros({n}));
    register_buffer("calls", zeros({}, {.dtype = kInt64}));
  }
  Tensor forward(const Tensor& x) override {
    if (is_training()) buffer("calls").add_(1.0);
    return x * parameter("weight") + parameter("bias");
  }
  std::string extra_repr() const override { return std::to_string(parameter("weight").numel()); }
};

// Two Scales in a row, with a buffer of its own.
class Chain : public Cloneable<Chain> {
 public:
  explicit Chain(int64_t n) : Cloneable("Chain") {
    register_buffer("offset", full({n}, 0.5));
    register_module("first", std::make_shared<Scale>(n));
    register_module("second", std::make_shared<Scale>(n));
  }
  Tensor forward(const Tensor& x) override {
    return (*child("second"))((*child("first"))(x)) + buffer("offset");
  }
};

std::vector<std::string> Names(const std::vector<std::pair<std::string, Tensor>>& named) {
  std::vector<std::string> out;
  for (const auto& [name, t] : named) out.push_back(name);
  return out;
}

TEST(Module, NamesFollowRegistrationOrder) {
  Chain m(3);
  EXPECT_EQ(Names(m.named_parameters()),
            (std::vector<std::string>{"first.weight", "first.bias", "second.weight", "second.bias"}));
  EXPECT_EQ(Names(m.named_buffers()), (std::vector<std::string>{"offset", "first.calls", "second.calls"}));
  EXPECT_EQ(Names(m.named_parameters(/*recurse=*/false)), std::vector<std::string>{});
  EXPECT_EQ(m.parameters().size(), 4u);
  EXPECT_EQ(m.buffers(/*recurse=*/false).size(), 1u);
  ASSERT_EQ(m.children().size(), 2u);
  EXPECT_EQ(m.named_children()[1].first, "second");
  EXPECT_EQ(CountParameters(m), 12);
  for (const Tensor& p : m.parameters()) EXPECT_TRUE(p.requires_grad());
  for (const Tensor& b : m.buffers()) EXPECT_FALSE(b.requires_grad());
}

TEST(Module, NamedModulesAndSharedEntriesListedOnce) {
  auto m = std::make_shared<Chain>(2);
  // The same Scale reachable twice, and a parameter shared with it.
  auto extra = m->register_module("again", m->child_as<Scale>("first"));
  EXPECT_EQ(extra, m->child("first"));
  std::vector<std::string> names;
  for (const auto& [name, module] : m->named_modules()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"", "first", "second"}));
  EXPECT_EQ(m->modules().size(), 3u);
  EXPECT_EQ(m->parameters().size(), 4u);
  EXPECT_EQ(CountParameters(*m), 8);
  // state_dict lists every path, as PyTorch's does.
  EXPECT_EQ(m->state_dict().size(), 10u);

  Chain on_stack(2);
  EXPECT_THROW(on_stack.named_modules(), Error);
}

TEST(Module, RegistrationErrors) {
  Scale m(2);
  EXPECT_THROW(m.register_parameter("weight", zeros({2})), Error);      // taken
  EXPECT_THROW(m.register_buffer("weight", zeros({2})), Error);         // taken across kinds
  EXPECT_THROW(m.register_parameter("a.b", zeros({2})), Error);         // dotted
  EXPECT_THROW(m.register_parameter("", zeros({2})), Error);            // empty
  EXPECT_THROW(m.register_parameter("i", zeros({2}, {.dtype = kInt64})), Error);
  EXPECT_THROW(m.register_parameter("u", Tensor()), Error);
  Tensor leaf = ones({2}, {.requires_grad = true});
  EXPECT_THROW(m.register_parameter("op", leaf * 2.0), Error);          // not a leaf
  EXPECT_THROW(m.register_buffer("g", leaf), Error);                    // requires grad
  EXPECT_THROW(m.register_module("none", std::shared_ptr<Module>()), Error);
  auto self = std::make_shared<Scale>(1);
  EXPECT_THROW(self->register_module("self", self), Error);
  try {
    m.register_parameter("bias", zeros({2}));
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "register_parameter: Scale already has an entry named \"bias\"");
  }
  // A frozen parameter.
  EXPECT_FALSE(m.register_parameter("frozen", zeros({1}), /*requires_grad=*/false).requires_grad());
}

TEST(Module, LookupsAndForward) {
  auto m = std::make_shared<Chain>(2);
  EXPECT_FALSE(m->parameter("missing").defined());
  EXPECT_FALSE(m->buffer("missing").defined());
  EXPECT_EQ(m->child("missing"), nullptr);
  EXPECT_THROW(m->child_as<Chain>("first"), Error);
  EXPECT_THROW(m->child_as<Scale>("missing"), Error);
  // (x * [1, 2] + 0) * [1, 2] + 0 + 0.5
  Tensor y = (*m)(from_vector<float>({1, 1}));
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{1.5f, 4.5f}));
  Module plain;
  EXPECT_THROW(plain.forward(y), Error);
}

TEST(Module, TrainAndEvalRecurse) {
  Chain m(2);
  EXPECT_TRUE(m.is_training());
  m.eval();
  for (const auto& c : m.children()) EXPECT_FALSE(c->is_training());
  m(ones({2}));
  EXPECT_EQ(m.state_dict().at("first.calls").item<int64_t>(), 0);
  EXPECT_TRUE(m.train().is_training());
  EXPECT_TRUE(m.child("second")->is_training());
  m(ones({2}));
  EXPECT_EQ(m.state_dict().at("first.calls").item<int64_t>(), 1);
}

// A Chain whose first Scale stays in eval mode (a frozen part), through an override of train().
class FrozenFirst : public Cloneable<FrozenFirst> {
 public:
  FrozenFirst() : Cloneable("FrozenFirst") { register_module("chain", std::make_shared<Chain>(2)); }
  Tensor forward(const Tensor& x) override { return (*child("chain"))(x); }
  Module& train(bool on = true) override {
    Module::train(on);
    child("chain")->child("first")->eval();
    return *this;
  }
};

TEST(Module, TrainCanBeOverridden) {
  // Reached from a parent's train() as well as directly.
  Sequential outer;
  outer.push_back(std::make_shared<FrozenFirst>());
  outer.eval();
  outer.train();
  const std::shared_ptr<Module> chain = outer.children()[0]->child("chain");
  EXPECT_TRUE(outer.children()[0]->is_training());
  EXPECT_TRUE(chain->is_training());
  EXPECT_FALSE(chain->child("first")->is_training());
  EXPECT_TRUE(chain->child("second")->is_training());
  outer(ones({2}));
  EXPECT_EQ(outer.state_dict().at("0.chain.first.calls").item<int64_t>(), 0);
  EXPECT_EQ(outer.state_dict().at("0.chain.second.calls").item<int64_t>(), 1);
}

TEST(Module, ZeroGradDropsGradients) {
  Chain m(2);
  sum(m(ones({2}))).backward();
  for (const Tensor& p : m.parameters()) EXPECT_TRUE(p.grad().defined());
  m.zero_grad();
  for (const Tensor& p : m.parameters()) EXPECT_FALSE(p.grad().defined());
}

TEST(Module, CloneIsDeep) {
  auto m = std::make_shared<Chain>(2);
  m->register_module("again", m->child("first"));
  sum((*m)(ones({2}))).backward();
  m->eval();
  auto copy = Clone(m);
  ASSERT_NE(copy, nullptr);
  EXPECT_FALSE(copy->is_training());
  EXPECT_EQ(copy->type_name(), "Chain");
  const StateDict a = m->state_dict(), b = copy->state_dict();
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [key, t] : a) {
    EXPECT_EQ(t.to_vector<double>(), b.at(key).to_vector<double>()) << key;
    EXPECT_FALSE(t.storage().is_same(b.at(key).storage())) << key;
    EXPECT_EQ(t.dtype(), b.at(key).dtype()) << key;
  }
  // Gradients and requires_grad come along; sharing within the tree is kept.
  EXPECT_EQ(copy->parameters()[0].grad().to_vector<float>(), m->parameters()[0].grad().to_vector<float>());
  EXPECT_TRUE(copy->parameters()[0].requires_grad());
  EXPECT_EQ(copy->child("again"), copy->child("first"));
  // The copy's forward reads the copy's tensors.
  {
    NoGradGuard no_grad;
    copy->parameters()[0].add_(1.0);
  }
  EXPECT_EQ(m->parameters()[0].to_vector<float>(), (std::vector<float>{1, 2}));
  EXPECT_EQ((*copy)(ones({2})).to_vector<float>(), (std::vector<float>{2.5f, 6.5f}));  // ([2, 3] * [1, 2]) + 0.5

  Module plain;
  EXPECT_THROW(plain.clone(), Error);
}

TEST(Module, ToDTypeKeepsIdentity) {
  Chain m(2);
  sum(m(ones({2}))).backward();
  Tensor weight = m.parameters()[0];
  m.to(kFloat64);
  EXPECT_EQ(weight.dtype(), kFloat64);
  EXPECT_TRUE(weight.is_same(m.parameters()[0]));
  EXPECT_TRUE(weight.requires_grad());
  EXPECT_EQ(weight.grad().dtype(), kFloat64);
  EXPECT_EQ(weight.to_vector<double>(), (std::vector<double>{1, 2}));
  EXPECT_EQ(m.state_dict().at("offset").dtype(), kFloat64);
  EXPECT_EQ(m.state_dict().at("first.calls").dtype(), kInt64);
  EXPECT_EQ(m(ones({2}, {.dtype = kFloat64})).dtype(), kFloat64);
  EXPECT_THROW(m.to(kInt64), Error);
}

TEST(Module, StateDictSharesDataWithoutGradient) {
  Scale m(2);
  StateDict s = m.state_dict();
  EXPECT_EQ(s.size(), 3u);
  EXPECT_TRUE(s.at("weight").storage().is_same(m.parameter("weight").storage()));
  EXPECT_FALSE(s.at("weight").requires_grad());
}

TEST(Module, LoadStateDictStrict) {
  Chain m(2), source(2);
  source.child("first")->parameter("weight").detach().fill_(7.0);
  source.buffer("offset").fill_(-1.0);
  source.child("second")->buffer("calls").fill_(3.0);
  auto loaded = m.load_state_dict(source.state_dict());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(loaded->clean());
  EXPECT_EQ(m.child("first")->parameter("weight").to_vector<float>(), (std::vector<float>{7, 7}));
  EXPECT_EQ(m.buffer("offset").to_vector<float>(), (std::vector<float>{-1, -1}));
  EXPECT_EQ(m.child("second")->buffer("calls").item<int64_t>(), 3);
  // Values are copied, not shared.
  EXPECT_FALSE(m.buffer("offset").storage().is_same(source.buffer("offset").storage()));

  // Any problem: nothing changes, and the message names every key.
  StateDict bad = Chain(2).state_dict();
  bad.erase("first.bias");
  bad["extra"] = zeros({1});
  bad["second.weight"] = zeros({3});
  const StateDict before = m.clone()->state_dict();
  auto failed = m.load_state_dict(bad);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(failed.status().message(),
            "load_state_dict: the state dict does not fit Chain: missing keys: first.bias; unexpected keys: extra; "
            "shape mismatches: second.weight (expected [2], got [3])");
  for (const auto& [key, t] : m.state_dict()) EXPECT_EQ(t.to_vector<double>(), before.at(key).to_vector<double>());

  StateDict undefined = source.state_dict();
  undefined["offset"] = Tensor();
  EXPECT_FALSE(m.load_state_dict(undefined, /*strict=*/false).ok());
}

TEST(Module, LoadStateDictNonStrictReportsAndCopiesTheRest) {
  Chain m(2);
  StateDict partial;
  partial["first.weight"] = from_vector<double>({5, 6});  // converted to float32
  partial["unknown"] = zeros({1});
  auto result = m.load_state_dict(partial, /*strict=*/false);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->missing_keys, (std::vector<std::string>{"first.bias", "second.weight", "second.bias", "offset",
                                                            "first.calls", "second.calls"}));
  EXPECT_EQ(result->unexpected_keys, std::vector<std::string>{"unknown"});
  EXPECT_EQ(m.child("first")->parameter("weight").to_vector<float>(), (std::vector<float>{5, 6}));
  EXPECT_EQ(m.child("first")->parameter("weight").dtype(), kFloat32);

  // A key of another shape is an error even here (as in PyTorch), and nothing is copied.
  partial["first.weight"] = from_vector<double>({7, 8});
  partial["second.bias"] = zeros({4});
  auto mismatched = m.load_state_dict(partial, /*strict=*/false);
  ASSERT_FALSE(mismatched.ok());
  EXPECT_EQ(mismatched.status().message(),
            "load_state_dict: the state dict does not fit Chain: shape mismatches: second.bias (expected [2], got "
            "[4]) (a non-strict load copies no tensor of another shape either: leave the key out)");
  EXPECT_EQ(m.child("first")->parameter("weight").to_vector<float>(), (std::vector<float>{5, 6}));
}

TEST(Module, LoadStateDictBumpsVersionsSoStaleGraphsFail) {
  Scale m(2);
  Tensor y = sum(m(ones({2})) * m.parameter("weight"));
  ASSERT_TRUE(m.load_state_dict(m.state_dict()).ok());
  EXPECT_THROW(y.backward(), Error);
}

TEST(Module, PrintsTheTreeWithParameterCounts) {
  Chain m(3);
  EXPECT_EQ(m.ToString(),
            "Chain()  # 12 parameters\n"
            "  (first): Scale(3)  # 6 parameters\n"
            "  (second): Scale(3)  # 6 parameters");
  std::ostringstream os;
  os << *m.child("first");
  EXPECT_EQ(os.str(), "Scale(3)  # 6 parameters");
}

}  // namespace
}  // namespace normgrad::nn
