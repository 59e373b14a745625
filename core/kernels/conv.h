#ifndef NORMGRAD_CORE_KERNELS_CONV_H_
#define NORMGRAD_CORE_KERNELS_CONV_H_

// Tensor-level 2-d convolution (torch.nn.functional.conv2d's semantics, a cross-correlation over NCHW),
// and its two backward products. No autograd (nn/functional/conv.h has the differentiable conv2d).
//
//   input  [N, C_in, H, W], weight [C_out, C_in / groups, kH, kW], bias [C_out] or undefined
//   output [N, C_out, H_out, W_out], H_out = floor((H + 2 pad_h - dilation_h (kH - 1) - 1) / stride_h) + 1
//
// float32 and float64 (same dtype for all operands); inputs of any strides (copied to contiguous first).
// Errors name the argument, what was expected and what came:
//   "conv2d: expected input of 4 dims [N, C, H, W], got [3, 32, 32]"
//   "conv2d: expected weight of 4 dims [C_out, C_in / groups, kH, kW], got [16, 3, 3]"
//   "conv2d: expected stride >= 1, got [0, 1]"   (likewise dilation >= 1, padding >= 0, groups >= 1)
//   "conv2d: expected groups (3) to divide the input channels, got 16"   (and the output channels)
//   "conv2d: expected input with 16 channels (weight [32, 16, 3, 3], groups 1), got [8, 3, 32, 32]"
//   "conv2d: expected bias of shape [32], got [16]"
//   "conv2d: expected the kernel (5 x 5 with dilation [1, 1]) to fit in the padded input (4 x 4), got
//    input [1, 3, 2, 2] with padding [1, 1]"
//   "conv2d: expected weight of dtype float32 (the input's), got float64"

#include <array>
#include <cstdint>

#include "core/tensor.h"

namespace normgrad {

// stride, padding, dilation (each [h, w]) and groups of a 2-d convolution. It lives in namespace normgrad
// (as TensorOptions does) so that argument-dependent lookup never offers kernels::conv2d to a caller of
// nn::functional::conv2d.
struct Conv2dFuncOptions {
  std::array<int64_t, 2> stride{1, 1}, padding{0, 0}, dilation{1, 1};
  int64_t groups = 1;
};

}  // namespace normgrad

namespace normgrad::kernels {

// out = conv(input, weight) + bias.
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias = {}, const Conv2dFuncOptions& options = {});

// d<grad_output, conv2d(input, weight)>/d input for an input of `input_shape`: the transposed convolution
// of grad_output. Checks the shapes as conv2d does, and that grad_output has the output's shape.
Tensor conv2d_backward_input(const Tensor& grad_output, const Tensor& weight, const Shape& input_shape,
                             const Conv2dFuncOptions& options = {});

// grad_input += conv2d_backward_input(grad_output, weight, grad_input.shape(), options), in place and
// without a temporary: how an input used by several ops takes the convolution's share of its gradient (a
// residual block's input, whose shortcut gradient arrives first). grad_input must be contiguous, of the
// weight's dtype and on its device.
void conv2d_backward_input_add_(const Tensor& grad_input, const Tensor& grad_output, const Tensor& weight,
                                const Conv2dFuncOptions& options = {});

// d<grad_output, conv2d(input, weight)>/d weight for a weight of `weight_shape`.
Tensor conv2d_backward_weight(const Tensor& grad_output, const Tensor& input, const Shape& weight_shape,
                              const Conv2dFuncOptions& options = {});

}  // namespace normgrad::kernels

#endif  // NORMGRAD_CORE_KERNELS_CONV_H_
