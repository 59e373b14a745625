// nn::functional::pad against PyTorch fixtures (tools/make_conv_fixtures.py), its argument errors, and
// Conv2d's padding modes and "same" padding.
#include "nn/functional/padding.h"

#include <gtest/gtest.h>

#include "autograd/ops.h"
#include "core/random.h"
#include "nn/conv.h"
#include "nn/functional/conv.h"
#include "tests/nn/nn_testing.h"
#include "tests/testing/error.h"

namespace normgrad::nn {
namespace {

using functional::PadMode;
using testing::ExpectError;
using testing::json;

PadMode ModeFromName(const std::string& name) {
  if (name == "reflect") return PadMode::kReflect;
  if (name == "replicate") return PadMode::kReplicate;
  if (name == "circular") return PadMode::kCircular;
  EXPECT_EQ(name, "constant");
  return PadMode::kConstant;
}

TEST(Pad, MatchesPyTorchFixtures) {
  const json fixture = testing::LoadFixture("padding.json");
  ASSERT_EQ(fixture["cases"].size(), 18u);
  for (const json& c : fixture["cases"]) {
    for (const char* dname : {"float32", "float64"}) {
      const DType dtype = testing::DTypeFromName(dname);
      const std::string what = c["name"].get<std::string>() + " " + dname;
      const json& e = c[dname];
      const Tensor x = testing::FixtureInput(c["x"], c["x_shape"], dtype, true);
      const Tensor y = functional::pad(x, c["pad"].get<std::vector<int64_t>>(), ModeFromName(c["mode"]),
                                       c["value"].get<double>());
      testing::ExpectTensorNear(y, e["y"], e["y_shape"], testing::Tolerance(dtype), what + " y");
      y.backward(testing::FixtureInput(e["dy"], e["y_shape"], dtype));
      testing::ExpectTensorNear(x.grad(), e["dx"], c["x_shape"], testing::Tolerance(dtype), what + " dx");
    }
  }
}

TEST(Pad, RowsAsTheModesDescribeThem) {
  const Tensor row = from_vector<double>({1, 2, 3}, {1, 1, 3});
  auto padded = [&](PadMode mode, double value = 0) {
    return functional::pad(row, {2, 2}, mode, value).to_vector<double>();
  };
  EXPECT_EQ(padded(PadMode::kConstant, 9), (std::vector<double>{9, 9, 1, 2, 3, 9, 9}));
  EXPECT_EQ(padded(PadMode::kReflect), (std::vector<double>{3, 2, 1, 2, 3, 2, 1}));
  EXPECT_EQ(padded(PadMode::kReplicate), (std::vector<double>{1, 1, 1, 2, 3, 3, 3}));
  EXPECT_EQ(padded(PadMode::kCircular), (std::vector<double>{2, 3, 1, 2, 3, 1, 2}));
  EXPECT_EQ(functional::pad(row, {-1, 1}).to_vector<double>(), (std::vector<double>{2, 3, 0}));
  EXPECT_EQ(functional::pad(row, {-2, -1}).shape(), (Shape{1, 1, 0}));
  EXPECT_EQ(functional::pad(row, {}).to_vector<double>(), row.to_vector<double>());
}

// Negative sizes crop, in PyTorch's order (its results on [1, 2, 3, 4], both 1.13 and 2.x): constant and
// circular padding crop first and pad what is left, reflect and replicate pad the whole row, then crop.
TEST(Pad, NegativeSizesCropInPyTorchsOrder) {
  const Tensor row = from_vector<double>({1, 2, 3, 4}, {1, 1, 4});
  auto padded = [&](std::vector<int64_t> sizes, PadMode mode) {
    return functional::pad(row, sizes, mode).to_vector<double>();
  };
  EXPECT_EQ(padded({-4, 2}, PadMode::kConstant), (std::vector<double>{0, 0}));
  EXPECT_EQ(padded({2, -2}, PadMode::kReflect), (std::vector<double>{3, 2, 1, 2}));
  EXPECT_EQ(padded({3, -2}, PadMode::kReflect), (std::vector<double>{4, 3, 2, 1, 2}));
  EXPECT_EQ(padded({-3, 3}, PadMode::kReflect), (std::vector<double>{4, 3, 2, 1}));
  EXPECT_EQ(padded({-2, 1}, PadMode::kReplicate), (std::vector<double>{3, 4, 4}));
  EXPECT_EQ(padded({-1, 4}, PadMode::kReplicate), (std::vector<double>{2, 3, 4, 4, 4, 4, 4}));
  EXPECT_EQ(padded({2, -2}, PadMode::kCircular), (std::vector<double>{1, 2, 1, 2}));
  EXPECT_EQ(padded({-2, 1}, PadMode::kCircular), (std::vector<double>{3, 4, 3}));
  EXPECT_EQ(padded({-2, -2}, PadMode::kCircular), (std::vector<double>{}));
}

TEST(Pad, ErrorsNameTheArgumentAndTheValues) {
  const Tensor x = zeros({1, 2, 3});
  ExpectError([&] { functional::pad(x, {1, 2, 3}); },
              "pad: expected an even number of padding sizes (a (before, after) pair per dim, the last dim first), "
              "got 3");
  ExpectError([&] { functional::pad(x, {1, 1, 1, 1, 1, 1, 1, 1}); },
              "pad: expected at most 6 padding sizes (a pair for each of the input's 3 dims), got 8 for an input of "
              "shape [1, 2, 3]");
  ExpectError([&] { functional::pad(x, {-2, -2}); },
              "pad: expected negative padding to remove at most the dim's elements, got padding (-2, -2) for dim 2 "
              "of size 3 (input [1, 2, 3])");
  ExpectError([&] { functional::pad(x, {3, 0}, PadMode::kReflect); },
              "pad: expected reflect padding smaller than the padded dim, got padding (3, 0) for dim 2 of size 3 "
              "(input [1, 2, 3])");
  ExpectError([&] { functional::pad(x, {-4, 2}); },
              "pad: expected negative padding to remove at most the dim's elements, got padding (-4, 2) for dim 2 "
              "of size 3 (input [1, 2, 3])");
  ExpectError([&] { functional::pad(x, {4, 0}, PadMode::kCircular); },
              "pad: expected circular padding at most the size of the dim it wraps (once, after the negative "
              "sizes' cropping), got padding (4, 0) for dim 2 of size 3 (input [1, 2, 3])");
  ExpectError([&] { functional::pad(x, {3, -1}, PadMode::kCircular); }, "got padding (3, -1) for dim 2");
  ExpectError([&] { functional::pad(x, {-2, -1}, PadMode::kReflect); },
              "pad: expected reflect padding that leaves at least 1 element, got padding (-2, -1) for dim 2");
  ExpectError([&] { functional::pad(x, {-3, 0}, PadMode::kReplicate); },
              "pad: expected replicate padding that leaves at least 1 element, got padding (-3, 0) for dim 2");
  ExpectError([&] { functional::pad(zeros({1, 2, 0}), {1, 1}, PadMode::kReplicate); },
              "pad: expected a non-empty dim to replicate, got padding (1, 1) for dim 2 of size 0 (input [1, 2, 0])");
  ExpectError([&] { functional::pad(x, {1, 1}, PadMode::kReflect, 1.5); },
              "pad: expected no fill value in reflect mode (value is for constant padding), got 1.5");
  ExpectError([&] { functional::pad(zeros({3}), {1, 1}, PadMode::kReflect); },
              "pad: reflect padding pads the last 1, 2 or 3 dims of an input with 1 or 2 dims more");
  ExpectError([&] { functional::pad(zeros({1, 1, 3, 3}), {1, 1}, PadMode::kCircular); },
              "got 2 padding sizes for an input of shape [1, 1, 3, 3]");
}

// PyTorch's Conv2d pads a padding_mode other than zeros, and an uneven "same", with F.pad first.
TEST(Conv2dPadding, PaddingModesAreThePadThenTheConvolution) {
  Generator gen(3);
  const Tensor x = randn({2, 3, 6, 5}, {}, &gen);
  for (const auto& [mode, pad_mode] : {std::pair{PaddingMode::kReflect, PadMode::kReflect},
                                       {PaddingMode::kReplicate, PadMode::kReplicate},
                                       {PaddingMode::kCircular, PadMode::kCircular}}) {
    Conv2d conv({.in_channels = 3, .out_channels = 4, .kernel_size = 3, .padding = {2, 1}, .padding_mode = mode},
                &gen);
    const Tensor expected = functional::conv2d(functional::pad(x, {1, 1, 2, 2}, pad_mode), conv.parameter("weight"),
                                               conv.parameter("bias"));
    EXPECT_EQ(conv(x).to_vector<float>(), expected.to_vector<float>()) << functional::PadModeName(pad_mode);
    EXPECT_EQ(conv(x).shape(), (Shape{2, 4, 8, 5}));
  }
}

TEST(Conv2dPadding, SameKeepsTheSizeWithTheOddPixelAfter) {
  Generator gen(4);
  const Tensor x = randn({2, 2, 7, 6}, {}, &gen);
  Conv2d odd({.in_channels = 2, .out_channels = 3, .kernel_size = 3, .padding = kSame}, &gen);
  EXPECT_EQ(odd(x).to_vector<float>(),
            functional::conv2d(x, odd.parameter("weight"), odd.parameter("bias"), {.padding = {1, 1}})
                .to_vector<float>());
  // Kernel 4 x 2 with dilation (1, 3): 3 and 3 pixels in all, 1 before and 2 after each.
  Conv2d even({.in_channels = 2, .out_channels = 3, .kernel_size = {4, 2}, .padding = kSame, .dilation = {1, 3}},
              &gen);
  const Tensor y = even(x);
  EXPECT_EQ(y.shape(), (Shape{2, 3, 7, 6}));
  EXPECT_EQ(y.to_vector<float>(), functional::conv2d(functional::pad(x, {1, 2, 1, 2}), even.parameter("weight"),
                                                     even.parameter("bias"), {.dilation = {1, 3}})
                                      .to_vector<float>());
  Conv2d valid({.in_channels = 2, .out_channels = 3, .kernel_size = 3, .padding = kValid}, &gen);
  EXPECT_EQ(valid(x).shape(), (Shape{2, 3, 5, 4}));
  ExpectError([&] { Conv2d({.in_channels = 2, .out_channels = 3, .kernel_size = 3, .stride = 2, .padding = kSame}); },
              "Conv2d: expected stride 1 with padding kSame (\"same\" is not defined for strided convolutions), got "
              "stride [2, 2]");
  ExpectError([&] {
    Conv2d({.in_channels = 2, .out_channels = 3, .kernel_size = 3, .padding = 7, .padding_mode = PaddingMode::kReflect})(x);
  }, "pad: expected reflect padding smaller than the padded dim, got padding (7, 7) for dim 3 of size 6");
}

TEST(Conv2dPadding, ReprFollowsPyTorch) {
  EXPECT_EQ(Conv2d({.in_channels = 1, .out_channels = 2, .kernel_size = 3, .padding = kSame,
                    .padding_mode = PaddingMode::kReflect})
                .extra_repr(),
            "1, 2, kernel_size=[3, 3], stride=[1, 1], padding=same, padding_mode=reflect");
  EXPECT_EQ(Conv2d({.in_channels = 1, .out_channels = 2, .kernel_size = 3, .padding = {1, 2},
                    .padding_mode = PaddingMode::kCircular})
                .extra_repr(),
            "1, 2, kernel_size=[3, 3], stride=[1, 1], padding=[1, 2], padding_mode=circular");
  EXPECT_EQ(Conv2d({.in_channels = 1, .out_channels = 2, .kernel_size = 3, .padding = kValid}).extra_repr(),
            "1, 2, kernel_size=[3, 3], stride=[1, 1], padding=valid");
}

}  // namespace
}  // namespace normgrad::nn
