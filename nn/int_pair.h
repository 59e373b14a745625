#ifndef NORMGRAD_NN_INT_PAIR_H_
#define NORMGRAD_NN_INT_PAIR_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"

namespace normgrad::nn {

// A (height, width) pair of sizes in layer options, given as one number for both or as two:
// {.kernel_size = 3, .stride = {2, 1}}, as PyTorch takes `3` or `(2, 1)`.
struct IntPair {
  IntPair(int64_t both) : values{both, both} {}  // NOLINT: implicit, so that `.kernel_size = 3` reads well
  IntPair(int64_t height, int64_t width) : values{height, width} {}

  int64_t operator[](size_t i) const { return values[i]; }
  bool operator==(const IntPair&) const = default;
  // "[3, 3]"
  std::string ToString() const { return absl::StrCat("[", values[0], ", ", values[1], "]"); }

  std::array<int64_t, 2> values;
};

}  // namespace normgrad::nn

#endif  // NORMGRAD_NN_INT_PAIR_H_
