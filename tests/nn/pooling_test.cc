// max_pool2d, avg_pool2d and adaptive_avg_pool2d against PyTorch fixtures, tie and NaN rules, and errors.
#include "nn/functional/pooling.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "autograd/ops.h"
#include "core/random.h"
#include "tests/nn/nn_testing.h"

namespace normgrad::nn::functional {
namespace {

using testing::ExpectError;
using testing::json;

std::array<int64_t, 2> Pair(const json& j) { return {j[0].get<int64_t>(), j[1].get<int64_t>()}; }

TEST(Pooling, MatchesPyTorchFixtures) {
  const json fixture = testing::LoadFixture("pooling.json");
  ASSERT_FALSE(fixture["cases"].empty());
  for (const json& c : fixture["cases"]) {
    for (const char* dname : {"float32", "float64"}) {
      const DType dtype = testing::DTypeFromName(dname);
      const std::string what = c["name"].get<std::string>() + " " + dname, op = c["op"];
      const json& e = c[dname];
      Tensor x = testing::FixtureInput(c["x"], c["x_shape"], dtype, true);
      Tensor y;
      if (op == "adaptive") {
        y = adaptive_avg_pool2d(x, Pair(c["kernel_size"]));
      } else {
        Pool2dFuncOptions options{.kernel_size = Pair(c["kernel_size"]),
                                  .padding = Pair(c["padding"]),
                                  .ceil_mode = c.value("ceil_mode", false),
                                  .count_include_pad = c.value("count_include_pad", true)};
        if (!c["stride"].is_null()) options.stride = Pair(c["stride"]);
        y = op == "max" ? max_pool2d(x, options) : avg_pool2d(x, options);
      }
      const double tol = testing::Tolerance(dtype);
      testing::ExpectTensorNear(y, e["y"], e["y_shape"], tol, what + " y");
      y.backward(testing::FixtureInput(e["dy"], e["y_shape"], dtype));
      testing::ExpectTensorNear(x.grad(), e["dx"], c["x_shape"], tol, what + " dx");
    }
  }
}

TEST(MaxPool2d, TiesGoToTheFirstMaximumAndNaNWins) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Tensor x = from_vector<double>({1, 3, 3, 0, 2, 3, 3, nan, 1}, {1, 1, 3, 3}).set_requires_grad(true);
  // 2 x 2 windows at stride 1: {1, 3, 0, 2} -> the 3 at (0, 1); {3, 3, 2, 3} -> the first 3, (0, 1) again;
  // {0, 2, 3, nan} and {2, 3, nan, 1} -> the NaN at (2, 1).
  Tensor y = max_pool2d(x, {.kernel_size = {2, 2}, .stride = {{1, 1}}});
  const std::vector<double> v = y.to_vector<double>();
  EXPECT_EQ(v[0], 3);
  EXPECT_EQ(v[1], 3);
  EXPECT_TRUE(std::isnan(v[2]));
  EXPECT_TRUE(std::isnan(v[3]));
  y.backward(ones_like(y));
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{0, 2, 0, 0, 0, 0, 0, 2, 0}));
}

TEST(AvgPool2d, PaddingCountsAsZeros) {
  // count_include_pad = true: the corner window of a padded 2 x 2 kernel holds one real value of four.
  const Tensor x = ones({1, 1, 2, 2}, {.dtype = kFloat64});
  const Tensor y = avg_pool2d(x, {.kernel_size = {2, 2}, .stride = {{1, 1}}, .padding = {1, 1}});
  EXPECT_EQ(y.to_vector<double>(), (std::vector<double>{0.25, 0.5, 0.25, 0.5, 1, 0.5, 0.25, 0.5, 0.25}));
}

TEST(AvgPool2d, CeilModeAndCountIncludePad) {
  // A 5-wide row, kernel 2 at stride 2: floor gives 2 windows, ceil_mode 3, the last holding x[4] alone.
  const Tensor x = from_vector<double>({1, 2, 3, 4, 5}, {1, 1, 1, 5});
  const Pool2dFuncOptions floor{.kernel_size = {1, 2}};
  EXPECT_EQ(avg_pool2d(x, floor).to_vector<double>(), (std::vector<double>{1.5, 3.5}));
  // The partial window runs past the input (there is no padding to count): divided by 1, as PyTorch.
  EXPECT_EQ(avg_pool2d(x, {.kernel_size = {1, 2}, .ceil_mode = true}).to_vector<double>(),
            (std::vector<double>{1.5, 3.5, 5}));
  // Padding 1: windows [pad, 1], [2, 3], [4, 5]; counted with the pad (/ 2) or without it (/ 1 at the edge).
  const Pool2dFuncOptions padded{.kernel_size = {1, 2}, .padding = {0, 1}};
  EXPECT_EQ(avg_pool2d(x, padded).to_vector<double>(), (std::vector<double>{0.5, 2.5, 4.5}));
  Pool2dFuncOptions exclude = padded;
  exclude.count_include_pad = false;
  EXPECT_EQ(avg_pool2d(x, exclude).to_vector<double>(), (std::vector<double>{1, 2.5, 4.5}));
  EXPECT_EQ(max_pool2d(x, {.kernel_size = {1, 2}, .ceil_mode = true}).to_vector<double>(),
            (std::vector<double>{2, 4, 5}));
  // A kernel wider than the input: no window rounded down, one with ceil_mode (PyTorch gives the same),
  // whose mean divides by the input positions it covers (there is no padding to count).
  const Pool2dFuncOptions wide{.kernel_size = {1, 6}, .stride = {{1, 2}}, .ceil_mode = true};
  EXPECT_EQ(max_pool2d(x, wide).to_vector<double>(), std::vector<double>{5});
  EXPECT_EQ(avg_pool2d(x, wide).to_vector<double>(), std::vector<double>{3});
  EXPECT_THROW(max_pool2d(x, {.kernel_size = {1, 6}, .stride = {{1, 2}}}), Error);
}

TEST(Pooling, DoubleBackwardIsRefused) {
  const Tensor x = randn({1, 1, 4, 4}, {.dtype = kFloat64, .requires_grad = true});
  const Pool2dFuncOptions options{.kernel_size = {2, 2}};
  for (const auto& [op, y] :
       {std::pair{"max_pool2d", sum(max_pool2d(x, options))}, std::pair{"avg_pool2d", sum(avg_pool2d(x, options))},
        std::pair{"adaptive_avg_pool2d", sum(adaptive_avg_pool2d(x, {3, 3}))}}) {
    ExpectError([&] { y.backward({}, {.create_graph = true}); },
                std::string(op) + ": double backward is not supported");
  }
}

TEST(Pooling, Errors) {
  const Tensor x = zeros({1, 2, 5, 5});
  ExpectError(
      [&] {
        max_pool2d(zeros({5, 5}), {.kernel_size = {2, 2}});
      },
      "max_pool2d: expected input of 3 or 4 dims ([C, H, W] or [N, C, H, W]), got [5, 5]");
  ExpectError(
      [&] {
        avg_pool2d(zeros({1, 1, 2, 5, 5}), {.kernel_size = {2, 2}});
      },
      "avg_pool2d: expected input of 3 or 4 dims");
  ExpectError([&] { max_pool2d(x, {}); }, "max_pool2d: expected kernel_size >= 1, got [0, 0]");
  ExpectError(
      [&] {
        max_pool2d(x, {.kernel_size = {2, 2}, .stride = {{0, 1}}});
      },
      "max_pool2d: expected stride >= 1, got [0, 1]");
  ExpectError(
      [&] {
        avg_pool2d(x, {.kernel_size = {2, 2}, .padding = {-1, 0}});
      },
      "avg_pool2d: expected padding >= 0, got [-1, 0]");
  ExpectError(
      [&] {
        max_pool2d(x, {.kernel_size = {3, 3}, .padding = {2, 1}});
      },
      "max_pool2d: expected padding <= kernel_size / 2, got padding [2, 1] and kernel_size [3, 3]");
  ExpectError(
      [&] {
        max_pool2d(x, {.kernel_size = {6, 2}});
      },
      "max_pool2d: expected the kernel (6 x 2) to fit in the padded input (5 x 5), got input [1, 2, 5, 5]");
  ExpectError(
      [&] {
        max_pool2d(zeros({1, 2, 5, 5}, {.dtype = kInt64}), {.kernel_size = {2, 2}});
      },
      "max_pool2d: expected a floating-point input (float32 or float64), got int64");
  ExpectError(
      [&] {
        max_pool2d(x, {.kernel_size = {2, 2}, .count_include_pad = false});
      },
      "max_pool2d: count_include_pad is an option of avg_pool2d only");
  ExpectError([&] { adaptive_avg_pool2d(x, {0, 1}); }, "adaptive_avg_pool2d: expected output_size >= 1, got [0, 1]");
  ExpectError(
      [&] {
        adaptive_avg_pool2d(zeros({1, 3, 0, 4}), {1, 1});
      },
      "adaptive_avg_pool2d: expected non-empty spatial dims, got [1, 3, 0, 4]");
  ExpectError([&] { adaptive_avg_pool2d(zeros({4}), {1, 1}); }, "adaptive_avg_pool2d: expected input of 3 or 4 dims");
}

}  // namespace
}  // namespace normgrad::nn::functional
