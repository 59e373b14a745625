#ifndef NORMGRAD_AUTOGRAD_ENGINE_H_
#define NORMGRAD_AUTOGRAD_ENGINE_H_

#include <vector>

#include "core/tensor.h"

namespace normgrad::autograd {

// Runs backward from `roots` (each with its upstream gradient; an undefined one means 1 for a
// one-element root) and accumulates into the grad() of every leaf that requires grad, as PyTorch does: a
// leaf without a gradient gets one of its own (never a tensor the caller or the graph holds); a leaf with
// one gets the new gradient added into that tensor in place, so handles on grad() see the sum, unless
// create_graph is set or grad() is itself part of a graph (then grad() becomes a new tensor, grad() + new,
// recorded with create_graph).
// The graph is walked without recursion, each node once, after all its gradient contributions arrived.
// Unless options.retain_graph or options.create_graph, the nodes' saved tensors are freed afterwards and
// a second backward through them throws. With create_graph, the backward pass is itself recorded.
void Backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads, BackwardOptions options = {});

// torch.autograd.grad: d(sum_i <outputs[i], grad_outputs[i]>)/d(inputs[j]) for each input, without
// touching any grad(). An input that the outputs do not depend on gets an undefined Tensor, or an error
// unless allow_unused. With create_graph the results are recorded, for higher-order gradients. Only the
// nodes between the outputs and the inputs run (and are freed without retain_graph); an input listed twice
// gets its gradient in both places.
std::vector<Tensor> Grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, BackwardOptions options = {},
                         bool allow_unused = false);

}  // namespace normgrad::autograd

#endif  // NORMGRAD_AUTOGRAD_ENGINE_H_
