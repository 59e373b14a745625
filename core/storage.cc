#include "core/storage.h"

#include "core/cpu/allocator.h"
#include "core/cuda/memory.h"
#include "core/error.h"

namespace normgrad {

static_assert(Storage::kAlignment == cpu::kBlockAlignment);

Storage Storage::Allocate(size_t nbytes, Device device) {
  void* data = nullptr;
  switch (device.type) {
    case Device::Type::kCPU:
      data = cpu::AllocateBlock(nbytes);  // never null, even for 0 bytes
      break;
    case Device::Type::kCUDA:
      data = cuda::Allocate(nbytes, device.index);
      break;
  }
  Storage s;
  s.impl_ = std::make_shared<Impl>();
  s.impl_->device = device;
  s.impl_->nbytes = nbytes;
  s.impl_->data = data;
  return s;
}

Storage::Impl::~Impl() {
  switch (device.type) {
    case Device::Type::kCPU: cpu::FreeBlock(data, nbytes); return;
    case Device::Type::kCUDA: cuda::Free(data, device.index); return;
  }
}

}  // namespace normgrad
