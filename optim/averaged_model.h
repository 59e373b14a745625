#ifndef NORMGRAD_OPTIM_AVERAGED_MODEL_H_
#define NORMGRAD_OPTIM_AVERAGED_MODEL_H_

#include <cstdint>
#include <memory>
#include <optional>

#include "absl/status/status.h"
#include "core/state_dict.h"
#include "nn/module.h"

namespace normgrad::optim {

struct AveragedModelOptions {
  // nullopt: every update weighs the same, so the average is the mean of all the models folded in
  // (stochastic weight averaging, Izmailov et al. 2018; PyTorch's default avg_fn:
  // average + (current - average) / (n + 1)). A decay d in [0, 1): an exponential moving average,
  // d * average + (1 - d) * current (PyTorch's get_ema_avg_fn).
  std::optional<double> decay;
  // Average the floating-point buffers as well (batch norm's running statistics; PyTorch's
  // use_buffers=True). Otherwise each update copies them from the model, and
  // nn::RecomputeBatchNormStatistics takes statistics that fit the averaged weights. Integer buffers
  // (num_batches_tracked) are copied either way.
  bool average_buffers = false;
};

// A running average of a model's weights (PyTorch's torch.optim.swa_utils.AveragedModel), kept in a deep
// copy of the model that evaluates like any module:
//
//   optim::AveragedModel swa(model);
//   for (epoch ...) { train(*model); if (epoch >= start) swa.update(*model); }
//   nn::RecomputeBatchNormStatistics(*swa.module(), next_input);   // statistics for the averaged weights
//   evaluate(*swa.module());
//
// The averaging runs without recording gradients, on the devices the copy's tensors are on (the model's
// when the average was made; module()->to() moves it).
class AveragedModel {
 public:
  // Copies `model` (nn::Clone) to hold the average; nothing is averaged until the first update().
  // Throws normgrad::Error for a null model or a decay outside [0, 1).
  explicit AveragedModel(const std::shared_ptr<const nn::Module>& model, AveragedModelOptions options = {});

  // Folds the model's current parameters (and buffers) into the average; the first update copies them.
  // Throws normgrad::Error, changing nothing, when the model's parameters or buffers differ in names or
  // shapes from the averaged copy's.
  void update(const nn::Module& model);

  // The module holding the average (in the mode the model was in when copied; set train()/eval() on it).
  const std::shared_ptr<nn::Module>& module() const { return module_; }
  // How many updates the average holds.
  int64_t num_averaged() const { return num_averaged_; }
  const AveragedModelOptions& options() const { return options_; }

  // PyTorch's keys: "n_averaged" (an int64 scalar) and the module's state dict under "module.".
  StateDict state_dict() const;
  // Restores a state_dict(). Checks everything first: a missing, unexpected or mis-shaped key, or a negative
  // n_averaged, gives InvalidArgument naming it and changes nothing.
  [[nodiscard]] absl::Status load_state_dict(const StateDict& state);

 private:
  AveragedModelOptions options_;
  std::shared_ptr<nn::Module> module_;
  int64_t num_averaged_ = 0;
};

}  // namespace normgrad::optim

#endif  // NORMGRAD_OPTIM_AVERAGED_MODEL_H_
