// Trainer's checkpoints: one safetensors file (nn/safetensors.h) per checkpoint, holding
//   tensors   "model.*"      the model's state_dict (parameters, batch-norm running statistics and counts)
//             "optimizer.*"  SGD's state_dict (momentum buffers, each group's hyperparameters)
//             "scheduler.*"  the schedule's step
//             "averaged.*"   with --average_epochs, the weight average (optim::AveragedModel's state_dict)
//   metadata  "train.config"             the trajectory settings (TrajectoryJson), checked on --resume
//             "train.state"              {"epoch", "step", "tally": {loss_sum, correct (fractional with
//                                         mixup), images},
//                                         "best_accuracy", "elapsed_seconds", "threads", "winograd",
//                                         "device"}
//             "train.loader"             the training loader's position and shuffle generator
//             "train.default_generator"  the default generator's state
//             "train.log"                every metrics.jsonl record so far (JSON Lines)
// Written atomically (WriteSafetensors), so an interrupted write leaves the previous checkpoint intact.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/cpu/conv.h"
#include "core/error.h"
#include "core/file_io.h"
#include "core/parallel.h"
#include "core/random.h"
#include "core/state_dict.h"
#include "examples/cifar10/trainer.h"
#include "nn/safetensors.h"

namespace normgrad::cifar10 {
namespace {

using Json = nlohmann::json;

StateDict Merge(std::initializer_list<StateDict> parts) {
  StateDict out;
  for (const StateDict& part : parts) out.insert(part.begin(), part.end());
  return out;
}

}  // namespace

absl::Status Trainer::SaveCheckpoint(const std::string& path) const {
  const Json state = {{"epoch", epoch_},
                      {"step", step_},
                      {"tally", {{"loss_sum", tally_.loss_sum}, {"correct", tally_.correct}, {"images", tally_.images}}},
                      {"best_accuracy", best_accuracy_ ? Json(*best_accuracy_) : Json(nullptr)},
                      {"elapsed_seconds", ElapsedSeconds()},
                      // Not settings of the trajectory, but an exact continuation needs them (below).
                      {"threads", GetNumThreads()},
                      {"winograd", cpu::AllowWinograd()},
                      {"device", device_.ToString()}};
  const Metadata metadata = {{"train.config", TrajectoryJson(config_).dump()},
                             {"train.state", state.dump()},
                             {"train.loader", train_loader_->state()},
                             {"train.default_generator", DefaultGenerator().state()},
                             {"train.log", JsonLines(log_)}};
  return WriteSafetensors(path,
                          Merge({AddPrefix(model_->state_dict(), "model."),
                                 AddPrefix(optimizer_->state_dict(), "optimizer."),
                                 AddPrefix(scheduler_->state_dict(), "scheduler."),
                                 averaged_ ? AddPrefix(averaged_->state_dict(), "averaged.") : StateDict()}),
                          metadata);
}

absl::Status Trainer::LoadCheckpoint(const std::string& path, bool model_only) {
  absl::StatusOr<SafetensorsContents> contents = ReadSafetensors(path);
  if (!contents.ok()) {
    if (absl::IsNotFound(contents.status())) {
      return absl::NotFoundError(absl::StrCat("no checkpoint at ", path, " (train first, or point --checkpoint_dir at ",
                                              "the folder of an earlier run)"));
    }
    return contents.status();
  }
  auto bad = [&](const std::string& what) { return absl::DataLossError(absl::StrCat(path, ": ", what)); };
  auto metadata = [&](const char* key) -> absl::StatusOr<std::string> {
    const auto it = contents->metadata.find(key);
    if (it == contents->metadata.end()) return bad(absl::StrCat("not a train_cifar checkpoint (no \"", key, "\" metadata)"));
    return it->second;
  };

  // Everything is parsed and checked before anything is restored.
  NG_ASSIGN_OR_RETURN(const std::string config_text, metadata("train.config"));
  NG_ASSIGN_OR_RETURN(const std::string state_text, metadata("train.state"));
  NG_ASSIGN_OR_RETURN(const std::string loader_state, metadata("train.loader"));
  NG_ASSIGN_OR_RETURN(const std::string generator_state, metadata("train.default_generator"));
  NG_ASSIGN_OR_RETURN(const std::string log_text, metadata("train.log"));
  const Json saved_config = Json::parse(config_text, nullptr, /*allow_exceptions=*/false);
  const Json state = Json::parse(state_text, nullptr, false);
  if (saved_config.is_discarded() || !state.is_object()) return bad("damaged train.config or train.state metadata");
  if (!model_only) {
    const std::vector<std::string> differences = TrajectoryDifferences(saved_config, config_);
    if (!differences.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--resume: ", path, " was written with other settings, so the run would not continue exactly: ",
          absl::StrJoin(differences, "; "), " (use the checkpoint's settings, or another --checkpoint_dir)"));
    }
  } else {
    // Evaluation needs the run's validation split (else it would score images the model trained on), and
    // the average's statistics the training images as the run's last epoch augmented and batched them.
    std::vector<std::string> keys = {"val_split"};
    if (averaged_) {
      keys.insert(keys.end(), {"max_train_batches", "augment", "cutout", "cutout_epochs", "trivial_augment", "mixup",
                               "mixup_epochs", "epochs", "batch_size", "seed"});
    }
    const std::vector<std::string> differences = TrajectoryDifferences(saved_config, config_, keys);
    if (!differences.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--evaluate_only: ", path, " was trained with other settings than given: ", absl::StrJoin(differences, "; "),
          " (pass the run's)"));
    }
  }
  std::vector<Json> log;
  std::vector<EpochMetrics> history;
  std::istringstream lines(log_text);
  for (std::string line; std::getline(lines, line);) {
    log.push_back(Json::parse(line, nullptr, false));
    if (log.back().is_discarded()) return bad("damaged train.log metadata");
    if (log.back().value("event", "") != "epoch") continue;
    absl::StatusOr<EpochMetrics> m = EpochMetricsFromJson(log.back());
    if (!m.ok()) return bad(std::string(m.status().message()));
    history.push_back(*m);
  }
  Tally tally;
  int64_t epoch, step;
  double elapsed;
  std::optional<double> best;
  int saved_threads;
  bool saved_winograd;
  std::string saved_device;
  try {
    epoch = state.at("epoch").get<int64_t>();
    step = state.at("step").get<int64_t>();
    tally.loss_sum = state.at("tally").at("loss_sum").get<double>();
    tally.correct = state.at("tally").at("correct").get<double>();
    tally.images = state.at("tally").at("images").get<int64_t>();
    elapsed = state.at("elapsed_seconds").get<double>();
    if (!state.at("best_accuracy").is_null()) best = state.at("best_accuracy").get<double>();
    // Checked as a number before it becomes an int (a huge one would not fit); 0 and "": written before
    // they were recorded.
    const double threads = state.value("threads", 0.0);
    if (!(threads >= 0 && threads <= kMaxThreads && threads == std::trunc(threads))) {
      return bad(
          absl::StrCat("expected train.state threads in [0, ", kMaxThreads, "], got ", state.at("threads").dump()));
    }
    saved_threads = static_cast<int>(threads);
    saved_winograd = state.value("winograd", false);  // runs before Winograd had the direct kernels only
    saved_device = state.value("device", "");
  } catch (const Json::exception& e) {
    return bad(absl::StrCat("damaged train.state metadata: ", e.what()));
  }

  // The model validates its keys and shapes before copying anything.
  absl::StatusOr<nn::LoadResult> loaded = model_->load_state_dict(StripPrefix(contents->tensors, "model."));
  if (!loaded.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", loaded.status().message()));
  // The average holds the ends of the epochs past the start of averaging so far: none before it, so that
  // --average_epochs can be added to a run (it does not change training) until averaging begins.
  if (!averaged_ && !model_only) {
    const auto it = contents->tensors.find("averaged.n_averaged");
    if (it != contents->tensors.end() && it->second.numel() == 1 && it->second.item<double>() > 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--resume: ", path, " holds a weight average of ", static_cast<int64_t>(it->second.item<double>()), " epochs, which this run ",
          "would drop: resume with the run's --average_epochs"));
    }
  }
  if (averaged_) {
    const int64_t expected = std::clamp<int64_t>(epoch - (config_.epochs - config_.average_epochs), 0,
                                                 config_.average_epochs);
    const StateDict average = StripPrefix(contents->tensors, "averaged.");
    if (!average.empty()) NG_RETURN_IF_ERROR(averaged_->load_state_dict(average));  // checks it first
    if (averaged_->num_averaged() != expected) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": its weight average holds ", averaged_->num_averaged(), " epochs, but with --average_epochs=",
          config_.average_epochs, " and --epochs=", config_.epochs, " it should hold ", expected, " after epoch ",
          epoch, average.empty() ? " (the run was trained without --average_epochs)" : ""));
    }
  }
  epoch_ = epoch;
  step_ = step;
  if (model_only) return absl::OkStatus();

  // Past the model, a failure leaves a half-restored trainer: Create() then fails and nothing trains.
  NG_RETURN_IF_ERROR(optimizer_->load_state_dict(StripPrefix(contents->tensors, "optimizer.")));
  NG_RETURN_IF_ERROR(scheduler_->load_state_dict(StripPrefix(contents->tensors, "scheduler.")));
  NG_RETURN_IF_ERROR(train_loader_->set_state(loader_state));
  if (train_loader_->epoch() != epoch_) {
    return bad(absl::StrCat("the loader is at epoch ", train_loader_->epoch(), " but the run at epoch ", epoch_));
  }
  NG_RETURN_IF_ERROR(DefaultGenerator().set_state(generator_state));
  tally_ = tally;
  best_accuracy_ = best;
  elapsed_before_ = elapsed;
  log_ = std::move(log);
  history_ = std::move(history);
  ContinueOnTheRunsMachine(saved_threads, saved_winograd, saved_device);
  return absl::OkStatus();
}

void Trainer::ContinueOnTheRunsMachine(int saved_threads, bool saved_winograd, const std::string& saved_device) {
  if (!saved_device.empty() && saved_device != device_.ToString()) {
    std::fprintf(out_, "note: the checkpoint was written on %s and this run continues on %s, so it will not end "
                 "bit for bit as an uninterrupted run would\n", saved_device.c_str(), device_.ToString().c_str());
    return;  // the thread count of another device's run says nothing here
  }
  // The CPU kernels split their sums by thread, so the thread count changes results in the last bits.
  if (!device_.is_cuda() && saved_threads > 0 && saved_threads != GetNumThreads()) {
    if (config_.threads == 0) {
      SetNumThreads(saved_threads);
      std::fprintf(out_, "resuming with the checkpoint's %d kernel threads, which an exact continuation needs "
                   "(--threads chooses another count)\n", saved_threads);
    } else {
      std::fprintf(out_, "note: the checkpoint was written with %d kernel threads and this run uses %d, so it will "
                   "not end bit for bit as an uninterrupted run would (--threads=%d would)\n",
                   saved_threads, GetNumThreads(), saved_threads);
    }
  }
  if (!device_.is_cuda() && saved_winograd != cpu::AllowWinograd()) {
    std::fprintf(out_, "note: the checkpoint was written with%s Winograd convolutions and this run uses %s, so it "
                 "will not end bit for bit as an uninterrupted run would (--winograd=%s would)\n",
                 saved_winograd ? "" : "out", saved_winograd ? "the direct kernels" : "them",
                 saved_winograd ? "true" : "false");
  }
}

absl::Status Trainer::WriteLogAndChart() const {
  NG_RETURN_IF_ERROR(WriteFileAtomically(PathIn(kMetricsLog), JsonLines(log_)));
  const std::string title = absl::StrFormat("%s on CIFAR-10: %s schedule, lr %g, batch %d, seed %d", config_.model,
                                            config_.schedule, config_.lr, config_.batch_size, config_.seed);
  return WriteFileAtomically(PathIn(kCurvesChart), TrainingCurvesSvg(history_, title));
}

}  // namespace normgrad::cifar10
