#ifndef NORMGRAD_NN_DROPOUT_H_
#define NORMGRAD_NN_DROPOUT_H_

#include <string>

#include "core/random.h"
#include "nn/module.h"

namespace normgrad::nn {

struct DropoutOptions {
  double p = 0.5;  // the probability of zeroing an element
};

// In training, zeroes each element with probability p and scales the rest by 1 / (1 - p)
// (functional::dropout, masks drawn from `gen`, the default generator when null); in eval, y = x.
// The generator is not owned and must outlive the module (and its clones, which share it).
class Dropout : public Cloneable<Dropout> {
 public:
  // Throws for p outside [0, 1].
  explicit Dropout(const DropoutOptions& options = {}, Generator* gen = nullptr);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  const DropoutOptions& options() const { return options_; }

 private:
  DropoutOptions options_;
  Generator* gen_;
};

}  // namespace normgrad::nn

#endif  // NORMGRAD_NN_DROPOUT_H_
