#ifndef NORMGRAD_NN_CONV_H_
#define NORMGRAD_NN_CONV_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "core/random.h"
#include "nn/int_pair.h"
#include "nn/module.h"

namespace normgrad::nn {

// PyTorch's padding="same" and padding="valid" (no padding) for Conv2dOptions::padding.
enum class PaddingPreset { kSame, kValid };
inline constexpr PaddingPreset kSame = PaddingPreset::kSame;
inline constexpr PaddingPreset kValid = PaddingPreset::kValid;

// Conv2d's padding: pixels added on both sides of each spatial dim, one number or {h, w} (`.padding = 1`),
// or kSame: the output keeps the input's size (stride 1 only): dilation (k - 1) pixels in all per dim, the
// odd one after (right, bottom), as PyTorch; or kValid (0).
struct Conv2dPadding {
  Conv2dPadding(int64_t both) : size(both) {}  // NOLINT: implicit, as IntPair's
  Conv2dPadding(int64_t height, int64_t width) : size(height, width) {}
  Conv2dPadding(IntPair pair) : size(pair) {}  // NOLINT
  Conv2dPadding(PaddingPreset preset) : size(0), preset(preset) {}  // NOLINT

  bool same() const { return preset == PaddingPreset::kSame; }

  IntPair size;  // 0 with a preset
  std::optional<PaddingPreset> preset;
};

// What the padding holds: zeros, or the input's values (functional::PadMode: its mirror image, its edge,
// or its other end), PyTorch's padding_mode "zeros", "reflect", "replicate", "circular".
enum class PaddingMode { kZeros, kReflect, kReplicate, kCircular };

struct Conv2dOptions {
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  IntPair kernel_size = 0;  // required
  IntPair stride = 1;
  Conv2dPadding padding = 0;
  IntPair dilation = 1;
  int64_t groups = 1;
  bool bias = true;
  PaddingMode padding_mode = PaddingMode::kZeros;
};

// y = conv2d(x, weight, bias) (functional::conv2d, a cross-correlation as in PyTorch) with
// weight [out_channels, in_channels / groups, kh, kw] and bias [out_channels].
// Input [N, in_channels, H, W]; output [N, out_channels, H', W'] (unbatched: [in_channels, H, W] to
// [out_channels, H', W']) with
// H' = (H + 2 padding - dilation (kh - 1) - 1) / stride + 1 (rounded down), W' likewise (H' = H with kSame).
// A padding_mode other than kZeros pads the input with functional::pad first, as PyTorch does; so does an
// uneven kSame padding (even kernel sizes).
// Initialized as PyTorch does: weight from kaiming_uniform(a = sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
// bias from the same range, fan_in = in_channels / groups * kh * kw, drawn from `gen` (default generator
// when null).
class Conv2d : public Cloneable<Conv2d> {
 public:
  // Throws for channel counts < 1, groups not dividing both, kernel_size, stride or dilation < 1,
  // padding < 0, and kSame with a stride other than 1.
  explicit Conv2d(const Conv2dOptions& options, Generator* gen = nullptr);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  const Conv2dOptions& options() const { return options_; }
  // Draws the weight and bias again, as the constructor did.
  void reset_parameters(Generator* gen = nullptr);

 private:
  Conv2dOptions options_;
  std::array<std::array<int64_t, 2>, 2> pads_;  // (before, after) for height and width
};

struct ConvTranspose2dOptions {
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  IntPair kernel_size = 0;  // required
  IntPair stride = 1;
  IntPair padding = 0;         // removed from both sides of each spatial dim of the output
  IntPair output_padding = 0;  // added to one side (bottom, right): < stride or < dilation
  int64_t groups = 1;
  bool bias = true;
  IntPair dilation = 1;
};

// y = conv_transpose2d(x, weight, bias) (functional::conv_transpose2d, PyTorch's ConvTranspose2d) with
// weight [in_channels, out_channels / groups, kh, kw] and bias [out_channels]. Input [N, in_channels, H, W]
// (or unbatched [in_channels, H, W]); output H' = (H - 1) stride - 2 padding + dilation (kh - 1) +
// output_padding + 1, W' likewise. Initialized as PyTorch does, as Conv2d (fan_in = out_channels / groups *
// kh * kw, from the weight's layout).
class ConvTranspose2d : public Cloneable<ConvTranspose2d> {
 public:
  // Throws for channel counts < 1, groups not dividing both, kernel_size, stride or dilation < 1,
  // padding or output_padding < 0, and output_padding not smaller than stride or dilation.
  explicit ConvTranspose2d(const ConvTranspose2dOptions& options, Generator* gen = nullptr);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  const ConvTranspose2dOptions& options() const { return options_; }
  void reset_parameters(Generator* gen = nullptr);

 private:
  ConvTranspose2dOptions options_;
};

}  // namespace normgrad::nn

#endif  // NORMGRAD_NN_CONV_H_
