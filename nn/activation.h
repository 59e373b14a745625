#ifndef NORMGRAD_NN_ACTIVATION_H_
#define NORMGRAD_NN_ACTIVATION_H_

#include "autograd/ops.h"
#include "nn/module.h"

namespace normgrad::nn {

// y = max(x, 0) elementwise (normgrad::relu), any shape.
class ReLU : public Cloneable<ReLU> {
 public:
  ReLU() : Cloneable("ReLU") {}
  Tensor forward(const Tensor& input) override { return relu(input); }
};

}  // namespace normgrad::nn

#endif  // NORMGRAD_NN_ACTIVATION_H_
