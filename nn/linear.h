#ifndef NORMGRAD_NN_LINEAR_H_
#define NORMGRAD_NN_LINEAR_H_

#include <cstdint>
#include <string>

#include "core/random.h"
#include "nn/module.h"

namespace normgrad::nn {

struct LinearOptions {
  int64_t in_features = 0;
  int64_t out_features = 0;
  bool bias = true;
};

// y = x weight^T + bias (functional::linear) with weight [out_features, in_features] and bias
// [out_features]; x [*, in_features] -> y [*, out_features]. Initialized as PyTorch does: weight and bias
// from U(-1/sqrt(in_features), 1/sqrt(in_features)), drawn from `gen` (default generator when null).
class Linear : public Cloneable<Linear> {
 public:
  // Throws for feature counts < 1.
  explicit Linear(const LinearOptions& options, Generator* gen = nullptr);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  const LinearOptions& options() const { return options_; }
  // Draws the weight and bias again, as the constructor did.
  void reset_parameters(Generator* gen = nullptr);

 private:
  LinearOptions options_;
};

// y = x: a placeholder where an architecture has an optional layer.
class Identity : public Cloneable<Identity> {
 public:
  Identity() : Cloneable("Identity") {}
  Tensor forward(const Tensor& input) override { return input; }
};

}  // namespace normgrad::nn

#endif  // NORMGRAD_NN_LINEAR_H_
