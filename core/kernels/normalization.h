#ifndef NORMGRAD_CORE_KERNELS_NORMALIZATION_H_
#define NORMGRAD_CORE_KERNELS_NORMALIZATION_H_

// Tensor-level kernels of the normalization family: they check every argument, run the raw loops of
// core/cpu/normalization.h and update running statistics. They never record autograd nodes
// (nn/functional/normalization.h has the differentiable functions, with the full contracts).
//
// Every forward normalizes y = (x - mean) / sqrt(var + eps) * weight + bias, var biased, with weight and
// bias optional (undefined: 1 and 0), and returns the statistics it normalized with, as float64 tensors
// (save_mean, save_invstd = 1 / sqrt(var + eps)), for the matching backward:
//   batch_norm     per channel over every dim but 1, or the running statistics in eval; save shape [C]
//   instance_norm  per (sample, channel) over the spatial dims ([N, C]), or the running ones ([C])
//   group_norm     per (sample, group of C / num_groups channels) ([N, num_groups])
//   layer_norm     per leading index over the trailing normalized_shape dims ([prod of leading dims])
// Inputs may have any strides; outputs and gradients are new contiguous tensors. An empty input (N = 0, or
// a zero-sized spatial dim) gives an empty output, leaves the running statistics as they are, and gets
// zero gradients for weight and bias, as in PyTorch (which also accepts it in batch_norm's training mode).
// One deliberate difference: instance_norm on N = 0 with running statistics keeps them, where PyTorch
// averages over no instances and sets them to NaN.
//
// Errors (nothing is written, running statistics included, when one is thrown), for batch_norm:
//   "batch_norm: expected an input with at least 2 dims ([N, C, ...]), got [4]"
//   "batch_norm: expected a floating-point input (float32 or float64), got int64"
//   "batch_norm: expected weight of shape [3], got [4]"   (also bias, running_mean, running_var)
//   "batch_norm: expected weight of dtype float32 (the input's), got float64"
//   "batch_norm: expected running_mean and running_var both given or both absent, got running_mean only"
//   "batch_norm: expected more than 1 value per channel when training, got input of shape [1, 3]"
//   "batch_norm: expected running_mean and running_var in eval mode (training = false)"
//   "batch_norm: expected a finite momentum, got nan";  "batch_norm: expected eps >= 0, got -1"
// and the same for the others, plus "group_norm: expected num_groups > 0 dividing the 6 channels, got 4",
// "layer_norm: expected an input whose trailing dims are [3, 4], got [2, 4, 3]",
// "instance_norm: expected more than 1 spatial element when using input stats, got input of shape [2, 3, 1]".

#include <cstdint>

#include "core/tensor.h"

namespace normgrad::kernels {

struct NormForwardResult {
  Tensor output;
  Tensor save_mean;    // float64
  Tensor save_invstd;  // float64
};

// Which gradients a backward computes; the others come back undefined (as do weight and bias
// gradients when there is no weight).
struct NormGradMask {
  bool input = true;
  bool weight = true;
  bool bias = true;
  bool residual = false;  // batch_norm_backward with relu_output only
};

struct NormBackwardResult {
  Tensor grad_input;
  Tensor grad_weight;
  Tensor grad_bias;
  Tensor grad_residual;
};

// Training: batch statistics; running_mean/running_var (optional, [C], the input's dtype) updated in
// place to (1 - momentum) * running + momentum * batch, with the unbiased batch variance for running_var.
// Eval: normalizes with the running statistics, which are required.
// relu: the output is relu(y), the same values as kernels::relu(y), in the same pass.
// residual (optional, with relu; the input's shape, dtype and device, any strides): the output is
// relu(y + residual), the same values as kernels::add_relu(y, residual), in the same pass.
NormForwardResult batch_norm_forward(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                                     const Tensor& weight, const Tensor& bias, bool training, double momentum,
                                     double eps, bool relu = false, const Tensor& residual = {});
// training: through the batch statistics; else the statistics are constants.
// relu_output: the output of a batch_norm_forward with relu, the op grad_output is the gradient of; the
// gradients are then those of batch norm at relu_backward(grad_output, relu_output) (on the CPU without
// that intermediate tensor). mask.residual (with relu_output): grad_residual is that relu_backward, the
// gradient of a forward's residual, written by a pass the backward makes anyway; with reuse_grad_output
// (nothing else sees grad_output's memory) into grad_output itself. With reuse_grad_output, grad_output's
// contents are not kept in any case: the CPU writes that relu_backward there without mask.residual too.
NormBackwardResult batch_norm_backward(const Tensor& grad_output, const Tensor& input, const Tensor& weight,
                                       const Tensor& save_mean, const Tensor& save_invstd, bool training,
                                       NormGradMask mask = {}, const Tensor& relu_output = {},
                                       bool reuse_grad_output = false);

// use_input_stats: per-instance statistics; running statistics, when given, move towards their mean over
// the batch (running_var towards the mean of the unbiased variances). Otherwise the running statistics
// (required) normalize, as batch_norm in eval.
NormForwardResult instance_norm_forward(const Tensor& input, const Tensor& running_mean,
                                        const Tensor& running_var, const Tensor& weight, const Tensor& bias,
                                        bool use_input_stats, double momentum, double eps);
NormBackwardResult instance_norm_backward(const Tensor& grad_output, const Tensor& input, const Tensor& weight,
                                          const Tensor& save_mean, const Tensor& save_invstd,
                                          bool use_input_stats, NormGradMask mask = {});

NormForwardResult group_norm_forward(const Tensor& input, int64_t num_groups, const Tensor& weight,
                                     const Tensor& bias, double eps);
NormBackwardResult group_norm_backward(const Tensor& grad_output, const Tensor& input, int64_t num_groups,
                                       const Tensor& weight, const Tensor& save_mean, const Tensor& save_invstd,
                                       NormGradMask mask = {});

// weight and bias have shape normalized_shape (an elementwise affine).
NormForwardResult layer_norm_forward(const Tensor& input, const Shape& normalized_shape, const Tensor& weight,
                                     const Tensor& bias, double eps);
NormBackwardResult layer_norm_backward(const Tensor& grad_output, const Tensor& input,
                                       const Shape& normalized_shape, const Tensor& weight,
                                       const Tensor& save_mean, const Tensor& save_invstd,
                                       NormGradMask mask = {});

}  // namespace normgrad::kernels

#endif  // NORMGRAD_CORE_KERNELS_NORMALIZATION_H_
