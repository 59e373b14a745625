#include "examples/cifar10/config.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/device.h"
#include "core/error.h"
#include "core/parallel.h"

namespace normgrad::cifar10 {
namespace {

constexpr int64_t kMaxEpochs = 100000, kMaxBatch = int64_t{1} << 20, kMaxBatches = int64_t{1} << 30;

absl::Status Bad(const std::string& flag, const std::string& expected, const std::string& got) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": expected ", expected, ", got ", got));
}

// The limit of augmentation --<name> to the first epochs, --<name>_epochs: in [0, epochs], and only with
// the augmentation on.
absl::Status ValidateFirstEpochs(const std::string& name, int64_t first_epochs, bool on, int64_t epochs) {
  const std::string flag = name + "_epochs";
  if (first_epochs < 0 || first_epochs > epochs) {
    return Bad(flag, absl::StrCat("a number of epochs in [0, ", epochs, "] (0: all)"), absl::StrCat(first_epochs));
  }
  if (first_epochs > 0 && !on) {
    return Bad(flag, absl::StrCat("--", name, " > 0 (it limits ", name, " to the first epochs)"),
               absl::StrCat("--", name, "=0"));
  }
  return absl::OkStatus();
}

int64_t WarmupSteps(const TrainConfig& c, int64_t steps_per_epoch) {
  return std::llround(c.warmup_epochs * static_cast<double>(steps_per_epoch));
}

// The multistep schedule's milestones in epochs: --milestones, or He et al.'s 50% and 75% of the run.
std::vector<int64_t> Milestones(const TrainConfig& c) {
  if (!c.milestones.empty()) return c.milestones;
  return {std::max<int64_t>(1, c.epochs / 2), std::max<int64_t>(1, c.epochs * 3 / 4)};
}

}  // namespace

absl::StatusOr<int> ResNetDepth(const std::string& model) {
  const std::string prefix = "resnet";
  int depth = 0;
  if (model.rfind(prefix, 0) == 0 && model.size() > prefix.size() && model.size() <= prefix.size() + 4 &&
      std::all_of(model.begin() + prefix.size(), model.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    depth = std::stoi(model.substr(prefix.size()));
  }
  if (depth == 18 || (depth >= 8 && (depth - 2) % 6 == 0)) return depth;
  return Bad("model", "resnet20, resnet32, resnet44, resnet56, resnet110 (any resnet<6n+2>) or resnet18",
             absl::StrCat("\"", model, "\""));
}

absl::Status Validate(const TrainConfig& c) {
  NG_RETURN_IF_ERROR(ResNetDepth(c.model).status());
  if (c.schedule != "cosine" && c.schedule != "multistep" && c.schedule != "onecycle") {
    return Bad("schedule", "cosine, multistep or onecycle", absl::StrCat("\"", c.schedule, "\""));
  }
  // Upper bounds keep the step counts (epochs x batches) and image counts (batches x batch size) in int64.
  if (c.epochs < 1 || c.epochs > kMaxEpochs) {
    return Bad("epochs", absl::StrCat("a number of epochs in [1, ", kMaxEpochs, "]"), absl::StrCat(c.epochs));
  }
  if (c.batch_size < 1 || c.batch_size > kMaxBatch) {
    return Bad("batch_size", absl::StrCat("a batch size in [1, ", kMaxBatch, "]"), absl::StrCat(c.batch_size));
  }
  if (c.max_train_batches < 0 || c.max_train_batches > kMaxBatches) {
    return Bad("max_train_batches", absl::StrCat("a number of batches in [0, ", kMaxBatches, "] (0: all)"),
               absl::StrCat(c.max_train_batches));
  }
  if (c.eval_batch_size < 1) return Bad("eval_batch_size", "at least 1", absl::StrCat(c.eval_batch_size));
  if (!(c.lr > 0 && std::isfinite(c.lr))) return Bad("lr", "a positive, finite learning rate", absl::StrCat(c.lr));
  if (!(c.momentum >= 0 && c.momentum < 1)) return Bad("momentum", "a value in [0, 1)", absl::StrCat(c.momentum));
  if (c.nesterov && c.momentum == 0) return Bad("nesterov", "momentum > 0 for Nesterov momentum", "--momentum=0");
  if (!(c.weight_decay >= 0 && std::isfinite(c.weight_decay))) {
    return Bad("weight_decay", "a finite value >= 0", absl::StrCat(c.weight_decay));
  }
  if (!(c.label_smoothing >= 0 && c.label_smoothing < 1)) {
    return Bad("label_smoothing", "a value in [0, 1)", absl::StrCat(c.label_smoothing));
  }
  if (!(c.gamma > 0 && c.gamma <= 1)) return Bad("gamma", "a factor in (0, 1]", absl::StrCat(c.gamma));
  if (!(c.warmup_epochs >= 0 && c.warmup_epochs < c.epochs)) {
    return Bad("warmup_epochs", absl::StrCat("a value in [0, --epochs = ", c.epochs, ")"), absl::StrCat(c.warmup_epochs));
  }
  if (!c.milestones.empty() && c.schedule != "multistep") {
    return Bad("milestones", "--schedule=multistep (the other schedules have none)",
               absl::StrCat(absl::StrJoin(c.milestones, ","), " with --schedule=", c.schedule));
  }
  if (c.schedule == "multistep") {
    const std::vector<int64_t> milestones = Milestones(c);
    for (size_t i = 0; i < milestones.size(); ++i) {
      if (milestones[i] <= c.warmup_epochs || milestones[i] > c.epochs ||
          (i > 0 && milestones[i] <= milestones[i - 1])) {
        return Bad("milestones", absl::StrCat("increasing epochs after the warm-up, up to ", c.epochs),
                   absl::StrCat(absl::StrJoin(milestones, ","),
                                c.milestones.empty() ? " (the default: 50% and 75% of --epochs)" : ""));
      }
    }
  }
  if (c.cutout < 0 || c.cutout > 32) {  // 32 already blanks a whole image wherever its centre falls
    return Bad("cutout", "a side in pixels in [0, 32] (0: none)", absl::StrCat(c.cutout));
  }
  NG_RETURN_IF_ERROR(ValidateFirstEpochs("cutout", c.cutout_epochs, c.cutout > 0, c.epochs));
  if (!(c.mixup >= 0 && std::isfinite(c.mixup))) {
    return Bad("mixup", "a finite Beta parameter >= 0 (0: none)", absl::StrCat(c.mixup));
  }
  NG_RETURN_IF_ERROR(ValidateFirstEpochs("mixup", c.mixup_epochs, c.mixup > 0, c.epochs));
  if (c.average_epochs < 0 || c.average_epochs > c.epochs) {
    return Bad("average_epochs", absl::StrCat("a number of epochs in [0, ", c.epochs, "] (0: none)"),
               absl::StrCat(c.average_epochs));
  }
  if (!(c.swa_lr >= 0 && c.swa_lr <= c.lr)) {
    return Bad("swa_lr", absl::StrCat("a learning rate in [0, --lr = ", c.lr, "] (0: none)"), absl::StrCat(c.swa_lr));
  }
  if (c.swa_lr > 0 && (c.schedule != "cosine" || c.average_epochs == 0 ||
                       c.epochs - c.average_epochs <= c.warmup_epochs)) {
    return Bad("swa_lr", "--schedule=cosine and --average_epochs that leave epochs after the warm-up to anneal in",
               absl::StrCat("--schedule=", c.schedule, " --average_epochs=", c.average_epochs, " of --epochs=",
                            c.epochs, " --warmup_epochs=", c.warmup_epochs));
  }
  if (c.tta_shift < 0 || c.tta_shift > 31) {
    return Bad("tta_shift", "a shift in pixels in [0, 31] (0: none)", absl::StrCat(c.tta_shift));
  }
  if (c.tta_diagonals && c.tta_shift == 0) {
    return Bad("tta_diagonals", "--tta_shift > 0 (the shifts it adds to)", "--tta_shift=0");
  }
  if (c.val_split < 0) return Bad("val_split", "a number of images >= 0", absl::StrCat(c.val_split));
  if (c.val_every < 1 || c.val_every > c.epochs) {
    return Bad("val_every", absl::StrCat("a number of epochs in [1, --epochs = ", c.epochs, "]"),
               absl::StrCat(c.val_every));
  }
  if (c.loader_workers < 0 || c.loader_workers > 64) {
    return Bad("loader_workers", "a count in [0, 64]", absl::StrCat(c.loader_workers));
  }
  if (c.threads < 0 || c.threads > kMaxThreads) {
    return Bad("threads", absl::StrCat("a count in [0, ", kMaxThreads, "] (0: every core)"), absl::StrCat(c.threads));
  }
  if (!Device::Parse(c.device)) return Bad("device", "cpu, cuda or cuda:<index>", absl::StrCat("\"", c.device, "\""));
  if (c.checkpoint_dir.empty()) return Bad("checkpoint_dir", "a folder", "\"\"");
  if (c.resume && c.evaluate_only) return Bad("evaluate_only", "not together with --resume", "both");
  if (c.overwrite && (c.resume || c.evaluate_only)) {
    return Bad("overwrite", "not together with --resume or --evaluate_only",
               c.resume ? "--resume" : "--evaluate_only");
  }
  return absl::OkStatus();
}

absl::Status ValidateScheduleSteps(const TrainConfig& c, int64_t steps_per_epoch) {
  const int64_t total = c.epochs * steps_per_epoch, warmup = WarmupSteps(c, steps_per_epoch);
  const std::string steps = absl::StrCat(steps_per_epoch, " steps an epoch, ", total, " in all, ", warmup,
                                         " of warm-up");
  if (c.schedule == "onecycle") {
    // OneCycleLR's rising phase (pct_start of the steps) must last more than one step and end before the end.
    const double rise = warmup > 0 ? static_cast<double>(warmup) : 0.3 * static_cast<double>(total);
    if (!(rise > 1 && rise < static_cast<double>(total))) {
      return Bad(warmup > 0 ? "warmup_epochs" : "epochs", "a run long enough for both one-cycle phases",
                 absl::StrCat("--epochs=", c.epochs, " --warmup_epochs=", c.warmup_epochs, " (", steps, ")"));
    }
    return absl::OkStatus();
  }
  // The step where the phase after the warm-up ends: the run's end, the averaging's start (swa_lr) or the
  // first milestone.
  int64_t end = total;
  if (c.schedule == "cosine" && c.swa_lr > 0) end = (c.epochs - c.average_epochs) * steps_per_epoch;
  if (c.schedule == "multistep") end = Milestones(c).front() * steps_per_epoch;
  if (end - warmup < 1) {
    return Bad("warmup_epochs", "a warm-up that leaves at least one step before the schedule's next phase",
               absl::StrCat(c.warmup_epochs, " (", steps, ")"));
  }
  return absl::OkStatus();
}

optim::SchedulePtr MakeSchedule(const TrainConfig& c, int64_t steps_per_epoch) {
  const int64_t total = c.epochs * steps_per_epoch;
  const int64_t warmup = WarmupSteps(c, steps_per_epoch);
  if (c.schedule == "onecycle") {
    const double pct = warmup > 0 ? static_cast<double>(warmup) / static_cast<double>(total) : 0.3;
    return optim::OneCycleLR({.max_lr = c.lr, .total_steps = total, .pct_start = pct,
                              .cycle_momentum = c.momentum > 0, .base_momentum = std::min(0.85, c.momentum),
                              .max_momentum = c.momentum});
  }
  optim::SchedulePtr after;
  if (c.schedule == "cosine" && c.swa_lr > 0) {
    // Down to swa_lr where the averaging starts, then swa_lr (LinearLR scales the initial lr, which is c.lr).
    const int64_t anneal = (c.epochs - c.average_epochs) * steps_per_epoch - warmup;
    after = optim::Sequential({optim::CosineAnnealingLR(anneal, c.swa_lr),
                               optim::LinearLR(c.swa_lr / c.lr, c.swa_lr / c.lr, 1)},
                              {anneal});
  } else if (c.schedule == "cosine") {
    after = optim::CosineAnnealingLR(total - warmup);
  } else {
    std::vector<int64_t> steps;
    for (int64_t e : Milestones(c)) steps.push_back(e * steps_per_epoch - warmup);  // counted from the warm-up's end
    after = optim::MultiStepLR(steps, c.gamma);
  }
  return warmup > 0 ? optim::Warmup(warmup, after, 0.1) : after;
}

nlohmann::json TrajectoryJson(const TrainConfig& c) {
  return {{"model", c.model},
          {"epochs", c.epochs},
          {"batch_size", c.batch_size},
          {"lr", c.lr},
          {"schedule", c.schedule},
          {"warmup_epochs", c.warmup_epochs},
          {"milestones", c.milestones},
          {"gamma", c.gamma},
          {"momentum", c.momentum},
          {"nesterov", c.nesterov},
          {"weight_decay", c.weight_decay},
          {"norm_weight_decay", c.norm_weight_decay},
          {"label_smoothing", c.label_smoothing},
          {"seed", c.seed},
          {"val_split", c.val_split},
          {"max_train_batches", c.max_train_batches},
          {"augment", c.augment},
          {"cutout", c.cutout},
          {"cutout_epochs", c.cutout_epochs},
          {"trivial_augment", c.trivial_augment},
          {"mixup", c.mixup},
          {"mixup_epochs", c.mixup_epochs},
          {"swa_lr", c.swa_lr},
          // With swa_lr the averaging's start shapes the schedule; otherwise averaging leaves training alone.
          {"swa_epochs", c.swa_lr > 0 ? c.average_epochs : 0},
          // Not training: which epoch is the best, judged by validation with or without the flip, and
          // which epochs are judged.
          {"flip_tta", c.flip_tta},
          {"val_every", c.val_every}};
}

std::vector<std::string> TrajectoryDifferences(const nlohmann::json& saved, const TrainConfig& config,
                                               const std::vector<std::string>& keys) {
  std::vector<std::string> out;
  const nlohmann::json now = TrajectoryJson(config), defaults = TrajectoryJson(TrainConfig());
  for (const auto& [key, value] : now.items()) {
    if (!keys.empty() && std::find(keys.begin(), keys.end(), key) == keys.end()) continue;
    const auto it = saved.find(key);
    const nlohmann::json& before = it != saved.end() ? *it : defaults.at(key);
    if (before != value) out.push_back(absl::StrCat(key, ": checkpoint ", before.dump(), ", now ", value.dump()));
  }
  return out;
}

}  // namespace normgrad::cifar10
