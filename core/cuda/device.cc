#include "core/cuda/device.h"

#include <array>
#include <atomic>
#include <memory>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "core/cuda/cuda_api.h"
#include "core/error.h"

namespace normgrad::cuda {
namespace {

constexpr int kMaxDevices = 64;

// The device count once a call has found devices (-1 before): real devices do not come and go, and
// allocation asks on every call. The emulated device is switched on and off by tests, so it is never
// cached.
std::atomic<int> known_count{-1};

}  // namespace

bool IsEmulated() {
#if defined(NORMGRAD_CUDA)
  return false;
#else
  return true;
#endif
}

absl::StatusOr<int> DeviceCount() {
#if !defined(NORMGRAD_CUDA)
  if (!emulation::Enabled()) {
    return absl::FailedPreconditionError("normgrad was built without CUDA; rebuild with --config=cuda");
  }
#endif
  if (const int known = known_count.load(std::memory_order_relaxed); known > 0) return known;
  int count = 0;
  if (const cudaError_t error = cudaGetDeviceCount(&count); error != cudaSuccess) {
    cudaGetLastError();
    return absl::UnavailableError(
        absl::StrCat("no CUDA device: ", cudaGetErrorString(error), " (", cudaGetErrorName(error), ")"));
  }
  if (count == 0) return absl::UnavailableError("no CUDA device: the CUDA runtime found none");
  if (!IsEmulated()) known_count.store(count, std::memory_order_relaxed);
  return count;
}

absl::Status CheckDevice(int index) {
  absl::StatusOr<int> count = DeviceCount();
  if (!count.ok()) return count.status();
  if (index < 0 || index >= *count) {
    return absl::OutOfRangeError(absl::StrCat("cuda:", index, " does not exist; this machine has ", *count,
                                              " CUDA device", *count == 1 ? "" : "s"));
  }
  return absl::OkStatus();
}

void RequireDevice(int index) {
  if (absl::Status status = CheckDevice(index); !status.ok()) Fail(status.message());
}

const DeviceProperties& Properties(int index) {
  RequireDevice(index);
  NG_CHECK(index < kMaxDevices, "cuda: expected a device index below ", kMaxDevices, ", got ", index);
  static std::mutex mutex;
  static std::array<std::unique_ptr<DeviceProperties>, kMaxDevices> cache;
  std::lock_guard<std::mutex> lock(mutex);
  if (!cache[index]) {
    auto p = std::make_unique<DeviceProperties>();
    int memory_clock_khz = 0, bus_width_bits = 0;
    NG_CUDA_CHECK(cudaDeviceGetAttribute(&p->multiprocessors, cudaDevAttrMultiProcessorCount, index));
    NG_CUDA_CHECK(cudaDeviceGetAttribute(&p->max_threads_per_multiprocessor,
                                         cudaDevAttrMaxThreadsPerMultiProcessor, index));
    NG_CUDA_CHECK(cudaDeviceGetAttribute(&memory_clock_khz, cudaDevAttrMemoryClockRate, index));
    NG_CUDA_CHECK(cudaDeviceGetAttribute(&bus_width_bits, cudaDevAttrGlobalMemoryBusWidth, index));
    p->memory_bandwidth_gb_per_s = 2.0 * memory_clock_khz * 1e3 * (bus_width_bits / 8) / 1e9;
    cache[index] = std::move(p);
  }
  return *cache[index];
}

int CurrentDevice() {
  int device = 0;
  NG_CUDA_CHECK(cudaGetDevice(&device));
  return device;
}

void MakeCurrent(int index) {
  if (CurrentDevice() != index) NG_CUDA_CHECK(cudaSetDevice(index));
}

DeviceGuard::DeviceGuard(int index) : previous_(CurrentDevice()) {
  if (index != previous_) NG_CUDA_CHECK(cudaSetDevice(index));
}

DeviceGuard::~DeviceGuard() {
  int now = previous_;
  if (cudaGetDevice(&now) == cudaSuccess && now != previous_) cudaSetDevice(previous_);
}

void Synchronize(int index) {
  DeviceGuard guard(index);
  NG_CUDA_CHECK(cudaDeviceSynchronize());
}

}  // namespace normgrad::cuda
