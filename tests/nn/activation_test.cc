// The activations (functional and modules) against PyTorch fixtures, and the modules' reprs.
#include "nn/activation.h"

#include <gtest/gtest.h>

#include "tests/nn/nn_testing.h"

namespace normgrad::nn {
namespace {

using testing::json;

Tensor Activation(const json& c, const Tensor& x) {
  const std::string op = c["op"];
  if (op == "leaky_relu") return functional::leaky_relu(x, c["negative_slope"].get<double>());
  if (op == "gelu") {
    return functional::gelu(x, c["approximate"] == "tanh" ? functional::GeluApproximation::kTanh
                                                          : functional::GeluApproximation::kNone);
  }
  if (op == "silu") return functional::silu(x);
  EXPECT_EQ(op, "erf");
  return erf(x);
}

TEST(Activations, MatchPyTorchFixtures) {
  const json fixture = testing::LoadFixture("activation.json");
  ASSERT_EQ(fixture["cases"].size(), 6u);
  for (const json& c : fixture["cases"]) {
    for (const char* dname : {"float32", "float64"}) {
      const DType dtype = testing::DTypeFromName(dname);
      const std::string what = c["name"].get<std::string>() + " " + dname;
      const json& e = c[dname];
      Tensor x = testing::FixtureInput(c["x"], c["x_shape"], dtype, true);
      Tensor y = Activation(c, x);
      const double tol = testing::Tolerance(dtype);
      testing::ExpectTensorNear(y, e["y"], e["y_shape"], tol, what + " y");
      y.backward(testing::FixtureInput(e["dy"], e["y_shape"], dtype));
      // x[0, 0] is 0: leaky_relu's gradient there is the slope, as PyTorch's.
      testing::ExpectTensorNear(x.grad(), e["dx"], c["x_shape"], tol, what + " dx");
    }
  }
}

TEST(Activations, ModulesApplyTheirFunctions) {
  const Tensor x = from_vector<double>({-2, -0.5, 0, 0.5, 2}, {5});
  auto same = [](const Tensor& a, const Tensor& b) { return a.to_vector<double>() == b.to_vector<double>(); };
  EXPECT_TRUE(same(LeakyReLU(0.2)(x), functional::leaky_relu(x, 0.2)));
  EXPECT_TRUE(same(GELU()(x), functional::gelu(x)));
  EXPECT_TRUE(same(GELU(functional::GeluApproximation::kTanh)(x),
                   functional::gelu(x, functional::GeluApproximation::kTanh)));
  EXPECT_TRUE(same(SiLU()(x), functional::silu(x)));
  EXPECT_TRUE(same(Sigmoid()(x), sigmoid(x)));
  EXPECT_TRUE(same(Tanh()(x), tanh(x)));
  EXPECT_EQ(LeakyReLU(0.2)(x).to_vector<double>(), (std::vector<double>{-0.4, -0.1, 0, 0.5, 2}));
  EXPECT_EQ(LeakyReLU().extra_repr(), "negative_slope=0.01");
  EXPECT_EQ(GELU(functional::GeluApproximation::kTanh).extra_repr(), "approximate='tanh'");
  EXPECT_EQ(SiLU().parameters().size(), 0u);
}

}  // namespace
}  // namespace normgrad::nn
