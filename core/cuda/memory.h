#ifndef NORMGRAD_CORE_CUDA_MEMORY_H_
#define NORMGRAD_CORE_CUDA_MEMORY_H_

// Device memory: the caching allocator behind Storage on CUDA devices, and copies between host and
// device.
//
// The allocator rounds each request up to a size bin (512 bytes, then four bins per power of two, so at
// most 25% is wasted), and a freed block goes back to its bin's free list instead of to cudaFree. A
// training loop asks for the same sizes every step, so after the first step allocation costs a lookup.
// All work runs on the default stream, so a block freed while kernels that use it are still queued can
// be handed out at once: whatever the new owner queues runs after them. When cudaMalloc runs out of
// memory, the cached blocks of the device are released and the allocation tried once more.

#include <cstddef>
#include <cstdint>

namespace normgrad::cuda {

// At least `nbytes` (even 0) of uninitialized memory on cuda:device, 256-byte aligned. Throws
// normgrad::Error when the device is not available ("normgrad was built without CUDA; rebuild with
// --config=cuda") or out of memory ("cuda:0: out of memory: could not allocate 2.0 GiB ...").
void* Allocate(size_t nbytes, int device);

// Returns a block from Allocate to the cache of its device.
void Free(void* ptr, int device);

struct AllocatorStats {
  size_t allocated_bytes = 0;  // in blocks handed out (rounded sizes)
  size_t cached_bytes = 0;     // in blocks waiting in the free lists
  int64_t device_allocations = 0;  // cudaMalloc calls so far
  int64_t cache_hits = 0;          // requests answered from a free list
};
AllocatorStats GetAllocatorStats(int device);

// Gives every cached block of every device back with cudaFree.
void EmptyCache();

// Scratch memory for a kernel's intermediate results, from the caching allocator and back to it at the
// end of the scope (safe while the kernels that use it are still queued: see above).
class DeviceBuffer {
 public:
  DeviceBuffer(size_t nbytes, int device) : ptr_(Allocate(nbytes, device)), device_(device) {}
  ~DeviceBuffer() { Free(ptr_, device_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }

 private:
  void* ptr_;
  int device_;
};

// Blocking copies of nbytes (cudaMemcpy): host to cuda:device, cuda:device to host, and between two
// device buffers (staged through the host when the devices differ).
void CopyToDevice(void* dst, const void* src, size_t nbytes, int device);
void CopyToHost(void* dst, const void* src, size_t nbytes, int device);
void CopyBetweenDevices(void* dst, int dst_device, const void* src, int src_device, size_t nbytes);

// Sets nbytes of device memory to zero, queued on the default stream.
void Zero(void* ptr, size_t nbytes, int device);

}  // namespace normgrad::cuda

#endif  // NORMGRAD_CORE_CUDA_MEMORY_H_
