#include "core/kernels/normalization.h"

#include <cmath>
#include <initializer_list>
#include <utility>
#include <vector>

#include "core/cpu/normalization.h"
#include "core/cuda/batch_norm.h"
#include "core/cuda/device.h"
#include "core/cuda/group_norm.h"
#include "core/kernels/device_copy.h"
#include "core/kernels/copy.h"
#include "core/kernels/elementwise.h"

namespace normgrad::kernels {
namespace {

using cpu::NormLayout;

// ---- argument checks (all run before anything is written)

void CheckInput(const Tensor& input, int64_t min_rank, const char* op) {
  NG_CHECK(input.defined(), op, ": expected an input tensor, got an undefined one");
  NG_CHECK(input.dim() >= min_rank, op, ": expected an input with at least ", min_rank,
           min_rank == 2 ? " dims ([N, C, ...])" : " dims", ", got ", ShapeToString(input.shape()));
  NG_CHECK(IsFloating(input.dtype()), op, ": expected a floating-point input (float32 or float64), got ",
           input.dtype());
}

// An optional tensor beside the input: absent, or of `shape` and the input's dtype.
void CheckOptional(const Tensor& t, const char* name, const Shape& shape, DType dtype, const char* op) {
  if (!t.defined()) return;
  NG_CHECK(t.shape() == shape, op, ": expected ", name, " of shape ", ShapeToString(shape), ", got ",
           ShapeToString(t.shape()));
  NG_CHECK(t.dtype() == dtype, op, ": expected ", name, " of dtype ", dtype, " (the input's), got ", t.dtype());
}

void CheckRunning(const Tensor& running_mean, const Tensor& running_var, int64_t channels, DType dtype,
                  const char* op) {
  NG_CHECK(running_mean.defined() == running_var.defined(), op,
           ": expected running_mean and running_var both given or both absent, got ",
           running_mean.defined() ? "running_mean only" : "running_var only");
  CheckOptional(running_mean, "running_mean", {channels}, dtype, op);
  CheckOptional(running_var, "running_var", {channels}, dtype, op);
}

void CheckEps(double eps, const char* op) { NG_CHECK(eps >= 0, op, ": expected eps >= 0, got ", eps); }

void CheckMomentum(double momentum, const char* op) {
  NG_CHECK(std::isfinite(momentum), op, ": expected a finite momentum, got ", momentum);
}

// Positions per channel of an [N, C, ...] input: the product of the sizes after dim 1.
int64_t Spatial(const Tensor& input) {
  int64_t s = 1;
  for (int64_t d = 2; d < input.dim(); ++d) s *= input.size(d);
  return s;
}

void* DataOrNull(const Tensor& t) { return t.defined() ? t.data_ptr() : nullptr; }

// Every defined tensor of `others` (argument name, tensor) on the input's device.
void CheckSameDevice(const Tensor& input, std::initializer_list<std::pair<const char*, const Tensor*>> others,
                     const char* op) {
  for (const auto& [name, t] : others) {
    NG_CHECK(!t->defined() || t->device() == input.device(), op, ": expected ", name, " on the input's device (",
             input.device(), "), got ", t->device());
  }
}

// Batch norm of a contiguous [n, c, s] x (and residual, when defined) on a CUDA device
// (core/cuda/batch_norm.h): statistics, normalization and the running-statistics update all on the device.
NormForwardResult BatchNormForwardCuda(const Tensor& x, int64_t n, int64_t c, int64_t s, const Tensor& running_mean,
                                       const Tensor& running_var, const Tensor& weight, const Tensor& bias,
                                       bool training, double momentum, double eps, bool relu,
                                       const Tensor& residual = {}) {
  const Device device = x.device();
  Tensor y = empty(x.shape(), {.dtype = x.dtype(), .device = device});
  Tensor mean = empty({c}, {.dtype = kFloat64, .device = device}), invstd = empty({c}, {.dtype = kFloat64, .device = device});
  const Tensor w = weight.defined() ? contiguous(weight) : Tensor(), b = bias.defined() ? contiguous(bias) : Tensor();
  // A strided running statistic is updated through a contiguous copy, written back below.
  const Tensor rm = running_mean.defined() ? contiguous(running_mean) : Tensor();
  const Tensor rv = running_var.defined() ? contiguous(running_var) : Tensor();
  const cuda::BatchNormShape shape{n, c, s};
  if (!training) {
    cuda::BatchNormForwardEval(x.dtype(), shape, x.data_ptr(), DataOrNull(w), DataOrNull(b), rm.data_ptr(),
                               rv.data_ptr(), eps, y.data_ptr(), mean.data_ptr<double>(), invstd.data_ptr<double>(),
                               relu, DataOrNull(residual));
    return {y, mean, invstd};
  }
  cuda::BatchNormForwardTraining(x.dtype(), shape, x.data_ptr(), DataOrNull(w), DataOrNull(b), DataOrNull(rm),
                                 DataOrNull(rv), momentum, eps, y.data_ptr(), mean.data_ptr<double>(),
                                 invstd.data_ptr<double>(), relu, DataOrNull(residual));
  if (running_mean.defined()) {
    if (!rm.is_same(running_mean)) copy_(running_mean, rm);
    if (!rv.is_same(running_var)) copy_(running_var, rv);
    running_mean.BumpVersion();
    running_var.BumpVersion();
  }
  return {y, mean, invstd};
}

// ---- shared forward and backward over a layout

struct BatchStats {
  std::vector<double> mean, var, rstd;
};

// y (relu(y) with relu, relu(y + residual) with a contiguous residual too) and the batch statistics of a
// contiguous x.
Tensor NormalizeWithBatchStats(const Tensor& x, const NormLayout& layout, const Tensor& weight, const Tensor& bias,
                               double eps, BatchStats* stats, bool relu = false, const Tensor& residual = {}) {
  Tensor out = empty(x.shape(), {.dtype = x.dtype()});
  const int64_t n = layout.num_stats();
  stats->mean.resize(n);
  stats->var.resize(n);
  stats->rstd.resize(n);
  const Tensor w = weight.defined() ? contiguous(weight) : Tensor();
  const Tensor b = bias.defined() ? contiguous(bias) : Tensor();
  cpu::NormForward(x.dtype(), layout, x.raw_data(), DataOrNull(w), DataOrNull(b), eps, out.raw_data(),
                   stats->mean.data(), stats->var.data(), stats->rstd.data(), relu, DataOrNull(residual));
  return out;
}

// A per-sample normalization of a contiguous x on its device: y, and the statistics as float64 tensors of
// shape `stats_shape` (layout.num_stats() values): mean, biased var and invstd.
struct PerSample {
  Tensor out, mean, var, invstd;
};

PerSample NormalizePerSample(const Tensor& x, const NormLayout& layout, const Tensor& weight, const Tensor& bias,
                             double eps, const Shape& stats_shape) {
  const Tensor w = weight.defined() ? contiguous(weight) : Tensor();
  const Tensor b = bias.defined() ? contiguous(bias) : Tensor();
  // The family's device switch for per-sample statistics.
  switch (x.device().type) {
    case Device::Type::kCPU: break;
    case Device::Type::kCUDA: {
      cuda::MakeCurrent(x.device().index);
      const TensorOptions stats{.dtype = kFloat64, .device = x.device()};
      PerSample r{empty(x.shape(), {.dtype = x.dtype(), .device = x.device()}), empty(stats_shape, stats),
                  empty(stats_shape, stats), empty(stats_shape, stats)};
      cuda::GroupNormForward(x.dtype(), {layout.n, layout.g, layout.k, layout.s}, x.data_ptr(), DataOrNull(w),
                             DataOrNull(b), eps, r.out.data_ptr(), r.mean.data_ptr<double>(), r.var.data_ptr<double>(),
                             r.invstd.data_ptr<double>());
      return r;
    }
  }
  BatchStats stats;
  Tensor out = NormalizeWithBatchStats(x, layout, w, b, eps, &stats);
  return {out, from_vector(stats.mean, stats_shape), from_vector(stats.var, stats_shape),
          from_vector(stats.rstd, stats_shape)};
}

// y (with relu and residual as in NormalizeWithBatchStats) of a contiguous [N, C, S] x normalized with given
// per-channel statistics; fills mean and invstd.
Tensor NormalizeWithRunningStats(const Tensor& x, int64_t n, int64_t c, int64_t s, const Tensor& running_mean,
                                 const Tensor& running_var, const Tensor& weight, const Tensor& bias, double eps,
                                 std::vector<double>* mean, std::vector<double>* invstd, bool relu = false,
                                 const Tensor& residual = {}) {
  *mean = running_mean.to_vector<double>();
  *invstd = running_var.to_vector<double>();
  const std::vector<double> w = weight.defined() ? weight.to_vector<double>() : std::vector<double>(c, 1.0);
  std::vector<double> scale(c);
  for (int64_t ch = 0; ch < c; ++ch) {
    (*invstd)[ch] = 1 / std::sqrt((*invstd)[ch] + eps);
    scale[ch] = (*invstd)[ch] * w[ch];
  }
  const std::vector<double> shift = bias.defined() ? bias.to_vector<double>() : std::vector<double>();
  Tensor out = empty(x.shape(), {.dtype = x.dtype()});
  cpu::ChannelAffine(x.dtype(), n, c, s, x.raw_data(), mean->data(), scale.data(),
                     bias.defined() ? shift.data() : nullptr, out.raw_data(), relu, DataOrNull(residual));
  return out;
}

// running = momentum * batch + (1 - momentum) * running, element by element in double (running may be a
// strided view). Bumps its version so that a copy saved for backward notices.
void UpdateRunning(const Tensor& running, const std::vector<double>& batch, double momentum) {
  VisitFloatDType(running.dtype(), "update_running_stats", [&]<typename T>() {
    T* p = running.data<T>();
    const int64_t stride = running.stride(0);
    for (size_t c = 0; c < batch.size(); ++c) {
      T& r = p[static_cast<int64_t>(c) * stride];
      r = static_cast<T>(momentum * batch[c] + (1 - momentum) * static_cast<double>(r));
    }
  });
  running.BumpVersion();
}

// UpdateRunning for running statistics on any device: on a CUDA device through a host copy (instance
// norm's, [C]: small).
void UpdateRunningAnywhere(const Tensor& running, const std::vector<double>& batch, double momentum) {
  if (running.device().is_cpu()) return UpdateRunning(running, batch, momentum);
  const Tensor host = to(running, kCPU);
  UpdateRunning(host, batch, momentum);
  copy_(running, to(host, running.device()));
  running.BumpVersion();
}

// Unbiased variances from biased ones over `count` elements.
std::vector<double> Unbiased(const std::vector<double>& var, int64_t count) {
  std::vector<double> out(var.size());
  const double f = static_cast<double>(count) / static_cast<double>(count - 1);
  for (size_t i = 0; i < var.size(); ++i) out[i] = var[i] * f;
  return out;
}

// An empty input (no samples, or samples without values) normalizes to an empty output, as in PyTorch:
// there are no statistics to take and the running ones stay as they are. The saved statistics are zeros
// (backward reads none of them for an empty input).
NormForwardResult EmptyResult(const Tensor& x, const Shape& stats_shape) {
  const TensorOptions stats{.dtype = kFloat64, .device = x.device()};
  return {empty(x.shape(), {.dtype = x.dtype(), .device = x.device()}), zeros(stats_shape, stats),
          zeros(stats_shape, stats)};
}

// relu_output (optional, per-channel layouts only): see batch_norm_backward.
NormBackwardResult RunBackward(const Tensor& grad_output, const Tensor& input, const NormLayout& layout,
                               const Tensor& weight, const Shape& affine_shape, const Tensor& save_mean,
                               const Tensor& save_invstd, bool through_stats, NormGradMask mask,
                               const char* op, const Tensor& relu_output = {}, bool reuse_grad_output = false) {
  NG_CHECK(grad_output.defined() && input.defined(), op, ": expected grad_output and input tensors");
  NG_CHECK(grad_output.shape() == input.shape(), op, ": expected grad_output of shape ",
           ShapeToString(input.shape()), " (the input's), got ", ShapeToString(grad_output.shape()));
  NG_CHECK(grad_output.dtype() == input.dtype(), op, ": expected grad_output of dtype ", input.dtype(),
           " (the input's), got ", grad_output.dtype());
  CheckOptional(weight, "weight", affine_shape, input.dtype(), op);
  for (const Tensor* t : {&save_mean, &save_invstd}) {
    NG_CHECK(t->defined() && t->dtype() == kFloat64 && t->numel() == layout.num_stats(), op,
             ": expected saved statistics of ", layout.num_stats(), " float64 values");
  }
  if (relu_output.defined()) {
    NG_CHECK(relu_output.shape() == input.shape() && relu_output.dtype() == input.dtype(), op,
             ": expected relu_output of shape ", ShapeToString(input.shape()), " and dtype ", input.dtype(),
             " (the input's), got ", ShapeToString(relu_output.shape()), " ", relu_output.dtype());
  }
  NG_CHECK(!mask.residual || relu_output.defined(), op,
           ": expected relu_output for the residual's gradient (mask.residual)");
  CheckSameDevice(input,
                  {{"grad_output", &grad_output},
                   {"weight", &weight},
                   {"save_mean", &save_mean},
                   {"save_invstd", &save_invstd},
                   {"relu_output", &relu_output}},
                  op);
  const Tensor x = contiguous(input), w = weight.defined() ? contiguous(weight) : Tensor();
  const Tensor dy = contiguous(grad_output), relu_out = relu_output.defined() ? contiguous(relu_output) : Tensor();
  const Tensor mean = contiguous(save_mean), invstd = contiguous(save_invstd);
  NormBackwardResult r;
  const TensorOptions options{.dtype = x.dtype(), .device = x.device()};
  if (x.numel() == 0) {  // sums over no values: zero gradients for weight and bias, empty ones otherwise
    if (mask.input) r.grad_input = empty(x.shape(), options);
    if (mask.weight) r.grad_weight = zeros(affine_shape, options);
    if (mask.bias) r.grad_bias = zeros(affine_shape, options);
    if (mask.residual) r.grad_residual = empty(x.shape(), options);
    return r;
  }
  if (mask.input) r.grad_input = empty(x.shape(), options);
  if (mask.weight) r.grad_weight = empty(affine_shape, options);
  if (mask.bias) r.grad_bias = empty(affine_shape, options);
  // The residual's gradient overwrites dy when nobody else sees it (the pass that writes it reads each
  // element of dy first): no new memory to bring into cache.
  const bool dy_is_ours = reuse_grad_output || !dy.is_same(grad_output);
  if (mask.residual) r.grad_residual = dy_is_ours ? dy : empty(x.shape(), options);
  // Without a residual, relu's masked gradient still goes into dy when it is ours: dx's pass then reads two
  // arrays instead of three (dy, relu's output and x), which the CPU kernel can keep in cache per channel.
  void* masked_dy = DataOrNull(r.grad_residual);
  if (masked_dy == nullptr && relu_out.defined() && dy_is_ours) masked_dy = dy.data_ptr();
  // The family's device switch for backward.
  switch (x.device().type) {
    case Device::Type::kCPU:
      cpu::NormBackward(x.dtype(), layout, x.data_ptr(), dy.data_ptr(), DataOrNull(w), mean.data_ptr<double>(),
                        invstd.data_ptr<double>(), through_stats, DataOrNull(r.grad_input), DataOrNull(r.grad_weight),
                        DataOrNull(r.grad_bias), DataOrNull(relu_out), masked_dy);
      break;
    case Device::Type::kCUDA:
      cuda::MakeCurrent(x.device().index);
      if (layout.per_sample) {  // always through the statistics
        cuda::GroupNormBackward(x.dtype(), {layout.n, layout.g, layout.k, layout.s}, x.data_ptr(), dy.data_ptr(),
                                DataOrNull(w), mean.data_ptr<double>(), invstd.data_ptr<double>(),
                                DataOrNull(r.grad_input), DataOrNull(r.grad_weight), DataOrNull(r.grad_bias));
      } else {  // per-channel statistics (K = 1): batch norm, and instance norm with the running ones
        cuda::BatchNormBackward(x.dtype(), {layout.n, layout.g, layout.s}, x.data_ptr(), dy.data_ptr(), DataOrNull(w),
                                mean.data_ptr<double>(), invstd.data_ptr<double>(), through_stats,
                                DataOrNull(r.grad_input), DataOrNull(r.grad_weight), DataOrNull(r.grad_bias),
                                DataOrNull(relu_out), DataOrNull(r.grad_residual));
      }
      break;
  }
  return r;
}

// Layer norm's layout: [prod of leading dims, 1, prod of normalized_shape, 1]; checks the shapes.
NormLayout LayerNormLayout(const Tensor& input, const Shape& normalized_shape, const char* op) {
  NG_CHECK(!normalized_shape.empty(), op, ": expected a non-empty normalized_shape");
  const int64_t lead = input.dim() - static_cast<int64_t>(normalized_shape.size());
  NG_CHECK(lead >= 0 && Shape(input.shape().begin() + lead, input.shape().end()) == normalized_shape, op,
           ": expected an input whose trailing dims are ", ShapeToString(normalized_shape), ", got ",
           ShapeToString(input.shape()));
  int64_t m = 1;
  for (int64_t d = 0; d < lead; ++d) m *= input.size(d);
  return {.n = m, .g = 1, .k = Numel(normalized_shape), .s = 1, .per_sample = true};
}

NormLayout GroupNormLayout(const Tensor& input, int64_t num_groups, const char* op) {
  const int64_t c = input.size(1);
  NG_CHECK(num_groups > 0 && c % num_groups == 0, op, ": expected num_groups > 0 dividing the ", c,
           " channels, got ", num_groups);
  return {.n = input.size(0), .g = num_groups, .k = c / num_groups, .s = Spatial(input), .per_sample = true};
}

}  // namespace

NormForwardResult batch_norm_forward(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                                     const Tensor& weight, const Tensor& bias, bool training, double momentum,
                                     double eps, bool relu, const Tensor& residual) {
  const char* op = "batch_norm";
  CheckInput(input, 2, op);
  const int64_t n = input.size(0), c = input.size(1), s = Spatial(input);
  CheckOptional(weight, "weight", {c}, input.dtype(), op);
  CheckOptional(bias, "bias", {c}, input.dtype(), op);
  CheckOptional(residual, "residual", input.shape(), input.dtype(), op);
  NG_CHECK(relu || !residual.defined(), op, ": expected relu with a residual (relu(y + residual))");
  CheckRunning(running_mean, running_var, c, input.dtype(), op);
  CheckMomentum(momentum, op);
  CheckEps(eps, op);
  CheckSameDevice(input,
                  {{"running_mean", &running_mean},
                   {"running_var", &running_var},
                   {"weight", &weight},
                   {"bias", &bias},
                   {"residual", &residual}},
                  op);
  if (training) {  // as PyTorch: one value cannot be normalized; none (an empty batch) can
    NG_CHECK(n * s != 1, op, ": expected more than 1 value per channel when training, got input of shape ",
             ShapeToString(input.shape()));
  } else {
    NG_CHECK(running_mean.defined(), op, ": expected running_mean and running_var in eval mode (training = false)");
  }
  if (input.numel() == 0) return EmptyResult(input, {c});
  const Tensor x = contiguous(input), r = residual.defined() ? contiguous(residual) : Tensor();
  // The family's device switch for batch norm's forward.
  switch (x.device().type) {
    case Device::Type::kCPU: break;
    case Device::Type::kCUDA:
      cuda::MakeCurrent(x.device().index);
      return BatchNormForwardCuda(x, n, c, s, running_mean, running_var, weight, bias, training, momentum, eps, relu,
                                  r);
  }
  if (!training) {
    std::vector<double> mean, invstd;
    Tensor out = NormalizeWithRunningStats(x, n, c, s, running_mean, running_var, weight, bias, eps, &mean, &invstd,
                                           relu, r);
    return {out, from_vector(mean, {c}), from_vector(invstd, {c})};
  }
  BatchStats stats;
  Tensor out = NormalizeWithBatchStats(x, {.n = n, .g = c, .k = 1, .s = s, .per_sample = false}, weight, bias,
                                       eps, &stats, relu, r);
  if (running_mean.defined()) {
    UpdateRunning(running_mean, stats.mean, momentum);
    UpdateRunning(running_var, Unbiased(stats.var, n * s), momentum);
  }
  return {out, from_vector(stats.mean, {c}), from_vector(stats.rstd, {c})};
}

NormBackwardResult batch_norm_backward(const Tensor& grad_output, const Tensor& input, const Tensor& weight,
                                       const Tensor& save_mean, const Tensor& save_invstd, bool training,
                                       NormGradMask mask, const Tensor& relu_output, bool reuse_grad_output) {
  CheckInput(input, 2, "batch_norm_backward");
  const NormLayout layout{.n = input.size(0), .g = input.size(1), .k = 1, .s = Spatial(input), .per_sample = false};
  return RunBackward(grad_output, input, layout, weight, {input.size(1)}, save_mean, save_invstd, training, mask,
                     "batch_norm_backward", relu_output, reuse_grad_output);
}

NormForwardResult instance_norm_forward(const Tensor& input, const Tensor& running_mean,
                                        const Tensor& running_var, const Tensor& weight, const Tensor& bias,
                                        bool use_input_stats, double momentum, double eps) {
  const char* op = "instance_norm";
  CheckInput(input, 2, op);
  const int64_t n = input.size(0), c = input.size(1), s = Spatial(input);
  CheckOptional(weight, "weight", {c}, input.dtype(), op);
  CheckOptional(bias, "bias", {c}, input.dtype(), op);
  CheckRunning(running_mean, running_var, c, input.dtype(), op);
  CheckMomentum(momentum, op);
  CheckEps(eps, op);
  if (use_input_stats) {
    NG_CHECK(s != 1, op, ": expected more than 1 spatial element when using input stats, got input of shape ",
             ShapeToString(input.shape()));
  } else {
    NG_CHECK(running_mean.defined(), op,
             ": expected running_mean and running_var when use_input_stats is false");
  }
  CheckSameDevice(
      input, {{"running_mean", &running_mean}, {"running_var", &running_var}, {"weight", &weight}, {"bias", &bias}},
      op);
  if (input.numel() == 0) return EmptyResult(input, use_input_stats ? Shape{n, c} : Shape{c});
  const Tensor x = contiguous(input);
  if (!use_input_stats) {  // batch norm in eval mode
    if (!x.device().is_cpu()) {
      cuda::MakeCurrent(x.device().index);
      return BatchNormForwardCuda(x, n, c, s, running_mean, running_var, weight, bias, false, momentum, eps,
                                  /*relu=*/false);
    }
    std::vector<double> mean, invstd;
    Tensor out = NormalizeWithRunningStats(x, n, c, s, running_mean, running_var, weight, bias, eps, &mean, &invstd);
    return {out, from_vector(mean, {c}), from_vector(invstd, {c})};
  }
  const PerSample r = NormalizePerSample(x, {.n = n, .g = c, .k = 1, .s = s, .per_sample = true}, weight, bias, eps,
                                         {n, c});
  if (running_mean.defined()) {
    // The running statistics move towards the batch average of the per-instance statistics.
    const std::vector<double> means = r.mean.to_vector<double>(), unbiased = Unbiased(r.var.to_vector<double>(), s);
    std::vector<double> mean(c, 0.0), var(c, 0.0);
    for (int64_t i = 0; i < n * c; ++i) {
      mean[i % c] += means[i] / n;
      var[i % c] += unbiased[i] / n;
    }
    UpdateRunningAnywhere(running_mean, mean, momentum);
    UpdateRunningAnywhere(running_var, var, momentum);
  }
  return {r.out, r.mean, r.invstd};
}

NormBackwardResult instance_norm_backward(const Tensor& grad_output, const Tensor& input, const Tensor& weight,
                                          const Tensor& save_mean, const Tensor& save_invstd,
                                          bool use_input_stats, NormGradMask mask) {
  CheckInput(input, 2, "instance_norm_backward");
  const NormLayout layout{.n = input.size(0), .g = input.size(1), .k = 1, .s = Spatial(input),
                          .per_sample = use_input_stats};
  return RunBackward(grad_output, input, layout, weight, {input.size(1)}, save_mean, save_invstd, use_input_stats,
                     mask, "instance_norm_backward");
}

NormForwardResult group_norm_forward(const Tensor& input, int64_t num_groups, const Tensor& weight,
                                     const Tensor& bias, double eps) {
  const char* op = "group_norm";
  CheckInput(input, 2, op);
  const NormLayout layout = GroupNormLayout(input, num_groups, op);
  // PyTorch's F.group_norm refuses a single value in total over the batch for each group (N * C / G *
  // spatial size = 1, its _verify_batch_size): GroupNorm(4, 4) on [1, 4] fails, on [2, 4] runs.
  NG_CHECK(layout.n * layout.k * layout.s != 1, op, ": expected more than 1 value per group over the batch ",
           "(N * C / num_groups * spatial size > 1), got input of shape ", ShapeToString(input.shape()),
           " with num_groups ", num_groups);
  CheckOptional(weight, "weight", {input.size(1)}, input.dtype(), op);
  CheckOptional(bias, "bias", {input.size(1)}, input.dtype(), op);
  CheckEps(eps, op);
  CheckSameDevice(input, {{"weight", &weight}, {"bias", &bias}}, op);
  if (input.numel() == 0) return EmptyResult(input, {layout.n, num_groups});
  const PerSample r = NormalizePerSample(contiguous(input), layout, weight, bias, eps, {layout.n, num_groups});
  return {r.out, r.mean, r.invstd};
}

NormBackwardResult group_norm_backward(const Tensor& grad_output, const Tensor& input, int64_t num_groups,
                                       const Tensor& weight, const Tensor& save_mean, const Tensor& save_invstd,
                                       NormGradMask mask) {
  const char* op = "group_norm_backward";
  CheckInput(input, 2, op);
  return RunBackward(grad_output, input, GroupNormLayout(input, num_groups, op), weight, {input.size(1)},
                     save_mean, save_invstd, true, mask, op);
}

NormForwardResult layer_norm_forward(const Tensor& input, const Shape& normalized_shape, const Tensor& weight,
                                     const Tensor& bias, double eps) {
  const char* op = "layer_norm";
  CheckInput(input, 1, op);
  const NormLayout layout = LayerNormLayout(input, normalized_shape, op);
  CheckOptional(weight, "weight", normalized_shape, input.dtype(), op);
  CheckOptional(bias, "bias", normalized_shape, input.dtype(), op);
  CheckEps(eps, op);
  CheckSameDevice(input, {{"weight", &weight}, {"bias", &bias}}, op);
  if (input.numel() == 0) return EmptyResult(input, {layout.n});
  const PerSample r = NormalizePerSample(contiguous(input), layout, weight, bias, eps, {layout.n});
  return {r.out, r.mean, r.invstd};
}

NormBackwardResult layer_norm_backward(const Tensor& grad_output, const Tensor& input,
                                       const Shape& normalized_shape, const Tensor& weight,
                                       const Tensor& save_mean, const Tensor& save_invstd, NormGradMask mask) {
  const char* op = "layer_norm_backward";
  CheckInput(input, 1, op);
  return RunBackward(grad_output, input, LayerNormLayout(input, normalized_shape, op), weight, normalized_shape,
                     save_mean, save_invstd, true, mask, op);
}

}  // namespace normgrad::kernels
