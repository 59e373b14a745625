// dropout: scaling, the mask's statistics and reproducibility, eval mode, its gradient, errors.
#include "nn/functional/dropout.h"

#include <gtest/gtest.h>

#include "autograd/ops.h"
#include "nn/dropout.h"
#include "tests/nn/nn_testing.h"

namespace normgrad::nn::functional {
namespace {

using testing::ExpectError;

TEST(Dropout, ZeroesAboutPAndScalesTheRest) {
  Generator gen(11);
  const Tensor x = full({100000}, 2.0, {.dtype = kFloat64});
  const std::vector<double> y = dropout(x, 0.3, true, &gen).to_vector<double>();
  int64_t zeros = 0;
  for (double v : y) {
    if (v == 0) {
      ++zeros;
    } else {
      EXPECT_DOUBLE_EQ(v, 2.0 / 0.7);
    }
  }
  // 100000 draws with p = 0.3: the count is within 5 standard deviations (145) of 30000.
  EXPECT_NEAR(static_cast<double>(zeros), 30000, 725);
}

TEST(Dropout, SameSeedSameMask) {
  Generator a(5), b(5);
  const Tensor x = ones({64});
  EXPECT_EQ(dropout(x, 0.5, true, &a).to_vector<float>(), dropout(x, 0.5, true, &b).to_vector<float>());
}

TEST(Dropout, EvalAndZeroPReturnTheInput) {
  const Tensor x = ones({8}, {.requires_grad = true});
  EXPECT_TRUE(dropout(x, 0.5, false).is_same(x));
  EXPECT_TRUE(dropout(x, 0.0, true).is_same(x));
}

TEST(Dropout, GradientIsTheScaledMask) {
  Generator gen(3);
  Tensor x = randn({1000}, {.dtype = kFloat64, .requires_grad = true}, &gen);
  const Tensor y = dropout(x, 0.25, true, &gen);
  y.backward(ones_like(y));
  const std::vector<double> g = x.grad().to_vector<double>(), yv = y.to_vector<double>();
  for (size_t i = 0; i < g.size(); ++i) EXPECT_EQ(g[i], yv[i] == 0 ? 0 : 1 / 0.75) << i;
}

// p = 1, as PyTorch: every element zeroed in training (with a zero gradient), the input itself in eval.
TEST(Dropout, PEqualToOneDropsEverythingInTrainingOnly) {
  Tensor x = full({3}, 2.0, {.dtype = kFloat64, .requires_grad = true});
  const Tensor y = dropout(x, 1.0, true);
  EXPECT_EQ(y.to_vector<double>(), (std::vector<double>{0, 0, 0}));
  y.backward(ones_like(y));
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{0, 0, 0}));
  EXPECT_EQ(dropout(x, 1.0, false).to_vector<double>(), (std::vector<double>{2, 2, 2}));
  nn::Dropout layer({.p = 1.0});
  layer.eval();
  EXPECT_EQ(layer.forward(x).to_vector<double>(), (std::vector<double>{2, 2, 2}));
}

TEST(Dropout, Errors) {
  ExpectError([] { dropout(ones({3}), 1.5); }, "dropout: expected p in [0, 1], got 1.5");
  ExpectError([] { dropout(ones({3}), -0.5); }, "dropout: expected p in [0, 1], got -0.5");
  ExpectError([] { dropout(ones({3}, {.dtype = kInt64}), 0.5); },
              "dropout: expected a floating-point input (float32 or float64), got int64");
}

}  // namespace
}  // namespace normgrad::nn::functional
