#ifndef NORMGRAD_EXAMPLES_CIFAR10_CONFIG_H_
#define NORMGRAD_EXAMPLES_CIFAR10_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "optim/lr_scheduler.h"

namespace normgrad::cifar10 {

// Everything a CIFAR-10 training run is configured with (train_cifar's flags, one field each; see
// train_cifar.cc for the help texts).
struct TrainConfig {
  // Data: the folder with data_batch_1..5.bin (or cifar-10-batches-bin/ below it, or the official archive,
  // fetched there when absent and `download` is set).
  std::string data_dir = "cifar10_data";
  bool download = true;
  int64_t val_split = 5000;         // training images held out (the last ones) to validate on
  int64_t val_every = 1;            // evaluate after every val_every-th epoch and the last (validation and test)
  int64_t max_train_batches = 0;    // > 0: train on only that many batches per epoch (smoke runs)
  bool augment = true;              // random crops with 4-pixel padding and horizontal flips
  int64_t cutout = 0;               // > 0: also cut out a square of that side (data::LoaderOptions::cutout)
  int64_t cutout_epochs = 0;        // > 0: cut out in the first cutout_epochs epochs only; 0: in all
  bool trivial_augment = false;     // TrivialAugment Wide before the crop (data::LoaderOptions)
  double mixup = 0;                 // > 0: mixup's Beta(mixup, mixup) weights (data::LoaderOptions), mixed targets
  int64_t mixup_epochs = 0;         // > 0: mix in the first mixup_epochs epochs only; 0: in all
  int loader_workers = 2;           // background threads preparing batches

  // Model and optimization.
  std::string model = "resnet20";   // resnet20/32/44/56/110 (He et al. 2016) or resnet18
  int64_t epochs = 30;
  int64_t batch_size = 128;
  double lr = 0.1;                  // the peak learning rate
  std::string schedule = "cosine";  // cosine | multistep | onecycle
  double warmup_epochs = 0;         // linear warm-up from lr / 10 (cosine, multistep); onecycle's rising phase
  std::vector<int64_t> milestones;  // multistep: epochs after which lr *= gamma (empty: 50% and 75% of epochs)
  double gamma = 0.1;
  double momentum = 0.9;
  bool nesterov = true;
  double weight_decay = 5e-4;
  int64_t average_epochs = 0;       // > 0: average the weights at the ends of the last N epochs (optim::AveragedModel)
  double swa_lr = 0;                // > 0: cosine anneals to it by the averaging's start and holds it there (SWA)
  double label_smoothing = 0;       // training targets: 1 - e + e/10 on the label, e/10 elsewhere
  bool norm_weight_decay = false;   // also decay batch norm's weight and bias
  uint64_t seed = 0;

  // Running.
  int threads = 0;                  // kernel threads; 0: every core (on resume: the checkpoint's count)
  bool winograd = true;             // 3 x 3 stride-1 convolutions on the CPU by Winograd (cpu::SetAllowWinograd)
  std::string device = "cpu";                  // cpu, cuda or cuda:<index> (Device::Parse)
  std::string checkpoint_dir = "cifar10_run";  // checkpoints, metrics.jsonl, curves.svg
  bool resume = false;
  bool overwrite = false;           // start a new run in a checkpoint_dir that holds one (deleting its checkpoints)
  bool evaluate_only = false;
  bool flip_tta = false;            // evaluation averages the logits of each image and of its mirror image
  int64_t tta_shift = 0;            // > 0: the final evaluation also averages views shifted that far (tta.h)
  bool tta_diagonals = false;       // with tta_shift: the diagonal shifts too (a 3 x 3 grid of positions)
  int64_t eval_batch_size = 500;
};

// InvalidArgument naming the first bad setting and its value (a model that is not a supported ResNet, a
// schedule that is not one of the three, epochs or batch size < 1, a negative lr, momentum outside [0, 1),
// Nesterov without momentum, milestones (given or the default ones) outside 1..epochs or not increasing,
// warm-up longer than the run, a device that is not cpu, cuda or cuda:<index>, flags that would be ignored:
// milestones without the multistep schedule, cutout_epochs without cutout, mixup_epochs without mixup, ...). Whether
// the device exists is checked by Trainer.
[[nodiscard]] absl::Status Validate(const TrainConfig& config);

// What Validate cannot check before the data is read: that the schedule's phases, in whole steps of
// `steps_per_epoch`, each hold at least one step (a fractional warm-up rounds to steps). InvalidArgument
// naming the flags otherwise.
[[nodiscard]] absl::Status ValidateScheduleSteps(const TrainConfig& config, int64_t steps_per_epoch);

// The depth of a model name: "resnet20" -> 20. Depths 6n + 2 and 18 are accepted (the flag's help lists
// the paper's 20, 32, 44, 56, 110 and 18). InvalidArgument otherwise.
absl::StatusOr<int> ResNetDepth(const std::string& model);

// The learning-rate schedule of `config`, stepped once per batch (steps_per_epoch of them per epoch):
//   cosine:    linear warm-up from lr / 10 over warmup_epochs, then cosine annealing to 0 at the end, or
//              with swa_lr to swa_lr at the start of the last average_epochs, held there to the end;
//   multistep: the same warm-up, then lr * gamma^k after the k-th milestone (He et al.: 0.1 at 50% and 75%);
//   onecycle:  PyTorch's OneCycleLR with max_lr = lr, its rising phase warmup_epochs long (30% of the run
//              when 0), momentum cycled between 0.85 and `momentum`.
// Requires a Validate()d config.
optim::SchedulePtr MakeSchedule(const TrainConfig& config, int64_t steps_per_epoch);

// The settings that shape the training trajectory (everything but where files are, threads and device),
// and flip_tta and val_every, which pick the best epoch, as saved in checkpoints so that --resume can check
// it continues the same run (with the same log).
nlohmann::json TrajectoryJson(const TrainConfig& config);

// The settings of `saved` (a TrajectoryJson) that differ from `config`'s: "epochs: checkpoint 30, now 40".
// A setting the checkpoint predates counts as its default (what runs had before it existed).
// With `keys`, only those settings are compared.
std::vector<std::string> TrajectoryDifferences(const nlohmann::json& saved, const TrainConfig& config,
                                               const std::vector<std::string>& keys = {});

}  // namespace normgrad::cifar10

#endif  // NORMGRAD_EXAMPLES_CIFAR10_CONFIG_H_
