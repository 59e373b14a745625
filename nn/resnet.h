#ifndef NORMGRAD_NN_RESNET_H_
#define NORMGRAD_NN_RESNET_H_

// Residual networks for 32x32 images (CIFAR-10/100), He et al., "Deep Residual Learning for Image
// Recognition", CVPR 2016, section 4.2:
//
//   ResNet::Cifar(depth) with depth = 6n + 2 (20, 32, 44, 56, 110): a 3x3 conv with 16 filters, then 3
//   stages of n BasicBlocks with 16, 32, 64 channels on 32x32, 16x16, 8x8 maps (the first block of stages 2
//   and 3 has stride 2), global average pooling and a linear classifier. Parameters with shortcut A, as in
//   the paper's Table 6: 0.27M (20), 0.46M (32), 0.66M (44), 0.85M (56), 1.7M (110).
//   ResNet::Cifar(18): the CIFAR variant of the ImageNet ResNet-18 (a 3x3 stem with 64 filters, no max
//   pooling, then 4 stages of 2 BasicBlocks with 64, 128, 256, 512 channels): 11.2M parameters.
//
// Shortcuts, where a block changes the channel count or the resolution (elsewhere they are the identity):
//   A: the identity on every other pixel, with the new channels zero-padded (no parameters; the paper's
//      choice for its CIFAR models, and the default for depth 6n + 2);
//   B: a 1x1 convolution with the block's stride followed by batch norm (the default for ResNet-18).
//
// Module names, and so state dict keys, are those of the common PyTorch implementations of these models
// (akamaster/pytorch_resnet_cifar10's resnet.py for 6n + 2, kuangliu/pytorch-cifar's ResNet18 for 18), so
// that their state dicts load here and ours there:
//   conv1.weight                          stem convolution, no bias
//   bn1.{weight,bias,running_mean,running_var,num_batches_tracked}
//   layer<s>.<b>.conv1.weight, layer<s>.<b>.bn1.*, layer<s>.<b>.conv2.weight, layer<s>.<b>.bn2.*
//                                         stage s = 1.., block b = 0..
//   layer<s>.<b>.shortcut.0.weight, layer<s>.<b>.shortcut.1.*
//                                         the projection of option B (absent for A and identity shortcuts)
//   linear.weight, linear.bias            the classifier
//
// Weights: He et al. 2015's normal initialization (kaiming_normal_, fan_in, gain sqrt(2)) for every
// convolution and the classifier's weight, as the paper's models; batch norm weight 1, bias 0; the
// classifier's bias as PyTorch's Linear default.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/random.h"
#include "nn/module.h"

namespace normgrad::nn {

enum class ShortcutType { kA, kB };

struct ResNetOptions {
  int64_t num_classes = 10;
  // nullopt: A for depth 6n + 2, B for ResNet-18 (the choices of the implementations named above).
  std::optional<ShortcutType> shortcut;
};

// The shortcut of option A: x[:, :, ::stride, ::stride] with (out - in) / 2 zero channels before and the
// rest after (in, out: channel counts). Input [N, in, H, W] -> [N, out, ceil(H / stride), ceil(W / stride)].
// Recorded as one node (nn::functional::zero_pad_shortcut).
class ZeroPadShortcut : public Cloneable<ZeroPadShortcut> {
 public:
  ZeroPadShortcut(int64_t in_channels, int64_t out_channels, int64_t stride);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;

 private:
  int64_t in_channels_, out_channels_, stride_;
};

// y = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), conv1 3x3 with `stride`, conv2 3x3, both without
// bias. Input [N, in_planes, H, W] -> [N, planes, H / stride, W / stride].
class BasicBlock : public Cloneable<BasicBlock> {
 public:
  BasicBlock(int64_t in_planes, int64_t planes, int64_t stride, ShortcutType shortcut, Generator* gen = nullptr);
  Tensor forward(const Tensor& input) override;
};

class ResNet : public Cloneable<ResNet> {
 public:
  // Depth 18, or 6n + 2 for n >= 1 (20, 32, 44, 56, 110, ...); throws for any other depth and for
  // num_classes < 1. Draws the initial weights from `gen` (the default generator when null).
  static std::shared_ptr<ResNet> Cifar(int depth, const ResNetOptions& options = {}, Generator* gen = nullptr);

  // x [N, 3, H, W] (32x32 for CIFAR) -> logits [N, num_classes].
  Tensor forward(const Tensor& input) override;
  // "depth=20, shortcut=A, num_classes=10"
  std::string extra_repr() const override;

  int depth() const { return depth_; }
  ShortcutType shortcut() const { return shortcut_; }
  int64_t num_classes() const { return num_classes_; }

  // Use Cifar(). Public for std::make_shared.
  ResNet(int depth, const std::vector<int64_t>& widths, const std::vector<int64_t>& blocks, ShortcutType shortcut,
         int64_t num_classes, Generator* gen);

 private:
  int depth_;
  ShortcutType shortcut_;
  int64_t num_classes_;
  int64_t num_stages_;
};

}  // namespace normgrad::nn

#endif  // NORMGRAD_NN_RESNET_H_
