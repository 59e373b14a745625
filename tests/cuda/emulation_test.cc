// The host emulation of the CUDA execution model (core/cuda/emulation), checked with small kernels
// written here: barriers, shared memory, warp shuffles, atomics, launch shapes, and the misuses the
// emulator reports. A CUDA build has no emulator.

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "core/cuda/memory.h"
#include "tests/cuda/cuda_test.h"

#if !defined(NORMGRAD_CUDA)
#include "core/cuda/emulation/execution.h"
#include "core/cuda/launch.h"
#endif

namespace normgrad {
namespace {

#if defined(NORMGRAD_CUDA)

TEST(CudaEmulation, NotPartOfACudaBuild) { GTEST_SKIP() << "skipped: a CUDA build runs kernels on the GPU"; }

#else

using cuda::Launch;
using testing::CudaTest;
using testing::ExpectError;

// Device buffers of ints, filled from and read back to std::vector.
class DeviceInts {
 public:
  explicit DeviceInts(size_t n, int value = 0) : n_(n), ptr_(static_cast<int*>(cuda::Allocate(n * sizeof(int), 0))) {
    const std::vector<int> init(n, value);
    cuda::CopyToDevice(ptr_, init.data(), n * sizeof(int), 0);
  }
  ~DeviceInts() { cuda::Free(ptr_, 0); }
  int* get() const { return ptr_; }
  std::vector<int> Read() const {
    std::vector<int> out(n_);
    cuda::CopyToHost(out.data(), ptr_, n_ * sizeof(int), 0);
    return out;
  }

 private:
  size_t n_;
  int* ptr_;
};

__global__ void RotateThroughShared(int* out) {
  __shared__ int buffer[1024];
  const int n = blockDim.x, t = threadIdx.x;
  buffer[t] = static_cast<int>(blockIdx.x) * 1000 + t;
  __syncthreads();
  out[blockIdx.x * n + t] = buffer[(t + 1) % n];
}

// The same exchange without the barrier: a race a GPU may or may not expose.
__global__ void RotateWithoutBarrier(int* out) {
  __shared__ int buffer[1024];
  const int n = blockDim.x, t = threadIdx.x;
  buffer[t] = static_cast<int>(blockIdx.x) * 1000 + t;
  out[blockIdx.x * n + t] = buffer[(t + 1) % n];
}

class CudaEmulation : public CudaTest {};

TEST_F(CudaEmulation, SyncThreadsIsABarrierOverSharedMemory) {
  DeviceInts out(3 * 96);
  Launch<RotateThroughShared>(3, 96, out.get());
  const std::vector<int> got = out.Read();
  for (int b = 0; b < 3; ++b) {
    for (int t = 0; t < 96; ++t) EXPECT_EQ(got[b * 96 + t], b * 1000 + (t + 1) % 96) << b << ", " << t;
  }
}

TEST_F(CudaEmulation, ShuffledSchedulingExposesAMissingBarrier) {
  DeviceInts out(2 * 128);
  Launch<RotateWithoutBarrier>(2, 128, out.get());
  const std::vector<int> got = out.Read();
  int stale = 0;
  for (int t = 0; t < 128; ++t) stale += got[128 + t] != 1000 + (t + 1) % 128;
  EXPECT_GT(stale, 0) << "block 1 should have read some of block 0's values";
}

__global__ void ThreadCoordinates(int* out) {
  const int block = (blockIdx.z * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x;
  const int thread = (threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x;
  const int threads = blockDim.x * blockDim.y * blockDim.z;
  atomicAdd(&out[block * threads + thread], 1);
}

TEST_F(CudaEmulation, EveryThreadOfA3dGridRunsOnce) {
  const dim3 grid(3, 2, 2), block(4, 3, 5);
  DeviceInts out(12 * 60);
  Launch<ThreadCoordinates>(grid, block, out.get());
  const std::vector<int> got = out.Read();
  EXPECT_TRUE(std::all_of(got.begin(), got.end(), [](int v) { return v == 1; }));
}

__global__ void WarpShuffles(int* out) {
  const int t = threadIdx.x, lane = t % 32;
  int sum = t;
  for (int offset = 16; offset > 0; offset /= 2) sum += __shfl_down_sync(0xffffffffu, sum, offset);
  int all = t;
  for (int mask = 1; mask < 32; mask *= 2) all += __shfl_xor_sync(0xffffffffu, all, mask);
  const int up = __shfl_up_sync(0xffffffffu, t, 3);
  const int from_5_of_16 = __shfl_sync(0xffffffffu, t, 5, 16);
  const double wide = __shfl_down_sync(0xffffffffu, 0.5 + t, 1);
  out[t * 5 + 0] = lane == 0 ? sum : -1;
  out[t * 5 + 1] = all;
  out[t * 5 + 2] = up;
  out[t * 5 + 3] = from_5_of_16;
  out[t * 5 + 4] = static_cast<int>(wide * 2);
}

TEST_F(CudaEmulation, WarpShufflesFollowCudaRules) {
  DeviceInts out(64 * 5);
  Launch<WarpShuffles>(1, 64, out.get());
  const std::vector<int> got = out.Read();
  for (int t = 0; t < 64; ++t) {
    const int lane = t % 32, warp = t / 32;
    const int warp_sum = 32 * 32 * warp + 31 * 32 / 2;
    if (lane == 0) {
      EXPECT_EQ(got[t * 5 + 0], warp_sum);
    }
    EXPECT_EQ(got[t * 5 + 1], warp_sum) << t;
    EXPECT_EQ(got[t * 5 + 2], lane >= 3 ? t - 3 : t) << t;          // lanes below 3 keep their own
    EXPECT_EQ(got[t * 5 + 3], t / 16 * 16 + 5) << t;                 // lane 5 of each 16-lane segment
    EXPECT_EQ(got[t * 5 + 4], lane < 31 ? 2 * t + 3 : 2 * t + 1) << t;  // lane 31 keeps its own
  }
}

__global__ void CountEveryThread(int* counter) { atomicAdd(counter, 1); }

TEST_F(CudaEmulation, AtomicsCountAcrossBlocks) {
  DeviceInts counter(1);
  Launch<CountEveryThread>(7, 33, counter.get());
  EXPECT_EQ(counter.Read()[0], 7 * 33);
}

__global__ void EarlyReturnBeforeBarrier(int* out) {
  if (threadIdx.x < 16) return;
  __syncthreads();
  out[threadIdx.x] = 1;
}

// Half of warp 1 waits at a warp barrier that the other half never reaches.
__global__ void BarrierAgainstWarpBarrier(int* out) {
  if (threadIdx.x >= 32 && threadIdx.x < 48) __syncwarp();
  __syncthreads();
  out[threadIdx.x] = 1;
}

__global__ void ShuffleFromAMissingLane(int* out) {
  out[threadIdx.x] = __shfl_down_sync(0xffffffffu, static_cast<int>(threadIdx.x), 16);
}

TEST_F(CudaEmulation, ReportsBarrierAndShuffleMisuse) {
  DeviceInts out(64);
  ExpectError([&] { Launch<EarlyReturnBeforeBarrier>(2, 64, out.get()); },
                  "kernel EarlyReturnBeforeBarrier, block (0, 0, 0): __syncthreads() was reached by 48 of 64 "
                  "threads; the others had returned");
  ExpectError([&] { Launch<BarrierAgainstWarpBarrier>(1, 64, out.get()); },
                  "threads wait at different barriers");
  // Lanes 0-7 of warp 1 in a 40-thread block read lanes 16-23, which do not exist.
  ExpectError([&] { Launch<ShuffleFromAMissingLane>(1, 40, out.get()); },
                  "which this block of 40 threads does not have");
  // The emulator is usable again after a failed launch.
  DeviceInts counter(1);
  Launch<CountEveryThread>(2, 8, counter.get());
  EXPECT_EQ(counter.Read()[0], 16);
}

TEST_F(CudaEmulation, RejectsShapesCudaCannotLaunch) {
  DeviceInts counter(1);
  ExpectError([&] { Launch<CountEveryThread>(1, 2048, counter.get()); },
                  "Launch CountEveryThread: expected 1 to 1024 threads per block");
  ExpectError([&] { Launch<CountEveryThread>(dim3(1, 70000), 32, counter.get()); },
                  "Launch CountEveryThread: expected a grid of 1 to 2^31 - 1 by 1 to 65535");
  ExpectError([&] { Launch<CountEveryThread>(0, 32, counter.get()); }, "expected a grid");
}

TEST_F(CudaEmulation, RecordsTheKernelsItRan) {
  DeviceInts counter(1);
  Launch<CountEveryThread>(1, 1, counter.get());
  const std::vector<std::string> names = cuda::emulation::LaunchedKernels();
  EXPECT_NE(std::find(names.begin(), names.end(), "CountEveryThread"), names.end());
}

TEST_F(CudaEmulation, ReportsTheDeviceItEmulates) {
  const cuda::DeviceProperties& p = cuda::Properties(0);
  EXPECT_EQ(p.multiprocessors, 132);
  EXPECT_NEAR(p.memory_bandwidth_gb_per_s, 3352.3, 0.1);
  EXPECT_EQ(cuda::GridSize(10 * 256), 10u);
  EXPECT_EQ(cuda::GridSize(int64_t{1} << 30), 132u * 8);
}

#endif  // NORMGRAD_CUDA

}  // namespace
}  // namespace normgrad
