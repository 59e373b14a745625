#include "nn/resnet.h"

#include "absl/strings/str_cat.h"
#include "autograd/ops.h"
#include "nn/container.h"
#include "nn/conv.h"
#include "nn/functional/pooling.h"
#include "nn/functional/shortcut.h"
#include "nn/init.h"
#include "nn/linear.h"
#include "nn/normalization.h"

namespace normgrad::nn {

namespace {

// A bias-free convolution with He et al. 2015's normal initialization.
std::shared_ptr<Conv2d> HeConv(int64_t in, int64_t out, int64_t kernel, int64_t stride, Generator* gen) {
  auto conv = std::make_shared<Conv2d>(Conv2dOptions{.in_channels = in,
                                                     .out_channels = out,
                                                     .kernel_size = kernel,
                                                     .stride = stride,
                                                     .padding = kernel / 2,
                                                     .bias = false},
                                       gen);
  init::kaiming_normal_(conv->parameter("weight"), 0, init::FanMode::kFanIn, gen);
  return conv;
}

const char* ShortcutName(ShortcutType type) { return type == ShortcutType::kA ? "A" : "B"; }

}  // namespace

// ---- ZeroPadShortcut

ZeroPadShortcut::ZeroPadShortcut(int64_t in_channels, int64_t out_channels, int64_t stride)
    : Cloneable("ZeroPadShortcut"), in_channels_(in_channels), out_channels_(out_channels), stride_(stride) {
  NG_CHECK(in_channels >= 1 && out_channels >= in_channels && stride >= 1,
           "ZeroPadShortcut: expected 1 <= in_channels <= out_channels and stride >= 1, got in_channels ", in_channels,
           ", out_channels ", out_channels, ", stride ", stride);
}

Tensor ZeroPadShortcut::forward(const Tensor& input) {
  NG_CHECK(input.dim() == 4 && input.size(1) == in_channels_, "ZeroPadShortcut: expected input [N, ", in_channels_,
           ", H, W], got shape ", ShapeToString(input.shape()));
  if (stride_ == 1 && out_channels_ == in_channels_) return input;
  return functional::zero_pad_shortcut(input, out_channels_, stride_);
}

std::string ZeroPadShortcut::extra_repr() const {
  return absl::StrCat(in_channels_, ", ", out_channels_, ", stride=", stride_);
}

// ---- BasicBlock

BasicBlock::BasicBlock(int64_t in_planes, int64_t planes, int64_t stride, ShortcutType shortcut, Generator* gen)
    : Cloneable("BasicBlock") {
  register_module("conv1", HeConv(in_planes, planes, 3, stride, gen));
  register_module("bn1", std::make_shared<BatchNorm2d>(planes));
  register_module("conv2", HeConv(planes, planes, 3, 1, gen));
  register_module("bn2", std::make_shared<BatchNorm2d>(planes));
  // An empty Sequential (the identity) where nothing changes, as in the PyTorch implementations.
  auto projection = std::make_shared<Sequential>();
  if (stride != 1 || in_planes != planes) {
    if (shortcut == ShortcutType::kA) {
      register_module("shortcut", std::make_shared<ZeroPadShortcut>(in_planes, planes, stride));
      return;
    }
    projection->push_back(HeConv(in_planes, planes, 1, stride, gen));
    projection->push_back(std::make_shared<BatchNorm2d>(planes));
  }
  register_module("shortcut", projection);
}

Tensor BasicBlock::forward(const Tensor& input) {
  Tensor out = child_as<BatchNorm2d>("bn1")->forward_relu((*child("conv1"))(input));
  out = (*child("conv2"))(out);
  return child_as<BatchNorm2d>("bn2")->forward_add_relu(out, (*child("shortcut"))(input));
}

// ---- ResNet

std::shared_ptr<ResNet> ResNet::Cifar(int depth, const ResNetOptions& options, Generator* gen) {
  NG_CHECK(options.num_classes >= 1, "ResNet::Cifar: expected num_classes >= 1, got ", options.num_classes);
  if (depth == 18) {
    return std::make_shared<ResNet>(depth, std::vector<int64_t>{64, 128, 256, 512}, std::vector<int64_t>{2, 2, 2, 2},
                                    options.shortcut.value_or(ShortcutType::kB), options.num_classes, gen);
  }
  NG_CHECK(depth >= 8 && (depth - 2) % 6 == 0, "ResNet::Cifar: expected depth 18 or 6n + 2 (20, 32, 44, 56, 110), got ",
           depth);
  const int64_t n = (depth - 2) / 6;
  return std::make_shared<ResNet>(depth, std::vector<int64_t>{16, 32, 64}, std::vector<int64_t>{n, n, n},
                                  options.shortcut.value_or(ShortcutType::kA), options.num_classes, gen);
}

ResNet::ResNet(int depth, const std::vector<int64_t>& widths, const std::vector<int64_t>& blocks, ShortcutType shortcut,
               int64_t num_classes, Generator* gen)
    : Cloneable("ResNet"),
      depth_(depth),
      shortcut_(shortcut),
      num_classes_(num_classes),
      num_stages_(static_cast<int64_t>(widths.size())) {
  register_module("conv1", HeConv(3, widths[0], 3, 1, gen));
  register_module("bn1", std::make_shared<BatchNorm2d>(widths[0]));
  int64_t in_planes = widths[0];
  for (int64_t s = 0; s < num_stages_; ++s) {
    auto layer = std::make_shared<Sequential>();
    for (int64_t b = 0; b < blocks[s]; ++b) {
      const int64_t stride = s > 0 && b == 0 ? 2 : 1;
      layer->push_back(std::make_shared<BasicBlock>(in_planes, widths[s], stride, shortcut, gen));
      in_planes = widths[s];
    }
    register_module("layer" + std::to_string(s + 1), layer);
  }
  auto linear = register_module("linear", std::make_shared<Linear>(
                                              LinearOptions{.in_features = in_planes, .out_features = num_classes}, gen));
  init::kaiming_normal_(linear->parameter("weight"), 0, init::FanMode::kFanIn, gen);
}

Tensor ResNet::forward(const Tensor& input) {
  NG_CHECK(input.dim() == 4 && input.size(1) == 3, "ResNet: expected input [N, 3, H, W], got shape ",
           ShapeToString(input.shape()));
  Tensor x = child_as<BatchNorm2d>("bn1")->forward_relu((*child("conv1"))(input));
  for (int64_t s = 1; s <= num_stages_; ++s) x = (*child("layer" + std::to_string(s)))(x);
  x = flatten(functional::adaptive_avg_pool2d(x, {1, 1}), 1);
  return (*child("linear"))(x);
}

std::string ResNet::extra_repr() const {
  return absl::StrCat("depth=", depth_, ", shortcut=", ShortcutName(shortcut_), ", num_classes=", num_classes_);
}

}  // namespace normgrad::nn
