// The gradient checker over the one list of differentiable ops, and the check that the list is complete.
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "autograd/gradcheck.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "tests/autograd/op_list.h"

namespace normgrad::testing {
namespace {

class GradCheckTest : public ::testing::TestWithParam<OpCase> {};

TEST_P(GradCheckTest, MatchesFiniteDifferences) {
  const OpCase& c = GetParam();
  const absl::Status s =
      autograd::GradCheck(c.fn, c.inputs, {.eps = c.eps, .check_second_order = c.second_order});
  EXPECT_TRUE(s.ok()) << c.name << ": " << s;
}

std::string CaseName(const ::testing::TestParamInfo<OpCase>& info) {
  std::string name = info.param.name;
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name + "_" + std::to_string(info.index);
}

INSTANTIATE_TEST_SUITE_P(AllOps, GradCheckTest, ::testing::ValuesIn(AllOpCases()), CaseName);

// Node names that running the op list records.
std::set<std::string> RecordedNodeNames() {
  std::set<std::string> names;
  for (const OpCase& c : AllOpCases()) {
    const Tensor y = c.fn(c.inputs);
    std::vector<const autograd::Node*> stack;
    if (y.grad_fn()) stack.push_back(y.grad_fn().get());
    while (!stack.empty()) {
      const autograd::Node* n = stack.back();
      stack.pop_back();
      names.insert(n->name());
      for (const autograd::Edge& e : n->edges()) {
        if (e.node) stack.push_back(e.node.get());
      }
    }
  }
  return names;
}

// Every node name in an op source (a "...Backward" literal: passed to Record directly, through a ternary
// or through a helper such as MatmulRecord) must be reached by some case of the list: an op whose backward
// the gradient checker never sees cannot exist.
TEST(OpList, CoversEveryRecordedNode) {
  const std::regex record(R"re("(\w+Backward)")re");
  std::set<std::string> in_sources;
  for (const char* dir : {"autograd/ops", "nn/functional"}) {
    ASSERT_TRUE(std::filesystem::exists(dir)) << dir << " is not in the test's runfiles";
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (entry.path().extension() != ".cc") continue;
      std::ifstream file(entry.path());
      std::stringstream text;
      text << file.rdbuf();
      const std::string source = text.str();
      for (std::sregex_iterator it(source.begin(), source.end(), record), end; it != end; ++it) {
        in_sources.insert((*it)[1]);
      }
    }
  }
  ASSERT_FALSE(in_sources.empty()) << "no op sources found in the test's runfiles";
  // Nodes that need two devices to be recorded: checked by the gradient checker in tests/cuda instead.
  const std::set<std::string> two_devices = {"ToDeviceBackward"};
  const std::set<std::string> recorded = RecordedNodeNames();
  for (const std::string& name : in_sources) {
    if (two_devices.count(name)) continue;
    EXPECT_TRUE(recorded.count(name)) << name << " is recorded by an op but no case in the op list reaches it";
  }
}

// The checker itself must catch a wrong backward.
TEST(GradCheck, CatchesAWrongGradient) {
  const autograd::TensorFn wrong = [](const std::vector<Tensor>& xs) {
    const Tensor& x = xs[0];
    return autograd::Record("WrongBackward", x.detach(), {x},
                            [](const autograd::BackwardContext& ctx) -> std::vector<Tensor> {
                              return {full_like(ctx.grad, 2.0)};  // identity's gradient is 1, not 2
                            });
  };
  Tensor x = from_vector<double>({1, 2, 3}).set_requires_grad();
  const absl::Status s = autograd::GradCheck(wrong, {x});
  EXPECT_FALSE(s.ok());
  EXPECT_NE(std::string(s.message()).find("analytic"), std::string::npos) << s;
}

// A backward that is right without create_graph but wrong with it (self-consistently: its own derivative
// is exact) must still fail the second-order check.
TEST(GradCheck, CatchesAWrongRecordedGradient) {
  const autograd::TensorFn wrong = [](const std::vector<Tensor>& xs) {
    const Tensor& x = xs[0];
    return autograd::Record("WrongUnderCreateGraph", x.detach(), {x},
                            [](const autograd::BackwardContext& ctx) -> std::vector<Tensor> {
                              return {GradMode::is_enabled() ? mul(ctx.grad, 2.0) : ctx.grad};
                            });
  };
  Tensor x = from_vector<double>({1, 2, 3}).set_requires_grad();
  EXPECT_TRUE(autograd::GradCheck(wrong, {x}).ok());  // first order alone cannot see it
  const absl::Status s = autograd::GradCheck(wrong, {x}, {.check_second_order = true});
  EXPECT_FALSE(s.ok());
  EXPECT_NE(std::string(s.message()).find("create_graph"), std::string::npos) << s;
}

TEST(GradCheck, RejectsFloat32Inputs) {
  Tensor x = ones({2}, {.requires_grad = true});
  EXPECT_EQ(autograd::GradCheck([](const std::vector<Tensor>& xs) { return xs[0]; }, {x}).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace normgrad::testing
