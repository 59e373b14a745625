// Gradient-check cases for nn/functional's convolution, linear, flatten, dropout, pooling and the ResNet
// shortcut.
#include "core/random.h"
#include "nn/functional/conv.h"
#include "nn/functional/dropout.h"
#include "nn/functional/pooling.h"
#include "nn/functional/shortcut.h"
#include "tests/autograd/op_list.h"

namespace normgrad::testing {
namespace {

namespace F = nn::functional;
using V = const std::vector<Tensor>&;

Generator& Gen() {
  static Generator gen(404);
  return gen;
}

Tensor N(const Shape& shape) { return randn(shape, {.dtype = kFloat64, .requires_grad = true}, &Gen()); }

// Convolution and pooling refuse double backward (second_order = false).
std::vector<OpCase> ConvOpCases() {
  auto conv = [](F::Conv2dFuncOptions options) {
    return [options](V x) { return F::conv2d(x[0], x[1], x.size() > 2 ? x[2] : Tensor(), options); };
  };
  return {
      {"conv2d", conv({.padding = {1, 1}}), {N({2, 2, 5, 5}), N({3, 2, 3, 3}), N({3})}, false},
      {"conv2d_strided_padded",
       conv({.stride = {2, 1}, .padding = {1, 2}}),
       {N({1, 2, 7, 6}), N({2, 2, 3, 2}), N({2})},
       false},
      {"conv2d_dilated", conv({.padding = {2, 1}, .dilation = {2, 2}}), {N({1, 2, 7, 7}), N({2, 2, 3, 3})}, false},
      {"conv2d_grouped",
       conv({.stride = {2, 2}, .padding = {1, 1}, .groups = 2}),
       {N({1, 4, 5, 5}), N({4, 2, 3, 3}), N({4})},
       false},
      {"conv2d_depthwise", conv({.padding = {1, 1}, .groups = 3}), {N({1, 3, 5, 4}), N({3, 1, 3, 3})}, false},
      {"conv2d_1x1_stride2", conv({.stride = {2, 2}}), {N({2, 3, 5, 5}), N({2, 3, 1, 1})}, false},
      {"conv_transpose2d",
       [](V x) { return F::conv_transpose2d(x[0], x[1], x[2], {.stride = {2, 1}, .padding = {1, 0}, .output_padding = {1, 0}}); },
       {N({2, 2, 3, 4}), N({2, 3, 3, 2}), N({3})},
       false},
      {"conv_transpose2d_grouped_dilated",
       [](V x) { return F::conv_transpose2d(x[0], x[1], {}, {.padding = {1, 1}, .dilation = {2, 1}, .groups = 2}); },
       {N({1, 4, 3, 3}), N({4, 1, 3, 3})},
       false},
      // Odd sizes: the last row and column of the input are (H = 5) and are not (W = 6) subsampled.
      {"zero_pad_shortcut", [](V x) { return F::zero_pad_shortcut(x[0], 5, 2); }, {N({2, 2, 5, 6})}},
      {"zero_pad_shortcut_stride1", [](V x) { return F::zero_pad_shortcut(x[0], 4, 1); }, {N({1, 3, 3, 2})}},
      {"linear", [](V x) { return F::linear(x[0], x[1], x[2]); }, {N({3, 4}), N({2, 4}), N({2})}},
      {"linear_batched_no_bias", [](V x) { return F::linear(x[0], x[1]); }, {N({2, 3, 4}), N({5, 4})}},
      {"nn_flatten", [](V x) { return F::flatten(x[0]); }, {N({2, 3, 2, 2})}},
      // A fresh generator per call: every evaluation of the finite differences draws the same mask.
      {"dropout",
       [](V x) {
         Generator gen(9);
         return F::dropout(x[0], 0.4, true, &gen);
       },
       {N({4, 5})}},
  };
}

std::vector<OpCase> PoolingOpCases() {
  return {
      {"max_pool2d",
       [](V x) {
         return F::max_pool2d(x[0], {.kernel_size = {3, 3}, .stride = {{2, 2}}, .padding = {1, 1}});
       },
       {N({1, 2, 5, 5})},
       false},
      {"max_pool2d_overlapping_rect",
       [](V x) {
         return F::max_pool2d(x[0], {.kernel_size = {2, 3}, .stride = {{1, 2}}, .padding = {1, 1}});
       },
       {N({2, 1, 4, 5})},
       false},
      {"avg_pool2d",
       [](V x) {
         return F::avg_pool2d(x[0], {.kernel_size = {3, 3}, .stride = {{2, 2}}, .padding = {1, 1}});
       },
       {N({1, 2, 5, 5})},
       false},
      {"max_pool2d_ceil_mode",
       [](V x) {
         return F::max_pool2d(x[0], {.kernel_size = {3, 3}, .stride = {{2, 2}}, .ceil_mode = true});
       },
       {N({1, 2, 6, 6})},
       false},
      {"avg_pool2d_ceil_mode_without_padding_in_the_count",
       [](V x) {
         return F::avg_pool2d(x[0], {.kernel_size = {3, 2},
                                     .stride = {{2, 3}},
                                     .padding = {1, 1},
                                     .ceil_mode = true,
                                     .count_include_pad = false});
       },
       {N({1, 2, 6, 5})},
       false},
      {"avg_pool2d_default_stride",
       [](V x) {
         return F::avg_pool2d(x[0], {.kernel_size = {2, 2}});
       },
       {N({1, 1, 4, 6})},
       false},
      {"adaptive_avg_pool2d",
       [](V x) {
         return F::adaptive_avg_pool2d(x[0], {3, 2});
       },
       {N({1, 2, 5, 7})},
       false},
      {"adaptive_avg_pool2d_3d_upsample",
       [](V x) {
         return F::adaptive_avg_pool2d(x[0], {5, 3});
       },
       {N({2, 3, 4})},
       false},
  };
}

const bool kRegistered = RegisterOpCases(ConvOpCases) && RegisterOpCases(PoolingOpCases);

}  // namespace
}  // namespace normgrad::testing
