#ifndef NORMGRAD_TESTS_TESTING_DIRECT_CONVOLUTIONS_H_
#define NORMGRAD_TESTS_TESTING_DIRECT_CONVOLUTIONS_H_

#include "core/cpu/conv.h"

namespace normgrad::testing {

// While alive, the CPU's float32 convolutions run the direct kernels only (cpu::SetAllowWinograd(false)),
// for tests whose tolerances assume their rounding: comparisons with another device's kernels or with a
// training run elsewhere. Winograd's own accuracy is tested in tests/core/conv_kernels_test.cc.
class DirectConvolutions {
 public:
  DirectConvolutions() : previous_(cpu::AllowWinograd()) { cpu::SetAllowWinograd(false); }
  ~DirectConvolutions() { cpu::SetAllowWinograd(previous_); }
  DirectConvolutions(const DirectConvolutions&) = delete;
  DirectConvolutions& operator=(const DirectConvolutions&) = delete;

 private:
  bool previous_;
};

}  // namespace normgrad::testing

#endif  // NORMGRAD_TESTS_TESTING_DIRECT_CONVOLUTIONS_H_
