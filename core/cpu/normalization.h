#ifndef NORMGRAD_CORE_CPU_NORMALIZATION_H_
#define NORMGRAD_CORE_CPU_NORMALIZATION_H_

// Raw loops of the normalization family (batch, instance, group and layer norm): per-group statistics,
// the normalize-and-affine pass, and the backward through both.
//
// Shape legend: x (and y, dy, dx) is a contiguous [N, G, K, S] array: N samples, G statistics groups of
// K channels each (C = G * K channels, channel c = g * K + k) and S positions per channel. Per-channel
// arrays (weight, bias and their gradients) are contiguous [C]. A statistic is taken over
//   - per_sample:  each (n, g) block of K * S elements, N * G statistics in (n, g) order. Instance norm
//                  is G = C, K = 1; group norm G = num_groups; layer norm G = 1, K = the normalized
//                  size, S = 1 (its affine is then per element of the normalized block);
//   - otherwise:   (n, k, s) for each g, G statistics. Batch norm is G = C, K = 1.
// Statistics are float64 arrays whatever the data's dtype, so that saving them for backward loses
// nothing. Only float and double data are accepted (callers check).
//
// Numerics: moments are two-pass over chunks of at most a few thousand elements (the second pass reads
// the chunk from L1): the chunk's mean, then the sums of x - c and (x - c)^2 around a center c within
// rounding of it; chunks are merged with Chan's pairwise update. The variance is thus never computed as
// E[x^2] - E[x]^2 and is never negative. Sums run in the data's type over short blocks that are added in
// double (core/cpu/lanes.h). The normalization is evaluated as (x - center) * scale + shift with center
// = the mean rounded to the data's type (x - center is exact in float when x is near the mean) and the
// rounding error of the mean folded into shift in double, so inputs of mean 1e4 and standard deviation
// 0.1 normalize to float32 accuracy. The gradient sums are taken around the same center.
//
// Memory passes: a statistic's data is read once from memory for its moments and then again, from
// cache, for the output (forward) or for dx (backward, after one pass for the two gradient sums).
// Batch norm with short channel runs (small spatial size) works on blocks of whole rows across channels.
//
// Every statistic is computed by one thread in an order fixed by the shapes: results do not depend on
// the number of threads.

#include <cstdint>

#include "core/dtype.h"

namespace normgrad::cpu {

struct NormLayout {
  int64_t n = 1, g = 1, k = 1, s = 1;
  bool per_sample = false;

  int64_t channels() const { return g * k; }
  int64_t num_stats() const { return per_sample ? n * g : g; }
  int64_t count() const { return per_sample ? k * s : n * k * s; }  // elements per statistic
};

// Batch statistics and the normalized output in one sweep per statistic (its data is read once from
// memory and again from cache): mean[i], var[i] (biased: divided by count) and
// rstd[i] = 1 / sqrt(var[i] + eps) for every statistic i, and
//   y = (x - mean) * rstd * weight[c] + bias[c]
// with weight and bias optional (null: 1 and 0). A statistic over no elements has NaN mean and var.
// relu: y = relu(that) in the same pass, the same values as the relu op applied after (batch norm
// followed by relu, without a pass over memory for the relu); only for !layout.per_sample.
// residual (optional, with relu; an array shaped as x): y = relu(that + residual), the same values as the
// add_relu op applied after (the end of a residual block, without the passes over the intermediate).
void NormForward(DType dtype, const NormLayout& layout, const void* x, const void* weight, const void* bias,
                 double eps, void* y, double* mean, double* var, double* rstd, bool relu = false,
                 const void* residual = nullptr);

// y = (x - center[c]) * scale[c] + shift[c] over x of shape [N, C, S] (the normalize-and-affine pass with
// given statistics: eval mode, and the eval-mode input gradient). center and shift are optional (0).
// relu, residual: as in NormForward.
void ChannelAffine(DType dtype, int64_t n, int64_t c, int64_t s, const void* x, const double* center,
                   const double* scale, const double* shift, void* y, bool relu = false,
                   const void* residual = nullptr);

// Gradients of y = (x - mean) * rstd * weight[c] + bias[c] (weight optional: 1) given dy:
//   through_stats (mean and rstd are x's batch statistics, training):
//     dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),  g = dy * weight, xhat = (x - mean) * rstd,
//     the means over each statistic's elements;
//   otherwise (mean and rstd are constants: eval; requires !layout.per_sample):
//     dx = dy * weight * rstd;
//   dweight[c] = sum(dy * xhat), dbias[c] = sum(dy) over every element of channel c.
// Each of dx, dweight, dbias may be null (not computed). mean and rstd hold layout.num_stats() values.
// relu_out (optional, only for !layout.per_sample): the output of a NormForward with relu, whose gradient
// dy is; dy then goes through relu's backward first (0 where relu_out <= 0, else dy), read and masked on
// the fly, with the same results as that backward's output passed as dy.
// masked_dy (optional, with relu_out; dy itself or an array that overlaps no other): receives that masked
// gradient, which is also the gradient of a forward's residual. It is written by the pass that takes the
// gradient sums, and dx's pass then reads it instead of dy and relu_out.
void NormBackward(DType dtype, const NormLayout& layout, const void* x, const void* dy, const void* weight,
                  const double* mean, const double* rstd, bool through_stats, void* dx, void* dweight,
                  void* dbias, const void* relu_out = nullptr, void* masked_dy = nullptr);

}  // namespace normgrad::cpu

#endif  // NORMGRAD_CORE_CPU_NORMALIZATION_H_
