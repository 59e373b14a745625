#include "nn/functional/shortcut.h"

#include <limits>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "core/error.h"
#include "core/kernels/elementwise.h"
#include "core/kernels/view.h"

namespace normgrad::nn::functional {
namespace {

constexpr int64_t kEnd = std::numeric_limits<int64_t>::max();

// Every stride-th row and column of an [N, C, H, W] tensor, as a view (kernels: unrecorded; ops: recorded).
Tensor Subsampled(const Tensor& t, int64_t stride) {
  if (stride == 1) return t;
  return kernels::slice(kernels::slice(t, 2, 0, kEnd, stride), 3, 0, kEnd, stride);
}

}  // namespace

Tensor zero_pad_shortcut(const Tensor& input, int64_t out_channels, int64_t stride) {
  NG_CHECK(input.defined() && input.dim() == 4, "zero_pad_shortcut: expected an input [N, C, H, W], got ",
           input.defined() ? ShapeToString(input.shape()) : "an undefined tensor");
  const int64_t channels = input.size(1);
  NG_CHECK(out_channels >= channels, "zero_pad_shortcut: expected out_channels >= the input's ", channels,
           " channels, got ", out_channels);
  NG_CHECK(stride >= 1, "zero_pad_shortcut: expected stride >= 1, got ", stride);
  const int64_t front = (out_channels - channels) / 2;
  const Tensor window = Subsampled(input, stride);
  Shape out_shape = window.shape();
  out_shape[1] = out_channels;
  const TensorOptions options{.dtype = input.dtype(), .device = input.device()};
  // Each element written once: the zero channels before and after, and the input's window between them.
  Tensor out = empty(out_shape, options);
  kernels::fill_(kernels::narrow(out, 1, 0, front), 0.0);
  kernels::fill_(kernels::narrow(out, 1, front + channels, out_channels - front - channels), 0.0);
  kernels::copy_(kernels::narrow(out, 1, front, channels), window);
  if (!autograd::AnyRequiresGrad({input})) return out;
  return autograd::Record(
      "ZeroPadShortcutBackward", std::move(out), {input},
      [front, channels, stride, shape = input.shape(), options](const autograd::BackwardContext& ctx) {
        if (GradMode::is_enabled()) {
          // While backward is being recorded: the same gradient from differentiable ops.
          Tensor g = narrow(ctx.grad, 1, front, channels);
          if (stride == 1) return std::vector<Tensor>{g};
          Shape rows = shape;
          rows[3] = g.size(3);
          g = slice_scatter(zeros(rows, options), g, 2, 0, kEnd, stride);
          return std::vector<Tensor>{slice_scatter(zeros(shape, options), g, 3, 0, kEnd, stride)};
        }
        Tensor grad_input = stride == 1 ? empty(shape, options) : zeros(shape, options);
        kernels::copy_(Subsampled(grad_input, stride), kernels::narrow(ctx.grad, 1, front, channels));
        return std::vector<Tensor>{grad_input};
      });
}

}  // namespace normgrad::nn::functional
