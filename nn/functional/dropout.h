#ifndef NORMGRAD_NN_FUNCTIONAL_DROPOUT_H_
#define NORMGRAD_NN_FUNCTIONAL_DROPOUT_H_

// Differentiable dropout (torch.nn.functional.dropout).

#include "core/random.h"
#include "core/tensor.h"

namespace normgrad::nn::functional {

// Training: each element is zeroed with probability p and the survivors are scaled by 1 / (1 - p), so the
// expectation is unchanged; the mask is drawn from `generator` (the default generator when null), in
// row-major order; p = 1 zeroes every element. Eval (training = false) or p = 0: the input itself. Backward
// multiplies by the same mask (double backward exact). Errors: "dropout: expected p in [0, 1], got 1.5";
// "dropout: expected a floating-point input (float32 or float64), got int64".
Tensor dropout(const Tensor& input, double p = 0.5, bool training = true, Generator* generator = nullptr);

}  // namespace normgrad::nn::functional

#endif  // NORMGRAD_NN_FUNCTIONAL_DROPOUT_H_
