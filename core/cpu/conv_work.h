#ifndef NORMGRAD_CORE_CPU_CONV_WORK_H_
#define NORMGRAD_CORE_CPU_CONV_WORK_H_

// Scratch memory and work distribution shared by the float32 convolution drivers (conv_direct.cc,
// conv_winograd.cc).

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "core/parallel.h"
#include "core/storage.h"

namespace normgrad::cpu {

inline int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Uninitialized 64-byte-aligned floats.
class Scratch {
 public:
  explicit Scratch(int64_t n) : storage_(Storage::Allocate(std::max<int64_t>(n, 1) * sizeof(float))) {}
  float* data() const { return static_cast<float*>(storage_.data()); }

 private:
  Storage storage_;
};

// Runs body(item) for every item in [0, items) on up to GetNumThreads() workers that take items one at a
// time, so that a worker slowed by other processes simply does fewer. Each worker first calls
// make_body(), which returns its body (holding its scratch buffers). For passes whose items write disjoint
// outputs: which worker runs an item does not change any result.
template <typename MakeBody>
void ForEachItem(int64_t items, MakeBody&& make_body) {
  std::atomic<int64_t> next{0};
  ParallelFor(0, std::min<int64_t>(GetNumThreads(), items), 1, [&](int64_t begin, int64_t end) {
    for (int64_t worker = begin; worker < end; ++worker) {
      auto body = make_body();
      for (int64_t item = next++; item < items; item = next++) body(item);
    }
  });
}

}  // namespace normgrad::cpu

#endif  // NORMGRAD_CORE_CPU_CONV_WORK_H_
