#ifndef NORMGRAD_NN_FUNCTIONAL_CONV_H_
#define NORMGRAD_NN_FUNCTIONAL_CONV_H_

// Differentiable convolution and fully connected layers (torch.nn.functional.conv2d, linear, flatten).

#include <array>
#include <cstdint>

#include "core/kernels/conv.h"
#include "core/tensor.h"

namespace normgrad::nn::functional {

// stride, padding, dilation (each [h, w]) and groups, as torch.nn.functional.conv2d takes them (named as
// libtorch names it, apart from the module's nn::Conv2dOptions).
using Conv2dFuncOptions = normgrad::Conv2dFuncOptions;

// 2-d cross-correlation over NCHW (torch.nn.functional.conv2d):
//   out[n, o, i, j] = bias[o] + sum_{c, p, q} weight[o, c, p, q]
//                       * input[n, g C_in/groups + c, i stride_h - pad_h + p dil_h, j stride_w - pad_w + q dil_w]
//   input [N, C_in, H, W], weight [C_out, C_in / groups, kH, kW], bias [C_out] or undefined,
//   output [N, C_out, floor((H + 2 pad_h - dil_h (kH - 1) - 1) / stride_h) + 1, ...]; an unbatched
//   input [C_in, H, W] gives [C_out, ...], as in PyTorch.
// Backward computes the input, weight and bias gradients (float32 runs direct vectorized kernels; see
// core/cpu/conv_direct.h). Double backward is refused: "conv2d: double backward is not supported".
// Errors (mismatched channels, groups that do not divide the channels, non-positive stride or dilation,
// a kernel larger than the padded input, wrong ranks or dtypes) are listed in core/kernels/conv.h.
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias = {}, const Conv2dFuncOptions& options = {});

// stride, padding, output_padding, dilation (each [h, w]) and groups of a transposed convolution.
struct ConvTranspose2dFuncOptions {
  std::array<int64_t, 2> stride{1, 1}, padding{0, 0}, output_padding{0, 0}, dilation{1, 1};
  int64_t groups = 1;
};

// The transposed convolution (torch.nn.functional.conv_transpose2d): conv2d's gradient with respect to its
// input, so that conv2d(conv_transpose2d(x, w), w) maps shapes back (a learned upsampling).
//   input [N, C_in, H, W], weight [C_in, C_out / groups, kH, kW], bias [C_out] or undefined,
//   output [N, C_out, (H - 1) stride_h - 2 pad_h + dil_h (kH - 1) + output_padding_h + 1, ...];
//   an unbatched input [C_in, H, W] gives [C_out, ...]. output_padding (< stride or < dilation in each dim)
//   picks among the output sizes that a strided conv2d maps to the same input size.
// Runs conv2d's backward kernels: backward computes the input, weight and bias gradients; double backward
// is refused ("conv_transpose2d: double backward is not supported"). Errors name the argument, e.g.
// "conv_transpose2d: expected input with 4 channels (weight [4, 3, 3, 3]), got [2, 5, 6, 6]";
// "conv_transpose2d: expected output_padding smaller than stride or dilation in each dim, got
// output_padding [1, 1] with stride [1, 1] and dilation [1, 1]".
Tensor conv_transpose2d(const Tensor& input, const Tensor& weight, const Tensor& bias = {},
                        const ConvTranspose2dFuncOptions& options = {});

// y = input weight^T + bias (torch.nn.functional.linear): input [..., in_features], weight
// [out_features, in_features], bias [out_features] or undefined, y [..., out_features]. Built from
// differentiable ops, so double backward is exact.
// Errors: "linear: expected weight of 2 dims [out_features, in_features], got [3]";
//   "linear: expected input with 4 features in its last dim (weight [3, 4]), got [2, 5]";
//   "linear: expected bias of shape [3], got [4]"; dtype mismatches as for matmul.
Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias = {});

// Dims start_dim..end_dim merged into one (torch.flatten; start_dim 1 keeps the batch dim): a view when
// the strides allow it. Differentiable (double backward exact). Call it qualified
// (nn::functional::flatten): unqualified, argument-dependent lookup also finds normgrad::flatten, whose
// start_dim defaults to 0.
Tensor flatten(const Tensor& input, int64_t start_dim = 1, int64_t end_dim = -1);

}  // namespace normgrad::nn::functional

#endif  // NORMGRAD_NN_FUNCTIONAL_CONV_H_
