#include "nn/functional/dropout.h"

#include "autograd/ops.h"
#include "core/kernels/device_copy.h"
#include "core/kernels/elementwise.h"

namespace normgrad::nn::functional {

Tensor dropout(const Tensor& input, double p, bool training, Generator* generator) {
  NG_CHECK(p >= 0 && p <= 1, "dropout: expected p in [0, 1], got ", p);
  NG_CHECK(IsFloating(input.dtype()), "dropout: expected a floating-point input (float32 or float64), got ",
           input.dtype());
  if (!training || p == 0) return input;
  if (p == 1) return mul(input, 0.0);  // every element dropped (as PyTorch), without dividing by 1 - p
  // Drawn on the host (the same draws on every device), then moved to the input's device.
  Tensor mask = kernels::to(bernoulli(input.shape(), 1 - p, {.dtype = input.dtype()}, generator), input.device());
  kernels::mul_(mask, 1 / (1 - p));
  return mul(input, mask);
}

}  // namespace normgrad::nn::functional
