#ifndef NORMGRAD_NN_FUNCTIONAL_NORMALIZATION_H_
#define NORMGRAD_NN_FUNCTIONAL_NORMALIZATION_H_

// The normalization family as differentiable functions, with PyTorch's semantics
// (torch.nn.functional.batch_norm, instance_norm, group_norm, layer_norm). docs/batch_norm.md derives the
// formulas and gradients.
//
// Every function computes y = (x - mean) / sqrt(var + eps) * weight + bias with the biased variance;
// weight and bias are optional (an undefined Tensor: 1 and 0) and have the input's dtype. Gradients flow to
// input, weight and bias, through the batch statistics whenever those are used. The running statistics
// are buffers: updated in place without gradient (their version is bumped, so a copy saved for some
// other backward notices), never differentiated.
//
// Double backward is exact: with create_graph, the backward is computed with differentiable ops
// (recomputing the statistics from the input), so gradients of gradients (gradient penalties) are correct
// and checked by the gradient checker. Without create_graph the fused kernels of
// core/kernels/normalization.h run.
//
// Errors (normgrad::Error, thrown before anything is written: running statistics stay untouched) are
// listed in core/kernels/normalization.h, e.g. "batch_norm: expected running_mean of shape [64], got
// [32]", "batch_norm: expected more than 1 value per channel when training, got input of shape [1, 3]".

#include <cstdint>
#include <optional>

#include "core/tensor.h"

namespace normgrad::nn::functional {

struct BatchNormOptions {
  Tensor weight;
  Tensor bias;
  bool training = false;
  double momentum = 0.1;
  double eps = 1e-5;
};

// input [N, C, *] (rank >= 2: [N, C], [N, C, L], [N, C, H, W], [N, C, D, H, W], ...); running_mean,
// running_var, weight, bias [C]. Statistics per channel over every dim but 1.
//   training: normalizes with the batch statistics; running_mean/running_var (both or neither) become
//             (1 - momentum) * running + momentum * batch, with the unbiased batch variance for
//             running_var (momentum 0.1 = 10% new). Needs more than one value per channel, or none: an
//             empty batch gives an empty output and leaves the running statistics as they are.
//   eval:     normalizes with running_mean/running_var, which are required; backward is then the
//             per-channel affine map dx = dy * weight / sqrt(running_var + eps).
// Records "BatchNormBackward".
Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight = {}, const Tensor& bias = {}, bool training = false,
                  double momentum = 0.1, double eps = 1e-5);
Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                  const BatchNormOptions& options);

// relu(batch_norm(...)) as one op, the same values and gradients as the two ops (bit for bit), without
// the relu's passes over memory on the CPU: the normalization writes relu's output, and the backward
// masks the incoming gradient as it reads it. A network's usual batch norm + relu pair (ResNet's blocks
// use it). Records "BatchNormReluBackward".
Tensor batch_norm_relu(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                       const Tensor& weight = {}, const Tensor& bias = {}, bool training = false,
                       double momentum = 0.1, double eps = 1e-5);

// relu(batch_norm(input, ...) + residual) as one op, the same values and gradients as batch_norm followed by
// add_relu (bit for bit): the end of a residual block (ResNet's BasicBlock), without the passes over the
// normalized intermediate. residual: the input's shape, dtype and device; its gradient is relu's backward of
// the incoming gradient, written by a pass the backward makes anyway. Records "BatchNormAddReluBackward".
Tensor batch_norm_add_relu(const Tensor& input, const Tensor& residual, const Tensor& running_mean,
                           const Tensor& running_var, const Tensor& weight = {}, const Tensor& bias = {},
                           bool training = false, double momentum = 0.1, double eps = 1e-5);

// input [*, normalized_shape...]: each sample normalized over its trailing normalized_shape dims;
// weight and bias have shape normalized_shape (an elementwise affine). Records "LayerNormBackward".
Tensor layer_norm(const Tensor& input, const Shape& normalized_shape, const Tensor& weight = {},
                  const Tensor& bias = {}, double eps = 1e-5);

// Root-mean-square normalization (torch.nn.functional.rms_norm, Zhang & Sennrich 2019):
// y = x / sqrt(mean(x^2 over the trailing normalized_shape dims) + eps) * weight, without centering; weight
// (optional) of shape normalized_shape. eps left out is the input dtype's machine epsilon, as PyTorch's
// eps=None (1.19e-7 for float32, 2.2e-16 for float64). Built from differentiable ops (exact double
// backward, every device). Errors: "rms_norm: expected an input whose trailing dims are [4], got [2, 3]",
// the weight's shape and dtype, "rms_norm: expected eps >= 0, got -1".
Tensor rms_norm(const Tensor& input, const Shape& normalized_shape, const Tensor& weight = {},
                std::optional<double> eps = std::nullopt);

// input [N, C, *], C divisible by num_groups: each sample normalized over each group of C / num_groups
// channels and all positions; weight and bias [C]. Records "GroupNormBackward".
// Errors, besides shapes: N * C / num_groups * spatial size = 1 (a single value per group over the whole
// batch, which PyTorch refuses too: group_norm on [1, 4] with 4 groups; [2, 4] with 4 groups runs).
Tensor group_norm(const Tensor& input, int64_t num_groups, const Tensor& weight = {}, const Tensor& bias = {},
                  double eps = 1e-5);

// input [N, C, *]: each (sample, channel) normalized over its positions (use_input_stats, which needs more
// than one position); running statistics, when given, move towards the batch average of the instance
// statistics (running_var: of the unbiased variances) as batch_norm's do. With use_input_stats = false
// the running statistics (required) normalize, as batch_norm in eval. weight, bias and running
// statistics [C]. Records "InstanceNormBackward".
Tensor instance_norm(const Tensor& input, const Tensor& running_mean = {}, const Tensor& running_var = {},
                     const Tensor& weight = {}, const Tensor& bias = {}, bool use_input_stats = true,
                     double momentum = 0.1, double eps = 1e-5);

}  // namespace normgrad::nn::functional

#endif  // NORMGRAD_NN_FUNCTIONAL_NORMALIZATION_H_
