#include "core/storage.h"

#include <cstdlib>
#include <new>

#include "core/cuda/memory.h"
#include "core/error.h"

namespace normgrad {

Storage Storage::Allocate(size_t nbytes, Device device) {
  void* data = nullptr;
  switch (device.type) {
    case Device::Type::kCPU: {
      // aligned_alloc needs a size that is a multiple of the alignment; never zero, so data() is non-null.
      const size_t rounded = (nbytes + kAlignment - 1) / kAlignment * kAlignment;
      data = std::aligned_alloc(kAlignment, rounded == 0 ? kAlignment : rounded);
      if (data == nullptr) throw std::bad_alloc();
      break;
    }
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
    case Device::Type::kCPU: std::free(data); return;
    case Device::Type::kCUDA: cuda::Free(data, device.index); return;
  }
}

}  // namespace normgrad
