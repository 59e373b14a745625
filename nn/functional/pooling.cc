#include "nn/functional/pooling.h"

#include <vector>

#include "autograd/node.h"

namespace normgrad::nn::functional {

using autograd::BackwardContext;
using Grads = std::vector<Tensor>;

Tensor max_pool2d(const Tensor& input, const Pool2dFuncOptions& options) {
  kernels::MaxPool2dResult r = kernels::max_pool2d(input, options);
  return autograd::Record("MaxPool2dBackward", std::move(r.output), {input},
                          [indices = r.indices, shape = input.shape(), options](const BackwardContext& ctx) -> Grads {
                            NG_CHECK(!GradMode::is_enabled(), "max_pool2d: double backward is not supported");
                            return {kernels::max_pool2d_backward(ctx.grad, indices, shape, options)};
                          });
}

Tensor avg_pool2d(const Tensor& input, const Pool2dFuncOptions& options) {
  return autograd::Record("AvgPool2dBackward", kernels::avg_pool2d(input, options), {input},
                          [shape = input.shape(), options](const BackwardContext& ctx) -> Grads {
                            NG_CHECK(!GradMode::is_enabled(), "avg_pool2d: double backward is not supported");
                            return {kernels::avg_pool2d_backward(ctx.grad, shape, options)};
                          });
}

Tensor adaptive_avg_pool2d(const Tensor& input, std::array<int64_t, 2> output_size) {
  return autograd::Record("AdaptiveAvgPool2dBackward", kernels::adaptive_avg_pool2d(input, output_size), {input},
                          [shape = input.shape()](const BackwardContext& ctx) -> Grads {
                            NG_CHECK(!GradMode::is_enabled(), "adaptive_avg_pool2d: double backward is not supported");
                            return {kernels::adaptive_avg_pool2d_backward(ctx.grad, shape)};
                          });
}

}  // namespace normgrad::nn::functional
