#ifndef NORMGRAD_NN_INIT_H_
#define NORMGRAD_NN_INIT_H_

// Parameter initialization, as torch.nn.init: each function overwrites `t` in place (without recording a
// graph; t keeps its identity and requires_grad) with draws from `gen` (the default generator when null).
// The draws are PyTorch's distributions; the values differ from PyTorch's, whose random stream is another.

#include <cstdint>
#include <utility>

#include "core/random.h"
#include "core/tensor.h"

namespace normgrad::nn::init {

// (fan_in, fan_out) of a weight of shape [out, in, k...]: fan_in = in * prod(k), fan_out = out * prod(k).
// Throws for fewer than 2 dims.
std::pair<int64_t, int64_t> CalculateFanInAndFanOut(const Shape& shape);

enum class FanMode { kFanIn, kFanOut };

// Every element from U[low, high).
void uniform_(const Tensor& t, double low, double high, Generator* gen = nullptr);
// Every element from N(mean, std^2).
void normal_(const Tensor& t, double mean, double std, Generator* gen = nullptr);
// Every element set to `value`.
void constant_(const Tensor& t, double value);

// He et al. 2015 for layers followed by leaky ReLU with negative slope `a` (0: ReLU):
// gain = sqrt(2 / (1 + a^2)), std = gain / sqrt(fan), fan chosen by `mode`.
// kaiming_uniform_: U[-sqrt(3) std, sqrt(3) std). With a = sqrt(5) and fan_in this is
// U[-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's default for Conv2d and Linear weights.
void kaiming_uniform_(const Tensor& t, double a = 0, FanMode mode = FanMode::kFanIn, Generator* gen = nullptr);
// kaiming_normal_: N(0, std^2).
void kaiming_normal_(const Tensor& t, double a = 0, FanMode mode = FanMode::kFanIn, Generator* gen = nullptr);

}  // namespace normgrad::nn::init

#endif  // NORMGRAD_NN_INIT_H_
