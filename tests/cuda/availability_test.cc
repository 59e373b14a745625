// Without a usable CUDA device, every way of asking for one fails with the reason: in a build without CUDA
// the advice to rebuild, in a CUDA build the CUDA runtime's own message (cudaGetErrorString). This test
// runs in both builds, so CI checks the no-device error of the CUDA build too; on a GPU machine it is
// skipped.

#include <gtest/gtest.h>

#include <string>

#include "core/cuda/device.h"
#include "core/kernels/device_copy.h"
#include "nn/resnet.h"
#include "tests/cuda/cuda_test.h"

namespace normgrad {
namespace {

using testing::ExpectError;
using testing::kCuda;

TEST(CudaAvailability, AskingWithoutADeviceThrowsTheReason) {
#if !defined(NORMGRAD_CUDA)
  cuda::emulation::SetEnabled(false);
  const std::string reason = "normgrad was built without CUDA; rebuild with --config=cuda";
#else
  if (cuda::CheckDevice(0).ok()) GTEST_SKIP() << "this machine has a CUDA device";
  const std::string reason = "no CUDA device: ";
#endif
  const absl::StatusOr<int> count = cuda::DeviceCount();
  ASSERT_FALSE(count.ok());
  EXPECT_NE(count.status().message().find(reason), std::string::npos) << count.status();
  EXPECT_FALSE(cuda::CheckDevice(0).ok());
  ExpectError([] { empty({2, 3}, {.device = kCuda}); }, reason);
  ExpectError([] { zeros({4}, {.device = kCuda}); }, reason);
  ExpectError([] { kernels::to(ones({4}), kCuda); }, reason);
  // A module asked to move stays where it was.
  const std::shared_ptr<nn::ResNet> model = nn::ResNet::Cifar(8);
  ExpectError([&] { model->to(kCuda); }, reason);
  for (const auto& [name, p] : model->named_parameters()) EXPECT_TRUE(p.device().is_cpu()) << name;
}

}  // namespace
}  // namespace normgrad
