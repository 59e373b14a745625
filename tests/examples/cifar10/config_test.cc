#include "examples/cifar10/config.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>

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
      {[](TrainConfig& c) { c.epochs = 0; }, "--epochs: expected at least 1, got 0"},
      {[](TrainConfig& c) { c.batch_size = -2; }, "--batch_size"},
      {[](TrainConfig& c) { c.lr = 0; }, "--lr"},
      {[](TrainConfig& c) { c.momentum = 1; }, "--momentum: expected a value in [0, 1), got 1"},
      {[](TrainConfig& c) { c.momentum = 0; }, "--nesterov: expected momentum > 0"},
      {[](TrainConfig& c) { c.weight_decay = -1; }, "--weight_decay"},
      {[](TrainConfig& c) { c.gamma = 2; }, "--gamma"},
      {[](TrainConfig& c) { c.label_smoothing = 1; }, "--label_smoothing: expected a value in [0, 1), got 1"},
      {[](TrainConfig& c) { c.warmup_epochs = 30; }, "--warmup_epochs: expected a value in [0, --epochs = 30), got 30"},
      {[](TrainConfig& c) { c.milestones = {10, 5}; }, "--milestones: expected increasing epochs after the warm-up, up to 30, got 10,5"},
      {[](TrainConfig& c) { c.milestones = {31}; }, "--milestones"},
      {[](TrainConfig& c) { c.warmup_epochs = 5, c.milestones = {5}; }, "--milestones"},
      {[](TrainConfig& c) { c.cutout = -4; }, "--cutout: expected a side in pixels >= 0 (0: none), got -4"},
      {[](TrainConfig& c) { c.cutout_epochs = 31; },
       "--cutout_epochs: expected a number of epochs in [0, 30] (0: all), got 31"},
      {[](TrainConfig& c) { c.cutout_epochs = -1; }, "--cutout_epochs"},
      {[](TrainConfig& c) { c.average_epochs = 31; },
       "--average_epochs: expected a number of epochs in [0, 30] (0: none), got 31"},
      {[](TrainConfig& c) { c.swa_lr = 0.2; }, "--swa_lr: expected a learning rate in [0, --lr = 0.1] (0: none), got 0.2"},
      {[](TrainConfig& c) { c.swa_lr = 0.01; },
       "--swa_lr: expected --schedule=cosine and --average_epochs that leave epochs after the warm-up to anneal in, "
       "got --schedule=cosine --average_epochs=0 of --epochs=30 --warmup_epochs=0"},
      {[](TrainConfig& c) { c.swa_lr = 0.01, c.average_epochs = 10, c.schedule = "onecycle"; }, "--swa_lr"},
      {[](TrainConfig& c) { c.swa_lr = 0.01, c.average_epochs = 28, c.warmup_epochs = 2; }, "--swa_lr"},
      {[](TrainConfig& c) { c.tta_shift = 32; },
       "--tta_shift: expected a shift in pixels in [0, 31] (0: none), got 32"},
      {[](TrainConfig& c) { c.tta_shift = -1; }, "--tta_shift"},
      {[](TrainConfig& c) { c.val_split = -1; }, "--val_split"},
      {[](TrainConfig& c) { c.max_train_batches = -1; }, "--max_train_batches"},
      {[](TrainConfig& c) { c.threads = -1; }, "--threads"},
      {[](TrainConfig& c) { c.loader_workers = -1; }, "--loader_workers"},
      {[](TrainConfig& c) { c.device = "gpu"; }, "--device: expected cpu, cuda or cuda:<index>, got \"gpu\""},
      {[](TrainConfig& c) { c.device = "cuda:-1"; }, "--device: expected cpu, cuda or cuda:<index>, got \"cuda:-1\""},
      {[](TrainConfig& c) { c.model = "resnet19"; }, "--model"},
      {[](TrainConfig& c) { c.checkpoint_dir = ""; }, "--checkpoint_dir"},
      {[](TrainConfig& c) { c.resume = c.evaluate_only = true; }, "--evaluate_only"},
  };
  for (const Case& c : cases) {
    TrainConfig config;
    c.change(config);
    const absl::Status s = Validate(config);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_NE(s.message().find(c.message), std::string::npos) << "expected \"" << c.message << "\" in: " << s;
  }
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
}

}  // namespace
}  // namespace normgrad::cifar10
