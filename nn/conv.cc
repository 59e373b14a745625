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

// The checks both convolution modules make of their channels, groups, kernel, stride, dilation and padding.
void CheckConvOptions(const char* module, int64_t in_channels, int64_t out_channels, int64_t groups,
                      const IntPair& kernel_size, const IntPair& stride, const IntPair& dilation, const IntPair& padding) {
  NG_CHECK(in_channels >= 1 && out_channels >= 1, module, ": expected in_channels and out_channels >= 1, got ",
           in_channels, " and ", out_channels);
  NG_CHECK(groups >= 1 && in_channels % groups == 0 && out_channels % groups == 0, module,
           ": expected groups >= 1 dividing in_channels and out_channels, got groups ", groups, " for ", in_channels,
           " and ", out_channels);
  for (int i = 0; i < 2; ++i) {
    NG_CHECK(kernel_size[i] >= 1 && stride[i] >= 1 && dilation[i] >= 1 && padding[i] >= 0, module,
             ": expected kernel_size, stride and dilation >= 1 and padding >= 0, got kernel_size ",
             kernel_size.ToString(), ", stride ", stride.ToString(), ", dilation ", dilation.ToString(), ", padding ",
             padding.ToString());
  }
}

// PyTorch's _ConvNd.reset_parameters: weight from kaiming_uniform(a = sqrt(5)), bias from U(-b, b) with
// b = 1 / sqrt(fan_in), fan_in taken from the weight's layout.
void ResetConvParameters(const Module& conv, Generator* gen) {
  const Tensor weight = conv.parameter("weight");
  init::kaiming_uniform_(weight, std::sqrt(5.0), init::FanMode::kFanIn, gen);
  if (const Tensor bias = conv.parameter("bias"); bias.defined()) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(init::CalculateFanInAndFanOut(weight.shape()).first));
    init::uniform_(bias, -bound, bound, gen);
  }
}

// PyTorch's layout of a convolution's repr: the channels, kernel_size and stride always, then `optional`
// (each ", name=value" already written) in its order.
std::string ConvRepr(int64_t in_channels, int64_t out_channels, const IntPair& kernel_size, const IntPair& stride,
                     const std::string& optional) {
  return absl::StrCat(in_channels, ", ", out_channels, ", kernel_size=", kernel_size.ToString(),
                      ", stride=", stride.ToString(), optional);
}

}  // namespace

Conv2d::Conv2d(const Conv2dOptions& options, Generator* gen) : Cloneable("Conv2d"), options_(options) {
  const Conv2dOptions& o = options;
  CheckConvOptions("Conv2d", o.in_channels, o.out_channels, o.groups, o.kernel_size, o.stride, o.dilation,
                   o.padding.size);
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

void Conv2d::reset_parameters(Generator* gen) { ResetConvParameters(*this, gen); }

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
  // padding, dilation, groups, bias and padding_mode: only when not at their defaults.
  const Conv2dOptions& o = options_;
  std::string optional;
  if (o.padding.preset) {
    absl::StrAppend(&optional, ", padding=", o.padding.same() ? "same" : "valid");
  } else if (o.padding.size != IntPair(0)) {
    absl::StrAppend(&optional, ", padding=", o.padding.size.ToString());
  }
  if (o.dilation != IntPair(1)) absl::StrAppend(&optional, ", dilation=", o.dilation.ToString());
  if (o.groups != 1) absl::StrAppend(&optional, ", groups=", o.groups);
  if (!o.bias) absl::StrAppend(&optional, ", bias=false");
  if (o.padding_mode != PaddingMode::kZeros) {
    absl::StrAppend(&optional, ", padding_mode=", functional::PadModeName(PadModeOf(o.padding_mode)));
  }
  return ConvRepr(o.in_channels, o.out_channels, o.kernel_size, o.stride, optional);
}

ConvTranspose2d::ConvTranspose2d(const ConvTranspose2dOptions& options, Generator* gen)
    : Cloneable("ConvTranspose2d"), options_(options) {
  const ConvTranspose2dOptions& o = options;
  CheckConvOptions("ConvTranspose2d", o.in_channels, o.out_channels, o.groups, o.kernel_size, o.stride, o.dilation,
                   o.padding);
  for (int i = 0; i < 2; ++i) {
    NG_CHECK(o.output_padding[i] >= 0 && (o.output_padding[i] < o.stride[i] || o.output_padding[i] < o.dilation[i]),
             "ConvTranspose2d: expected output_padding >= 0 and smaller than stride or dilation in each dim, got "
             "output_padding ", o.output_padding.ToString(), " with stride ", o.stride.ToString(), " and dilation ",
             o.dilation.ToString());
  }
  register_parameter("weight", empty({o.in_channels, o.out_channels / o.groups, o.kernel_size[0], o.kernel_size[1]}));
  if (o.bias) register_parameter("bias", empty({o.out_channels}));
  reset_parameters(gen);
}

void ConvTranspose2d::reset_parameters(Generator* gen) { ResetConvParameters(*this, gen); }

Tensor ConvTranspose2d::forward(const Tensor& input) {
  return functional::conv_transpose2d(input, parameter("weight"), parameter("bias"),
                                      {.stride = options_.stride.values,
                                       .padding = options_.padding.values,
                                       .output_padding = options_.output_padding.values,
                                       .dilation = options_.dilation.values,
                                       .groups = options_.groups});
}

std::string ConvTranspose2d::extra_repr() const {
  const ConvTranspose2dOptions& o = options_;
  std::string optional;
  if (o.padding != IntPair(0)) absl::StrAppend(&optional, ", padding=", o.padding.ToString());
  if (o.dilation != IntPair(1)) absl::StrAppend(&optional, ", dilation=", o.dilation.ToString());
  if (o.output_padding != IntPair(0)) absl::StrAppend(&optional, ", output_padding=", o.output_padding.ToString());
  if (o.groups != 1) absl::StrAppend(&optional, ", groups=", o.groups);
  if (!o.bias) absl::StrAppend(&optional, ", bias=false");
  return ConvRepr(o.in_channels, o.out_channels, o.kernel_size, o.stride, optional);
}

}  // namespace normgrad::nn
