#ifndef NORMGRAD_NN_NORMALIZATION_H_
#define NORMGRAD_NN_NORMALIZATION_H_

// Normalization layers with PyTorch's options, parameters and buffers (names included, so that state
// dicts line up): BatchNorm1d/2d/3d, InstanceNorm1d/2d/3d, LayerNorm, GroupNorm. Each calls the function
// of the same family in nn/functional/normalization.h; the conventions (biased variance to normalize,
// unbiased in the running update, momentum as the weight of the new batch) are written down there and in
// docs/batch_norm.md.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "nn/module.h"

namespace normgrad::nn {

// ---- batch norm: y = (x - mean) / sqrt(var + eps) * weight + bias per channel (dim 1), with the
// statistics over every other dim.

struct BatchNormOptions {
  int64_t num_features = 0;  // C
  double eps = 1e-5;
  // The weight of the current batch in the running statistics: running = (1 - m) * running + m * batch.
  // nullopt: a cumulative average, m = 1 / num_batches_tracked (counted after this batch).
  std::optional<double> momentum = 0.1;
  bool affine = true;               // learnable weight (ones) and bias (zeros) of shape [C]
  bool track_running_stats = true;  // buffers running_mean (zeros), running_var (ones) of shape [C] and
                                    // num_batches_tracked (int64 scalar, 0)
};

// What BatchNorm1d/2d/3d share; they differ only in the input ranks they accept.
//
// forward(x), x of shape [N, C, *]:
// - training with running statistics: normalizes with the batch's statistics and updates
//   running_mean, running_var (with the unbiased batch variance) and num_batches_tracked in place;
// - eval with running statistics: normalizes with running_mean and running_var and changes no buffer;
// - without running statistics (track_running_stats = false): batch statistics in both modes.
// Errors (normgrad::Error): an input rank the layer does not take ("BatchNorm2d: expected 4D input, got
// 3D input of shape [2, 3, 4]"), dim 1 not of size C (unless the layer has neither affine nor running
// statistics: then any C, as in PyTorch), and those of functional::batch_norm (one value per channel in
// training). A failed call leaves every buffer as it was.
// load_state_dict accepts a state dict without num_batches_tracked (PyTorch's checkpoints from before the
// buffer existed) and sets the count to 0, as PyTorch does; any other missing key is still missing.
class BatchNormBase : public Module, public NormalizationLayer {
 public:
  Tensor forward(const Tensor& input) override;
  // relu(forward(input)) as one op (functional::batch_norm_relu): the same values, gradients and buffer
  // updates, fewer passes over memory.
  Tensor forward_relu(const Tensor& input);
  // relu(forward(input) + residual) as one op (functional::batch_norm_add_relu, the end of a residual
  // block): the same values, gradients and buffer updates as add_relu after forward.
  Tensor forward_add_relu(const Tensor& input, const Tensor& residual);
  std::string extra_repr() const override;
  const BatchNormOptions& options() const { return options_; }
  // running_mean = 0, running_var = 1, num_batches_tracked = 0.
  void reset_running_stats();
  // The momentum of later training calls (nullopt: a cumulative average). Throws, changing nothing, for
  // a momentum outside [0, 1].
  void set_momentum(std::optional<double> momentum);

 protected:
  // Throws for num_features < 1 or a momentum outside [0, 1].
  BatchNormBase(std::string type_name, const BatchNormOptions& options, int64_t min_rank, int64_t max_rank);

 private:
  // forward, forward_relu with relu, forward_add_relu with a residual too.
  Tensor Normalize(const Tensor& input, bool relu, const Tensor& residual);
  void CheckMomentum(std::optional<double> momentum) const;
  Tensor ValueForMissingKey(std::string_view name) const override;

  BatchNormOptions options_;
  int64_t min_rank_, max_rank_;
};

// Recomputes the running statistics of every batch norm layer in `model` (those that track them) from
// the inputs `next_input` yields until it returns nullopt, as PyTorch's torch.optim.swa_utils.update_bn
// does: each layer's statistics are reset and become the cumulative average over the batches of each
// batch's mean and unbiased variance, num_batches_tracked their count. The model runs in training mode
// without recording gradients; each layer's momentum and the model's mode are restored afterwards. A layer
// that model.train() leaves in eval mode (a Module::train override that freezes it) keeps its statistics.
//
// Why: running statistics are an exponential average over the last training batches, taken while the
// weights moved and on inputs augmented for training. After averaging weights, or when training inputs
// differed from what the model will be evaluated on (cutout covers a quarter of an image with the mean),
// statistics taken again on the right inputs with the final weights describe the activations better.
//
// Returns the number of batches. A model without such layers is not run (0); when next_input yields no
// batch, the statistics stay as they were. When next_input or the model
// throws, every layer's buffers and momentum are put back as they were before the call, and the exception
// propagates.
int64_t RecomputeBatchNormStatistics(Module& model, const std::function<std::optional<Tensor>()>& next_input);

// Input [N, C] or [N, C, L].
class BatchNorm1d : public Cloneable<BatchNorm1d, BatchNormBase> {
 public:
  explicit BatchNorm1d(const BatchNormOptions& options) : Cloneable("BatchNorm1d", options, 2, 3) {}
  explicit BatchNorm1d(int64_t num_features) : BatchNorm1d(BatchNormOptions{.num_features = num_features}) {}
};

// Input [N, C, H, W].
class BatchNorm2d : public Cloneable<BatchNorm2d, BatchNormBase> {
 public:
  explicit BatchNorm2d(const BatchNormOptions& options) : Cloneable("BatchNorm2d", options, 4, 4) {}
  explicit BatchNorm2d(int64_t num_features) : BatchNorm2d(BatchNormOptions{.num_features = num_features}) {}
};

// Input [N, C, D, H, W].
class BatchNorm3d : public Cloneable<BatchNorm3d, BatchNormBase> {
 public:
  explicit BatchNorm3d(const BatchNormOptions& options) : Cloneable("BatchNorm3d", options, 5, 5) {}
  explicit BatchNorm3d(int64_t num_features) : BatchNorm3d(BatchNormOptions{.num_features = num_features}) {}
};

// ---- instance norm: each sample's channels normalized over their own spatial dims.

struct InstanceNormOptions {
  int64_t num_features = 0;  // C
  double eps = 1e-5;
  double momentum = 0.1;
  bool affine = false;               // weight and bias of shape [C], as in BatchNormOptions
  bool track_running_stats = false;  // running_mean, running_var, num_batches_tracked, as in BatchNorm
};

// What InstanceNorm1d/2d/3d share. forward(x) takes x batched, [N, C, *spatial], or unbatched, [C, *spatial]
// (returned unbatched). With track_running_stats, training updates the running statistics (averaged over
// the batch) and eval normalizes with them; num_batches_tracked is kept for PyTorch's keys and, as in
// PyTorch, never counted (and, as in batch norm, set to 0 when a loaded state dict lacks it). Errors:
// another rank; dim C not of size num_features when the layer has per-channel tensors (affine or running
// statistics).
class InstanceNormBase : public Module, public NormalizationLayer {
 public:
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  const InstanceNormOptions& options() const { return options_; }

 protected:
  InstanceNormBase(std::string type_name, const InstanceNormOptions& options, int64_t spatial_dims);

 private:
  Tensor ValueForMissingKey(std::string_view name) const override;

  InstanceNormOptions options_;
  int64_t spatial_dims_;
};

// Input [N, C, L] or [C, L].
class InstanceNorm1d : public Cloneable<InstanceNorm1d, InstanceNormBase> {
 public:
  explicit InstanceNorm1d(const InstanceNormOptions& options) : Cloneable("InstanceNorm1d", options, 1) {}
  explicit InstanceNorm1d(int64_t num_features) : InstanceNorm1d(InstanceNormOptions{.num_features = num_features}) {}
};

// Input [N, C, H, W] or [C, H, W].
class InstanceNorm2d : public Cloneable<InstanceNorm2d, InstanceNormBase> {
 public:
  explicit InstanceNorm2d(const InstanceNormOptions& options) : Cloneable("InstanceNorm2d", options, 2) {}
  explicit InstanceNorm2d(int64_t num_features) : InstanceNorm2d(InstanceNormOptions{.num_features = num_features}) {}
};

// Input [N, C, D, H, W] or [C, D, H, W].
class InstanceNorm3d : public Cloneable<InstanceNorm3d, InstanceNormBase> {
 public:
  explicit InstanceNorm3d(const InstanceNormOptions& options) : Cloneable("InstanceNorm3d", options, 3) {}
  explicit InstanceNorm3d(int64_t num_features) : InstanceNorm3d(InstanceNormOptions{.num_features = num_features}) {}
};

// ---- layer norm: each sample normalized over its last dims, those of normalized_shape.

struct LayerNormOptions {
  Shape normalized_shape;
  double eps = 1e-5;
  bool elementwise_affine = true;  // weight (ones) and bias (zeros) of shape normalized_shape
  bool bias = true;                // with elementwise_affine: false leaves the bias out (PyTorch's bias=False)
};

// forward(x): x's trailing dims must equal normalized_shape (functional::layer_norm's errors).
class LayerNorm : public Cloneable<LayerNorm>, public NormalizationLayer {
 public:
  // Throws for an empty normalized_shape or a size < 1.
  explicit LayerNorm(const LayerNormOptions& options);
  explicit LayerNorm(const Shape& normalized_shape) : LayerNorm(LayerNormOptions{.normalized_shape = normalized_shape}) {}
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  const LayerNormOptions& options() const { return options_; }

 private:
  LayerNormOptions options_;
};

// ---- RMS norm: each sample scaled by the root mean square of its trailing normalized_shape dims
// (functional::rms_norm), with an elementwise weight; no centering, no bias.

struct RMSNormOptions {
  Shape normalized_shape;
  std::optional<double> eps;       // left out: the input dtype's machine epsilon, as PyTorch's eps=None
  bool elementwise_affine = true;  // weight (ones) of shape normalized_shape
};

// forward(x): x's trailing dims must equal normalized_shape (functional::rms_norm's errors).
class RMSNorm : public Cloneable<RMSNorm>, public NormalizationLayer {
 public:
  // Throws for an empty normalized_shape, a size < 1, or eps < 0.
  explicit RMSNorm(const RMSNormOptions& options);
  explicit RMSNorm(const Shape& normalized_shape) : RMSNorm(RMSNormOptions{.normalized_shape = normalized_shape}) {}
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  const RMSNormOptions& options() const { return options_; }

 private:
  RMSNormOptions options_;
};

// ---- group norm: each sample's channels split into num_groups groups, each normalized over its channels
// and spatial dims; the affine part is per channel.

struct GroupNormOptions {
  int64_t num_groups = 0;
  int64_t num_channels = 0;
  double eps = 1e-5;
  bool affine = true;  // weight (ones) and bias (zeros) of shape [num_channels]
};

// forward(x), x of shape [N, C, *] with C = num_channels when affine; without affine, as in PyTorch, any C
// that num_groups divides. Errors: those of functional::group_norm (C not divisible by num_groups, a single
// value per group over the batch), and a channel count other than num_channels when affine.
class GroupNorm : public Cloneable<GroupNorm>, public NormalizationLayer {
 public:
  // Throws unless num_groups >= 1 divides num_channels.
  explicit GroupNorm(const GroupNormOptions& options);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  const GroupNormOptions& options() const { return options_; }

 private:
  GroupNormOptions options_;
};

}  // namespace normgrad::nn

#endif  // NORMGRAD_NN_NORMALIZATION_H_
