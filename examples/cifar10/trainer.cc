#include "examples/cifar10/trainer.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <filesystem>
#include <new>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "autograd/grad_mode.h"
#include "autograd/ops/elementwise.h"
#include "core/cpu/conv.h"
#include "core/cuda/device.h"
#include "core/error.h"
#include "core/kernels/device_copy.h"
#include "core/kernels/elementwise.h"
#include "core/kernels/reduce.h"
#include "core/parallel.h"
#include "core/random.h"
#include "data/cifar10.h"
#include "data/cifar10_fetch.h"
#include "data/file_io.h"
#include "examples/cifar10/interrupt.h"
#include "examples/cifar10/tta.h"
#include "nn/functional/loss.h"
#include "nn/normalization.h"
#include "optim/param_groups.h"

namespace normgrad::cifar10 {
namespace {

double Now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// Adds each image's hit or miss to its class in `classes` and returns the hits.
int64_t CountCorrect(const Tensor& logits, const Tensor& labels, std::vector<ClassAccuracy>& classes) {
  const std::vector<int64_t> predicted = kernels::argmax(logits.detach(), 1).to_vector<int64_t>();
  const std::vector<int64_t> truth = labels.to_vector<int64_t>();
  int64_t correct = 0;
  for (size_t i = 0; i < truth.size(); ++i) {
    const bool hit = predicted[i] == truth[i];
    correct += hit;
    classes[truth[i]].correct += hit;
    ++classes[truth[i]].images;
  }
  return correct;
}

std::string Percent(double fraction) { return absl::StrFormat("%.2f%%", 100 * fraction); }

// A standard exception as a status, a message rather than an abort: out of memory or a system call refused
// (a thread, a file) is a lack of resources; anything else is a bug.
absl::Status FromException(const std::exception& e, const char* context) {
  const std::string message = absl::StrCat(context, e.what());
  if (dynamic_cast<const std::bad_alloc*>(&e) || dynamic_cast<const std::system_error*>(&e)) {
    return absl::ResourceExhaustedError(message);
  }
  return absl::InternalError(message);
}

}  // namespace

BatchLoss TrainingLoss(const Tensor& logits, const data::Batch& batch, double label_smoothing) {
  const nn::functional::CrossEntropyOptions options{.label_smoothing = label_smoothing};
  // One argmax (one wait for a device) for both labels.
  const std::vector<int64_t> predicted = kernels::argmax(logits.detach(), 1).to_vector<int64_t>();
  const auto hits = [&](const Tensor& labels) {
    const std::vector<int64_t> truth = labels.to_vector<int64_t>();
    int64_t n = 0;
    for (size_t i = 0; i < truth.size(); ++i) n += predicted[i] == truth[i];
    return static_cast<double>(n);
  };
  BatchLoss out{nn::functional::cross_entropy(logits, kernels::to(batch.labels, logits.device()), options),
                hits(batch.labels)};
  if (batch.mix_labels.defined()) {  // the targets mixed as the images were
    const double w = batch.mix_weight;
    const Tensor mixed_loss =
        nn::functional::cross_entropy(logits, kernels::to(batch.mix_labels, logits.device()), options);
    out.loss = add(mul(out.loss, w), mul(mixed_loss, 1 - w));
    out.correct = w * out.correct + (1 - w) * hits(batch.mix_labels);
  }
  return out;
}

absl::StatusOr<std::unique_ptr<Trainer>> Trainer::Create(const TrainConfig& config, std::FILE* out) {
  std::unique_ptr<Trainer> trainer(new Trainer(config, out));
  try {
    NG_RETURN_IF_ERROR(trainer->Setup());
  } catch (const Error& e) {
    return absl::InvalidArgumentError(e.what());
  } catch (const std::exception& e) {
    return FromException(e, "setup failed: ");
  }
  return trainer;
}

absl::Status Trainer::Setup() {
  NG_RETURN_IF_ERROR(Validate(config_));
  NG_ASSIGN_OR_RETURN(const int depth, ResNetDepth(config_.model));
  if (config_.threads > 0) SetNumThreads(config_.threads);
  cpu::SetAllowWinograd(config_.winograd);
  device_ = *Device::Parse(config_.device);
  if (device_.is_cuda()) {
    if (const absl::Status s = cuda::CheckDevice(device_.index); !s.ok()) {
      return absl::FailedPreconditionError(absl::StrCat("--device=", config_.device, ": ", s.message()));
    }
  }

  NG_ASSIGN_OR_RETURN(const std::string dir,
                      data::FindOrFetchCifar10(config_.data_dir,
                                               {.download = config_.download, .log = [this](const std::string& m) {
                                                  std::fprintf(out_, "%s\n", m.c_str());
                                                  std::fflush(out_);
                                                }}));
  NG_ASSIGN_OR_RETURN(data::Cifar10 cifar, data::LoadCifar10(dir));
  if (config_.val_split >= cifar.train.size()) {
    return absl::InvalidArgumentError(absl::StrCat("--val_split: expected fewer than the ", cifar.train.size(),
                                                   " training images in ", dir, ", got ", config_.val_split));
  }
  NG_ASSIGN_OR_RETURN(auto split, data::SplitTail(cifar.train, config_.val_split));
  data::ImageDataset train = std::move(split.first);
  const int64_t keep = config_.max_train_batches * config_.batch_size;
  if (keep > 0 && keep < train.size()) {
    NG_ASSIGN_OR_RETURN(auto cut, data::SplitTail(train, train.size() - keep));
    train = std::move(cut.first);
  }
  train_set_ = std::make_shared<const data::ImageDataset>(std::move(train));
  if (split.second.size() > 0) val_set_ = std::make_shared<const data::ImageDataset>(std::move(split.second));
  if (cifar.test) test_set_ = std::make_shared<const data::ImageDataset>(std::move(*cifar.test));

  const std::vector<double> mean(std::begin(data::kCifar10Mean), std::end(data::kCifar10Mean));
  const std::vector<double> std(std::begin(data::kCifar10Std), std::end(data::kCifar10Std));
  train_loader_ =
      std::make_unique<data::DataLoader>(train_set_, data::LoaderOptions{.batch_size = config_.batch_size,
                                                                         .shuffle = true,
                                                                         .crop_padding = config_.augment ? 4 : 0,
                                                                         .horizontal_flip = config_.augment,
                                                                         .cutout = config_.cutout,
                                                                         .cutout_epochs = config_.cutout_epochs,
                                                                         .trivial_augment = config_.trivial_augment,
                                                                         .mixup = config_.mixup,
                                                                         .mixup_epochs = config_.mixup_epochs,
                                                                         .mean = mean,
                                                                         .std = std,
                                                                         .num_workers = config_.loader_workers,
                                                                         .seed = config_.seed});
  const data::LoaderOptions eval{.batch_size = config_.eval_batch_size, .shuffle = false, .mean = mean, .std = std,
                                 .num_workers = std::min(1, config_.loader_workers)};
  if (val_set_) val_loader_ = std::make_unique<data::DataLoader>(val_set_, eval);
  if (test_set_) test_loader_ = std::make_unique<data::DataLoader>(test_set_, eval);

  Generator init(config_.seed);
  model_ = nn::ResNet::Cifar(depth, {}, &init);
  model_->to(device_);  // initialized on the CPU, so that every device starts from the same weights
  if (config_.average_epochs > 0) averaged_ = std::make_unique<optim::AveragedModel>(model_);
  std::vector<optim::ParamGroup> groups = config_.norm_weight_decay ? optim::SingleGroup(model_->parameters())
                                                                   : optim::NoDecayOnNorms(*model_, config_.weight_decay);
  optimizer_ = std::make_unique<optim::SGD>(std::move(groups),
                                            optim::SGDOptions{.lr = config_.lr, .momentum = config_.momentum,
                                                              .weight_decay = config_.weight_decay,
                                                              .nesterov = config_.nesterov});
  NG_RETURN_IF_ERROR(ValidateScheduleSteps(config_, train_loader_->num_batches()));
  scheduler_ = std::make_unique<optim::LRScheduler>(*optimizer_, MakeSchedule(config_, train_loader_->num_batches()));
  progress_ = std::make_unique<Progress>(out_, isatty(fileno(out_)) == 1, config_.epochs, train_loader_->num_batches());

  NG_RETURN_IF_ERROR(data::MakeDirectories(config_.checkpoint_dir));
  if (config_.resume) NG_RETURN_IF_ERROR(LoadCheckpoint(PathIn(kLatestCheckpoint), /*model_only=*/false));
  if (!config_.resume && !config_.evaluate_only) NG_RETURN_IF_ERROR(ClaimCheckpointDir());
  start_seconds_ = Now();
  return absl::OkStatus();
}

absl::Status Trainer::ClaimCheckpointDir() {
  // An earlier run's files: its checkpoints, and its log and chart, which would otherwise sit beside the new
  // run's checkpoints until its first epoch ends.
  for (const char* name : {kLatestCheckpoint, kBestCheckpoint, kMetricsLog, kCurvesChart}) {
    const std::string path = PathIn(name);
    if (!std::filesystem::exists(path)) continue;
    if (!config_.overwrite) {
      return absl::FailedPreconditionError(absl::StrCat(
          "--checkpoint_dir: ", config_.checkpoint_dir, " holds an earlier run (", path, "): continue it with ",
          "--resume, start over there with --overwrite (its checkpoints, log and chart are deleted), or choose "
          "another folder"));
    }
    // Gone now, so that an interruption before the first save cannot leave the two runs' files side by side.
    std::error_code error;
    if (!std::filesystem::remove(path, error) && error) {
      return absl::PermissionDeniedError(absl::StrCat("--overwrite: cannot delete ", path, ": ", error.message()));
    }
  }
  return absl::OkStatus();
}

std::string Trainer::PathIn(const char* name) const { return absl::StrCat(config_.checkpoint_dir, "/", name); }

double Trainer::ElapsedSeconds() const { return elapsed_before_ + Now() - start_seconds_; }

absl::StatusOr<RunResult> Trainer::Run() {
  try {
    return config_.evaluate_only ? EvaluateOnly() : Train();
  } catch (const Error& e) {
    return absl::InternalError(absl::StrCat("training failed: ", e.what()));
  } catch (const std::exception& e) {
    return FromException(e, "training failed: ");
  }
}

double Trainer::TrainStep(const data::Batch& batch) {
  const Tensor logits = model_->forward(kernels::to(batch.images, device_));
  const BatchLoss scored = TrainingLoss(logits, batch, config_.label_smoothing);
  optimizer_->zero_grad();
  scored.loss.backward();
  optimizer_->step();
  scheduler_->step();
  ++step_;
  const double value = scored.loss.item<double>();
  tally_.Add(value, scored.correct, batch.labels.size(0));
  return value;
}

int64_t Trainer::EvaluationsLeft() const {
  // The epochs after epoch_ that are multiples of val_every, and the last if it is not one.
  const int64_t n = config_.val_every;
  return config_.epochs / n - epoch_ / n + (config_.epochs % n != 0 ? 1 : 0);
}

absl::Status Trainer::Diverged(const char* which, double loss, int64_t epoch) const {
  return absl::FailedPreconditionError(absl::StrFormat(
      "training diverged: the %s loss is %g in epoch %d (step %d); lower --lr (now %g) or add --warmup_epochs. "
      "Nothing of epoch %d was saved: --resume continues from the latest checkpoint, --overwrite starts over",
      which, loss, epoch, step_, config_.lr, epoch));
}

absl::StatusOr<RunResult> Trainer::Train() {
  RunResult result;
  std::fprintf(out_, "%s: %lld training images (%lld batches of %lld), %lld validation, %lld test; %s, %d threads\n",
               config_.model.c_str(), static_cast<long long>(train_set_->size()),
               static_cast<long long>(train_loader_->num_batches()), static_cast<long long>(config_.batch_size),
               static_cast<long long>(val_set_ ? val_set_->size() : 0),
               static_cast<long long>(test_set_ ? test_set_->size() : 0), device_.ToString().c_str(), GetNumThreads());
  while (epoch_ < config_.epochs) {
    model_->train();
    const double epoch_start = Now();
    progress_->StartEpoch(epoch_, train_loader_->batch_index());
    train_loader_->ResetStats();
    int64_t images = 0;
    while (std::optional<data::Batch> batch = train_loader_->Next()) {
      const double loss = TrainStep(*batch);
      if (!std::isfinite(loss)) return Diverged("training", loss, epoch_ + 1);
      images += batch->labels.size(0);
      progress_->Batch(train_loader_->batch_index(), images, tally_.loss(), tally_.accuracy(),
                       eval_seconds_ * static_cast<double>(EvaluationsLeft()));
      if (after_step) after_step(step_);
      if (InterruptRequested()) {
        NG_RETURN_IF_ERROR(SaveCheckpoint(PathIn(kLatestCheckpoint)));
        progress_->Print(absl::StrFormat(
            "interrupted: saved %s at epoch %d, batch %d of %d (step %d); run again with --resume to continue",
            PathIn(kLatestCheckpoint), epoch_ + 1, train_loader_->batch_index(), train_loader_->num_batches(), step_));
        result.interrupted = true;
        break;
      }
    }
    if (result.interrupted) break;
    const double images_per_second = progress_->images_per_second();
    ++epoch_;
    NG_RETURN_IF_ERROR(FinishEpoch(epoch_start, images_per_second));
    if (InterruptRequested()) {  // during the evaluation: the epoch's checkpoint is saved already
      progress_->Print(absl::StrFormat("interrupted after epoch %d (saved); run again with --resume to continue", epoch_));
      result.interrupted = true;
      break;
    }
  }
  result.epochs_done = epoch_;
  result.steps = step_;
  if (!result.interrupted) {
    PrintPerClass(result);
    // The average's statistics were taken again: keep them with it.
    if (averaged_) NG_RETURN_IF_ERROR(SaveCheckpoint(PathIn(kLatestCheckpoint)));
    NG_RETURN_IF_ERROR(WriteLogAndChart());
  }
  return result;
}

absl::Status Trainer::FinishEpoch(double epoch_start, double train_images_per_second) {
  if (averaged_ && epoch_ > config_.epochs - config_.average_epochs) averaged_->update(*model_);
  const double eval_start = Now();
  EpochMetrics m;
  m.epoch = epoch_;
  m.step = step_;
  m.lr = optimizer_->param_groups()[0].lr;
  m.train_loss = tally_.loss();
  m.train_accuracy = tally_.accuracy();
  const bool evaluate = epoch_ % config_.val_every == 0 || epoch_ == config_.epochs;
  if (val_loader_ && evaluate) {
    const Evaluation v = Evaluate(*val_loader_);
    m.val_loss = v.tally.loss(), m.val_accuracy = v.tally.accuracy();
  }
  if (test_loader_ && evaluate) {
    const Evaluation t = Evaluate(*test_loader_);
    m.test_loss = t.tally.loss(), m.test_accuracy = t.tally.accuracy();
  }
  if (evaluate) eval_seconds_ = Now() - eval_start;
  // A model whose last step broke it: its non-finite losses would also make the log unreadable.
  if (m.val_loss && !std::isfinite(*m.val_loss)) return Diverged("validation", *m.val_loss, epoch_);
  if (m.test_loss && !std::isfinite(*m.test_loss)) return Diverged("test", *m.test_loss, epoch_);
  m.images_per_second = train_images_per_second;
  const data::LoaderStats& waits = train_loader_->stats();
  m.data_wait_ms = waits.batches > 0 ? 1e3 * waits.wait_seconds / static_cast<double>(waits.batches) : 0;
  m.epoch_seconds = Now() - epoch_start;
  m.elapsed_seconds = ElapsedSeconds();
  tally_ = Tally();
  history_.push_back(m);
  log_.push_back(ToJson(m));

  // The best model by validation accuracy, among the epochs validated (by training accuracy, every epoch,
  // without a validation split; never by test accuracy, which would make the test set part of training).
  const std::optional<double> score = val_loader_ ? m.val_accuracy : std::optional<double>(m.train_accuracy);
  const bool best = score && (!best_accuracy_ || *score > *best_accuracy_);
  if (best) best_accuracy_ = *score;
  // The best first: the latest records the best score, so it must not get ahead of the best's file (a
  // failed or interrupted save of the latest leaves the previous one, and --resume redoes the epoch).
  if (best) NG_RETURN_IF_ERROR(SaveCheckpoint(PathIn(kBestCheckpoint)));
  NG_RETURN_IF_ERROR(SaveCheckpoint(PathIn(kLatestCheckpoint)));
  NG_RETURN_IF_ERROR(WriteLogAndChart());

  std::string line = absl::StrFormat("epoch %d/%d  train loss %.4f acc %s", epoch_, config_.epochs, m.train_loss,
                                     Percent(m.train_accuracy));
  if (m.val_loss) absl::StrAppendFormat(&line, "  val loss %.4f acc %s", *m.val_loss, Percent(*m.val_accuracy));
  if (m.test_loss) absl::StrAppendFormat(&line, "  test loss %.4f acc %s", *m.test_loss, Percent(*m.test_accuracy));
  absl::StrAppendFormat(&line, "  lr %.5f  %.0f img/s  data wait %.3f ms/batch  %s (elapsed %s)%s", m.lr,
                        m.images_per_second, m.data_wait_ms, FormatDuration(m.epoch_seconds),
                        FormatDuration(m.elapsed_seconds), best ? "  *best" : "");
  progress_->Print(line);
  return absl::OkStatus();
}

Evaluation Trainer::EvaluateModel(nn::Module& model, data::DataLoader& loader, bool final) {
  const bool was_training = model.is_training();
  model.eval();
  Evaluation e;
  const data::ImageDataset& d = loader.dataset();
  for (int c = 0; c < d.num_classes; ++c) e.classes.push_back({d.ClassName(c), 0, 0});
  std::vector<float> black;
  for (int64_t c = 0; c < d.channels; ++c) black.push_back(loader.black(c));
  const TtaOptions tta{.flip = config_.flip_tta,
                       .shift = final ? config_.tta_shift : 0,
                       .diagonals = final && config_.tta_diagonals};
  {
    NoGradGuard no_grad;
    while (std::optional<data::Batch> batch = loader.Next()) {
      const std::vector<Tensor> views = TtaViews(batch->images, tta, black);
      Tensor logits = model.forward(kernels::to(views[0], device_));
      for (size_t v = 1; v < views.size(); ++v) {
        logits = kernels::add(logits, model.forward(kernels::to(views[v], device_)));
      }
      if (views.size() > 1) logits = kernels::mul(logits, 1.0 / static_cast<double>(views.size()));
      const double loss = nn::functional::cross_entropy(logits, kernels::to(batch->labels, device_)).item<double>();
      e.tally.Add(loss, CountCorrect(logits, batch->labels, e.classes), batch->labels.size(0));
    }
  }
  model.train(was_training);
  return e;
}

void Trainer::RecomputeAverageStatistics() {
  const double start = Now();
  data::LoaderOptions options = train_loader_->options();
  options.shuffle = false;
  if (!options.CutsOutIn(config_.epochs - 1)) options.cutout = 0;  // as in the last epoch
  options.cutout_epochs = 0;
  if (!options.MixesIn(config_.epochs - 1)) options.mixup = 0;
  options.mixup_epochs = 0;
  data::DataLoader loader(train_set_, options);
  const int64_t batches = nn::RecomputeBatchNormStatistics(*averaged_->module(), [&]() -> std::optional<Tensor> {
    std::optional<data::Batch> batch = loader.Next();
    if (!batch) return std::nullopt;
    return kernels::to(batch->images, device_);
  });
  progress_->Print(absl::StrFormat("the average of %d epochs' weights: batch norm statistics taken over %d batches in %s",
                                   averaged_->num_averaged(), batches, FormatDuration(Now() - start)));
}

void Trainer::PrintPerClass(RunResult& result) {
  // A finished run resumed again evaluates again: keep one per-class record per split in the log.
  std::erase_if(log_, [](const nlohmann::json& r) {
    const std::string event = r.value("event", "");
    return event == "per_class" || event == "average";
  });
  const bool average = averaged_ && averaged_->num_averaged() > 0;
  if (average) RecomputeAverageStatistics();
  nn::Module& model = average ? *averaged_->module() : static_cast<nn::Module&>(*model_);
  const std::pair<const char*, data::DataLoader*> splits[] = {{"val", val_loader_.get()}, {"test", test_loader_.get()}};
  for (const auto& [name, loader] : splits) {
    if (!loader) continue;
    Evaluation e = EvaluateModel(model, *loader, /*final=*/true);
    if (average) {  // against the model the average ends with, evaluated the same way
      const double last = EvaluateModel(*model_, *loader, /*final=*/true).tally.accuracy();
      progress_->Print(absl::StrFormat("%s accuracy: the average of the last %d epochs %s, the last epoch's model %s",
                                       name, averaged_->num_averaged(), Percent(e.tally.accuracy()), Percent(last)));
      log_.push_back({{"event", "average"}, {"split", name}, {"epochs", averaged_->num_averaged()},
                      {"accuracy", e.tally.accuracy()}, {"last_model_accuracy", last}});
    }
    progress_->Print(std::string(absl::StripSuffix(PerClassTable(name, e.classes), "\n")));
    log_.push_back(PerClassJson(name, e.classes));
    (std::string(name) == "val" ? result.val : result.test) = std::move(e);
  }
}

absl::StatusOr<RunResult> Trainer::EvaluateOnly() {
  // The average is complete in the latest checkpoint only; the best is the model's best epoch.
  const std::string best = PathIn(kBestCheckpoint), latest = PathIn(kLatestCheckpoint);
  const std::string path = !averaged_ && access(best.c_str(), F_OK) == 0 ? best : latest;
  NG_RETURN_IF_ERROR(LoadCheckpoint(path, /*model_only=*/true));
  progress_->Print(absl::StrCat("evaluating ", path));
  RunResult result;
  result.epochs_done = epoch_;
  result.steps = step_;
  PrintPerClass(result);
  return result;
}

}  // namespace normgrad::cifar10
