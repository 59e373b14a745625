#ifndef NORMGRAD_EXAMPLES_CIFAR10_TRAINER_H_
#define NORMGRAD_EXAMPLES_CIFAR10_TRAINER_H_

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "data/image_dataset.h"
#include "data/loader.h"
#include "examples/cifar10/config.h"
#include "examples/cifar10/metrics.h"
#include "examples/cifar10/progress.h"
#include "nlohmann/json.hpp"
#include "nn/resnet.h"
#include "optim/averaged_model.h"
#include "optim/lr_scheduler.h"
#include "optim/sgd.h"

namespace normgrad::cifar10 {

// The files a run writes in its checkpoint folder.
inline constexpr const char* kLatestCheckpoint = "latest.safetensors";  // after every epoch, and on Ctrl-C
inline constexpr const char* kBestCheckpoint = "best.safetensors";      // the best validation accuracy so far
inline constexpr const char* kMetricsLog = "metrics.jsonl";             // one JSON object per line
inline constexpr const char* kCurvesChart = "curves.svg";               // loss and accuracy per epoch

// The result of evaluating a model on a data set, in eval mode.
struct Evaluation {
  Tally tally;
  std::vector<ClassAccuracy> classes;
};

// A training batch's loss and its images classified right, from the model's logits: cross-entropy against
// the labels (with label_smoothing, as CrossEntropyOptions). For a batch that mixup blended
// (data::Batch::mix_labels), the losses against each image's two labels and its hits on them, weighted by
// the labels' shares, mix_weight and 1 - mix_weight.
struct BatchLoss {
  Tensor loss;         // the mean over the batch, differentiable
  double correct = 0;  // images whose argmax is their label, each counted by that label's share
};
BatchLoss TrainingLoss(const Tensor& logits, const data::Batch& batch, double label_smoothing);

struct RunResult {
  bool interrupted = false;  // stopped by Ctrl-C, with a checkpoint saved
  int64_t epochs_done = 0;
  int64_t steps = 0;
  std::optional<Evaluation> val, test;  // of the final model (not after an interruption): the average with
                                        // --average_epochs
};

// Trains a CIFAR-10 ResNet as configured: the data (fetched when absent), the model, SGD with the
// schedule stepped every batch, evaluation after every epoch (or every config.val_every-th and the last),
// checkpoints after every epoch, the metrics log and the chart.
//
// With config.average_epochs, an optim::AveragedModel takes the weights at the end of each of the last
// epochs; the final evaluation is the average's, its batch norm statistics taken again first.
//
// Exact resume: a checkpoint holds the model (and the average) (parameters and batch-norm buffers), the optimizer's
// momentum buffers and hyperparameters, the schedule's step, the epoch and step counts, the loader's position and
// shuffle generator, the default generator, and the epoch's running loss and accuracy. Batches are
// augmented from streams derived from (seed, epoch, batch), so a run stopped anywhere (Ctrl-C ends it
// after the current batch) and resumed with the same settings and thread count ends with bit-identical
// parameters to a run that was never stopped.
class Trainer {
 public:
  // Validates `config`, reads the data, builds everything and, with config.resume, restores the latest
  // checkpoint. Progress goes to `out` (a bar when it is a terminal). Errors: Validate's; the data's
  // (see data::FindOrFetchCifar10); a val_split that leaves no training images; a checkpoint that is
  // missing, damaged, or written with other trajectory settings (the message lists the differences);
  // FailedPrecondition when a new run (neither resume nor evaluate_only) would overwrite the checkpoints of
  // an earlier one in checkpoint_dir, unless config.overwrite (which deletes them).
  static absl::StatusOr<std::unique_ptr<Trainer>> Create(const TrainConfig& config, std::FILE* out = stdout);

  // Trains until config.epochs are done or Ctrl-C (see interrupt.h) is pressed, or, with
  // config.evaluate_only, evaluates the best checkpoint (the latest when there is no best; the latest's
  // average with config.average_epochs). Ends by printing per-class accuracies of the validation and test
  // sets. Errors: failing to write a checkpoint or log; FailedPrecondition when the training loss stops
  // being finite (diverged; nothing after the last checkpoint is saved); normgrad::Error raised inside the
  // model is turned into Internal.
  absl::StatusOr<RunResult> Run();

  // Evaluates the model in eval mode (running statistics, no gradient, no buffer touched) on `loader`'s
  // next epoch, and restores the model's previous mode. Each image's logits are the mean over its test-time
  // views (TtaViews): with config().flip_tta its mirror image too, and in the `final` evaluation (the
  // per-class report at the end of a run or of --evaluate_only) also the views shifted by
  // config().tta_shift pixels.
  Evaluation Evaluate(data::DataLoader& loader, bool final = false) { return EvaluateModel(*model_, loader, final); }

  nn::ResNet& model() { return *model_; }
  // The weight average of config().average_epochs; null without it.
  const optim::AveragedModel* averaged() const { return averaged_.get(); }
  const TrainConfig& config() const { return config_; }
  int64_t epoch() const { return epoch_; }
  int64_t step() const { return step_; }

  // Called after every optimizer step with the step count (tests use it to interrupt a run).
  std::function<void(int64_t)> after_step;

 private:
  Trainer(TrainConfig config, std::FILE* out) : config_(std::move(config)), out_(out) {}
  absl::Status Setup();
  absl::StatusOr<RunResult> Train();
  absl::StatusOr<RunResult> EvaluateOnly();
  // One SGD step; returns the batch's loss.
  double TrainStep(const data::Batch& batch);
  // The evaluations still to come, after epoch_ (the epoch in progress's included).
  int64_t EvaluationsLeft() const;
  // FailedPrecondition for a non-finite `which` ("training", "validation", "test") loss in `epoch`.
  absl::Status Diverged(const char* which, double loss, int64_t epoch) const;
  // Evaluates on val and test (after every val_every-th epoch and the last), records the epoch, writes
  // checkpoints, log and chart.
  absl::Status FinishEpoch(double epoch_start_seconds, double train_images_per_second);
  void PrintPerClass(RunResult& result);
  Evaluation EvaluateModel(nn::Module& model, data::DataLoader& loader, bool final);
  // Takes the average's batch norm statistics over the training images, augmented as in the last epoch.
  void RecomputeAverageStatistics();

  // ---- checkpoints (checkpoint.cc)
  [[nodiscard]] absl::Status SaveCheckpoint(const std::string& path) const;
  // Restores everything from `path`. With `model_only`, the model alone (for --evaluate_only).
  [[nodiscard]] absl::Status LoadCheckpoint(const std::string& path, bool model_only);
  // On --resume: says when the device differs from the checkpoint's; on the same CPU device, takes the
  // checkpoint's kernel thread count when --threads was left at 0, and says when a given count or
  // --winograd differs (the run then differs in the last bits).
  void ContinueOnTheRunsMachine(int saved_threads, bool saved_winograd, const std::string& saved_device);
  [[nodiscard]] absl::Status WriteLogAndChart() const;
  std::string PathIn(const char* name) const;
  // A new run's check that checkpoint_dir holds no earlier run's checkpoints (config.overwrite: deletes them).
  [[nodiscard]] absl::Status ClaimCheckpointDir();
  double ElapsedSeconds() const;

  TrainConfig config_;
  std::FILE* out_;
  Device device_ = kCPU;  // where the model trains; batches come from the loader on the CPU

  std::shared_ptr<const data::ImageDataset> train_set_, val_set_, test_set_;  // val, test may be null
  std::unique_ptr<data::DataLoader> train_loader_, val_loader_, test_loader_;
  std::shared_ptr<nn::ResNet> model_;
  std::unique_ptr<optim::SGD> optimizer_;
  std::unique_ptr<optim::LRScheduler> scheduler_;
  std::unique_ptr<optim::AveragedModel> averaged_;  // with config_.average_epochs
  std::unique_ptr<Progress> progress_;

  int64_t epoch_ = 0;  // epochs completed
  int64_t step_ = 0;   // optimizer steps taken
  Tally tally_;        // the epoch in progress
  std::optional<double> best_accuracy_;
  std::vector<nlohmann::json> log_;  // every record of metrics.jsonl
  std::vector<EpochMetrics> history_;
  double elapsed_before_ = 0;        // run time spent before this process (earlier, resumed-from runs)
  double start_seconds_ = 0;         // this process's start, on the steady clock
  double eval_seconds_ = 0;          // the last evaluation's time (0 until the first: the estimate leaves them out)
};

}  // namespace normgrad::cifar10

#endif  // NORMGRAD_EXAMPLES_CIFAR10_TRAINER_H_
