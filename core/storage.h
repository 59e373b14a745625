#ifndef NORMGRAD_CORE_STORAGE_H_
#define NORMGRAD_CORE_STORAGE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/device.h"

namespace normgrad {

// A reference-counted, 64-byte-aligned byte buffer that tensors view. Copies of a Storage share the
// buffer. The version counter is bumped by every in-place write, so that a backward pass can tell that
// a tensor it saved was overwritten in the meantime.
class Storage {
 public:
  static constexpr size_t kAlignment = 64;

  Storage() = default;
  // Uninitialized bytes on `device`.
  static Storage Allocate(size_t nbytes, Device device = kCPU);

  bool defined() const { return impl_ != nullptr; }
  void* data() const { return impl_ ? impl_->data : nullptr; }
  size_t nbytes() const { return impl_ ? impl_->nbytes : 0; }
  Device device() const { return impl_ ? impl_->device : kCPU; }
  bool is_same(const Storage& other) const { return impl_ == other.impl_; }
  long use_count() const { return impl_.use_count(); }

  uint64_t version() const { return impl_ ? impl_->version.load(std::memory_order_relaxed) : 0; }
  void bump_version() const {
    if (impl_) impl_->version.fetch_add(1, std::memory_order_relaxed);
  }

 private:
  struct Impl {
    void* data = nullptr;
    size_t nbytes = 0;
    Device device;
    std::atomic<uint64_t> version{0};
    ~Impl();
  };
  std::shared_ptr<Impl> impl_;
};

}  // namespace normgrad

#endif  // NORMGRAD_CORE_STORAGE_H_
