#include "examples/cifar10/trainer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <memory>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "core/cpu/conv.h"
#include "core/error.h"
#include "core/kernels/copy.h"
#include "core/parallel.h"
#include "data/cifar10.h"
#include "nn/normalization.h"
#include "tests/examples/cifar10/trainer_testing.h"

namespace normgrad::cifar10 {
namespace {

TEST(Trainer, ResumeAfterInterruptionsIsBitExact) {
  const std::string data = WriteData("resume", 16, 16);  // 80 training images: 64 to train on, 16 to validate
  TrainConfig reference_config = Tiny(data, "uninterrupted");
  reference_config.trivial_augment = true;  // its draws resume too, and mixup's, and the tally of mixed hits
  reference_config.mixup = 0.4;
  std::unique_ptr<Trainer> reference = Make(reference_config);
  ASSERT_NE(reference, nullptr);
  absl::StatusOr<RunResult> done = reference->Run();
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_FALSE(done->interrupted);
  EXPECT_EQ(done->steps, 8);

  // Ctrl-C in the middle of epoch 1, after its last batch, and in the middle of epoch 2.
  TrainConfig config = Tiny(data, "interrupted");
  config.trivial_augment = true;
  config.mixup = 0.4;
  int runs = 0;
  for (int64_t stop_at : {3, 4, 6, -1}) {
    absl::StatusOr<RunResult> r;
    std::unique_ptr<Trainer> t = RunStoppingAt(config, stop_at, r);
    ASSERT_NE(t, nullptr);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->interrupted, stop_at > 0);
    if (stop_at > 0) {
      EXPECT_EQ(r->steps, stop_at);
    }
    config.resume = true;
    ++runs;
    if (stop_at < 0) {
      // Every parameter and buffer (running statistics, num_batches_tracked) equal bit for bit.
      const StateDict want = reference->model().state_dict(), got = t->model().state_dict();
      ASSERT_EQ(want.size(), got.size());
      for (const auto& [key, tensor] : want) EXPECT_TRUE(SameBits(tensor, got.at(key))) << key;
      EXPECT_EQ(t->step(), 8);
    }
  }
  EXPECT_EQ(runs, 4);

  // The logs agree too, line for line, except for timings.
  auto epochs = [](const std::string& dir) {
    std::vector<nlohmann::json> out;
    std::istringstream lines(ReadText(dir + "/" + kMetricsLog));
    for (std::string line; std::getline(lines, line);) {
      nlohmann::json j = nlohmann::json::parse(line);
      for (const char* timing : {"images_per_second", "data_wait_ms", "epoch_seconds", "elapsed_seconds"}) {
        j.erase(timing);
      }
      out.push_back(j);
    }
    return out;
  };
  EXPECT_EQ(epochs(reference_config.checkpoint_dir), epochs(config.checkpoint_dir));
}

// The first Ctrl-C only sets the flag, and the kernel puts the default action back as it delivers it, so
// that a second one ends the process; ClearInterrupt arms the handler again.
TEST(Interrupt, FirstCtrlCSetsTheFlagAndDisarmsTheHandler) {
  ClearInterrupt();
  EXPECT_FALSE(InterruptRequested());
  std::raise(SIGINT);
  EXPECT_TRUE(InterruptRequested());
  struct sigaction now = {};
  ASSERT_EQ(sigaction(SIGINT, nullptr, &now), 0);
  EXPECT_EQ(now.sa_handler, SIG_DFL);
  ClearInterrupt();
  EXPECT_FALSE(InterruptRequested());
  ASSERT_EQ(sigaction(SIGINT, nullptr, &now), 0);
  EXPECT_NE(now.sa_handler, SIG_DFL);
  EXPECT_TRUE(now.sa_flags & SA_RESTART);
}

TEST(Trainer, ResumeTakesTheCheckpointsThreadCountUnlessGivenOneAndNamesOtherKernels) {
  const int threads_before = GetNumThreads();
  const std::string data = WriteData("resume_threads", 16, 0);
  TrainConfig config = Tiny(data, "resume_threads");
  config.threads = 1;
  absl::StatusOr<RunResult> r;
  ASSERT_NE(RunStoppingAt(config, 3, r), nullptr);
  ASSERT_TRUE(r.ok()) << r.status();
  config.resume = true;
  // What Create prints, from a temporary file.
  auto create_output = [](const TrainConfig& c) {
    std::FILE* out = std::tmpfile();
    absl::StatusOr<std::unique_ptr<Trainer>> t = Trainer::Create(c, out);
    EXPECT_TRUE(t.ok()) << t.status();
    std::string text(4096, '\0');
    std::rewind(out);
    text.resize(std::fread(text.data(), 1, text.size(), out));
    std::fclose(out);
    return text;
  };
  config.threads = 0;
  SetNumThreads(2);
  EXPECT_NE(create_output(config).find("resuming with the checkpoint's 1 kernel threads"), std::string::npos);
  EXPECT_EQ(GetNumThreads(), 1);
  config.threads = 2;
  EXPECT_NE(create_output(config).find("note: the checkpoint was written with 1 kernel threads and this run uses 2"),
            std::string::npos);
  EXPECT_EQ(GetNumThreads(), 2);
  // The convolution kernels change the last bits too.
  config.threads = 1;
  EXPECT_EQ(create_output(config).find("Winograd"), std::string::npos);
  config.winograd = false;
  EXPECT_NE(create_output(config).find("note: the checkpoint was written with Winograd convolutions and this run "
                                       "uses the direct kernels"),
            std::string::npos);
  EXPECT_FALSE(cpu::AllowWinograd());
  cpu::SetAllowWinograd(true);
  SetNumThreads(threads_before);  // the other tests' runs assume the count they set
}

TEST(Trainer, WeightAverageOfTheLastEpochsResumesExactly) {
  const std::string data = WriteData("average", 16, 16);  // 64 training images: 4 batches of 16 per epoch
  TrainConfig config = Tiny(data, "average");
  config.epochs = 3;
  config.average_epochs = 2;
  config.cutout = 8;
  config.cutout_epochs = 2;  // the last epoch trains, and the average's statistics are taken, without cutout
  config.mixup = 0.4;        // or mixup
  config.mixup_epochs = 2;
  std::unique_ptr<Trainer> reference = Make(config);
  ASSERT_NE(reference, nullptr);
  // The weights at the ends of epochs 2 and 3 (steps 8 and 12), which the average should hold.
  std::vector<StateDict> ends;
  reference->after_step = [&](int64_t step) {
    if (step == 8 || step == 12) {
      StateDict copy;
      for (const auto& [key, t] : reference->model().named_parameters()) copy[key] = kernels::clone(t.detach());
      ends.push_back(copy);
    }
  };
  absl::StatusOr<RunResult> done = reference->Run();
  ASSERT_TRUE(done.ok()) << done.status();
  ASSERT_EQ(ends.size(), 2u);
  const optim::AveragedModel* average = reference->averaged();
  ASSERT_NE(average, nullptr);
  EXPECT_EQ(average->num_averaged(), 2);
  const StateDict averaged = average->module()->state_dict();
  for (const auto& [key, p] : reference->model().named_parameters()) {
    const std::vector<double> a = ends[0].at(key).to_vector<double>(), b = ends[1].at(key).to_vector<double>();
    const std::vector<double> got = averaged.at(key).to_vector<double>();
    for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], (a[i] + b[i]) / 2, 1e-6) << key << "[" << i << "]";
  }
  // Its statistics were taken again: one cumulative pass over the 4 training batches.
  EXPECT_EQ(averaged.at("bn1.num_batches_tracked").item<int64_t>(), 4);
  EXPECT_NE(averaged.at("bn1.running_mean").to_vector<double>(),
            reference->model().state_dict().at("bn1.running_mean").to_vector<double>());
  // Over the training images in order, cropped and flipped as a loader's first epoch does, neither cut out
  // nor mixed: the same statistics as such a pass over the average's weights.
  {
    absl::StatusOr<data::Cifar10> cifar = data::LoadCifar10(data);
    ASSERT_TRUE(cifar.ok()) << cifar.status();
    absl::StatusOr<std::pair<data::ImageDataset, data::ImageDataset>> split =
        data::SplitTail(cifar->train, config.val_split);
    ASSERT_TRUE(split.ok()) << split.status();
    data::DataLoader loader(std::make_shared<const data::ImageDataset>(split->first),
                            {.batch_size = config.batch_size,
                             .shuffle = false,
                             .crop_padding = 4,
                             .horizontal_flip = true,
                             .mean = {std::begin(data::kCifar10Mean), std::end(data::kCifar10Mean)},
                             .std = {std::begin(data::kCifar10Std), std::end(data::kCifar10Std)},
                             .seed = config.seed});
    std::shared_ptr<nn::ResNet> by_hand = nn::ResNet::Cifar(8);
    ASSERT_TRUE(by_hand->load_state_dict(averaged).ok());  // the statistics are then taken from scratch
    EXPECT_EQ(nn::RecomputeBatchNormStatistics(*by_hand,
                                               [&]() -> std::optional<Tensor> {
                                                 std::optional<data::Batch> batch = loader.Next();
                                                 if (!batch) return std::nullopt;
                                                 return batch->images;
                                               }),
              4);
    for (const auto& [key, tensor] : by_hand->state_dict()) {
      if (key.find("running_") != std::string::npos) {
        EXPECT_TRUE(SameBits(tensor, averaged.at(key))) << key;
      }
    }
  }

  // The final report is the average's, logged next to the last model's.
  std::istringstream lines(ReadText(config.checkpoint_dir + "/" + kMetricsLog));
  int average_records = 0;
  for (std::string line; std::getline(lines, line);) {
    const nlohmann::json j = nlohmann::json::parse(line);
    if (j.value("event", "") != "average") continue;
    ++average_records;
    EXPECT_EQ(j["epochs"], 2);
    if (j["split"] == "val") {
      EXPECT_EQ(j["accuracy"].get<double>(), done->val->tally.accuracy());
    }
  }
  EXPECT_EQ(average_records, 2);  // val and test

  // Started without the average (it can be added until averaging begins), interrupted after the first
  // averaged epoch and resumed: the same average, bit for bit.
  TrainConfig resumed_config = config;
  resumed_config.checkpoint_dir = Tiny(data, "average_resumed").checkpoint_dir;
  for (int64_t stop_at : {3, 10, -1}) {
    resumed_config.average_epochs = stop_at == 3 ? 0 : 2;
    absl::StatusOr<RunResult> r;
    std::unique_ptr<Trainer> t = RunStoppingAt(resumed_config, stop_at, r);
    ASSERT_NE(t, nullptr);
    ASSERT_TRUE(r.ok()) << r.status();
    resumed_config.resume = true;
    if (stop_at > 0) continue;
    const StateDict want = average->state_dict(), got = t->averaged()->state_dict();
    ASSERT_EQ(want.size(), got.size());
    for (const auto& [key, tensor] : want) EXPECT_TRUE(SameBits(tensor, got.at(key))) << key;
    EXPECT_EQ(r->val->tally.accuracy(), done->val->tally.accuracy());
  }

  // Resuming without --average_epochs would drop the average the checkpoint holds: refused.
  TrainConfig dropped = config;
  dropped.resume = true;
  dropped.average_epochs = 0;
  const absl::Status drop_refused = Create(dropped).status();
  EXPECT_EQ(drop_refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(drop_refused.message().find("holds a weight average of 2 epochs, which this run would drop: resume "
                                        "with the run's --average_epochs"),
            std::string::npos)
      << drop_refused;

  // --evaluate_only evaluates the saved average the same way.
  absl::StatusOr<RunResult> er = EvaluateOnly(config);
  ASSERT_TRUE(er.ok()) << er.status();
  EXPECT_EQ(er->val->tally.accuracy(), done->val->tally.accuracy());
  // Its statistics are taken over the training images as the run augmented them: another seed is refused.
  TrainConfig other_seed = config;
  other_seed.seed = config.seed + 1;
  const absl::Status seed_refused = EvaluateOnly(other_seed).status();
  EXPECT_EQ(seed_refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(seed_refused.message().find(absl::StrCat("was trained with other settings than given: seed: checkpoint ",
                                                     config.seed, ", now ", other_seed.seed)),
            std::string::npos)
      << seed_refused;
  // So is mixup over other epochs, which changes how the last epoch's images look.
  TrainConfig other_mixup = config;
  other_mixup.mixup_epochs = 3;
  const absl::Status mixup_refused = EvaluateOnly(other_mixup).status();
  EXPECT_NE(mixup_refused.message().find("mixup_epochs: checkpoint 2, now 3"), std::string::npos) << mixup_refused;
  // A checkpoint without an average cannot be evaluated as one.
  TrainConfig plain = Tiny(data, "average_plain");
  ASSERT_TRUE(Make(plain)->Run().ok());
  plain.average_epochs = 1;
  absl::StatusOr<RunResult> refused = EvaluateOnly(plain);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find(
                "its weight average holds 0 epochs, but with --average_epochs=1 and --epochs=2 it should hold 1 "
                "after epoch 2 (the run was trained without --average_epochs)"),
            std::string::npos)
      << refused.status();
}

TEST(Trainer, WritesCheckpointsLogAndChart) {
  const std::string data = WriteData("outputs", 16, 20);
  TrainConfig config = Tiny(data, "outputs");
  std::unique_ptr<Trainer> t = Make(config);
  ASSERT_NE(t, nullptr);
  absl::StatusOr<RunResult> r = t->Run();
  ASSERT_TRUE(r.ok()) << r.status();
  for (const char* name : {kLatestCheckpoint, kBestCheckpoint, kMetricsLog, kCurvesChart}) {
    EXPECT_TRUE(std::filesystem::exists(config.checkpoint_dir + "/" + name)) << name;
  }
  const std::string log = ReadText(config.checkpoint_dir + "/" + kMetricsLog);
  std::vector<nlohmann::json> records;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) records.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(records.size(), 4u);  // two epochs, then per-class accuracy on val and test
  EXPECT_EQ(records[1]["epoch"], 2);
  EXPECT_EQ(records[1]["step"], 8);
  EXPECT_TRUE(records[1]["val_accuracy"].is_number());
  EXPECT_TRUE(records[1]["test_accuracy"].is_number());
  EXPECT_EQ(records[2]["split"], "val");
  EXPECT_EQ(records[3]["split"], "test");
  EXPECT_EQ(records[3]["classes"].size(), 10u);
  EXPECT_EQ(records[3]["classes"][3]["name"], "cat");
  ASSERT_TRUE(r->test.has_value());
  EXPECT_EQ(r->test->tally.images, 20);
  const std::string svg = ReadText(config.checkpoint_dir + "/" + kCurvesChart);
  EXPECT_NE(svg.find("<polyline"), std::string::npos);

  // --evaluate_only reads the best checkpoint (the first epoch with the highest validation accuracy) and
  // gives that epoch's numbers again; it trains nothing.
  const nlohmann::json& best =
      records[1]["val_accuracy"].get<double>() > records[0]["val_accuracy"].get<double>() ? records[1] : records[0];
  absl::StatusOr<RunResult> er = EvaluateOnly(config);
  ASSERT_TRUE(er.ok()) << er.status();
  ASSERT_TRUE(er->val.has_value() && er->test.has_value());
  EXPECT_EQ(er->test->tally.images, 20);
  EXPECT_EQ(er->val->tally.accuracy(), best["val_accuracy"].get<double>());
  EXPECT_EQ(er->test->tally.accuracy(), best["test_accuracy"].get<double>());
  EXPECT_DOUBLE_EQ(er->test->tally.loss(), best["test_loss"].get<double>());
}

// With --val_every=2 over 3 epochs: validation and test after epochs 2 and 3 only, and no best checkpoint
// before the first validation (an unvalidated epoch is not judged by its training accuracy).
TEST(Trainer, ValEveryEvaluatesEveryNthEpochAndTheLast) {
  const std::string data = WriteData("val_every", 16, 20);
  TrainConfig config = Tiny(data, "val_every");
  config.epochs = 3;
  config.val_every = 2;
  std::unique_ptr<Trainer> t = Make(config);
  ASSERT_NE(t, nullptr);
  bool best_in_epoch_2 = true;
  t->after_step = [&](int64_t step) {
    if (step == 5) best_in_epoch_2 = std::filesystem::exists(config.checkpoint_dir + "/" + kBestCheckpoint);
  };
  absl::StatusOr<RunResult> r = t->Run();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(best_in_epoch_2);
  std::vector<nlohmann::json> epochs;
  std::istringstream lines(ReadText(config.checkpoint_dir + "/" + kMetricsLog));
  for (std::string line; std::getline(lines, line);) {
    nlohmann::json j = nlohmann::json::parse(line);
    if (j["event"] == "epoch") epochs.push_back(j);
  }
  ASSERT_EQ(epochs.size(), 3u);
  for (const char* key : {"val_accuracy", "test_accuracy"}) {
    EXPECT_TRUE(epochs[0][key].is_null()) << key;
    EXPECT_TRUE(epochs[1][key].is_number()) << key;
    EXPECT_TRUE(epochs[2][key].is_number()) << key;
  }
  const double best = std::max(epochs[1]["val_accuracy"].get<double>(), epochs[2]["val_accuracy"].get<double>());
  absl::StatusOr<RunResult> er = EvaluateOnly(config);
  ASSERT_TRUE(er.ok()) << er.status();
  EXPECT_EQ(er->val->tally.accuracy(), best);

  // Without a validation split the best is judged by training accuracy, every epoch.
  TrainConfig no_val = Tiny(data, "val_every_no_val");
  no_val.val_split = 0;
  no_val.epochs = 3;
  no_val.val_every = 2;
  std::unique_ptr<Trainer> u = Make(no_val);
  ASSERT_NE(u, nullptr);
  bool best_after_epoch_1 = false;
  u->after_step = [&](int64_t step) {
    if (step == 6) best_after_epoch_1 = std::filesystem::exists(no_val.checkpoint_dir + "/" + kBestCheckpoint);
  };
  ASSERT_TRUE(u->Run().ok());
  EXPECT_TRUE(best_after_epoch_1);
}

TEST(Trainer, EvaluationLeavesRunningStatisticsAlone) {
  const std::string data = WriteData("eval", 16, 0);
  std::unique_ptr<Trainer> t = Make(Tiny(data, "eval"));
  ASSERT_NE(t, nullptr);
  absl::StatusOr<data::Cifar10> cifar = data::LoadCifar10(data);
  ASSERT_TRUE(cifar.ok()) << cifar.status();
  auto images = std::make_shared<const data::ImageDataset>(cifar->train);
  data::DataLoader loader(images, {.batch_size = 16, .shuffle = false, .num_workers = 0});

  t->model().train();
  std::vector<std::pair<std::string, Tensor>> before;
  for (const auto& [key, tensor] : t->model().state_dict()) before.push_back({key, clone(tensor)});
  const Evaluation e = t->Evaluate(loader);
  EXPECT_EQ(e.tally.images, 80);
  EXPECT_TRUE(t->model().is_training());  // the mode is restored
  const StateDict after = t->model().state_dict();
  for (const auto& [key, tensor] : before) EXPECT_TRUE(SameBits(tensor, after.at(key))) << key;

  // The same forward pass in training mode does move them (so the check above can fail).
  const Tensor x = loader.Next()->images;
  NoGrad([&] { return t->model().forward(x); });
  EXPECT_FALSE(SameBits(before[0].second, t->model().state_dict().at(before[0].first)) &&
               SameBits(before[1].second, t->model().state_dict().at(before[1].first)) &&
               SameBits(before[2].second, t->model().state_dict().at(before[2].first)));
}

// A data set's images, and the same images mirrored left-right.
struct MirroredSets {
  std::shared_ptr<const data::ImageDataset> images, mirrored;
};

MirroredSets LoadMirrored(const std::string& data) {
  absl::StatusOr<data::Cifar10> cifar = data::LoadCifar10(data);
  NG_CHECK(cifar.ok(), cifar.status().ToString());
  data::ImageDataset mirrored = cifar->train;
  const int64_t width = mirrored.width;
  for (size_t row = 0; row < mirrored.pixels.size(); row += width) {
    std::reverse(mirrored.pixels.begin() + row, mirrored.pixels.begin() + row + width);
  }
  return {std::make_shared<const data::ImageDataset>(cifar->train),
          std::make_shared<const data::ImageDataset>(std::move(mirrored))};
}

Tally EvaluateOn(Trainer& t, std::shared_ptr<const data::ImageDataset> set, bool final = false) {
  data::DataLoader loader(set, {.batch_size = 16, .shuffle = false, .num_workers = 0});
  return t.Evaluate(loader, final).tally;
}

TEST(Trainer, FlipTtaEvaluationDoesNotSeeMirroring) {
  const std::string data = WriteData("tta", 16, 0);
  const MirroredSets sets = LoadMirrored(data);

  // The same initial weights (the same seed), evaluated with and without the test-time flip.
  TrainConfig config = Tiny(data, "tta");
  std::unique_ptr<Trainer> plain = Make(config);
  config.flip_tta = true;
  std::unique_ptr<Trainer> tta = Make(config);
  ASSERT_NE(plain, nullptr);
  ASSERT_NE(tta, nullptr);
  const Tally plain_original = EvaluateOn(*plain, sets.images), plain_mirrored = EvaluateOn(*plain, sets.mirrored);
  const Tally tta_original = EvaluateOn(*tta, sets.images), tta_mirrored = EvaluateOn(*tta, sets.mirrored);
  EXPECT_NE(plain_original.loss_sum, plain_mirrored.loss_sum);  // the network alone is not mirror-symmetric
  EXPECT_EQ(tta_original.loss_sum, tta_mirrored.loss_sum);      // the mean of both views is
  EXPECT_EQ(tta_original.correct, tta_mirrored.correct);
  EXPECT_EQ(tta_original.images, 80);
  EXPECT_NE(tta_original.loss_sum, plain_original.loss_sum);
}

TEST(Trainer, ShiftedViewsOnlyInTheFinalEvaluation) {
  const std::string data = WriteData("tta_shift", 16, 0);
  const MirroredSets sets = LoadMirrored(data);
  TrainConfig config = Tiny(data, "tta_shift");
  config.flip_tta = true;
  std::unique_ptr<Trainer> flips = Make(config);
  config.tta_shift = 2;
  std::unique_ptr<Trainer> shifts = Make(config);
  ASSERT_NE(flips, nullptr);
  ASSERT_NE(shifts, nullptr);

  // Per epoch: the flips' two views, whatever tta_shift says.
  EXPECT_EQ(EvaluateOn(*shifts, sets.images).loss_sum, EvaluateOn(*flips, sets.images).loss_sum);
  // The final evaluation adds the shifted views, and stays blind to mirroring (up to the order of the sums).
  const Tally final_flips = EvaluateOn(*flips, sets.images, /*final=*/true);
  const Tally original = EvaluateOn(*shifts, sets.images, /*final=*/true);
  const Tally mirrored = EvaluateOn(*shifts, sets.mirrored, /*final=*/true);
  EXPECT_NE(original.loss_sum, final_flips.loss_sum);
  EXPECT_NEAR(original.loss_sum, mirrored.loss_sum, 1e-5 * original.loss_sum);
  EXPECT_EQ(original.correct, mirrored.correct);
  EXPECT_EQ(original.images, 80);
}

// Against the loss written out by hand in float64: with p = softmax(logits) and the targets mixed as the
// images were, q = w e_a + (1 - w) e_b (label smoothing e: (1 - e) q + e / C), image i's loss is
// -sum_c q_c log p[i][c], its logits' gradient (p[i] - q) / N, and its hit counts w when the argmax is a_i,
// 1 - w when it is b_i.
TEST(TrainingLoss, MixupWeighsBothLabelsLossesGradientsAndHits) {
  const std::vector<double> values = {2.0, -1.0, 0.5, 0.0, 0.3, 1.7, -0.4, 0.9, 0.1, 0.2, 0.3, 2.5};
  const int64_t n = 3, classes = 4;
  const std::vector<int64_t> a = {0, 3, 3}, b = {2, 1, 3};  // argmaxes 0, 1, 3: hits on a, on b, on both
  for (const bool mixed : {true, false}) {
    for (const double smoothing : {0.0, 0.1}) {
      const std::string what = absl::StrCat(mixed ? "mixed" : "unmixed", ", label smoothing ", smoothing);
      const double w = mixed ? 0.7 : 1.0;
      data::Batch batch{.labels = from_vector(a, {n})};
      if (mixed) {
        batch.mix_labels = from_vector(b, {n});
        batch.mix_weight = w;
      }
      Tensor logits = from_vector(values, {n, classes});
      logits.set_requires_grad(true);
      const BatchLoss got = TrainingLoss(logits, batch, smoothing);
      got.loss.backward();

      double want_loss = 0;
      std::vector<double> want_grad(n * classes);
      for (int64_t i = 0; i < n; ++i) {
        double total = 0;
        for (int64_t c = 0; c < classes; ++c) total += std::exp(values[i * classes + c]);
        for (int64_t c = 0; c < classes; ++c) {
          const double p = std::exp(values[i * classes + c]) / total;
          const double q = (1 - smoothing) * (w * (c == a[i]) + (1 - w) * (c == b[i])) + smoothing / classes;
          want_loss -= q * std::log(p) / n;
          want_grad[i * classes + c] = (p - q) / n;
        }
      }
      EXPECT_NEAR(got.loss.item<double>(), want_loss, 1e-12) << what;
      const std::vector<double> grad = logits.grad().to_vector<double>();
      for (size_t k = 0; k < grad.size(); ++k) EXPECT_NEAR(grad[k], want_grad[k], 1e-12) << what << ": " << k;
      EXPECT_NEAR(got.correct, mixed ? w + (1 - w) + 1 : 2, 1e-12) << what;
    }
  }
}

TEST(Trainer, LossFallsAndSixtyFourImagesAreMemorized) {
  // 64 images with random labels, no augmentation, no validation: only memorization can fit them.
  const std::string data = WriteData("memorize", 13, 0, /*random_labels=*/true);
  TrainConfig c = Tiny(data, "memorize");
  c.val_split = 1;
  c.augment = false;
  c.batch_size = 64;
  c.epochs = 20;
  c.lr = 0.1;
  c.weight_decay = 0;
  std::unique_ptr<Trainer> t = Make(c);
  ASSERT_NE(t, nullptr);
  absl::StatusOr<RunResult> r = t->Run();
  ASSERT_TRUE(r.ok()) << r.status();
  const std::string log = ReadText(c.checkpoint_dir + "/" + kMetricsLog);
  std::istringstream lines(log);
  std::vector<double> losses, accuracies;
  for (std::string line; std::getline(lines, line);) {
    const nlohmann::json j = nlohmann::json::parse(line);
    if (j["event"] != "epoch") continue;
    losses.push_back(j["train_loss"]);
    accuracies.push_back(j["train_accuracy"]);
  }
  ASSERT_EQ(losses.size(), 20u);
  EXPECT_LT(losses.back(), losses.front() / 10);
  EXPECT_EQ(accuracies.back(), 1.0);  // in training mode, during the last epoch

  // And in eval mode, with the running statistics, afterwards.
  absl::StatusOr<data::Cifar10> cifar = data::LoadCifar10(data);
  ASSERT_TRUE(cifar.ok()) << cifar.status();
  absl::StatusOr<std::pair<data::ImageDataset, data::ImageDataset>> split = data::SplitTail(cifar->train, 1);
  ASSERT_TRUE(split.ok()) << split.status();
  data::DataLoader loader(std::make_shared<const data::ImageDataset>(split->first),
                          {.batch_size = 64, .shuffle = false, .mean = {std::begin(data::kCifar10Mean), std::end(data::kCifar10Mean)},
                           .std = {std::begin(data::kCifar10Std), std::end(data::kCifar10Std)}});
  const Evaluation e = t->Evaluate(loader);
  EXPECT_EQ(e.tally.images, 64);
  EXPECT_EQ(e.tally.correct, 64);
}

TEST(Trainer, DivergedRunStopsWithoutSaving) {
  const std::string data = WriteData("diverge", 16, 0);
  TrainConfig c = Tiny(data, "diverge");
  c.lr = 1e30;
  std::unique_ptr<Trainer> t = Make(c);
  ASSERT_NE(t, nullptr);
  const absl::StatusOr<RunResult> r = t->Run();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("training diverged: the training loss is "), std::string::npos) << r.status();
  EXPECT_NE(r.status().message().find(" in epoch 1 (step "), std::string::npos) << r.status();
  EXPECT_NE(r.status().message().find("lower --lr (now 1e+30)"), std::string::npos) << r.status();
  // Nothing of the diverged epoch was saved: no checkpoint of a broken model, no log with NaNs in it.
  EXPECT_FALSE(std::filesystem::exists(c.checkpoint_dir + "/" + kLatestCheckpoint));
  EXPECT_FALSE(std::filesystem::exists(c.checkpoint_dir + "/" + kMetricsLog));
}

TEST(Trainer, Errors) {
  const std::string data = WriteData("errors", 16, 0);
  TrainConfig c = Tiny(data, "errors");

  TrainConfig missing = c;
  missing.data_dir = data + "_missing";
  absl::StatusOr<std::unique_ptr<Trainer>> t = Create(missing);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(t.status().message().find("data_batch_1.bin"), std::string::npos) << t.status();

  TrainConfig split = c;
  split.val_split = 80;
  EXPECT_NE(Create(split).status().message().find("--val_split: expected fewer than the 80"),
            std::string::npos);

  TrainConfig bad = c;
  bad.schedule = "exponential";
  EXPECT_NE(Create(bad).status().message().find("--schedule"), std::string::npos);

  TrainConfig resume = c;
  resume.resume = true;
  EXPECT_NE(Create(resume).status().message().find("no checkpoint at"), std::string::npos);

  // This build has no GPU (its CUDA kernels run on an emulator that only tests switch on).
  TrainConfig cuda = c;
  cuda.device = "cuda:0";
  EXPECT_EQ(Create(cuda).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(Create(cuda).status().message().find("--device=cuda:0: normgrad was built without CUDA"),
            std::string::npos) << Create(cuda).status();

  std::unique_ptr<Trainer> first = Make(c);
  ASSERT_NE(first, nullptr);
  ASSERT_TRUE(first->Run().ok());
  resume.epochs = 3;
  resume.lr = 0.01;
  const absl::Status s = Create(resume).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("epochs: checkpoint 2, now 3; lr: checkpoint 0.05, now 0.01"), std::string::npos) << s;

  // A new run would replace the earlier run's checkpoints: refused, unless asked for.
  TrainConfig again = c;
  const std::string latest = c.checkpoint_dir + "/" + kLatestCheckpoint;
  const std::string before = ReadText(latest);
  const absl::Status refused = Create(again).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.message().find("--checkpoint_dir: " + c.checkpoint_dir + " holds an earlier run (" + latest +
                                   "): continue it with --resume, start over there with --overwrite (its "
                                   "checkpoints, log and chart are deleted)"),
            std::string::npos)
      << refused;
  EXPECT_EQ(ReadText(latest), before);
  again.overwrite = true;
  std::unique_ptr<Trainer> replaced = Make(again);
  ASSERT_NE(replaced, nullptr);
  for (const char* name : {kLatestCheckpoint, kBestCheckpoint, kMetricsLog, kCurvesChart}) {
    EXPECT_FALSE(std::filesystem::exists(c.checkpoint_dir + "/" + name)) << name;  // gone before the new run saves
  }
  ASSERT_TRUE(replaced->Run().ok());
  EXPECT_TRUE(std::filesystem::exists(latest));
  // A folder that holds only an earlier run's log is an earlier run too.
  TrainConfig log_only = c;
  log_only.checkpoint_dir = c.checkpoint_dir + "_log_only";
  std::filesystem::create_directories(log_only.checkpoint_dir);
  std::filesystem::copy_file(c.checkpoint_dir + "/" + kMetricsLog, log_only.checkpoint_dir + "/" + kMetricsLog);
  EXPECT_NE(Create(log_only).status().message().find("holds an earlier run (" + log_only.checkpoint_dir + "/" +
                                                     kMetricsLog + ")"),
            std::string::npos)
      << Create(log_only).status();

  // --evaluate_only needs the run's validation split.
  TrainConfig other_split = c;
  other_split.val_split = 32;
  const absl::Status split_refused = EvaluateOnly(other_split).status();
  EXPECT_EQ(split_refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(split_refused.message().find("was trained with other settings than given: val_split: checkpoint 16, now 32"),
            std::string::npos)
      << split_refused;

  TrainConfig other_model = c;
  other_model.model = "resnet14";
  other_model.evaluate_only = true;
  absl::StatusOr<std::unique_ptr<Trainer>> e = Create(other_model);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_FALSE((*e)->Run().ok());  // its keys do not fit a ResNet-14
}

}  // namespace
}  // namespace normgrad::cifar10
