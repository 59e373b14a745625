#ifndef NORMGRAD_NN_FUNCTIONAL_SHORTCUT_H_
#define NORMGRAD_NN_FUNCTIONAL_SHORTCUT_H_

// The parameter-free shortcut of a CIFAR ResNet's downsampling blocks (He et al. 2016, option A).

#include <cstdint>

#include "core/tensor.h"

namespace normgrad::nn::functional {

// input [N, C, H, W] subsampled by `stride` in both spatial dims (rows and columns 0, stride, 2 stride,
// ...) and zero-padded in channels to out_channels: (out_channels - C) / 2 zero channels before the input's,
// the rest after. The same values as cat({zeros, input[:, :, ::stride, ::stride], zeros}, 1), recorded as
// one node: its backward writes the input's gradient in one pass, where the two slices' backwards would
// each write a zero-filled tensor. Double backward is supported.
// Errors: "zero_pad_shortcut: expected an input [N, C, H, W], got [2, 3]", likewise for C > out_channels
// and stride < 1.
Tensor zero_pad_shortcut(const Tensor& input, int64_t out_channels, int64_t stride);

}  // namespace normgrad::nn::functional

#endif  // NORMGRAD_NN_FUNCTIONAL_SHORTCUT_H_
