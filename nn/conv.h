#ifndef NORMGRAD_NN_CONV_H_
#define NORMGRAD_NN_CONV_H_

#include <cstdint>
#include <string>

#include "core/random.h"
#include "nn/int_pair.h"
#include "nn/module.h"

namespace normgrad::nn {

struct Conv2dOptions {
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  IntPair kernel_size = 0;  // required
  IntPair stride = 1;
  IntPair padding = 0;      // zeros on both sides of each spatial dim
  IntPair dilation = 1;
  int64_t groups = 1;
  bool bias = true;
};

// y = conv2d(x, weight, bias) (functional::conv2d, a cross-correlation as in PyTorch) with
// weight [out_channels, in_channels / groups, kh, kw] and bias [out_channels].
// Input [N, in_channels, H, W]; output [N, out_channels, H', W'] (unbatched: [in_channels, H, W] to
// [out_channels, H', W']) with
// H' = (H + 2 padding - dilation (kh - 1) - 1) / stride + 1 (rounded down), W' likewise.
// Initialized as PyTorch does: weight from kaiming_uniform(a = sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
// bias from the same range, fan_in = in_channels / groups * kh * kw, drawn from `gen` (default generator
// when null).
class Conv2d : public Cloneable<Conv2d> {
 public:
  // Throws for channel counts < 1, groups not dividing both, kernel_size, stride or dilation < 1,
  // padding < 0.
  explicit Conv2d(const Conv2dOptions& options, Generator* gen = nullptr);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  const Conv2dOptions& options() const { return options_; }
  // Draws the weight and bias again, as the constructor did.
  void reset_parameters(Generator* gen = nullptr);

 private:
  Conv2dOptions options_;
};

}  // namespace normgrad::nn

#endif  // NORMGRAD_NN_CONV_H_
