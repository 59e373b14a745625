#ifndef NORMGRAD_AUTOGRAD_ENGINE_H_
#define NORMGRAD_AUTOGRAD_ENGINE_H_

#include <vector>

#include "core/tensor.h"

namespace normgrad::autograd {

// Runs backward from `roots` (each with its upstream gradient; an undefined one means 1 for a
// one-element root) and accumulates into the grad() of every leaf that requires grad.
// The graph is walked without recursion, each node once, after all its gradient contributions arrived.
// Unless options.retain_graph or options.create_graph, the nodes' saved tensors are freed afterwards and
// a second backward through them throws. With create_graph, the backward pass is itself recorded.
void Backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads, BackwardOptions options = {});

// torch.autograd.grad: d(sum_i <outputs[i], grad_outputs[i]>)/d(inputs[j]) for each input, without
// touching any grad(). An input that the outputs do not depend on gets an undefined Tensor, or an error
// unless allow_unused. With create_graph the results are recorded, for higher-order gradients.
std::vector<Tensor> Grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, BackwardOptions options = {},
                         bool allow_unused = false);

}  // namespace normgrad::autograd

#endif  // NORMGRAD_AUTOGRAD_ENGINE_H_
