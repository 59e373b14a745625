#include "nn/normalization.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "core/kernels/copy.h"
#include "nn/functional/normalization.h"

namespace normgrad::nn {

namespace F = functional;

namespace {

const char* Bool(bool b) { return b ? "true" : "false"; }

// Per-channel weight (ones) and bias (zeros), and running statistics, as PyTorch's _NormBase registers them.
void RegisterAffineAndStats(Module& m, int64_t channels, bool affine, bool track_running_stats) {
  if (affine) {
    m.register_parameter("weight", ones({channels}));
    m.register_parameter("bias", zeros({channels}));
  }
  if (track_running_stats) {
    m.register_buffer("running_mean", zeros({channels}));
    m.register_buffer("running_var", ones({channels}));
    m.register_buffer("num_batches_tracked", zeros({}, {.dtype = kInt64}));
  }
}

// PyTorch's _NormBase._load_from_state_dict: state dicts saved before num_batches_tracked existed load
// with a count of 0. Every other entry must be there.
Tensor NormBaseValueForMissingKey(std::string_view name) {
  return name == "num_batches_tracked" ? zeros({}, {.dtype = kInt64}) : Tensor();
}

}  // namespace

// ---- BatchNorm

BatchNormBase::BatchNormBase(std::string type_name, const BatchNormOptions& options, int64_t min_rank,
                             int64_t max_rank)
    : Module(std::move(type_name)), options_(options), min_rank_(min_rank), max_rank_(max_rank) {
  NG_CHECK(options.num_features >= 1, this->type_name(), ": expected num_features >= 1, got ", options.num_features);
  CheckMomentum(options.momentum);
  RegisterAffineAndStats(*this, options.num_features, options.affine, options.track_running_stats);
}

void BatchNormBase::reset_running_stats() {
  if (!options_.track_running_stats) return;
  buffer("running_mean").zero_();
  buffer("running_var").fill_(1.0);
  buffer("num_batches_tracked").zero_();
}

Tensor BatchNormBase::ValueForMissingKey(std::string_view name) const { return NormBaseValueForMissingKey(name); }

void BatchNormBase::set_momentum(std::optional<double> momentum) {
  CheckMomentum(momentum);
  options_.momentum = momentum;
}

void BatchNormBase::CheckMomentum(std::optional<double> momentum) const {
  NG_CHECK(!momentum || (*momentum >= 0 && *momentum <= 1), type_name(),
           ": expected momentum in [0, 1] or none (cumulative average), got ", momentum.value_or(0));
}

Tensor BatchNormBase::forward(const Tensor& input) { return Normalize(input, /*relu=*/false, {}); }

Tensor BatchNormBase::forward_relu(const Tensor& input) { return Normalize(input, /*relu=*/true, {}); }

Tensor BatchNormBase::forward_add_relu(const Tensor& input, const Tensor& residual) {
  NG_CHECK(residual.defined(), type_name(), ": expected a residual tensor, got an undefined one");
  return Normalize(input, /*relu=*/true, residual);
}

Tensor BatchNormBase::Normalize(const Tensor& input, bool relu, const Tensor& residual) {
  NG_CHECK(input.dim() >= min_rank_ && input.dim() <= max_rank_, type_name(), ": expected ",
           min_rank_ == max_rank_ ? absl::StrCat(min_rank_, "D") : absl::StrCat(min_rank_, "D or ", max_rank_, "D"),
           " input, got ", input.dim(), "D input of shape ", ShapeToString(input.shape()));
  // Without per-channel tensors (no affine, no running statistics) any channel count works, as in PyTorch.
  NG_CHECK(input.size(1) == options_.num_features || (!options_.affine && !options_.track_running_stats),
           type_name(), ": expected ", options_.num_features, " channels in dim 1, got input of shape ",
           ShapeToString(input.shape()));
  const bool update_stats = is_training() && options_.track_running_stats;
  const Tensor tracked = buffer("num_batches_tracked");
  double momentum = options_.momentum.value_or(0.0);
  if (update_stats && !options_.momentum) momentum = 1.0 / static_cast<double>(tracked.item<int64_t>() + 1);
  // Batch statistics in training, and in eval too when there are no running ones (PyTorch's rule).
  const bool use_batch_stats = is_training() || !options_.track_running_stats;
  const Tensor rm = buffer("running_mean"), rv = buffer("running_var"), w = parameter("weight"), b = parameter("bias");
  Tensor out = residual.defined()
                   ? F::batch_norm_add_relu(input, residual, rm, rv, w, b, use_batch_stats, momentum, options_.eps)
               : relu ? F::batch_norm_relu(input, rm, rv, w, b, use_batch_stats, momentum, options_.eps)
                      : F::batch_norm(input, rm, rv, w, b, use_batch_stats, momentum, options_.eps);
  // Counted once the batch went through, so that a rejected input leaves the count as it was.
  if (update_stats) tracked.add_(1.0);
  return out;
}

std::string BatchNormBase::extra_repr() const {
  return absl::StrCat(options_.num_features, ", eps=", options_.eps, ", momentum=",
                      options_.momentum ? absl::StrCat(*options_.momentum) : "none", ", affine=", Bool(options_.affine),
                      ", track_running_stats=", Bool(options_.track_running_stats));
}

int64_t RecomputeBatchNormStatistics(Module& model, const std::function<std::optional<Tensor>()>& next_input) {
  // The layers to recompute, with what to put back: their momentum always, their buffers on failure.
  struct Saved {
    BatchNormBase* layer;
    std::optional<double> momentum;
    std::vector<std::pair<Tensor, Tensor>> buffers;  // (buffer, its value before the call)
  };
  std::vector<Saved> saved;
  const bool was_training = model.is_training();
  // Training mode first: a module whose train() override keeps some layers in eval mode (frozen ones)
  // keeps their statistics too.
  model.train();
  for (const std::shared_ptr<Module>& m : model.modules()) {
    auto* bn = dynamic_cast<BatchNormBase*>(m.get());
    if (bn == nullptr || !bn->options().track_running_stats || !bn->is_training()) continue;
    Saved s{bn, bn->options().momentum, {}};
    for (const Tensor& b : bn->buffers(/*recurse=*/false)) s.buffers.emplace_back(b, kernels::clone(b));
    saved.push_back(std::move(s));
  }
  if (saved.empty()) {
    model.train(was_training);
    return 0;
  }

  const auto restore_buffers = [&] {
    for (const Saved& s : saved) {
      for (const auto& [buffer, before] : s.buffers) buffer.copy_(before);
    }
  };
  const auto restore_settings = [&] {
    for (const Saved& s : saved) s.layer->set_momentum(s.momentum);
    model.train(was_training);
  };
  for (const Saved& s : saved) {
    s.layer->reset_running_stats();
    s.layer->set_momentum(std::nullopt);
  }
  int64_t batches = 0;
  try {
    NoGradGuard no_grad;
    while (std::optional<Tensor> input = next_input()) {
      model.forward(*input);
      ++batches;
    }
  } catch (...) {
    restore_buffers();
    restore_settings();
    throw;
  }
  if (batches == 0) restore_buffers();  // nothing to take statistics from: keep the old ones
  restore_settings();
  return batches;
}

// ---- InstanceNorm

InstanceNormBase::InstanceNormBase(std::string type_name, const InstanceNormOptions& options, int64_t spatial_dims)
    : Module(std::move(type_name)), options_(options), spatial_dims_(spatial_dims) {
  NG_CHECK(options.num_features >= 1, this->type_name(), ": expected num_features >= 1, got ", options.num_features);
  RegisterAffineAndStats(*this, options.num_features, options.affine, options.track_running_stats);
}

Tensor InstanceNormBase::ValueForMissingKey(std::string_view name) const {
  return NormBaseValueForMissingKey(name);
}

Tensor InstanceNormBase::forward(const Tensor& input) {
  const int64_t batched_rank = spatial_dims_ + 2;
  NG_CHECK(input.dim() == batched_rank || input.dim() == batched_rank - 1, type_name(), ": expected ",
           batched_rank - 1, "D (unbatched) or ", batched_rank, "D (batched) input, got ", input.dim(),
           "D input of shape ", ShapeToString(input.shape()));
  const bool batched = input.dim() == batched_rank;
  const int64_t channels = input.size(batched ? 1 : 0);
  NG_CHECK(channels == options_.num_features || (!options_.affine && !options_.track_running_stats), type_name(),
           ": expected ", options_.num_features, " channels in dim ", batched ? 1 : 0, ", got input of shape ",
           ShapeToString(input.shape()));
  const Tensor x = batched ? input : unsqueeze(input, 0);
  Tensor out = F::instance_norm(x, buffer("running_mean"), buffer("running_var"), parameter("weight"),
                                parameter("bias"), /*use_input_stats=*/is_training() || !options_.track_running_stats,
                                options_.momentum, options_.eps);
  return batched ? out : squeeze(out, 0);
}

std::string InstanceNormBase::extra_repr() const {
  return absl::StrCat(options_.num_features, ", eps=", options_.eps, ", momentum=", options_.momentum,
                      ", affine=", Bool(options_.affine), ", track_running_stats=", Bool(options_.track_running_stats));
}

// ---- LayerNorm

namespace {

void CheckNormalizedShape(const char* module, const Shape& normalized_shape) {
  NG_CHECK(!normalized_shape.empty(), module, ": expected a non-empty normalized_shape");
  for (const int64_t size : normalized_shape) {
    NG_CHECK(size >= 1, module, ": expected sizes >= 1 in normalized_shape, got ", ShapeToString(normalized_shape));
  }
}

}  // namespace

LayerNorm::LayerNorm(const LayerNormOptions& options) : Cloneable("LayerNorm"), options_(options) {
  CheckNormalizedShape("LayerNorm", options.normalized_shape);
  if (options.elementwise_affine) {
    register_parameter("weight", ones(options.normalized_shape));
    if (options.bias) register_parameter("bias", zeros(options.normalized_shape));
  }
}

Tensor LayerNorm::forward(const Tensor& input) {
  return F::layer_norm(input, options_.normalized_shape, parameter("weight"), parameter("bias"), options_.eps);
}

std::string LayerNorm::extra_repr() const {
  return absl::StrCat(ShapeToString(options_.normalized_shape), ", eps=", options_.eps,
                      ", elementwise_affine=", Bool(options_.elementwise_affine));
}

// ---- RMSNorm

RMSNorm::RMSNorm(const RMSNormOptions& options) : Cloneable("RMSNorm"), options_(options) {
  CheckNormalizedShape("RMSNorm", options.normalized_shape);
  NG_CHECK(!options.eps || *options.eps >= 0, "RMSNorm: expected eps >= 0, got ", options.eps.value_or(0));
  if (options.elementwise_affine) register_parameter("weight", ones(options.normalized_shape));
}

Tensor RMSNorm::forward(const Tensor& input) {
  return F::rms_norm(input, options_.normalized_shape, parameter("weight"), options_.eps);
}

std::string RMSNorm::extra_repr() const {
  return absl::StrCat(ShapeToString(options_.normalized_shape), ", eps=",
                      options_.eps ? absl::StrCat(*options_.eps) : "none", ", elementwise_affine=",
                      Bool(options_.elementwise_affine));
}

// ---- GroupNorm

GroupNorm::GroupNorm(const GroupNormOptions& options) : Cloneable("GroupNorm"), options_(options) {
  NG_CHECK(options.num_groups >= 1 && options.num_channels >= 1 && options.num_channels % options.num_groups == 0,
           "GroupNorm: expected num_groups >= 1 dividing num_channels, got num_groups ", options.num_groups,
           " and num_channels ", options.num_channels);
  if (options.affine) {
    register_parameter("weight", ones({options.num_channels}));
    register_parameter("bias", zeros({options.num_channels}));
  }
}

Tensor GroupNorm::forward(const Tensor& input) {
  // As PyTorch: only the per-channel weight and bias tie the layer to num_channels. Without them, any
  // channel count that num_groups divides is normalized (functional::group_norm checks that).
  NG_CHECK(!options_.affine || (input.dim() >= 2 && input.size(1) == options_.num_channels),
           "GroupNorm: expected input [N, ", options_.num_channels, ", *], got shape ", ShapeToString(input.shape()));
  return F::group_norm(input, options_.num_groups, parameter("weight"), parameter("bias"), options_.eps);
}

std::string GroupNorm::extra_repr() const {
  return absl::StrCat(options_.num_groups, ", ", options_.num_channels, ", eps=", options_.eps,
                      ", affine=", Bool(options_.affine));
}

}  // namespace normgrad::nn
