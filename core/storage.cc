#include "core/storage.h"

#include "core/cpu/allocator.h"
#include "core/error.h"

namespace normgrad {

Storage Storage::Allocate(size_t nbytes, Device device) {
  NG_CHECK(device.is_cpu(), "Storage: device ", device.ToString(),
           " is not available in this build (CPU only)");
  Storage s;
  s.impl_ = std::make_shared<Impl>();
  s.impl_->device = device;
  s.impl_->nbytes = nbytes;
  s.impl_->data = cpu::AllocateBlock(nbytes);  // never null, even for 0 bytes
  return s;
}

static_assert(Storage::kAlignment == cpu::kBlockAlignment);

Storage::Impl::~Impl() { cpu::FreeBlock(data, nbytes); }

}  // namespace normgrad
