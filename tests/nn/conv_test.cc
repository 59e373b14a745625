// conv2d, linear and flatten against PyTorch fixtures, hand-computed values and every error.
#include "nn/functional/conv.h"

#include <gtest/gtest.h>

#include <optional>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "core/kernels/conv.h"
#include "core/random.h"
#include "tests/nn/nn_testing.h"
#include "tests/testing/direct_convolutions.h"

namespace normgrad::nn::functional {
namespace {

using testing::ExpectError;
using testing::json;

std::array<int64_t, 2> Pair(const json& j) { return {j[0].get<int64_t>(), j[1].get<int64_t>()}; }

// Runs every case of a convolution fixture file in both dtypes: `conv(x, w, b, case)` against PyTorch's
// output and its input, weight and bias gradients.
template <typename Conv>
void CheckConvFixtures(const std::string& file, size_t expected_cases, Conv&& conv) {
  const json fixture = testing::LoadFixture(file);
  ASSERT_EQ(fixture["cases"].size(), expected_cases);
  for (const json& c : fixture["cases"]) {
    for (const char* dname : {"float32", "float64"}) {
      const DType dtype = testing::DTypeFromName(dname);
      const std::string what = c["name"].get<std::string>() + " " + dname;
      const json& e = c[dname];
      Tensor x = testing::FixtureInput(c["x"], c["x_shape"], dtype, true);
      Tensor w = testing::FixtureInput(c["w"], c["w_shape"], dtype, true);
      Tensor b = c.contains("b") ? testing::FixtureInput(c["b"], c["b_shape"], dtype, true) : Tensor();
      Tensor y = conv(x, w, b, c);
      const double tol = testing::Tolerance(dtype);
      testing::ExpectTensorNear(y, e["y"], e["y_shape"], tol, what + " y");
      y.backward(testing::FixtureInput(e["dy"], e["y_shape"], dtype));
      testing::ExpectTensorNear(x.grad(), e["dx"], c["x_shape"], tol, what + " dx");
      testing::ExpectTensorNear(w.grad(), e["dw"], c["w_shape"], tol, what + " dw");
      if (b.defined()) testing::ExpectTensorNear(b.grad(), e["db"], c["b_shape"], tol, what + " db");
    }
  }
}

TEST(Conv2d, MatchesPyTorchFixtures) {
  CheckConvFixtures("conv.json", 9, [](const Tensor& x, const Tensor& w, const Tensor& b, const json& c) {
    return conv2d(x, w, b,
                  {.stride = Pair(c["stride"]),
                   .padding = Pair(c["padding"]),
                   .dilation = Pair(c["dilation"]),
                   .groups = c["groups"].get<int64_t>()});
  });
}

TEST(ConvTranspose2d, MatchesPyTorchFixtures) {
  CheckConvFixtures("conv_transpose.json", 8, [](const Tensor& x, const Tensor& w, const Tensor& b, const json& c) {
    return conv_transpose2d(x, w, b,
                            {.stride = Pair(c["stride"]),
                             .padding = Pair(c["padding"]),
                             .output_padding = Pair(c["output_padding"]),
                             .dilation = Pair(c["dilation"]),
                             .groups = c["groups"].get<int64_t>()});
  });
}

// The transposed convolution is conv2d's input gradient: <conv2d(x, w), y> = <x, conv_transpose2d(y, w)>.
TEST(ConvTranspose2d, IsTheAdjointOfConv2d) {
  Generator gen(11);
  const Tensor x = randn({2, 4, 9, 8}, {.dtype = kFloat64}, &gen), w = randn({6, 2, 3, 2}, {.dtype = kFloat64}, &gen);
  const Conv2dFuncOptions conv{.stride = {2, 3}, .padding = {1, 1}, .dilation = {1, 2}, .groups = 2};
  const Tensor cx = conv2d(x, w, {}, conv);
  const Tensor y = randn(cx.shape(), {.dtype = kFloat64}, &gen);
  // output_padding recovers the rows and columns that the strides' rounding dropped.
  const Tensor ty = conv_transpose2d(y, w, {},
                                     {.stride = {2, 3}, .padding = {1, 1}, .output_padding = {0, 1},
                                      .dilation = {1, 2}, .groups = 2});
  ASSERT_EQ(ty.shape(), x.shape());
  EXPECT_NEAR(sum(mul(cx, y)).item<double>(), sum(mul(x, ty)).item<double>(), 1e-9);
}

TEST(ConvTranspose2d, Errors) {
  const Tensor x = zeros({2, 4, 5, 5}), w = zeros({4, 3, 3, 3});
  ExpectError([&] { conv_transpose2d(zeros({2, 5, 5, 5}), w); },
              "conv_transpose2d: expected input with 4 channels (weight [4, 3, 3, 3]), got [2, 5, 5, 5]");
  ExpectError([&] { conv_transpose2d(x, w, {}, {.output_padding = {1, 1}}); },
              "conv_transpose2d: expected output_padding smaller than stride or dilation in each dim, got "
              "output_padding [1, 1] with stride [1, 1] and dilation [1, 1]");
  ExpectError([&] { conv_transpose2d(x, zeros({4, 3, 3})); },
              "conv_transpose2d: expected weight of 4 dims [C_in, C_out / groups, kH, kW], got [4, 3, 3]");
  ExpectError([&] { conv_transpose2d(x, w, {}, {.groups = 3}); },
              "conv_transpose2d: expected groups >= 1 dividing the 4 input channels of weight [4, 3, 3, 3], got 3");
  ExpectError([&] { conv_transpose2d(x, w, zeros({4})); }, "conv_transpose2d: expected bias of shape [3], got [4]");
  ExpectError([&] { conv_transpose2d(x, w, {}, {.padding = {4, 4}}); },
              "conv_transpose2d: expected a padding that leaves an output, got output size -1 x -1");
  ExpectError([&] { conv_transpose2d(zeros({4, 5}), w); },
              "conv_transpose2d: expected input of 3 or 4 dims");
  ExpectError([&] { conv_transpose2d(x, zeros({4, 3, 3, 3}, {.dtype = kFloat64})); },
              "conv_transpose2d: expected weight of the input's dtype and device (float32, cpu), got float64, cpu");
  ExpectError([&] { conv_transpose2d(zeros({2, 4, 5, 5}, {.dtype = kInt64}), w); },
              "conv_transpose2d: expected a floating-point input (float32 or float64), got int64");
  ExpectError([&] { conv_transpose2d(zeros({1, 4, 0, 3}), w); },
              "conv_transpose2d: expected an input with a non-empty height and width (only the batch or the "
              "channels may be empty), got [1, 4, 0, 3]");
  // An empty batch gives an empty output, as in PyTorch.
  EXPECT_EQ(conv_transpose2d(zeros({0, 4, 5, 5}), w, ones({3})).shape(), (Shape{0, 3, 7, 7}));
  Tensor xg = zeros({1, 4, 2, 2}, {.requires_grad = true});
  const Tensor y = conv_transpose2d(xg, w);
  ExpectError([&] { autograd::Grad({sum(y)}, {xg}, {}, {.create_graph = true}); },
              "conv_transpose2d: double backward is not supported");
}

TEST(Conv2d, HandComputedWithBias) {
  // A 2 x 2 kernel of ones over a 3 x 3 ramp: each output is its window's sum plus the bias.
  const Tensor x = reshape(arange(0, 9, 1, {.dtype = kFloat64}), {1, 1, 3, 3});
  const Tensor w = ones({1, 1, 2, 2}, {.dtype = kFloat64});
  const Tensor b = full({1}, 0.5, {.dtype = kFloat64});
  EXPECT_EQ(conv2d(x, w, b).to_vector<double>(), (std::vector<double>{8.5, 12.5, 20.5, 24.5}));
  // Stride 2 with padding 1 reads the corners' windows: [0], [1, 2], [3, 6], [4, 5, 7, 8].
  const Tensor y = conv2d(x, w, {}, {.stride = {2, 2}, .padding = {1, 1}});
  EXPECT_EQ(y.shape(), (Shape{1, 1, 2, 2}));
  EXPECT_EQ(y.to_vector<double>(), (std::vector<double>{0, 3, 9, 24}));
}

TEST(Conv2d, NonContiguousInputMatchesContiguous) {
  Generator gen(7);
  const Tensor x = randn({3, 2, 6, 5}, {}, &gen), w = randn({4, 3, 3, 3}, {}, &gen);
  const Tensor xt = permute(x, {1, 0, 2, 3});  // [2, 3, 6, 5] viewed with batch and channels swapped
  const Tensor expected = conv2d(contiguous(xt), w, {}, {.padding = {1, 1}});
  const Tensor actual = conv2d(xt, w, {}, {.padding = {1, 1}});
  EXPECT_EQ(actual.to_vector<float>(), expected.to_vector<float>());
}

TEST(Conv2d, Float32MatchesFloat64OnResNetShapes) {
  // The float32 kernels (direct: tiles, stride phases, thread splits; Winograd for the 3 x 3 stride-1
  // layers) against the float64 im2col path. The direct kernels are within 1e-4 of every value (relative
  // to 1 + |value|); Winograd's errors do not shrink with the value, so it is held to 1e-5 of the largest
  // (as in tests/core/conv_kernels_test.cc).
  struct Case {
    int64_t batch, in_c, out_c, size, kernel, stride;
  };
  for (const bool winograd : {false, true}) {
    Generator gen(3);
    std::optional<testing::DirectConvolutions> direct;
    if (!winograd) direct.emplace();
    for (const Case& c : {Case{4, 16, 16, 16, 3, 1}, Case{3, 16, 32, 16, 3, 2}, Case{2, 32, 64, 8, 3, 1},
                          Case{2, 16, 32, 16, 1, 2}, Case{1, 3, 16, 32, 3, 1}}) {
      const Tensor x = randn({c.batch, c.in_c, c.size, c.size}, {.dtype = kFloat64, .requires_grad = true}, &gen);
      const Tensor w = randn({c.out_c, c.in_c, c.kernel, c.kernel}, {.dtype = kFloat64, .requires_grad = true}, &gen);
      const Conv2dFuncOptions options{.stride = {c.stride, c.stride}, .padding = {c.kernel / 2, c.kernel / 2}};
      const Tensor y64 = conv2d(x, w, {}, options);
      const Tensor dy = randn(y64.shape(), {.dtype = kFloat64}, &gen);
      y64.backward(dy);
      const Tensor x32 = to_dtype(x.detach(), kFloat32).set_requires_grad(true);
      const Tensor w32 = to_dtype(w.detach(), kFloat32).set_requires_grad(true);
      const Tensor y32 = conv2d(x32, w32, {}, options);
      y32.backward(to_dtype(dy, kFloat32));
      const std::string what = std::to_string(c.in_c) + "->" + std::to_string(c.out_c) + " k" +
                               std::to_string(c.kernel) + (winograd ? " (Winograd allowed)" : " (direct)");
      for (const auto& [a, e, name] :
           {std::tuple{y32, y64, "y"}, std::tuple{x32.grad(), x.grad(), "dx"},
            std::tuple{w32.grad(), w.grad(), "dw"}}) {
        const std::vector<double> av = a.to_vector<double>(), ev = e.to_vector<double>();
        ASSERT_EQ(av.size(), ev.size());
        double worst = 0, worst_error = 0, scale = 1;
        for (size_t i = 0; i < av.size(); ++i) {
          worst = std::max(worst, std::abs(av[i] - ev[i]) / (1 + std::abs(ev[i])));
          worst_error = std::max(worst_error, std::abs(av[i] - ev[i]));
          scale = std::max(scale, std::abs(ev[i]));
        }
        if (winograd) {
          EXPECT_LT(worst_error, 1e-5 * scale) << what << " " << name;
        } else {
          EXPECT_LT(worst, 1e-4) << what << " " << name;
        }
      }
    }
  }
}

TEST(Conv2d, InputSharedWithAShortcutGetsBothGradients) {
  // h feeds a convolution and an identity shortcut, as a residual block's input does: the shortcut's gradient
  // reaches h first, and the convolution adds its own into it (conv2d_backward_input_add_).
  Generator gen(5);
  for (DType dtype : {kFloat32, kFloat64}) {
    for (int64_t stride : {1, 2}) {
      const Tensor x = randn({3, 8, 9, 9}, {.dtype = dtype, .requires_grad = true}, &gen);
      const Tensor w = randn({8, 8, 3, 3}, {.dtype = dtype}, &gen);
      const Conv2dFuncOptions options{.stride = {stride, stride}, .padding = {1, 1}};
      const Tensor h = mul(x, 2.0);
      const Tensor dy = randn(conv2d(h, w, {}, options).shape(), {.dtype = dtype}, &gen);
      const Tensor ds = randn(h.shape(), {.dtype = dtype}, &gen);
      add(sum(mul(conv2d(h, w, {}, options), dy)), sum(mul(h, ds))).backward();
      const Tensor expected = mul(add(kernels::conv2d_backward_input(dy, w, h.shape(), options), ds), 2.0);
      const std::vector<double> a = x.grad().to_vector<double>(), e = expected.to_vector<double>();
      ASSERT_EQ(a.size(), e.size());
      for (size_t i = 0; i < a.size(); ++i) {
        ASSERT_NEAR(a[i], e[i], dtype == kFloat32 ? 1e-4 : 1e-12) << DTypeName(dtype) << " stride " << stride;
      }
    }
  }
}

TEST(Conv2d, BackwardInputAddChecksItsTarget) {
  const Tensor dy = ones({1, 2, 3, 3}), w = ones({2, 1, 1, 1});
  Tensor grad_input = ones({1, 1, 3, 3});
  kernels::conv2d_backward_input_add_(grad_input, dy, w);
  EXPECT_EQ(grad_input.to_vector<float>(), std::vector<float>(9, 3.0f));
  ExpectError([&] { kernels::conv2d_backward_input_add_(ones({1, 2, 3, 3}), dy, w); },
              "conv2d: expected input with 1 channels (weight [2, 1, 1, 1], groups 1), got [1, 2, 3, 3]");
  ExpectError([&] { kernels::conv2d_backward_input_add_(ones({1, 1, 3, 3}, {.dtype = kFloat64}), dy, w); },
              "conv2d_backward_input_add_: expected grad_input of dtype float32 (the weight's), got float64");
  ExpectError([&] { kernels::conv2d_backward_input_add_(permute(ones({1, 1, 3, 3}), {0, 1, 3, 2}), dy, w); },
              "conv2d_backward_input_add_: expected a contiguous grad_input, got strides [9, 9, 1, 3]");
  ExpectError([&] { kernels::conv2d_backward_input_add_(grad_input, ones({1, 2, 2, 2}), w); },
              "conv2d_backward_input_add_: expected grad_output of shape [1, 2, 3, 3], got [1, 2, 2, 2]");
  EXPECT_EQ(grad_input.to_vector<float>(), std::vector<float>(9, 3.0f));  // the failed calls changed nothing
}

TEST(Conv2d, DoubleBackwardIsRefused) {
  const Tensor x = randn({1, 1, 3, 3}, {.dtype = kFloat64, .requires_grad = true});
  const Tensor w = randn({1, 1, 2, 2}, {.dtype = kFloat64, .requires_grad = true});
  const Tensor y = sum(conv2d(x, w));
  ExpectError([&] { y.backward({}, {.create_graph = true}); }, "conv2d: double backward is not supported");
}

TEST(Conv2d, AnUnbatchedImageIsABatchOfOne) {
  Tensor x = randn({2, 5, 6}, {.dtype = kFloat64, .requires_grad = true});
  const Tensor w = randn({3, 2, 3, 3}, {.dtype = kFloat64}), b = randn({3}, {.dtype = kFloat64});
  const Conv2dFuncOptions o{.stride = {2, 1}, .padding = {1, 1}};
  const Tensor y = conv2d(x, w, b, o);
  ASSERT_EQ(y.shape(), (Shape{3, 3, 6}));
  EXPECT_EQ(y.to_vector<double>(), conv2d(unsqueeze(x, 0), w, b, o).to_vector<double>());
  sum(y).backward();
  EXPECT_EQ(x.grad().shape(), x.shape());
  // Errors name the shape that came.
  ExpectError([&] { conv2d(zeros({5, 6, 6}), zeros({3, 2, 3, 3})); },
              "(the unbatched input [5, 6, 6] taken as a batch of one)");
}

TEST(Conv2d, Errors) {
  const Tensor x = zeros({2, 4, 5, 5}), w = zeros({6, 4, 3, 3});
  ExpectError([&] { conv2d(zeros({5, 5}), w); },
              "conv2d: expected input of 3 or 4 dims ([C, H, W] or [N, C, H, W]), got [5, 5]");
  ExpectError(
      [&] {
        conv2d(x, zeros({6, 4, 3}));
      },
      "conv2d: expected weight of 4 dims [C_out, C_in / groups, kH, kW], got [6, 4, 3]");
  ExpectError(
      [&] {
        conv2d(zeros({2, 3, 5, 5}), w);
      },
      "conv2d: expected input with 4 channels (weight [6, 4, 3, 3], groups 1), got [2, 3, 5, 5]");
  ExpectError(
      [&] {
        conv2d(x, zeros({6, 4, 3, 3}), {}, {.groups = 2});
      },
      "conv2d: expected input with 8 channels (weight [6, 4, 3, 3], groups 2), got [2, 4, 5, 5]");
  ExpectError(
      [&] {
        conv2d(x, zeros({6, 1, 3, 3}), {}, {.groups = 3});
      },
      "conv2d: expected groups (3) to divide the input channels, got 4");
  ExpectError(
      [&] {
        conv2d(x, zeros({5, 2, 3, 3}), {}, {.groups = 2});
      },
      "conv2d: expected groups (2) to divide the output channels, got weight [5, 2, 3, 3]");
  ExpectError([&] { conv2d(x, w, {}, {.groups = 0}); }, "conv2d: expected groups >= 1, got 0");
  ExpectError([&] { conv2d(x, w, {}, {.stride = {0, 1}}); }, "conv2d: expected stride >= 1, got [0, 1]");
  ExpectError([&] { conv2d(x, w, {}, {.stride = {1, -2}}); }, "conv2d: expected stride >= 1, got [1, -2]");
  ExpectError([&] { conv2d(x, w, {}, {.dilation = {1, 0}}); }, "conv2d: expected dilation >= 1, got [1, 0]");
  ExpectError([&] { conv2d(x, w, {}, {.padding = {-1, 0}}); }, "conv2d: expected padding >= 0, got [-1, 0]");
  ExpectError(
      [&] {
        conv2d(x, zeros({6, 4, 7, 3}));
      },
      "conv2d: expected the kernel (7 x 3 with dilation [1, 1]) to fit in the padded input (5 x 5), got "
      "input [2, 4, 5, 5] with padding [0, 0]");
  ExpectError(
      [&] {
        conv2d(x, w, {}, {.dilation = {3, 1}});
      },
      "conv2d: expected the kernel (3 x 3 with dilation [3, 1]) to fit in the padded input (5 x 5)");
  ExpectError([&] { conv2d(x, w, zeros({4})); }, "conv2d: expected bias of shape [6], got [4]");
  ExpectError([&] { conv2d(x, w, zeros({6}, {.dtype = kFloat64})); },
              "conv2d: expected bias of dtype float32 (the input's), got float64");
  ExpectError(
      [&] {
        conv2d(x, zeros({6, 4, 3, 3}, {.dtype = kFloat64}));
      },
      "conv2d: expected weight of dtype float32 (the input's), got float64");
  ExpectError(
      [&] {
        conv2d(zeros({2, 4, 5, 5}, {.dtype = kInt64}), zeros({6, 4, 3, 3}, {.dtype = kInt64}));
      },
      "conv2d: expected a floating-point input (float32 or float64), got int64");
}

TEST(Conv2d, EmptyBatch) {
  const Tensor y = conv2d(zeros({0, 3, 5, 5}), zeros({2, 3, 3, 3}), zeros({2}));
  EXPECT_EQ(y.shape(), (Shape{0, 2, 3, 3}));
}

TEST(Linear, MatchesMatmulAndBroadcastsLeadingDims) {
  const Tensor x = reshape(arange(0, 12, 1, {.dtype = kFloat64}), {2, 2, 3});
  const Tensor w = from_vector<double>({1, 0, -1, 2, 1, 0}, {2, 3});
  const Tensor b = from_vector<double>({0.5, -1});
  const Tensor y = linear(x, w, b);
  EXPECT_EQ(y.shape(), (Shape{2, 2, 2}));
  // Row (0, 1, 2): (0 - 2 + 0.5, 0 + 1 - 1); row (3, 4, 5): (3 - 5 + 0.5, 6 + 4 - 1); ...
  EXPECT_EQ(y.to_vector<double>(), (std::vector<double>{-1.5, 0, -1.5, 9, -1.5, 18, -1.5, 27}));
  EXPECT_EQ(linear(from_vector<double>({1, 2, 3}), w).to_vector<double>(), (std::vector<double>{-2, 4}));
}

TEST(Linear, Errors) {
  const Tensor w = zeros({3, 4});
  ExpectError(
      [&] {
        linear(zeros({2, 4}), zeros({3}));
      },
      "linear: expected weight of 2 dims [out_features, in_features], got [3]");
  ExpectError(
      [&] {
        linear(zeros({2, 5}), w);
      },
      "linear: expected input with 4 features in its last dim (weight [3, 4]), got [2, 5]");
  ExpectError([&] { linear(zeros({}), w); }, "linear: expected input with 4 features in its last dim");
  ExpectError([&] { linear(zeros({2, 4}), w, zeros({4})); }, "linear: expected bias of shape [3], got [4]");
}

TEST(Flatten, KeepsTheBatchDimByDefault) {
  const Tensor x = zeros({2, 3, 4, 5});
  EXPECT_EQ(functional::flatten(x).shape(), (Shape{2, 60}));
  EXPECT_EQ(functional::flatten(x, 0).shape(), (Shape{120}));
  EXPECT_EQ(functional::flatten(x, 1, 2).shape(), (Shape{2, 12, 5}));
  ExpectError([&] { functional::flatten(x, 2, 1); }, "flatten: expected start_dim <= end_dim");
}

}  // namespace
}  // namespace normgrad::nn::functional
