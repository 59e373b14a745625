#ifndef NORMGRAD_CORE_CPU_CONV_DIRECT_H_
#define NORMGRAD_CORE_CPU_CONV_DIRECT_H_

// Direct float32 convolution without an im2col matrix, for groups == 1 (shapes as in conv.h).
//
// Every pass is a product whose second operand is read straight out of a few shifted copies of one image
// ("row slices"): for kernel column q and vertical stride phase r, slice (r, q) holds
//   slice[c, R, j] = input[c, stride_h * R + r - pad_h, stride_w * j + q * dilation_w - pad_w]
// (zero outside the image), out_w columns wide. Output pixel (i, j), flattened to i * out_w + j, reads
// tap (p, q) at a fixed offset into one slice, so the im2col row of tap (c, p, q) is the contiguous run
// slice + koff[c, p, q] + [0, out_h * out_w) — with no wasted columns at the image border, and about
// kernel_w copies of the image instead of the kernel_h * kernel_w of im2col (a 1 x 1 kernel at stride 1
// reads the image in place). Why not im2col + sgemm: ResNet's products are thin (16 to 64 output
// channels), where OpenBLAS reaches a fraction of its peak; `bench/conv_bench.py --im2col` shows that
// path 3 to 4 times slower on a CIFAR ResNet-20's convolutions. 3 x 3 stride-1 layers of 8 to 64 channels
// (in multiples of 8) go to Winograd F(4x4, 3x3) instead (conv_winograd.h, about twice as fast there). An
// earlier F(2x2, 3x3) built on this file's GEMM tile, one image at a time, lost to these kernels (one
// thread, batch 128, forward: 5.8 ms against 4.6 at 16 channels, 4.2 against 3.8 at 32, 4.7 against 3.4
// at 64): its 16 products per image summed over in_channels terms only, across few columns, where the
// tile's accumulator traffic weighed more.
//   forward          out[o, :] = bias[o] + sum_k W[o, k] * run_k            (W broadcast, runs as vectors)
//   backward-input   the same product over slices of grad_output with the flipped, transposed kernel; a
//                    strided convolution splits into stride_h * stride_w phases of the input, each its own
//                    product over the taps that reach it
//   backward-weight  dW[o, k] = sum_{n, j} grad_output[n, o, j] * run_k[j], vectorized over o against a
//                    transposed copy of grad_output (no horizontal sums)
// Images are spread over threads (and output-channel blocks or weight rows when the batch is smaller than
// the thread count). A thread builds the slices of its next image in pieces between column pieces of the
// current image's product, so that the copying overlaps the arithmetic. The inner loops are in
// conv_direct_kernels.h.

#include "core/cpu/conv.h"

namespace normgrad::cpu {

enum class VectorIsa { kAvx2, kAvx512 };

// AVX-512 when the CPU has AVX-512F, else AVX2 (the build's baseline).
VectorIsa BestVectorIsa();

// Require s.groups == 1; `isa` must be supported by the CPU (tests run both on a machine that has both).
void DirectConv2dForward(const ConvShape& s, const float* input, const float* weight, const float* bias, float* output,
                         VectorIsa isa = BestVectorIsa());
// grad_input is overwritten, or added to with accumulate (as Conv2dBackwardInput).
void DirectConv2dBackwardInput(const ConvShape& s, const float* grad_output, const float* weight, float* grad_input,
                               bool accumulate, VectorIsa isa = BestVectorIsa());
void DirectConv2dBackwardWeight(const ConvShape& s, const float* grad_output, const float* input, float* grad_weight,
                                VectorIsa isa = BestVectorIsa());

}  // namespace normgrad::cpu

#endif  // NORMGRAD_CORE_CPU_CONV_DIRECT_H_
