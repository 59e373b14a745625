#include "core/storage.h"

#include <cstdlib>
#include <new>

#include "core/error.h"

namespace normgrad {

Storage Storage::Allocate(size_t nbytes, Device device) {
  NG_CHECK(device.is_cpu(), "Storage: device ", device.ToString(),
           " is not available in this build (CPU only)");
  Storage s;
  s.impl_ = std::make_shared<Impl>();
  s.impl_->device = device;
  s.impl_->nbytes = nbytes;
  // aligned_alloc needs a size that is a multiple of the alignment; never zero, so data() is non-null.
  const size_t rounded = (nbytes + kAlignment - 1) / kAlignment * kAlignment;
  s.impl_->data = std::aligned_alloc(kAlignment, rounded == 0 ? kAlignment : rounded);
  if (s.impl_->data == nullptr) throw std::bad_alloc();
  return s;
}

Storage::Impl::~Impl() { std::free(data); }

}  // namespace normgrad
