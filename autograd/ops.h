#ifndef NORMGRAD_AUTOGRAD_OPS_H_
#define NORMGRAD_AUTOGRAD_OPS_H_

// Every differentiable op on tensors, in namespace normgrad.
#include "autograd/ops/elementwise.h"
#include "autograd/ops/join.h"
#include "autograd/ops/linalg.h"
#include "autograd/ops/reduce.h"
#include "autograd/ops/view.h"

#endif  // NORMGRAD_AUTOGRAD_OPS_H_
