#include "nn/functional/conv.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "core/kernels/reduce.h"

namespace normgrad::nn::functional {

using autograd::BackwardContext;
using autograd::Save;
using Grads = std::vector<Tensor>;

namespace {

// Added into the gradient that the input's other uses have summed when the engine hands it over (a residual
// block's input: its shortcut's gradient), saving a separate sum over the whole activation.
Tensor InputGradient(const BackwardContext& ctx, const Tensor& weight, const Shape& input_shape,
                     const Conv2dFuncOptions& options) {
  const Tensor& partial = ctx.partial_sum(0);
  if (!partial.defined()) return kernels::conv2d_backward_input(ctx.grad, weight, input_shape, options);
  kernels::conv2d_backward_input_add_(partial, ctx.grad, weight, options);
  return partial;
}

}  // namespace

Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, const Conv2dFuncOptions& options) {
  NG_CHECK(input.dim() == 3 || input.dim() == 4,
           "conv2d: expected input of 3 or 4 dims ([C, H, W] or [N, C, H, W]), got ", ShapeToString(input.shape()));
  // An unbatched image is a batch of one, as in PyTorch; an error about it says which shape came.
  if (input.dim() == 3) {
    try {
      return squeeze(conv2d(unsqueeze(input, 0), weight, bias, options), 0);
    } catch (const Error& e) {
      throw Error(absl::StrCat(e.what(), " (the unbatched input ", ShapeToString(input.shape()),
                               " taken as a batch of one)"));
    }
  }
  Tensor out = kernels::conv2d(input, weight, bias, options);  // checks the arguments
  // The weight gradient needs the input, the input gradient the weight: keep only what will be used.
  const bool input_grad = input.requires_grad(), weight_grad = weight.requires_grad();
  return autograd::Record(
      "Conv2dBackward", std::move(out), {input, weight, bias},
      [x = Save(weight_grad ? input : Tensor()), w = Save(input_grad ? weight : Tensor()), input_shape = input.shape(),
       weight_shape = weight.shape(), options](const BackwardContext& ctx) -> Grads {
        NG_CHECK(!GradMode::is_enabled(), "conv2d: double backward is not supported");
        return {ctx.needs(0) ? InputGradient(ctx, w.get(), input_shape, options) : Tensor(),
                ctx.needs(1) ? kernels::conv2d_backward_weight(ctx.grad, x.get(), weight_shape, options) : Tensor(),
                ctx.needs(2) ? kernels::sum(ctx.grad, {0, 2, 3}) : Tensor()};
      });
}

Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias) {
  NG_CHECK(weight.dim() == 2, "linear: expected weight of 2 dims [out_features, in_features], got ",
           ShapeToString(weight.shape()));
  NG_CHECK(input.dim() >= 1 && input.size(-1) == weight.size(1), "linear: expected input with ", weight.size(1),
           " features in its last dim (weight ", ShapeToString(weight.shape()), "), got ",
           ShapeToString(input.shape()));
  NG_CHECK(!bias.defined() || bias.shape() == Shape{weight.size(0)}, "linear: expected bias of shape [", weight.size(0),
           "], got ", bias.defined() ? ShapeToString(bias.shape()) : "");
  Tensor y = matmul(input, t(weight));
  return bias.defined() ? add(y, bias) : y;
}

Tensor flatten(const Tensor& input, int64_t start_dim, int64_t end_dim) {
  return normgrad::flatten(input, start_dim, end_dim);
}

}  // namespace normgrad::nn::functional
