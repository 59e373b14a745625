#ifndef NORMGRAD_CORE_CUDA_BATCH_NORM_H_
#define NORMGRAD_CORE_CUDA_BATCH_NORM_H_

// Batch normalization kernels for CUDA devices, the counterparts of core/cpu/normalization.h for batch
// norm (one statistic per channel), with the same arguments and results.
//
// Shape legend: x, y, dy, dx are contiguous [N, C, S] arrays of the dtype T (float32 or float64), with S
// the product of the spatial sizes (1 for an [N, C] input); weight, bias, running_mean, running_var and
// the weight and bias gradients are [C] arrays of T; the statistics saved for backward, mean and
// invstd = 1 / sqrt(var + eps), are float64 [C] arrays, as on the CPU. All pointers are device memory of
// the current device; weight and bias may be null (1 and 0). Work is queued on the default stream.
//
// The normalization is evaluated as y = (x - center) * scale + shift per channel, center = the mean
// rounded to T, scale = invstd * weight and shift = bias - (mean - center) * scale, as on the CPU.
//
// Statistics are Welford accumulators (in T, over deviations from the channel's first element, then in
// double), one per thread over its share of a slice of the channel, merged
// across the block (warp shuffles, shared memory) and then across the channel's blocks: every block
// publishes its result and the last one to finish merges them in a fixed order, so results do not depend
// on scheduling. A channel gets enough blocks (BatchNormBlocksPerChannel) for the whole grid to fill the
// device once even with 16 channels; one block per channel would leave most of a GPU idle.

#include <cstdint>

#include "core/dtype.h"

namespace normgrad::cuda {

struct BatchNormShape {
  int64_t n = 1, c = 1, s = 1;
};

// Training forward: the batch statistics (biased variance) of every channel normalize x into y; mean and
// invstd receive them. With running_mean and running_var (both or neither), they are updated in place on
// the device: running = momentum * batch + (1 - momentum) * running, in double, with the unbiased
// variance (count - 1) for running_var. Throws unless N * S > 1. relu: y = relu(that) in the same pass
// (batch norm + relu as one op, the same values as the relu kernel applied after). residual (optional, with
// relu; [N, C, S] as x): y = relu(that + residual), the same values as add and relu applied after.
void BatchNormForwardTraining(DType dtype, BatchNormShape shape, const void* x, const void* weight,
                              const void* bias, void* running_mean, void* running_var, double momentum, double eps,
                              void* y, double* mean, double* invstd, bool relu = false,
                              const void* residual = nullptr);

// Eval forward: y from the running statistics (required); mean and invstd receive running_mean and
// 1 / sqrt(running_var + eps), the constants a backward in eval mode needs. relu, residual: as in training.
void BatchNormForwardEval(DType dtype, BatchNormShape shape, const void* x, const void* weight, const void* bias,
                          const void* running_mean, const void* running_var, double eps, void* y, double* mean,
                          double* invstd, bool relu = false, const void* residual = nullptr);

// Backward of y = (x - mean) * invstd * weight + bias given dy:
//   through_stats (training; mean and invstd are x's batch statistics):
//     dx = invstd * (g - mean(g) - xhat * mean(g * xhat)),  g = dy * weight, xhat = (x - mean) * invstd,
//   otherwise (eval; constant statistics): dx = dy * weight * invstd;
//   dweight[c] = sum(dy * xhat), dbias[c] = sum(dy) over the channel's elements.
// Each of dx, dweight, dbias may be null (not computed). relu_out (optional): the output of a forward with
// relu, whose gradient dy is; dy then counts only where relu_out is not <= 0 (relu's backward, read on the fly).
// masked_dy (optional, with relu_out): receives that masked dy (the gradient of the forward's residual), in
// dx's pass.
void BatchNormBackward(DType dtype, BatchNormShape shape, const void* x, const void* dy, const void* weight,
                       const double* mean, const double* invstd, bool through_stats, void* dx, void* dweight,
                       void* dbias, const void* relu_out = nullptr, void* masked_dy = nullptr);

// Blocks per channel of the statistics kernels for `shape` on the current device: about one full wave of
// the device over all channels, with at least 1024 elements per block.
int BatchNormBlocksPerChannel(BatchNormShape shape);

}  // namespace normgrad::cuda

#endif  // NORMGRAD_CORE_CUDA_BATCH_NORM_H_
