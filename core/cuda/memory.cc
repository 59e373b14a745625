#include "core/cuda/memory.h"

#include <bit>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "core/cuda/cuda_api.h"
#include "core/cuda/device.h"
#include "core/error.h"

namespace normgrad::cuda {
namespace {

constexpr size_t kMinBlock = 512;

// 512 bytes for small requests; above, the next multiple of a quarter of the request's power of two.
size_t BinSize(size_t n) {
  if (n <= kMinBlock) return kMinBlock;
  const size_t quarter = std::bit_floor(n) / 4;
  return (n + quarter - 1) / quarter * quarter;
}

struct DeviceCache {
  std::unordered_map<size_t, std::vector<void*>> free_blocks;  // bin size -> blocks
  std::unordered_map<void*, size_t> live;                      // block -> bin size
  AllocatorStats stats;
};

class CachingAllocator {
 public:
  void* Allocate(size_t nbytes, int device) {
    RequireDevice(device);
    const size_t size = BinSize(nbytes);
    std::lock_guard<std::mutex> lock(mutex_);
    DeviceCache& cache = devices_[device];
    void* ptr = nullptr;
    if (auto it = cache.free_blocks.find(size); it != cache.free_blocks.end() && !it->second.empty()) {
      ptr = it->second.back();
      it->second.pop_back();
      cache.stats.cached_bytes -= size;
      ++cache.stats.cache_hits;
    } else {
      ptr = DeviceMalloc(cache, size, device);
    }
    cache.live[ptr] = size;
    cache.stats.allocated_bytes += size;
    return ptr;
  }

  void Free(void* ptr, int device) {
    std::lock_guard<std::mutex> lock(mutex_);
    DeviceCache& cache = devices_[device];
    auto it = cache.live.find(ptr);
    NG_CHECK(it != cache.live.end(), "cuda: freeing memory that the allocator did not hand out on cuda:", device);
    const size_t size = it->second;
    cache.live.erase(it);
    cache.free_blocks[size].push_back(ptr);
    cache.stats.allocated_bytes -= size;
    cache.stats.cached_bytes += size;
  }

  AllocatorStats Stats(int device) {
    std::lock_guard<std::mutex> lock(mutex_);
    return devices_[device].stats;
  }

  void EmptyCache() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [device, cache] : devices_) Release(cache, device);
  }

 private:
  void* DeviceMalloc(DeviceCache& cache, size_t size, int device) {
    DeviceGuard guard(device);
    void* ptr = nullptr;
    cudaError_t error = cudaMalloc(&ptr, size);
    if (error == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      Release(cache, device);
      error = cudaMalloc(&ptr, size);
    }
    if (error == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      Fail("cuda:", device, ": out of memory: could not allocate ", size, " bytes (", cache.stats.allocated_bytes,
           " bytes in use by tensors)");
    }
    NG_CUDA_CHECK(error);
    ++cache.stats.device_allocations;
    return ptr;
  }

  void Release(DeviceCache& cache, int device) {
    DeviceGuard guard(device);
    for (auto& [size, blocks] : cache.free_blocks) {
      for (void* p : blocks) NG_CUDA_CHECK(cudaFree(p));
      cache.stats.cached_bytes -= size * blocks.size();
      blocks.clear();
    }
  }

  std::mutex mutex_;
  std::map<int, DeviceCache> devices_;
};

// Never destroyed: at exit the CUDA runtime may already be gone, and the driver reclaims the memory.
CachingAllocator& allocator() {
  static auto* a = new CachingAllocator();
  return *a;
}

}  // namespace

void* Allocate(size_t nbytes, int device) { return allocator().Allocate(nbytes, device); }
void Free(void* ptr, int device) { allocator().Free(ptr, device); }
AllocatorStats GetAllocatorStats(int device) { return allocator().Stats(device); }
void EmptyCache() { allocator().EmptyCache(); }

void CopyToDevice(void* dst, const void* src, size_t nbytes, int device) {
  if (nbytes == 0) return;
  DeviceGuard guard(device);
  NG_CUDA_CHECK(cudaMemcpy(dst, src, nbytes, cudaMemcpyHostToDevice));
}

void CopyToHost(void* dst, const void* src, size_t nbytes, int device) {
  if (nbytes == 0) return;
  DeviceGuard guard(device);
  NG_CUDA_CHECK(cudaMemcpy(dst, src, nbytes, cudaMemcpyDeviceToHost));
}

void CopyBetweenDevices(void* dst, int dst_device, const void* src, int src_device, size_t nbytes) {
  if (nbytes == 0) return;
  if (dst_device == src_device) {
    DeviceGuard guard(dst_device);
    NG_CUDA_CHECK(cudaMemcpy(dst, src, nbytes, cudaMemcpyDeviceToDevice));
    return;
  }
  // Through the host: peer access needs both devices set up for it, and these copies are rare.
  std::vector<char> staging(nbytes);
  CopyToHost(staging.data(), src, nbytes, src_device);
  CopyToDevice(dst, staging.data(), nbytes, dst_device);
}

void Zero(void* ptr, size_t nbytes, int device) {
  if (nbytes == 0) return;
  DeviceGuard guard(device);
  NG_CUDA_CHECK(cudaMemsetAsync(ptr, 0, nbytes));
}

}  // namespace normgrad::cuda
