#ifndef NORMGRAD_CORE_CUDA_DEVICE_H_
#define NORMGRAD_CORE_CUDA_DEVICE_H_

// CUDA devices: whether there are any, their properties, which one the calling thread uses.
//
// A build without --config=cuda has no CUDA device: asking for one gives "normgrad was built without
// CUDA; rebuild with --config=cuda". Its kernels are compiled for the host against core/cuda/emulation,
// whose emulated device tests switch on (emulation::SetEnabled) to run them.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace normgrad::cuda {

// Whether this build runs kernels on the host emulator (no --config=cuda).
bool IsEmulated();

// The number of usable CUDA devices, or why there is none: the message above in a build without CUDA,
// else the CUDA runtime's ("CUDA driver version is insufficient for CUDA runtime version").
[[nodiscard]] absl::StatusOr<int> DeviceCount();

// OK when cuda:index can be used, else why not (as DeviceCount, or "cuda:3 does not exist; this machine
// has 1 CUDA device").
[[nodiscard]] absl::Status CheckDevice(int index);

// CheckDevice as a normgrad::Error, for the places that hand out device memory.
void RequireDevice(int index);

struct DeviceProperties {
  int multiprocessors = 0;
  int max_threads_per_multiprocessor = 0;
  // Peak DRAM bandwidth: 2 transfers per memory clock over the bus.
  double memory_bandwidth_gb_per_s = 0;
};

// The properties of cuda:index (read once per device). Throws as RequireDevice.
const DeviceProperties& Properties(int index);

// The device the calling thread's CUDA calls go to.
int CurrentDevice();

// Makes cuda:index the calling thread's current device (nothing to do when it already is). The device
// switches of core/kernels call it before they hand a tensor's pointers to core/cuda, whose kernels run on
// the current device: an op on tensors of cuda:1 runs on cuda:1, and cuda:1 stays current after it.
void MakeCurrent(int index);

// Makes cuda:index current for the scope and restores the previous device after it.
class DeviceGuard {
 public:
  explicit DeviceGuard(int index);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_;
};

// Waits until all work queued on cuda:index has finished; throws what the work failed with.
void Synchronize(int index);

}  // namespace normgrad::cuda

#endif  // NORMGRAD_CORE_CUDA_DEVICE_H_
