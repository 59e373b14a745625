#ifndef NORMGRAD_NN_ACTIVATION_H_
#define NORMGRAD_NN_ACTIVATION_H_

// Elementwise activation modules (any input shape), as torch.nn's; no parameters.

#include <string>

#include "absl/strings/str_cat.h"
#include "autograd/ops.h"
#include "nn/functional/activation.h"
#include "nn/module.h"

namespace normgrad::nn {

// y = max(x, 0) (normgrad::relu).
class ReLU : public Cloneable<ReLU> {
 public:
  ReLU() : Cloneable("ReLU") {}
  Tensor forward(const Tensor& input) override { return relu(input); }
};

// y = x where x > 0, else negative_slope * x (functional::leaky_relu).
class LeakyReLU : public Cloneable<LeakyReLU> {
 public:
  explicit LeakyReLU(double negative_slope = 0.01) : Cloneable("LeakyReLU"), negative_slope_(negative_slope) {}
  Tensor forward(const Tensor& input) override { return functional::leaky_relu(input, negative_slope_); }
  std::string extra_repr() const override { return absl::StrCat("negative_slope=", negative_slope_); }
  double negative_slope() const { return negative_slope_; }

 private:
  double negative_slope_;
};

// y = x Phi(x), exact or with the tanh approximation (functional::gelu).
class GELU : public Cloneable<GELU> {
 public:
  explicit GELU(functional::GeluApproximation approximate = functional::GeluApproximation::kNone)
      : Cloneable("GELU"), approximate_(approximate) {}
  Tensor forward(const Tensor& input) override { return functional::gelu(input, approximate_); }
  std::string extra_repr() const override {
    return approximate_ == functional::GeluApproximation::kTanh ? "approximate='tanh'" : "approximate='none'";
  }

 private:
  functional::GeluApproximation approximate_;
};

// y = x sigmoid(x) (functional::silu).
class SiLU : public Cloneable<SiLU> {
 public:
  SiLU() : Cloneable("SiLU") {}
  Tensor forward(const Tensor& input) override { return functional::silu(input); }
};

// y = 1 / (1 + e^-x) (normgrad::sigmoid).
class Sigmoid : public Cloneable<Sigmoid> {
 public:
  Sigmoid() : Cloneable("Sigmoid") {}
  Tensor forward(const Tensor& input) override { return sigmoid(input); }
};

// y = tanh(x) (normgrad::tanh).
class Tanh : public Cloneable<Tanh> {
 public:
  Tanh() : Cloneable("Tanh") {}
  Tensor forward(const Tensor& input) override { return tanh(input); }
};

}  // namespace normgrad::nn

#endif  // NORMGRAD_NN_ACTIVATION_H_
