#ifndef NORMGRAD_NN_FUNCTIONAL_POOLING_H_
#define NORMGRAD_NN_FUNCTIONAL_POOLING_H_

// Differentiable 2-d pooling (torch.nn.functional.max_pool2d, avg_pool2d, adaptive_avg_pool2d) over
// [N, C, H, W] or [C, H, W]. Shapes, semantics and errors are those of core/kernels/pooling.h. Double
// backward is refused ("max_pool2d: double backward is not supported").

#include <array>
#include <cstdint>

#include "core/kernels/pooling.h"
#include "core/tensor.h"

namespace normgrad::nn::functional {

// kernel_size (required), stride (default: kernel_size) and padding, each [h, w], ceil_mode and
// count_include_pad (apart from the modules' nn::Pool2dOptions).
using Pool2dFuncOptions = normgrad::Pool2dFuncOptions;

// Largest value of each window (padding reads as -inf); backward routes the gradient to the position of
// the maximum (the first one on ties), summing where windows overlap.
Tensor max_pool2d(const Tensor& input, const Pool2dFuncOptions& options);

// Mean of each window: padding counted as zeros (count_include_pad = true, PyTorch's default), sum /
// (kernel_h * kernel_w) but for a ceil_mode window past the padding, or with count_include_pad = false the
// mean of the input positions in it. Backward spreads each gradient evenly over its window.
Tensor avg_pool2d(const Tensor& input, const Pool2dFuncOptions& options);

// Mean over the windows rows [floor(i H / H_out), ceil((i + 1) H / H_out)) x cols likewise, so that the
// output is output_size ({1, 1}: global average pooling).
Tensor adaptive_avg_pool2d(const Tensor& input, std::array<int64_t, 2> output_size);

}  // namespace normgrad::nn::functional

#endif  // NORMGRAD_NN_FUNCTIONAL_POOLING_H_
