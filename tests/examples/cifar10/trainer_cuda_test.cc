// train_cifar's trainer on a CUDA device (the host emulator in a build without CUDA): it trains as on the
// CPU, its checkpoints load on either device, and a resumed run is bit-exact on the device too.

#include <gtest/gtest.h>

#include "examples/cifar10/trainer.h"
#include "tests/cuda/cuda_test.h"
#include "tests/examples/cifar10/trainer_testing.h"
#include "tests/testing/direct_convolutions.h"

namespace normgrad::cifar10 {
namespace {

using testing::ExpectClose;
using testing::kCuda;

class CudaTrainer : public testing::CudaTest {};

TrainConfig OnDevice(TrainConfig c) {
  c.device = "cuda:0";
  return c;
}

TEST_F(CudaTrainer, TrainsLikeTheCpuAndItsCheckpointsLoadOnTheCpu) {
  // The CPU run on the direct kernels, whose rounding the tolerances assume (Winograd's larger rounding
  // errors grow over the training steps). The setting is process-wide and each trainer applies its own,
  // so both say so; the guard restores it afterwards.
  const testing::DirectConvolutions direct;
  const std::string data = WriteData("cuda_parity", 16, 16);
  // With a weight average of the last epoch, whose statistics are taken again on the device too.
  TrainConfig cpu_config = Tiny(data, "cuda_parity_cpu");
  cpu_config.average_epochs = 1;
  cpu_config.winograd = false;
  cpu_config.mixup = 0.4;  // the loss of mixed targets on the device
  std::unique_ptr<Trainer> cpu = Make(cpu_config);
  TrainConfig dev_config = OnDevice(Tiny(data, "cuda_parity_dev"));
  dev_config.average_epochs = 1;
  dev_config.winograd = false;
  dev_config.mixup = 0.4;
  std::unique_ptr<Trainer> dev = Make(dev_config);
  ASSERT_NE(cpu, nullptr);
  ASSERT_NE(dev, nullptr);
  absl::StatusOr<RunResult> cpu_run = cpu->Run(), dev_run = dev->Run();
  ASSERT_TRUE(cpu_run.ok()) << cpu_run.status();
  ASSERT_TRUE(dev_run.ok()) << dev_run.status();
  EXPECT_EQ(dev_run->steps, 8);
  // Eight SGD steps from the same weights on the same batches; the devices differ only in float32 rounding
  // (summation orders), which the steps amplify to some 1e-3 (a missed step or a wrong batch shows as 1e-1).
  const StateDict want = cpu->model().state_dict(), got = dev->model().state_dict();
  for (const auto& [key, tensor] : want) {
    EXPECT_EQ(got.at(key).device(), kCuda) << key;
    ExpectClose(got.at(key), tensor, 1e-2, 2e-3, key);
  }
  const StateDict want_average = cpu->averaged()->state_dict(), got_average = dev->averaged()->state_dict();
  for (const auto& [key, tensor] : want_average) {
    if (key == "n_averaged") continue;
    EXPECT_EQ(got_average.at(key).device(), kCuda) << key;
    ExpectClose(got_average.at(key), tensor, 1e-2, 2e-3, key);
  }
  ASSERT_TRUE(dev_run->test.has_value() && cpu_run->test.has_value());
  EXPECT_EQ(dev_run->test->tally.images, 16);
  EXPECT_NEAR(dev_run->test->tally.loss(), cpu_run->test->tally.loss(), 1e-2);

  // The device run's latest checkpoint (its average), evaluated on the CPU and on the device: the same test
  // numbers.
  double losses[2];
  for (const char* device : {"cpu", "cuda:0"}) {
    TrainConfig eval = dev_config;
    eval.device = device;
    absl::StatusOr<RunResult> evaluated = EvaluateOnly(eval);
    ASSERT_TRUE(evaluated.ok()) << evaluated.status();
    ASSERT_TRUE(evaluated->test.has_value());
    losses[eval.device == "cpu" ? 0 : 1] = evaluated->test->tally.loss();
  }
  EXPECT_NEAR(losses[0], losses[1], 1e-5);
}

TEST_F(CudaTrainer, ResumeOnTheDeviceIsBitExact) {
  const std::string data = WriteData("cuda_resume", 16, 0);
  std::unique_ptr<Trainer> reference = Make(OnDevice(Tiny(data, "cuda_uninterrupted")));
  ASSERT_NE(reference, nullptr);
  ASSERT_TRUE(reference->Run().ok());

  TrainConfig config = OnDevice(Tiny(data, "cuda_interrupted"));
  absl::StatusOr<RunResult> stopped;
  ASSERT_NE(RunStoppingAt(config, 3, stopped), nullptr);
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  EXPECT_TRUE(stopped->interrupted);
  config.resume = true;
  std::unique_ptr<Trainer> resumed = Make(config);
  ASSERT_NE(resumed, nullptr);
  ASSERT_TRUE(resumed->Run().ok());
  const StateDict want = reference->model().state_dict(), got = resumed->model().state_dict();
  for (const auto& [key, tensor] : want) {
    EXPECT_EQ(got.at(key).device(), kCuda) << key;
    EXPECT_TRUE(SameBits(tensor, got.at(key))) << key;
  }
}

}  // namespace
}  // namespace normgrad::cifar10
