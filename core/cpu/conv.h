#ifndef NORMGRAD_CORE_CPU_CONV_H_
#define NORMGRAD_CORE_CPU_CONV_H_

// Raw 2-d convolution loops over contiguous NCHW buffers (cross-correlation, as PyTorch's conv2d).
//
// Shape legend (ConvShape):
//   input   [batch, in_channels, in_h, in_w]
//   weight  [out_channels, in_channels / groups, kernel_h, kernel_w]
//   output  [batch, out_channels, out_h, out_w]
//   out[n, o, i, j] = bias[o] + sum_{c, p, q} weight[o, c, p, q]
//                                  * input[n, g * Cg + c, i * stride_h - pad_h + p * dilation_h,
//                                                        j * stride_w - pad_w + q * dilation_w]
//   where g = o / (out_channels / groups), Cg = in_channels / groups, and input positions outside the
//   image read as zero.
//
// float32 with groups == 1 runs vectorized kernels (AVX-512 where the CPU has it, else AVX2): Winograd
// F(4x4, 3x3) (conv_winograd.h) for 3 x 3 stride-1 undilated kernels with padding <= 2 and 8 to 64
// channels a side in multiples of 8 (WinogradIsa: AVX2's kernels where a count is not a multiple of 16),
// the direct kernels of conv_direct.h for everything else; float64 and grouped convolutions run im2col +
// OpenBLAS GEMM.
// Callers check the arguments (core/kernels/conv.h); these functions trust the shape.

#include <cstdint>

namespace normgrad::cpu {

// Whether float32 convolutions may run Winograd (default true), process-wide, as PyTorch's
// torch.backends.cudnn.allow_tf32: set it to false for the direct kernels' smaller rounding errors
// everywhere (conv_winograd.h says how much smaller), at about half the speed on the layers Winograd takes.
void SetAllowWinograd(bool allow);
bool AllowWinograd();

struct ConvShape {
  int64_t batch = 0, in_channels = 0, out_channels = 0, groups = 1;
  int64_t in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  int64_t kernel_h = 0, kernel_w = 0;
  int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dilation_h = 1, dilation_w = 1;
};

// floor((in + 2 pad - dilation (kernel - 1) - 1) / stride) + 1: the output size along one dim, which is
// below 1 when the dilated kernel does not fit in the padded input.
int64_t ConvOutputSize(int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation);

// The outputs o in [lo, hi) of a dim of `out_size` whose input position o * stride + offset lies in
// [0, in_size) (stride >= 1): the part of a row that im2col copies rather than zero-fills.
struct IndexRange {
  int64_t lo, hi;
};
IndexRange ValidOutputRange(int64_t out_size, int64_t in_size, int64_t stride, int64_t offset);

// output = conv(input, weight) + bias (bias may be null).
template <typename T>
void Conv2dForward(const ConvShape& s, const T* input, const T* weight, const T* bias, T* output);

// grad_input = d<grad_output, conv(input, weight)>/d input (overwritten), or grad_input += that with
// accumulate (a gradient summed from several uses of the input, without a temporary).
template <typename T>
void Conv2dBackwardInput(const ConvShape& s, const T* grad_output, const T* weight, T* grad_input, bool accumulate);

// grad_weight = d<grad_output, conv(input, weight)>/d weight (overwritten).
template <typename T>
void Conv2dBackwardWeight(const ConvShape& s, const T* grad_output, const T* input, T* grad_weight);

// The same three computed with im2col + GEMM whatever the dtype and groups (the reference the direct
// kernels are tested against).
template <typename T>
void Conv2dForwardGemm(const ConvShape& s, const T* input, const T* weight, const T* bias, T* output);
template <typename T>
void Conv2dBackwardInputGemm(const ConvShape& s, const T* grad_output, const T* weight, T* grad_input, bool accumulate);
template <typename T>
void Conv2dBackwardWeightGemm(const ConvShape& s, const T* grad_output, const T* input, T* grad_weight);

}  // namespace normgrad::cpu

#endif  // NORMGRAD_CORE_CPU_CONV_H_
