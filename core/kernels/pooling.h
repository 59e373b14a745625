#ifndef NORMGRAD_CORE_KERNELS_POOLING_H_
#define NORMGRAD_CORE_KERNELS_POOLING_H_

// Tensor-level 2-d pooling (torch.nn.functional's max_pool2d, avg_pool2d, adaptive_avg_pool2d) and their
// backward passes. No autograd (nn/functional/pooling.h has the differentiable versions).
//
//   input [N, C, H, W] or [C, H, W]; output [..., H_out, W_out] with
//   H_out = floor((H + 2 padding_h - kernel_h) / stride_h) + 1 (stride defaults to kernel_size),
//   or with ceil_mode the ceiling, less one where the last window would start past the image and its
//   left padding (PyTorch's rule)
// float32 and float64; inputs of any strides. Errors:
//   "max_pool2d: expected input of 3 or 4 dims ([C, H, W] or [N, C, H, W]), got [32, 32]"
//   "max_pool2d: expected kernel_size >= 1, got [0, 2]"   (likewise stride >= 1, padding >= 0)
//   "max_pool2d: expected padding <= kernel_size / 2, got padding [2, 2] and kernel_size [3, 3]"
//   "max_pool2d: expected the kernel (3 x 3) to fit in the padded input (2 x 2), got input [1, 1, 2, 2]"
//   "max_pool2d: count_include_pad is an option of avg_pool2d only"
//   "adaptive_avg_pool2d: expected output_size >= 1, got [0, 1]"
//   "adaptive_avg_pool2d: expected non-empty spatial dims, got [1, 3, 0, 4]"

#include <array>
#include <cstdint>
#include <optional>

#include "core/tensor.h"

namespace normgrad {

// kernel_size, stride and padding (each [h, w]) of a 2-d pooling, and PyTorch's ceil_mode and
// count_include_pad; in namespace normgrad for the reason given at Conv2dFuncOptions.
struct Pool2dFuncOptions {
  std::array<int64_t, 2> kernel_size{};          // required: left out, it is [0, 0] and rejected
  std::optional<std::array<int64_t, 2>> stride;  // default: kernel_size
  std::array<int64_t, 2> padding{0, 0};
  // Round the output size up, so that a last, partial window covers the input's edge.
  bool ceil_mode = false;
  // avg_pool2d: divide by the window's size including padding (true) or by the input positions in it.
  bool count_include_pad = true;
};

}  // namespace normgrad

namespace normgrad::kernels {

struct MaxPool2dResult {
  Tensor output;
  Tensor indices;  // int64, the position y * W + x of each output's maximum within its input plane
};

// Largest value of each window, padding reading as -inf; the first largest on ties, NaN wins.
MaxPool2dResult max_pool2d(const Tensor& input, const Pool2dFuncOptions& options);
// grad_output routed to the input positions in `indices` (summed where windows overlap): the indices
// max_pool2d returned for an input of `input_shape` with the same options.
Tensor max_pool2d_backward(const Tensor& grad_output, const Tensor& indices, const Shape& input_shape,
                           const Pool2dFuncOptions& options);

// Mean of each window: its sum / kernel_h * kernel_w with padding counting as zeros (count_include_pad;
// a ceil_mode last window counts only up to the padding's end), or / the input positions in it.
Tensor avg_pool2d(const Tensor& input, const Pool2dFuncOptions& options);
Tensor avg_pool2d_backward(const Tensor& grad_output, const Shape& input_shape, const Pool2dFuncOptions& options);

// Mean over the windows rows [floor(i H / H_out), ceil((i + 1) H / H_out)) x cols likewise.
Tensor adaptive_avg_pool2d(const Tensor& input, std::array<int64_t, 2> output_size);
Tensor adaptive_avg_pool2d_backward(const Tensor& grad_output, const Shape& input_shape);

}  // namespace normgrad::kernels

#endif  // NORMGRAD_CORE_KERNELS_POOLING_H_
