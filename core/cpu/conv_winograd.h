#ifndef NORMGRAD_CORE_CPU_CONV_WINOGRAD_H_
#define NORMGRAD_CORE_CPU_CONV_WINOGRAD_H_

// Winograd F(4x4, 3x3) float32 convolution for 3 x 3 kernels at stride 1 (shapes as in conv.h): each
// 4 x 4 output tile takes 36 multiplies per input/output channel pair instead of the direct kernels' 144,
// for ResNet's 3 x 3 layers, which are most of its arithmetic. All three passes: forward; backward-input,
// a forward with the flipped, transposed kernel; backward-weight, the forward's adjoint
// dg = G^T [sum over tiles (A dy A^T) . (B^T d B)] G.
//
// A call transforms the weights once (U = G g G^T, in float64). The batch's tiles are cut into blocks
// (whole images, or runs of tile rows of one large image). A block copies its images channels-last,
// transforms its tiles into V, takes 36 products M = V U (one per point of the 6 x 6 transform, summing
// over the input channels), transforms M back and copies the output channel-major: all in the cache, with
// the channels as vector lanes. The threads take forward and backward-input blocks one at a time; every
// output value is computed by the same operations in the same order whatever the batch, the blocks or the
// thread count, so an image gets the same bits alone or in a batch. The weight gradient gives each thread
// a fixed run of blocks, whose products with the transformed grad_output it sums over the tiles, and adds
// the threads' sums in order: its bits depend on the thread count only, as the direct kernels' do.
//
// It rounds more than the direct kernels: the transforms scale values by up to 8 per dimension and
// cancel them again, so float32 errors at ResNet's layers are 5 to 9 times the direct kernels' forward
// and backward-input, 2 to 6 times backward-weight (2e-6 to 6e-6 of the result's scale with unit-normal
// data, 16 to 64 channels and batch 16, against the 1e-5 every float32 path is tested to;
// tests/core/conv_kernels_test.cc measures both). The error is relative to the largest values in a tile:
// one finite value far above its neighbours (1e30 among values near 1) costs the tile's other outputs
// their precision, as in any Winograd or FFT convolution. float64 never comes here;
// cpu::SetAllowWinograd(false) turns it off.
//
// An infinity or NaN in the data would spread over the whole tiles that read it (the transforms subtract
// it from itself), where the direct kernels confine it to the outputs it reaches. So a block whose result
// is not all finite (such an input or weight, or values near float's limit whose transforms overflow) is
// computed again by the direct kernels, and so is a weight gradient that is not all finite: infinities
// and NaNs in the operands land where the direct kernels put them, at the cost of a second pass over
// those images. (Finite values near float's limit can still overflow in one kernel's order of sums and
// not in the other's.)

#include <cstdint>
#include <optional>

#include "core/cpu/conv.h"
#include "core/cpu/conv_direct.h"

namespace normgrad::cpu {

// The most channels on either side that go to Winograd: the range measured faster than the direct kernels
// (ResNet-20's 16 to 64). Wider layers would need another blocking: their transformed weights (36 * in *
// out floats) outgrow the cache that a block's few tiles run in.
inline constexpr int64_t kMaxWinogradChannels = 64;

// Whether the Winograd kernels handle s with `isa`: groups == 1, a 3 x 3 kernel, stride 1, dilation 1,
// padding at most 2, no empty dimension, and both channel counts multiples of the vector width (8 with
// AVX2, 16 with AVX-512) and at most kMaxWinogradChannels.
bool WinogradApplies(const ConvShape& s, VectorIsa isa = BestVectorIsa());

// The instruction set whose Winograd kernels run s: the CPU's best where they apply, else AVX2's (channel
// counts that are multiples of 8 but not 16), else none.
std::optional<VectorIsa> WinogradIsa(const ConvShape& s);

// Require WinogradApplies(s, isa).
void WinogradConv2dForward(const ConvShape& s, const float* input, const float* weight, const float* bias,
                           float* output, VectorIsa isa = BestVectorIsa());
// grad_input is overwritten, or added to with accumulate (as Conv2dBackwardInput).
void WinogradConv2dBackwardInput(const ConvShape& s, const float* grad_output, const float* weight, float* grad_input,
                                 bool accumulate, VectorIsa isa = BestVectorIsa());
// The result depends on the thread count (the order in which the threads' sums are added), not on
// anything else.
void WinogradConv2dBackwardWeight(const ConvShape& s, const float* grad_output, const float* input, float* grad_weight,
                                  VectorIsa isa = BestVectorIsa());

}  // namespace normgrad::cpu

#endif  // NORMGRAD_CORE_CPU_CONV_WINOGRAD_H_
