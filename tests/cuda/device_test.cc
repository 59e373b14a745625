// CUDA devices and memory: availability errors, copies between host and device, the caching allocator,
// tensors created on a device.

#include <gtest/gtest.h>

#include "autograd/gradcheck.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "core/cuda/device.h"
#include "core/cuda/memory.h"
#include "core/kernels/copy.h"
#include "core/kernels/device_copy.h"
#include "core/kernels/elementwise.h"
#include "core/kernels/view.h"
#include "tests/cuda/cuda_test.h"

namespace normgrad {
namespace {

using testing::CudaTest;
using testing::ExpectClose;
using testing::ExpectError;
using testing::kCuda;
using testing::RandomCpu;
using testing::ToCuda;

class CudaDevice : public CudaTest {};

TEST_F(CudaDevice, ReportsAnIndexBeyondTheDevices) {
  const absl::Status status = cuda::CheckDevice(99);
  EXPECT_EQ(status.code(), absl::StatusCode::kOutOfRange);
  EXPECT_NE(status.message().find("cuda:99 does not exist"), std::string::npos) << status;
  ExpectError([] { empty({2}, {.device = Device::CUDA(99)}); }, "cuda:99 does not exist");
}

TEST_F(CudaDevice, CopiesRoundTripEveryDType) {
  for (DType dtype : {kFloat32, kFloat64, kInt64}) {
    const Tensor cpu = kernels::to_dtype(RandomCpu({3, 5, 7}, 1, kFloat64, 0, 100), dtype);
    const Tensor dev = ToCuda(cpu);
    EXPECT_EQ(dev.device(), kCuda);
    EXPECT_EQ(dev.shape(), cpu.shape());
    EXPECT_EQ(dev.dtype(), dtype);
    const Tensor back = kernels::to(dev, kCPU);
    EXPECT_TRUE(back.device().is_cpu());
    EXPECT_EQ(back.to_vector<double>(), cpu.to_vector<double>()) << DTypeName(dtype);
  }
}

TEST_F(CudaDevice, ToIsTheTensorItselfOnItsOwnDevice) {
  const Tensor dev = ToCuda(ones({3}));
  EXPECT_TRUE(kernels::to(dev, kCuda).is_same(dev));
}

TEST_F(CudaDevice, CopiesNonContiguousViewsBothWays) {
  const Tensor cpu = RandomCpu({6, 4}, 2);
  const Tensor t = kernels::transpose(cpu, 0, 1);  // [4, 6], strides [1, 4]
  const Tensor dev = ToCuda(t);
  EXPECT_TRUE(dev.is_contiguous());
  EXPECT_EQ(dev.to_vector<float>(), t.to_vector<float>());
  // A strided view of a device tensor comes back through a device-side contiguous copy.
  const Tensor dev_t = kernels::transpose(ToCuda(cpu), 0, 1);
  EXPECT_FALSE(dev_t.is_contiguous());
  EXPECT_EQ(kernels::to(dev_t, kCPU).to_vector<float>(), t.to_vector<float>());
  const Tensor narrowed = kernels::narrow(dev_t, 1, 1, 3);
  EXPECT_EQ(kernels::clone(narrowed).to_vector<float>(), kernels::narrow(t, 1, 1, 3).to_vector<float>());
}

TEST_F(CudaDevice, CreatesTensorsOnTheDevice) {
  const Tensor z = zeros({2, 3}, {.device = kCuda});
  EXPECT_EQ(z.device(), kCuda);
  EXPECT_EQ(z.to_vector<float>(), std::vector<float>(6, 0.0f));
  EXPECT_EQ(full({4}, 7, {.dtype = kInt64, .device = kCuda}).to_vector<int64_t>(), std::vector<int64_t>(4, 7));
  EXPECT_EQ(arange(0.0, 5.0, 1.0, {.device = kCuda}).to_vector<float>(), (std::vector<float>{0, 1, 2, 3, 4}));
  const Tensor v = from_vector<double>({1.5, -2, 3}, {3}, {.device = kCuda});
  EXPECT_EQ(v.device(), kCuda);
  EXPECT_EQ(v.dtype(), kFloat64);
  EXPECT_EQ(v.at<double>({1}), -2);
  EXPECT_EQ(ones_like(v).device(), kCuda);
  EXPECT_EQ(full({}, 2.5, {.device = kCuda}).item<float>(), 2.5f);
}

TEST_F(CudaDevice, PrintsValuesWithTheDevice) {
  const Tensor v = from_vector<float>({1, 2}, {2}, {.device = kCuda});
  EXPECT_EQ(v.ToString(), "tensor([1.0000, 2.0000], device=cuda:0)");
}

TEST_F(CudaDevice, HostPointerAccessIsRefused) {
  const Tensor v = ones({2}, {.device = kCuda});
  ExpectError([&] { v.data<float>(); }, "data: expected a CPU tensor, got one on cuda:0");
  ExpectError([&] { v.raw_data(); }, "data: expected a CPU tensor");
}

TEST_F(CudaDevice, MixingDevicesIsAnError) {
  const Tensor a = ones({3}), b = ToCuda(ones({3}));
  ExpectError([&] { kernels::add(a, b); }, "add: expected tensors on the same device, got cpu and cuda:0");
  ExpectError([&] { kernels::mul_(b, a); }, "mul_: expected tensors on the same device, got cuda:0 and cpu");
  ExpectError([&] { kernels::where(b, a, a); }, "where: expected tensors on the same device");
}

TEST_F(CudaDevice, CopyIntoATensorOnAnotherDevice) {
  const Tensor src = RandomCpu({2, 3}, 3);
  const Tensor dst = zeros({2, 3}, {.dtype = kFloat64, .device = kCuda});
  kernels::copy_(dst, src);  // float32 on the CPU -> float64 on the device
  ExpectClose(dst, kernels::to_dtype(src, kFloat64), 0, 0, "copy_ cpu -> cuda");
  const Tensor host = zeros({2, 3});
  kernels::copy_(host, ToCuda(src));
  EXPECT_EQ(host.to_vector<float>(), src.to_vector<float>());
}

TEST_F(CudaDevice, FreedBlocksAreReusedWithoutNewDeviceAllocations) {
  { const Tensor warm = empty({1000}, {.device = kCuda}); }
  const cuda::AllocatorStats before = cuda::GetAllocatorStats(0);
  for (int i = 0; i < 10; ++i) {
    const Tensor t = empty({1000}, {.device = kCuda});  // 4000 bytes, the same bin every time
    const Tensor u = empty({999}, {.device = kCuda});   // 3996 bytes: a second block of that bin
  }
  const cuda::AllocatorStats after = cuda::GetAllocatorStats(0);
  EXPECT_EQ(after.device_allocations, before.device_allocations + 1);  // only the second block is new
  EXPECT_EQ(after.cache_hits, before.cache_hits + 19);
  EXPECT_EQ(after.allocated_bytes, before.allocated_bytes);
  cuda::EmptyCache();
  EXPECT_EQ(cuda::GetAllocatorStats(0).cached_bytes, 0u);
}

TEST_F(CudaDevice, SizesShareBinsWithBoundedWaste) {
  const cuda::AllocatorStats before = cuda::GetAllocatorStats(0);
  const Tensor t = empty({(1 << 20) + 1}, {.dtype = kFloat32, .device = kCuda});  // 4 MiB + 4 bytes
  const size_t used = cuda::GetAllocatorStats(0).allocated_bytes - before.allocated_bytes;
  EXPECT_GE(used, size_t{(4 << 20) + 4});
  EXPECT_LE(used, size_t{5 << 20});  // the next bin: 4 MiB + 1 MiB
}

#if !defined(NORMGRAD_CUDA)
// The emulator keeps device memory unreadable from host code, as a GPU's is.
TEST_F(CudaDevice, EmulatedDeviceMemoryFaultsOnHostAccess) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // OpenBLAS and the thread pool have threads running
  const Tensor v = ones({4}, {.device = kCuda});
  EXPECT_DEATH({ *static_cast<volatile float*>(v.data_ptr()) = 2; }, "");
}
#endif


// A graph that crosses devices: the gradient of the copy is copied back, checked in float64 against
// finite differences, and a CPU leaf receives a CPU gradient.
TEST_F(CudaDevice, CopiesBetweenDevicesAreDifferentiable) {
  const autograd::TensorFn across = [](const std::vector<Tensor>& x) {
    const Tensor on_device = to(x[0], kCuda);
    return to(mul(exp(on_device), on_device), kCPU);
  };
  Tensor x = RandomCpu({2, 3}, 5, kFloat64).set_requires_grad();
  EXPECT_STREQ(to(x, kCuda).grad_fn()->name(), "ToDeviceBackward");
  const absl::Status s = autograd::GradCheck(across, {x}, {.check_second_order = true});
  EXPECT_TRUE(s.ok()) << s;
  sum(across({x})).backward();
  ASSERT_TRUE(x.grad().defined());
  EXPECT_TRUE(x.grad().device().is_cpu());
}
}  // namespace
}  // namespace normgrad
