#include "nn/functional/conv.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "core/kernels/copy.h"
#include "core/kernels/elementwise.h"
#include "core/kernels/reduce.h"
#include "core/kernels/view.h"

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

// An unbatched image [C, H, W] is a batch of one, as in PyTorch: `batched` of it, squeezed back; an error
// about it says which shape came.
template <typename Fn>
Tensor AsBatchOfOne(const Tensor& input, Fn&& batched) {
  try {
    return squeeze(batched(unsqueeze(input, 0)), 0);
  } catch (const Error& e) {
    throw Error(absl::StrCat(e.what(), " (the unbatched input ", ShapeToString(input.shape()),
                             " taken as a batch of one)"));
  }
}

void CheckImageRank(const char* op, const Tensor& input) {
  NG_CHECK(input.dim() == 3 || input.dim() == 4, op, ": expected input of 3 or 4 dims ([C, H, W] or [N, C, H, W]), got ",
           ShapeToString(input.shape()));
}

}  // namespace

Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, const Conv2dFuncOptions& options) {
  CheckImageRank("conv2d", input);
  if (input.dim() == 3) return AsBatchOfOne(input, [&](const Tensor& x) { return conv2d(x, weight, bias, options); });
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

Tensor conv_transpose2d(const Tensor& input, const Tensor& weight, const Tensor& bias,
                        const ConvTranspose2dFuncOptions& options) {
  constexpr const char* kOp = "conv_transpose2d";
  CheckImageRank(kOp, input);
  if (input.dim() == 3) {
    return AsBatchOfOne(input, [&](const Tensor& x) { return conv_transpose2d(x, weight, bias, options); });
  }
  const ConvTranspose2dFuncOptions& o = options;
  NG_CHECK(IsFloating(input.dtype()), kOp, ": expected a floating-point input (float32 or float64), got ",
           input.dtype());
  NG_CHECK(weight.dim() == 4, kOp, ": expected weight of 4 dims [C_in, C_out / groups, kH, kW], got ",
           ShapeToString(weight.shape()));
  NG_CHECK(weight.dtype() == input.dtype() && weight.device() == input.device(), kOp,
           ": expected weight of the input's dtype and device (", input.dtype(), ", ", input.device().ToString(),
           "), got ", weight.dtype(), ", ", weight.device().ToString());
  NG_CHECK(o.groups >= 1 && weight.size(0) % o.groups == 0, kOp, ": expected groups >= 1 dividing the ",
           weight.size(0), " input channels of weight ", ShapeToString(weight.shape()), ", got ", o.groups);
  NG_CHECK(input.size(1) == weight.size(0), kOp, ": expected input with ", weight.size(0), " channels (weight ",
           ShapeToString(weight.shape()), "), got ", ShapeToString(input.shape()));
  NG_CHECK(input.size(2) > 0 && input.size(3) > 0, kOp, ": expected an input with a non-empty height and width ",
           "(only the batch or the channels may be empty), got ", ShapeToString(input.shape()));
  auto pair = [](const std::array<int64_t, 2>& v) { return absl::StrCat("[", v[0], ", ", v[1], "]"); };
  Shape out_shape = {input.size(0), weight.size(1) * o.groups, 0, 0};
  // The convolution whose input gradient this is maps out_shape to `covered`: the input's size, or one more
  // row or column per stride that output_padding >= stride (allowed when it is below the dilation) adds.
  Shape covered = input.shape();
  for (int i = 0; i < 2; ++i) {
    NG_CHECK(o.stride[i] >= 1 && o.dilation[i] >= 1 && o.padding[i] >= 0 && o.output_padding[i] >= 0, kOp,
             ": expected stride and dilation >= 1, padding and output_padding >= 0, got stride ", pair(o.stride),
             ", dilation ", pair(o.dilation), ", padding ", pair(o.padding), ", output_padding ",
             pair(o.output_padding));
    NG_CHECK(o.output_padding[i] < o.stride[i] || o.output_padding[i] < o.dilation[i], kOp,
             ": expected output_padding smaller than stride or dilation in each dim, got output_padding ",
             pair(o.output_padding), " with stride ", pair(o.stride), " and dilation ", pair(o.dilation));
    out_shape[2 + i] = (input.size(2 + i) - 1) * o.stride[i] - 2 * o.padding[i] +
                       o.dilation[i] * (weight.size(2 + i) - 1) + o.output_padding[i] + 1;
    covered[2 + i] = input.size(2 + i) + o.output_padding[i] / o.stride[i];
  }
  NG_CHECK(out_shape[2] >= 1 && out_shape[3] >= 1, kOp, ": expected a padding that leaves an output, got output ",
           "size ", out_shape[2], " x ", out_shape[3], " for input ", ShapeToString(input.shape()), ", weight ",
           ShapeToString(weight.shape()), " and padding ", pair(o.padding));
  if (bias.defined()) {
    NG_CHECK(bias.shape() == Shape{out_shape[1]}, kOp, ": expected bias of shape [", out_shape[1], "], got ",
             ShapeToString(bias.shape()));
    NG_CHECK(bias.dtype() == input.dtype() && bias.device() == input.device(), kOp, ": expected bias of the input's ",
             "dtype and device (", input.dtype(), ", ", input.device().ToString(), "), got ", bias.dtype(), ", ",
             bias.device().ToString());
  }
  const Conv2dFuncOptions conv{.stride = o.stride, .padding = o.padding, .dilation = o.dilation, .groups = o.groups};
  // The input, with zeros below and to the right up to `covered` (rows and columns that reach no output).
  Tensor padded = input;
  if (covered != input.shape()) {
    padded = zeros(covered, {.dtype = input.dtype(), .device = input.device()});
    kernels::copy_(kernels::narrow(kernels::narrow(padded, 2, 0, input.size(2)), 3, 0, input.size(3)), input);
  }
  Tensor out = kernels::conv2d_backward_input(padded, weight, out_shape, conv);
  if (bias.defined()) out = kernels::add(out, kernels::reshape(bias, {1, out_shape[1], 1, 1}));
  const bool input_grad = input.requires_grad(), weight_grad = weight.requires_grad();
  return autograd::Record(
      "ConvTranspose2dBackward", std::move(out), {input, weight, bias},
      [x = Save(weight_grad ? padded : Tensor()), w = Save(input_grad ? weight : Tensor()), weight_shape = weight.shape(),
       input_shape = input.shape(), conv](const BackwardContext& ctx) -> Grads {
        NG_CHECK(!GradMode::is_enabled(), "conv_transpose2d: double backward is not supported");
        Tensor grad_input;
        if (ctx.needs(0)) {  // cropped back from `covered`
          grad_input = kernels::conv2d(ctx.grad, w.get(), {}, conv);
          if (grad_input.shape() != input_shape) {
            grad_input = kernels::contiguous(
                kernels::narrow(kernels::narrow(grad_input, 2, 0, input_shape[2]), 3, 0, input_shape[3]));
          }
        }
        return {grad_input,
                ctx.needs(1) ? kernels::conv2d_backward_weight(x.get(), ctx.grad, weight_shape, conv) : Tensor(),
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
