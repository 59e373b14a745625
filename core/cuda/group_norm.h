#ifndef NORMGRAD_CORE_CUDA_GROUP_NORM_H_
#define NORMGRAD_CORE_CUDA_GROUP_NORM_H_

// Normalization with per-sample statistics on CUDA devices: group norm, and with it instance norm (one
// channel per group) and layer norm (one group of K "channels" of one position each, so that its
// elementwise affine is a per-channel one). The counterparts of core/cpu/normalization.h's per_sample
// layouts, with the same arguments and results.
//
// Shape legend: x, y, dy, dx are contiguous [N, G * K, S] arrays of the dtype T (float32 or float64);
// statistic i = n * G + g is taken over the K * S contiguous elements of sample n's group g; weight, bias
// and their gradients are [G * K] arrays of T (optional: 1 and 0); mean, var (biased) and
// invstd = 1 / sqrt(var + eps) are float64 [N * G] arrays. All pointers are device memory of the current
// device. Work is queued on the default stream.
//
// One block per statistic: a Welford pass (in T over deviations from the statistic's first element, merged
// in double), then the elementwise pass over the same elements, normalized as on the CPU:
// y = ((x - center) * invstd - (mean - center) * invstd) * weight + bias, center = the mean rounded to T.
// The backward's weight and bias gradients are per-channel sums over samples and positions, one block per
// channel. Every reduction runs in an order fixed by the shapes: results do not depend on scheduling.

#include <cstdint>

#include "core/dtype.h"

namespace normgrad::cuda {

struct GroupNormShape {
  int64_t n = 1, g = 1, k = 1, s = 1;
};

// The statistics of every (sample, group) normalize x into y. Statistics over no elements are NaN.
void GroupNormForward(DType dtype, GroupNormShape shape, const void* x, const void* weight, const void* bias,
                      double eps, void* y, double* mean, double* var, double* invstd);

// Gradients of the forward through its statistics, given dy:
//   dx = invstd * (g - mean(g) - xhat * mean(g * xhat)),  g = dy * weight, xhat = (x - mean) * invstd,
//   the means over each statistic's elements;
//   dweight[c] = sum(dy * xhat), dbias[c] = sum(dy) over every sample and position of channel c.
// Each of dx, dweight, dbias may be null (not computed).
void GroupNormBackward(DType dtype, GroupNormShape shape, const void* x, const void* dy, const void* weight,
                       const double* mean, const double* invstd, void* dx, void* dweight, void* dbias);

}  // namespace normgrad::cuda

#endif  // NORMGRAD_CORE_CUDA_GROUP_NORM_H_
