#include "nn/init.h"

#include <cmath>

#include "core/kernels/elementwise.h"

namespace normgrad::nn::init {

namespace {

// Writes `values` into t's storage: an in-place write that the autograd version counter records.
void Overwrite(const Tensor& t, const Tensor& values) {
  kernels::copy_(t, values);
  t.BumpVersion();
}

double KaimingStd(const Tensor& t, double a, FanMode mode) {
  const auto [fan_in, fan_out] = CalculateFanInAndFanOut(t.shape());
  const int64_t fan = mode == FanMode::kFanIn ? fan_in : fan_out;
  NG_CHECK(fan > 0, "kaiming init: expected a weight with a non-zero fan, got shape ", ShapeToString(t.shape()));
  return std::sqrt(2.0 / (1 + a * a)) / std::sqrt(static_cast<double>(fan));
}

}  // namespace

std::pair<int64_t, int64_t> CalculateFanInAndFanOut(const Shape& shape) {
  NG_CHECK(shape.size() >= 2, "CalculateFanInAndFanOut: expected a weight with at least 2 dims, got ",
           ShapeToString(shape));
  const int64_t receptive = Numel(Shape(shape.begin() + 2, shape.end()));
  return {shape[1] * receptive, shape[0] * receptive};
}

void uniform_(const Tensor& t, double low, double high, Generator* gen) {
  Overwrite(t, uniform(t.shape(), low, high, {.dtype = t.dtype()}, gen));
}

void normal_(const Tensor& t, double mean, double std, Generator* gen) {
  Overwrite(t, normal(t.shape(), mean, std, {.dtype = t.dtype()}, gen));
}

void constant_(const Tensor& t, double value) {
  kernels::fill_(t, value);
  t.BumpVersion();
}

void kaiming_uniform_(const Tensor& t, double a, FanMode mode, Generator* gen) {
  const double bound = std::sqrt(3.0) * KaimingStd(t, a, mode);
  uniform_(t, -bound, bound, gen);
}

void kaiming_normal_(const Tensor& t, double a, FanMode mode, Generator* gen) {
  normal_(t, 0.0, KaimingStd(t, a, mode), gen);
}

}  // namespace normgrad::nn::init
