#ifndef NORMGRAD_AUTOGRAD_OPS_H_
#define NORMGRAD_AUTOGRAD_OPS_H_

// Every differentiable op on tensors, in namespace normgrad.
#include "autograd/ops/elementwise.h"

#endif  // NORMGRAD_AUTOGRAD_OPS_H_
