#include "examples/cifar10/config.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

namespace normgrad::cifar10 {
namespace {

TEST(Config, ResNetDepth) {
  for (int depth : {8, 20, 32, 44, 56, 110, 18}) {
    absl::StatusOr<int> d = ResNetDepth("resnet" + std::to_string(depth));
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_EQ(*d, depth);
  }
  for (const char* bad : {"resnet21", "resnet", "resnet-20", "vgg16", "resnet2", "RESNET20", "resnet00020"}) {
    const absl::Status s = ResNetDepth(bad).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find(std::string("--model: expected resnet20")), std::string::npos) << s;
    EXPECT_NE(s.message().find(bad), std::string::npos) << s;
  }
}

TEST(Config, ValidateNamesTheFlag) {
  EXPECT_TRUE(Validate(TrainConfig()).ok());
  struct Case {
    std::function<void(TrainConfig&)> change;
    const char* message;
  };
  const std::vector<Case> cases = {
      {[](TrainConfig& c) { c.schedule = "step"; }, "--schedule: expected cosine, multistep or onecycle, got \"step\""},
      {[](TrainConfig& c) { c.epochs = 0; }, "--epochs: expected a number of epochs in [1, 100000], got 0"},
      // Bounds that keep step and image counts in int64.
      {[](TrainConfig& c) { c.epochs = int64_t{1} << 40; }, "--epochs: expected a number of epochs in [1, 100000]"},
      {[](TrainConfig& c) { c.batch_size = -2; }, "--batch_size"},
      {[](TrainConfig& c) { c.batch_size = int64_t{1} << 40; }, "--batch_size: expected a batch size in [1, 1048576]"},
      {[](TrainConfig& c) { c.max_train_batches = int64_t{1} << 40; },
       "--max_train_batches: expected a number of batches in [0, 1073741824] (0: all)"},
      {[](TrainConfig& c) { c.lr = 0; }, "--lr"},
      {[](TrainConfig& c) { c.lr = std::numeric_limits<double>::infinity(); },
       "--lr: expected a positive, finite learning rate, got inf"},
      {[](TrainConfig& c) { c.weight_decay = std::numeric_limits<double>::infinity(); },
       "--weight_decay: expected a finite value >= 0, got inf"},
      {[](TrainConfig& c) { c.momentum = 1; }, "--momentum: expected a value in [0, 1), got 1"},
      {[](TrainConfig& c) { c.momentum = 0; }, "--nesterov: expected momentum > 0"},
      {[](TrainConfig& c) { c.weight_decay = -1; }, "--weight_decay"},
      {[](TrainConfig& c) { c.gamma = 2; }, "--gamma"},
      {[](TrainConfig& c) { c.label_smoothing = 1; }, "--label_smoothing: expected a value in [0, 1), got 1"},
      {[](TrainConfig& c) { c.warmup_epochs = 30; }, "--warmup_epochs: expected a value in [0, --epochs = 30), got 30"},
      {[](TrainConfig& c) {
         c.schedule = "multistep", c.milestones = {10, 5};
       },
       "--milestones: expected increasing epochs after the warm-up, up to 30, got 10,5"},
      {[](TrainConfig& c) { c.schedule = "multistep", c.milestones = {31}; }, "--milestones"},
      {[](TrainConfig& c) { c.schedule = "multistep", c.warmup_epochs = 5, c.milestones = {5}; }, "--milestones"},
      // The default milestones (50% and 75% of the run) are checked too.
      {[](TrainConfig& c) { c.schedule = "multistep", c.epochs = 2; },
       "--milestones: expected increasing epochs after the warm-up, up to 2, got 1,1 (the default: 50% and 75% of "
       "--epochs)"},
      {[](TrainConfig& c) { c.schedule = "multistep", c.epochs = 10, c.warmup_epochs = 6; }, "got 5,7 (the default"},
      // Flags that the other settings would silently ignore.
      {[](TrainConfig& c) {
         c.milestones = {10, 20};
       },
       "--milestones: expected --schedule=multistep (the other schedules have none), got 10,20 with --schedule=cosine"},
      {[](TrainConfig& c) { c.cutout_epochs = 10; }, "--cutout_epochs: expected --cutout > 0"},
      {[](TrainConfig& c) { c.cutout = -4; }, "--cutout: expected a side in pixels in [0, 32] (0: none), got -4"},
      {[](TrainConfig& c) { c.cutout = 33; }, "--cutout: expected a side in pixels in [0, 32] (0: none), got 33"},
      {[](TrainConfig& c) { c.cutout_epochs = 31; },
       "--cutout_epochs: expected a number of epochs in [0, 30] (0: all), got 31"},
      {[](TrainConfig& c) { c.cutout_epochs = -1; }, "--cutout_epochs"},
      {[](TrainConfig& c) { c.mixup = -0.2; }, "--mixup: expected a finite Beta parameter >= 0 (0: none), got -0.2"},
      {[](TrainConfig& c) { c.mixup = std::numeric_limits<double>::infinity(); }, "--mixup: expected a finite"},
      {[](TrainConfig& c) { c.mixup_epochs = 10; }, "--mixup_epochs: expected --mixup > 0 (it limits mixup"},
      {[](TrainConfig& c) { c.mixup = 0.2, c.mixup_epochs = 31; },
       "--mixup_epochs: expected a number of epochs in [0, 30] (0: all), got 31"},
      {[](TrainConfig& c) { c.average_epochs = 31; },
       "--average_epochs: expected a number of epochs in [0, 30] (0: none), got 31"},
      {[](TrainConfig& c) { c.swa_lr = 0.2; },
       "--swa_lr: expected a learning rate in [0, --lr = 0.1] (0: none), got 0.2"},
      {[](TrainConfig& c) { c.swa_lr = 0.01; },
       "--swa_lr: expected --schedule=cosine and --average_epochs that leave epochs after the warm-up to anneal in, "
       "got --schedule=cosine --average_epochs=0 of --epochs=30 --warmup_epochs=0"},
      {[](TrainConfig& c) { c.swa_lr = 0.01, c.average_epochs = 10, c.schedule = "onecycle"; }, "--swa_lr"},
      {[](TrainConfig& c) { c.swa_lr = 0.01, c.average_epochs = 28, c.warmup_epochs = 2; }, "--swa_lr"},
      {[](TrainConfig& c) { c.tta_shift = 32; },
       "--tta_shift: expected a shift in pixels in [0, 31] (0: none), got 32"},
      {[](TrainConfig& c) { c.tta_shift = -1; }, "--tta_shift"},
      {[](TrainConfig& c) { c.tta_diagonals = true; },
       "--tta_diagonals: expected --tta_shift > 0 (the shifts it adds to), got --tta_shift=0"},
      {[](TrainConfig& c) { c.val_split = -1; }, "--val_split"},
      {[](TrainConfig& c) { c.val_every = 0; },
       "--val_every: expected a number of epochs in [1, --epochs = 30], got 0"},
      {[](TrainConfig& c) { c.val_every = 31; },
       "--val_every: expected a number of epochs in [1, --epochs = 30], got 31"},
      {[](TrainConfig& c) { c.max_train_batches = -1; }, "--max_train_batches"},
      {[](TrainConfig& c) { c.threads = -1; }, "--threads: expected a count in [0, 1024] (0: every core), got -1"},
      {[](TrainConfig& c) { c.threads = 100000; },
       "--threads: expected a count in [0, 1024] (0: every core), got 100000"},
      {[](TrainConfig& c) { c.loader_workers = -1; }, "--loader_workers: expected a count in [0, 64], got -1"},
      {[](TrainConfig& c) { c.loader_workers = 65; }, "--loader_workers: expected a count in [0, 64], got 65"},
      {[](TrainConfig& c) { c.device = "gpu"; }, "--device: expected cpu, cuda or cuda:<index>, got \"gpu\""},
      {[](TrainConfig& c) { c.device = "cuda:-1"; }, "--device: expected cpu, cuda or cuda:<index>, got \"cuda:-1\""},
      {[](TrainConfig& c) { c.model = "resnet19"; }, "--model"},
      {[](TrainConfig& c) { c.checkpoint_dir = ""; }, "--checkpoint_dir"},
      {[](TrainConfig& c) { c.resume = c.evaluate_only = true; }, "--evaluate_only"},
      {[](TrainConfig& c) { c.resume = c.overwrite = true; },
       "--overwrite: expected not together with --resume or --evaluate_only, got --resume"},
      {[](TrainConfig& c) { c.evaluate_only = c.overwrite = true; }, "--overwrite"},
  };
  for (const Case& c : cases) {
    TrainConfig config;
    c.change(config);
    const absl::Status s = Validate(config);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_NE(s.message().find(c.message), std::string::npos) << "expected \"" << c.message << "\" in: " << s;
  }
}

TEST(Config, ScheduleStepsNameTheFlags) {
  auto expect_error = [](const TrainConfig& c, int64_t steps_per_epoch, const std::string& message) {
    ASSERT_TRUE(Validate(c).ok()) << Validate(c);  // only the steps show the problem
    const absl::Status s = ValidateScheduleSteps(c, steps_per_epoch);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << message;
    EXPECT_NE(s.message().find(message), std::string::npos) << "expected \"" << message << "\" in: " << s;
  };
  EXPECT_TRUE(ValidateScheduleSteps(TrainConfig(), 1).ok());

  // A fractional warm-up rounds to whole steps: 0.99 of 10 steps is all of them, leaving the cosine none.
  TrainConfig cosine;
  cosine.epochs = 1;
  cosine.warmup_epochs = 0.99;
  EXPECT_TRUE(ValidateScheduleSteps(cosine, 100).ok());  // 99 steps of warm-up, 1 of cosine
  expect_error(cosine, 10,
               "--warmup_epochs: expected a warm-up that leaves at least one step before the schedule's next phase, "
               "got 0.99 (10 steps an epoch, 10 in all, 10 of warm-up)");
  // The same before the first milestone, and before the averaging's start with --swa_lr.
  TrainConfig multistep;
  multistep.schedule = "multistep";
  multistep.epochs = 4;
  multistep.milestones = {1, 3};
  multistep.warmup_epochs = 0.96;
  EXPECT_TRUE(ValidateScheduleSteps(multistep, 100).ok());
  expect_error(multistep, 10, "--warmup_epochs");
  TrainConfig swa;
  swa.epochs = 10;
  swa.average_epochs = 4;
  swa.swa_lr = 0.01;
  swa.warmup_epochs = 5.99;
  EXPECT_TRUE(ValidateScheduleSteps(swa, 100).ok());
  expect_error(swa, 10, "--warmup_epochs");
  // One cycle: both phases need more than a step.
  TrainConfig onecycle;
  onecycle.schedule = "onecycle";
  onecycle.epochs = 1;
  EXPECT_TRUE(ValidateScheduleSteps(onecycle, 4).ok());  // 1.2 steps rising
  expect_error(onecycle, 3, "--epochs: expected a run long enough for both one-cycle phases, got --epochs=1");
  onecycle.warmup_epochs = 0.1;
  expect_error(onecycle, 10, "--warmup_epochs");  // 1 step rising
  EXPECT_TRUE(ValidateScheduleSteps(onecycle, 20).ok());
}

std::vector<double> Lrs(const TrainConfig& c, int64_t steps_per_epoch) {
  optim::SchedulePtr s = MakeSchedule(c, steps_per_epoch);
  std::vector<double> lrs;
  for (int64_t t = 0; t < c.epochs * steps_per_epoch; ++t) lrs.push_back(s->Lr(t, c.lr));
  return lrs;
}

TEST(Config, CosineWithWarmup) {
  TrainConfig c;
  c.epochs = 10;
  c.warmup_epochs = 2;
  const std::vector<double> lr = Lrs(c, 5);  // 10 warm-up steps, then 40 of cosine
  EXPECT_DOUBLE_EQ(lr[0], 0.01);
  EXPECT_NEAR(lr[5], 0.01 + 0.09 * 0.5, 1e-12);
  EXPECT_DOUBLE_EQ(lr[10], 0.1);
  EXPECT_NEAR(lr[30], 0.05, 1e-12);  // halfway through the cosine
  EXPECT_GT(lr[49], 0);
  EXPECT_LT(lr[49], 0.001);
  c.warmup_epochs = 0;
  EXPECT_DOUBLE_EQ(Lrs(c, 5)[0], 0.1);
}

TEST(Config, CosineToTheSwaLearningRate) {
  TrainConfig c;
  c.epochs = 10;
  c.average_epochs = 4;
  c.swa_lr = 0.01;
  const std::vector<double> lr = Lrs(c, 5);  // 30 steps of cosine from 0.1 to 0.01, then 20 at 0.01
  EXPECT_DOUBLE_EQ(lr[0], 0.1);
  EXPECT_NEAR(lr[15], 0.01 + 0.09 * 0.5, 1e-12);
  EXPECT_GT(lr[29], 0.01);
  for (int t = 30; t < 50; ++t) EXPECT_NEAR(lr[t], 0.01, 1e-15) << t;
  c.warmup_epochs = 2;  // 10 warm-up steps, then 20 of cosine
  EXPECT_NEAR(Lrs(c, 5)[20], 0.055, 1e-12);
  // The averaging's start shapes this schedule, so resuming with another --average_epochs is refused.
  TrainConfig other = c;
  other.average_epochs = 3;
  EXPECT_EQ(TrajectoryDifferences(TrajectoryJson(c), other), std::vector<std::string>{"swa_epochs: checkpoint 4, now 3"});
  c.swa_lr = other.swa_lr = 0;
  EXPECT_TRUE(TrajectoryDifferences(TrajectoryJson(c), other).empty());
}

TEST(Config, MultistepDefaultsAndMilestones) {
  TrainConfig c;
  c.schedule = "multistep";
  c.epochs = 8;
  std::vector<double> lr = Lrs(c, 3);  // milestones 4 and 6 epochs: steps 12 and 18
  EXPECT_DOUBLE_EQ(lr[11], 0.1);
  EXPECT_NEAR(lr[12], 0.01, 1e-15);
  EXPECT_NEAR(lr[17], 0.01, 1e-15);
  EXPECT_NEAR(lr[18], 0.001, 1e-15);
  c.milestones = {2, 7};
  c.warmup_epochs = 1;
  lr = Lrs(c, 3);
  EXPECT_DOUBLE_EQ(lr[0], 0.01);  // warm-up from lr / 10
  EXPECT_DOUBLE_EQ(lr[5], 0.1);
  EXPECT_NEAR(lr[6], 0.01, 1e-15);  // the milestone counts epochs from the start, warm-up included
  EXPECT_NEAR(lr[21], 0.001, 1e-15);
}

TEST(Config, OneCycle) {
  TrainConfig c;
  c.schedule = "onecycle";
  c.epochs = 10;
  c.warmup_epochs = 3;
  optim::SchedulePtr s = MakeSchedule(c, 10);
  EXPECT_NEAR(s->Lr(0, 0), 0.1 / 25, 1e-12);
  EXPECT_NEAR(s->Lr(29, 0), 0.1, 1e-12);  // the peak ends the 30% rising phase
  EXPECT_NEAR(*s->Momentum(0), 0.9, 1e-12);
  EXPECT_NEAR(*s->Momentum(29), 0.85, 1e-12);
  EXPECT_LT(s->Lr(99, 0), 1e-5);
}

TEST(Config, TrajectoryDifferences) {
  TrainConfig a;
  const nlohmann::json saved = TrajectoryJson(a);
  EXPECT_TRUE(TrajectoryDifferences(saved, a).empty());
  TrainConfig b = a;
  b.threads = 7;  // not part of the trajectory
  b.checkpoint_dir = "elsewhere";
  EXPECT_TRUE(TrajectoryDifferences(saved, b).empty());
  b.epochs = 40;
  b.lr = 0.2;
  const std::vector<std::string> d = TrajectoryDifferences(saved, b);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0], "epochs: checkpoint 30, now 40");
  EXPECT_EQ(d[1], "lr: checkpoint 0.1, now 0.2");
  // A checkpoint from before a setting existed ran with its default.
  nlohmann::json older = saved;
  older.erase("cutout");
  EXPECT_TRUE(TrajectoryDifferences(older, a).empty());
  TrainConfig c = a;
  c.cutout = 16;
  EXPECT_EQ(TrajectoryDifferences(older, c), std::vector<std::string>{"cutout: checkpoint 0, now 16"});
  older.erase("val_every");  // and --val_every, added later
  EXPECT_EQ(TrajectoryDifferences(older, c), std::vector<std::string>{"cutout: checkpoint 0, now 16"});
  older.erase("mixup");
  c.cutout = 0;
  c.mixup = 0.5;
  EXPECT_EQ(TrajectoryDifferences(older, c), std::vector<std::string>{"mixup: checkpoint 0.0, now 0.5"});
  // Only the settings asked for.
  c.lr = 0.3;
  EXPECT_EQ(TrajectoryDifferences(older, c, {"lr", "val_split"}), std::vector<std::string>{"lr: checkpoint 0.1, now 0.3"});
  // Validation with flips judges epochs differently: which one is best depends on it.
  TrainConfig flips = a;
  flips.flip_tta = true;
  EXPECT_EQ(TrajectoryDifferences(saved, flips), std::vector<std::string>{"flip_tta: checkpoint false, now true"});
}

}  // namespace
}  // namespace normgrad::cifar10
