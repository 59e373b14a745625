#ifndef NORMGRAD_NN_POOLING_H_
#define NORMGRAD_NN_POOLING_H_

#include <optional>
#include <string>

#include "nn/int_pair.h"
#include "nn/module.h"

namespace normgrad::nn {

struct Pool2dOptions {
  IntPair kernel_size = 0;        // required
  std::optional<IntPair> stride;  // kernel_size when absent, as in PyTorch
  IntPair padding = 0;            // at most half the kernel size
  bool ceil_mode = false;         // round the output size up (a last, partial window covers the edge)
  bool count_include_pad = true;  // AvgPool2d only: padded zeros count in the mean
};

// The maximum of each kernel_size window (functional::max_pool2d; padding counts as -infinity).
// Input [N, C, H, W] (or [C, H, W]); H' = (H + 2 padding - kh) / stride + 1 (rounded down, or up with
// ceil_mode, dropping a last window that would start in the right padding), W' likewise.
class MaxPool2d : public Cloneable<MaxPool2d> {
 public:
  // Throws for kernel_size or stride < 1, padding outside [0, kernel_size / 2], or count_include_pad false.
  explicit MaxPool2d(const Pool2dOptions& options);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  const Pool2dOptions& options() const { return options_; }

 private:
  Pool2dOptions options_;
};

// The mean of each kernel_size window (functional::avg_pool2d; padded zeros count in the mean unless
// count_include_pad is false, as in PyTorch). Shapes as for MaxPool2d.
class AvgPool2d : public Cloneable<AvgPool2d> {
 public:
  // Throws as MaxPool2d's constructor (count_include_pad aside).
  explicit AvgPool2d(const Pool2dOptions& options);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  const Pool2dOptions& options() const { return options_; }

 private:
  Pool2dOptions options_;
};

// The mean over adaptive windows that split H x W into output_size cells (functional::adaptive_avg_pool2d);
// output_size 1 is global average pooling. Input [N, C, H, W] -> [N, C, oh, ow].
class AdaptiveAvgPool2d : public Cloneable<AdaptiveAvgPool2d> {
 public:
  // Throws for an output size < 1.
  explicit AdaptiveAvgPool2d(IntPair output_size);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override { return "output_size=" + output_size_.ToString(); }
  IntPair output_size() const { return output_size_; }

 private:
  IntPair output_size_;
};

}  // namespace normgrad::nn

#endif  // NORMGRAD_NN_POOLING_H_
