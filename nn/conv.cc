#include "nn/conv.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "nn/functional/conv.h"
#include "nn/functional/padding.h"
#include "nn/init.h"

namespace normgrad::nn {
namespace {

functional::PadMode PadModeOf(PaddingMode mode) {
  switch (mode) {
    case PaddingMode::kZeros: return functional::PadMode::kConstant;
    case PaddingMode::kReflect: return functional::PadMode::kReflect;
    case PaddingMode::kReplicate: return functional::PadMode::kReplicate;
    case PaddingMode::kCircular: return functional::PadMode::kCircular;
  }
  return functional::PadMode::kConstant;
}

}  // namespace

Conv2d::Conv2d(const Conv2dOptions& options, Generator* gen) : Cloneable("Conv2d"), options_(options) {
  const Conv2dOptions& o = options;
  NG_CHECK(o.in_channels >= 1 && o.out_channels >= 1, "Conv2d: expected in_channels and out_channels >= 1, got ",
           o.in_channels, " and ", o.out_channels);
  NG_CHECK(o.groups >= 1 && o.in_channels % o.groups == 0 && o.out_channels % o.groups == 0,
           "Conv2d: expected groups >= 1 dividing in_channels and out_channels, got groups ", o.groups, " for ",
           o.in_channels, " and ", o.out_channels);
  for (int i = 0; i < 2; ++i) {
    NG_CHECK(o.kernel_size[i] >= 1 && o.stride[i] >= 1 && o.dilation[i] >= 1 && o.padding.size[i] >= 0,
             "Conv2d: expected kernel_size, stride and dilation >= 1 and padding >= 0, got kernel_size ",
             o.kernel_size.ToString(), ", stride ", o.stride.ToString(), ", dilation ", o.dilation.ToString(),
             ", padding ", o.padding.size.ToString());
  }
  NG_CHECK(!o.padding.same() || o.stride == IntPair(1),
           "Conv2d: expected stride 1 with padding kSame (\"same\" is not defined for strided convolutions), got "
           "stride ", o.stride.ToString());
  // (before, after) per spatial dim, height first.
  for (int i = 0; i < 2; ++i) {
    const int64_t total = o.padding.same() ? o.dilation[i] * (o.kernel_size[i] - 1) : 2 * o.padding.size[i];
    pads_[i] = {total / 2, total - total / 2};
  }
  register_parameter("weight", empty({o.out_channels, o.in_channels / o.groups, o.kernel_size[0], o.kernel_size[1]}));
  if (o.bias) register_parameter("bias", empty({o.out_channels}));
  reset_parameters(gen);
}

void Conv2d::reset_parameters(Generator* gen) {
  const Tensor weight = parameter("weight");
  init::kaiming_uniform_(weight, std::sqrt(5.0), init::FanMode::kFanIn, gen);
  if (const Tensor bias = parameter("bias"); bias.defined()) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(init::CalculateFanInAndFanOut(weight.shape()).first));
    init::uniform_(bias, -bound, bound, gen);
  }
}

Tensor Conv2d::forward(const Tensor& input) {
  const bool symmetric = pads_[0][0] == pads_[0][1] && pads_[1][0] == pads_[1][1];
  if (options_.padding_mode == PaddingMode::kZeros && symmetric) {  // the convolution pads by itself
    return functional::conv2d(input, parameter("weight"), parameter("bias"),
                              {.stride = options_.stride.values,
                               .padding = {pads_[0][0], pads_[1][0]},
                               .dilation = options_.dilation.values,
                               .groups = options_.groups});
  }
  const Tensor padded = functional::pad(input, {pads_[1][0], pads_[1][1], pads_[0][0], pads_[0][1]},
                                        PadModeOf(options_.padding_mode));
  return functional::conv2d(padded, parameter("weight"), parameter("bias"),
                            {.stride = options_.stride.values,
                             .dilation = options_.dilation.values,
                             .groups = options_.groups});
}

std::string Conv2d::extra_repr() const {
  // PyTorch's layout: stride always, the others only when not at their defaults.
  const Conv2dOptions& o = options_;
  std::string out = absl::StrCat(o.in_channels, ", ", o.out_channels, ", kernel_size=", o.kernel_size.ToString(),
                                 ", stride=", o.stride.ToString());
  if (o.padding.preset) {
    absl::StrAppend(&out, ", padding=", o.padding.same() ? "same" : "valid");
  } else if (o.padding.size != IntPair(0)) {
    absl::StrAppend(&out, ", padding=", o.padding.size.ToString());
  }
  if (o.dilation != IntPair(1)) absl::StrAppend(&out, ", dilation=", o.dilation.ToString());
  if (o.groups != 1) absl::StrAppend(&out, ", groups=", o.groups);
  if (!o.bias) absl::StrAppend(&out, ", bias=false");
  if (o.padding_mode != PaddingMode::kZeros) {
    absl::StrAppend(&out, ", padding_mode=", functional::PadModeName(PadModeOf(o.padding_mode)));
  }
  return out;
}

}  // namespace normgrad::nn
