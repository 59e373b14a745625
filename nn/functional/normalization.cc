#include "nn/functional/normalization.h"

#include <functional>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "core/kernels/elementwise.h"
#include "core/kernels/normalization.h"
#include "core/kernels/view.h"

namespace normgrad::nn::functional {
namespace {

using autograd::BackwardContext;
using autograd::Record;
using autograd::Save;
using autograd::SavedTensor;

// The four functions are one computation over a view of the input as [N, G, K, S] (see
// core/cpu/normalization.h): statistics over `dims` of that view ({0, 2, 3}: per g over the batch;
// {2, 3}: per sample and g), weight and bias viewed as [1, G, K, 1].
struct Geometry {
  Shape view;
  std::vector<int64_t> dims;
};

// [N, C, 1, S] for an [N, C, *] input, statistics per channel (batch) or per sample and channel.
Geometry PerChannel(const Tensor& input, bool per_sample) {
  const int64_t n = input.size(0), c = input.size(1);
  const int64_t s = n * c == 0 ? 0 : input.numel() / (n * c);
  return {{n, c, 1, s}, per_sample ? std::vector<int64_t>{2, 3} : std::vector<int64_t>{0, 2, 3}};
}

// What every normalization's backward keeps from its forward.
struct Saved {
  SavedTensor input, weight;
  Tensor mean, invstd;  // float64, one per statistic (kernels' save_mean / save_invstd)
  Shape affine_shape;   // weight's and bias's shape
  Geometry geometry;
  bool through_stats;   // training: the statistics are functions of the input
  double eps;
};

using KernelBackward = std::function<kernels::NormBackwardResult(
    const Tensor& grad, const Tensor& input, const Tensor& weight, const Tensor& mean, const Tensor& invstd,
    kernels::NormGradMask mask)>;

// The gradients written with differentiable ops, for create_graph, given d(loss)/d(output) `grad`: the
// statistics are recomputed from the input, so that the recorded backward graph is exact and can be
// differentiated again.
std::vector<Tensor> DifferentiableBackward(const BackwardContext& ctx, const Tensor& grad, const Saved& s) {
  const Geometry& geo = s.geometry;
  const Tensor& x = s.input.get();
  const Tensor& w = s.weight.get();
  const Tensor xv = reshape(x, geo.view), dy = reshape(grad, geo.view);
  Tensor xhat, rstd;
  if (s.through_stats) {
    // Centered on the forward's mean (a constant) first: x - center is exact in float32 near the mean,
    // so inputs with a large offset keep their precision; the gradient is the same.
    Shape stat = geo.view;
    for (int64_t d : geo.dims) stat[d] = 1;
    const Tensor shifted = xv - kernels::reshape(kernels::to_dtype(s.mean, x.dtype()), stat);
    const Tensor centered = shifted - mean(shifted, geo.dims, /*keepdim=*/true);
    rstd = rsqrt(mean(centered * centered, geo.dims, /*keepdim=*/true) + s.eps);
    xhat = centered * rstd;
  } else {
    // Constants: the running statistics of the forward (per g: batch norm in eval).
    const Shape stat = {1, geo.view[1], 1, 1};
    rstd = kernels::reshape(kernels::to_dtype(s.invstd, x.dtype()), stat);
    xhat = (xv - kernels::reshape(kernels::to_dtype(s.mean, x.dtype()), stat)) * rstd;
  }
  std::vector<Tensor> grads(3);
  if (ctx.needs(0)) {
    const Tensor g = w.defined() ? dy * reshape(w, {1, geo.view[1], geo.view[2], 1}) : dy;
    const Tensor dx = s.through_stats
                          ? rstd * (g - mean(g, geo.dims, true) - xhat * mean(g * xhat, geo.dims, true))
                          : g * rstd;
    grads[0] = reshape(dx, x.shape());
  }
  if (ctx.needs(1)) grads[1] = reshape(sum(dy * xhat, {0, 3}), s.affine_shape);
  if (ctx.needs(2)) grads[2] = reshape(sum(dy, {0, 3}), s.affine_shape);
  return grads;
}

// Gradients for (input, weight, bias): the fused kernel, or the differentiable form when backward is
// being recorded (create_graph).
std::vector<Tensor> NormBackward(const BackwardContext& ctx, const Saved& s, const KernelBackward& kernel) {
  if (GradMode::is_enabled()) return DifferentiableBackward(ctx, ctx.grad, s);
  const kernels::NormBackwardResult r = kernel(ctx.grad, s.input.get(), s.weight.get(), s.mean, s.invstd,
                                               {.input = ctx.needs(0), .weight = ctx.needs(1), .bias = ctx.needs(2)});
  return {r.grad_input, r.grad_weight, r.grad_bias};
}

Saved MakeSaved(const Tensor& input, const Tensor& weight, const kernels::NormForwardResult& f,
                Shape affine_shape, Geometry geometry, bool through_stats, double eps) {
  return {Save(input), Save(weight), f.save_mean, f.save_invstd, std::move(affine_shape), std::move(geometry),
          through_stats, eps};
}

// The backward of batch_norm_relu's node over (input, weight, bias), and with `add` of batch_norm_add_relu's,
// whose fourth input, the residual, gets relu's backward of the incoming gradient.
autograd::BackwardFn FusedReluBackward(const Tensor& input, const Tensor& weight, const kernels::NormForwardResult& f,
                                       bool training, double eps, bool add) {
  return [s = MakeSaved(input, weight, f, {input.size(1)}, PerChannel(input, false), training, eps),
          add](const BackwardContext& ctx) -> std::vector<Tensor> {
    // While backward is being recorded: relu's recorded backward, then batch norm's.
    if (GradMode::is_enabled()) {
      const Tensor masked = relu_backward(ctx.grad, ctx.output);
      std::vector<Tensor> grads = DifferentiableBackward(ctx, masked, s);
      if (add) grads.push_back(ctx.needs(3) ? masked : Tensor());
      return grads;
    }
    const kernels::NormBackwardResult r = kernels::batch_norm_backward(
        ctx.grad, s.input.get(), s.weight.get(), s.mean, s.invstd, s.through_stats,
        {.input = ctx.needs(0), .weight = ctx.needs(1), .bias = ctx.needs(2), .residual = add && ctx.needs(3)},
        ctx.output, /*reuse_grad_output=*/ctx.grad_reusable);
    if (add) return {r.grad_input, r.grad_weight, r.grad_bias, r.grad_residual};
    return {r.grad_input, r.grad_weight, r.grad_bias};
  };
}

}  // namespace

Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
  const kernels::NormForwardResult f =
      kernels::batch_norm_forward(input, running_mean, running_var, weight, bias, training, momentum, eps);
  if (!autograd::AnyRequiresGrad({input, weight, bias})) return f.output;
  return Record("BatchNormBackward", f.output, {input, weight, bias},
                [s = MakeSaved(input, weight, f, {input.size(1)}, PerChannel(input, false), training, eps)](
                    const BackwardContext& ctx) {
                  return NormBackward(ctx, s, [&s](const Tensor& g, const Tensor& x, const Tensor& w,
                                                   const Tensor& m, const Tensor& r, kernels::NormGradMask mask) {
                    return kernels::batch_norm_backward(g, x, w, m, r, s.through_stats, mask);
                  });
                });
}

Tensor batch_norm_relu(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                       const Tensor& weight, const Tensor& bias, bool training, double momentum, double eps) {
  const kernels::NormForwardResult f = kernels::batch_norm_forward(input, running_mean, running_var, weight, bias,
                                                                   training, momentum, eps, /*relu=*/true);
  if (!autograd::AnyRequiresGrad({input, weight, bias})) return f.output;
  return Record("BatchNormReluBackward", f.output, {input, weight, bias},
                FusedReluBackward(input, weight, f, training, eps, /*add=*/false), /*keep_output=*/true);
}

Tensor batch_norm_add_relu(const Tensor& input, const Tensor& residual, const Tensor& running_mean,
                           const Tensor& running_var, const Tensor& weight, const Tensor& bias, bool training,
                           double momentum, double eps) {
  NG_CHECK(residual.defined(), "batch_norm_add_relu: expected a residual tensor, got an undefined one");
  const kernels::NormForwardResult f = kernels::batch_norm_forward(input, running_mean, running_var, weight, bias,
                                                                   training, momentum, eps, /*relu=*/true, residual);
  if (!autograd::AnyRequiresGrad({input, weight, bias, residual})) return f.output;
  return Record("BatchNormAddReluBackward", f.output, {input, weight, bias, residual},
                FusedReluBackward(input, weight, f, training, eps, /*add=*/true), /*keep_output=*/true);
}

Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                  const BatchNormOptions& options) {
  return batch_norm(input, running_mean, running_var, options.weight, options.bias, options.training,
                    options.momentum, options.eps);
}

Tensor instance_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                     const Tensor& weight, const Tensor& bias, bool use_input_stats, double momentum, double eps) {
  const kernels::NormForwardResult f = kernels::instance_norm_forward(input, running_mean, running_var, weight, bias,
                                                                      use_input_stats, momentum, eps);
  if (!autograd::AnyRequiresGrad({input, weight, bias})) return f.output;
  return Record("InstanceNormBackward", f.output, {input, weight, bias},
                [s = MakeSaved(input, weight, f, {input.size(1)}, PerChannel(input, use_input_stats), use_input_stats,
                               eps)](const BackwardContext& ctx) {
                  return NormBackward(ctx, s, [&s](const Tensor& g, const Tensor& x, const Tensor& w,
                                                   const Tensor& m, const Tensor& r, kernels::NormGradMask mask) {
                    return kernels::instance_norm_backward(g, x, w, m, r, s.through_stats, mask);
                  });
                });
}

Tensor group_norm(const Tensor& input, int64_t num_groups, const Tensor& weight, const Tensor& bias, double eps) {
  const kernels::NormForwardResult f = kernels::group_norm_forward(input, num_groups, weight, bias, eps);
  if (!autograd::AnyRequiresGrad({input, weight, bias})) return f.output;
  const int64_t n = input.size(0), c = input.size(1);
  const int64_t positions = n * c == 0 ? 0 : input.numel() / (n * c);
  const Geometry geometry{{n, num_groups, c / num_groups, positions}, {2, 3}};
  return Record("GroupNormBackward", f.output, {input, weight, bias},
                [s = MakeSaved(input, weight, f, {c}, geometry, true, eps), num_groups](const BackwardContext& ctx) {
                  return NormBackward(ctx, s, [num_groups](const Tensor& g, const Tensor& x, const Tensor& w,
                                                           const Tensor& m, const Tensor& r,
                                                           kernels::NormGradMask mask) {
                    return kernels::group_norm_backward(g, x, num_groups, w, m, r, mask);
                  });
                });
}

Tensor layer_norm(const Tensor& input, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps) {
  const kernels::NormForwardResult f = kernels::layer_norm_forward(input, normalized_shape, weight, bias, eps);
  if (!autograd::AnyRequiresGrad({input, weight, bias})) return f.output;
  const int64_t d = Numel(normalized_shape);
  const Geometry geometry{{d == 0 ? 0 : input.numel() / d, 1, d, 1}, {2, 3}};
  return Record("LayerNormBackward", f.output, {input, weight, bias},
                [s = MakeSaved(input, weight, f, normalized_shape, geometry, true, eps),
                 normalized_shape](const BackwardContext& ctx) {
                  return NormBackward(ctx, s, [&normalized_shape](const Tensor& g, const Tensor& x, const Tensor& w,
                                                                  const Tensor& m, const Tensor& r,
                                                                  kernels::NormGradMask mask) {
                    return kernels::layer_norm_backward(g, x, normalized_shape, w, m, r, mask);
                  });
                });
}

Tensor rms_norm(const Tensor& input, const Shape& normalized_shape, const Tensor& weight, std::optional<double> eps) {
  constexpr const char* kOp = "rms_norm";
  NG_CHECK(input.defined(), kOp, ": expected an input tensor, got an undefined one");
  NG_CHECK(IsFloating(input.dtype()), kOp, ": expected a floating-point input (float32 or float64), got ",
           input.dtype());
  NG_CHECK(!normalized_shape.empty(), kOp, ": expected a non-empty normalized_shape");
  const int64_t lead = input.dim() - static_cast<int64_t>(normalized_shape.size());
  NG_CHECK(lead >= 0 && Shape(input.shape().begin() + lead, input.shape().end()) == normalized_shape, kOp,
           ": expected an input whose trailing dims are ", ShapeToString(normalized_shape), ", got ",
           ShapeToString(input.shape()));
  if (weight.defined()) {
    NG_CHECK(weight.shape() == normalized_shape, kOp, ": expected weight of shape ", ShapeToString(normalized_shape),
             ", got ", ShapeToString(weight.shape()));
    NG_CHECK(weight.dtype() == input.dtype() && weight.device() == input.device(), kOp,
             ": expected weight of the input's dtype and device (", input.dtype(), ", ", input.device().ToString(),
             "), got ", weight.dtype(), ", ", weight.device().ToString());
  }
  const double e = eps.value_or(input.dtype() == kFloat32 ? std::numeric_limits<float>::epsilon()
                                                          : std::numeric_limits<double>::epsilon());
  NG_CHECK(e >= 0, kOp, ": expected eps >= 0, got ", e);
  std::vector<int64_t> dims;
  for (int64_t d = lead; d < input.dim(); ++d) dims.push_back(d);
  const Tensor y = mul(input, rsqrt(add(mean(mul(input, input), dims, /*keepdim=*/true), e)));
  return weight.defined() ? mul(y, weight) : y;
}

}  // namespace normgrad::nn::functional
