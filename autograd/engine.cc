#include "autograd/engine.h"

#include <algorithm>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/view.h"
#include "core/kernels/elementwise.h"

namespace normgrad::autograd {
namespace {

void CheckGradient(const Tensor& g, const Shape& shape, DType dtype, const char* from, size_t input) {
  NG_CHECK(g.shape() == shape, "backward: ", from, " returned a gradient of shape ", ShapeToString(g.shape()),
           " for its input ", input, ", expected ", ShapeToString(shape));
  NG_CHECK(g.dtype() == dtype, "backward: ", from, " returned a gradient of dtype ", DTypeName(g.dtype()),
           " for its input ", input, ", expected ", DTypeName(dtype));
}

// Sums gradient contributions, both taken by value so that one nobody else holds can be summed into in
// place (no new buffer). A sum that may become a leaf's grad() or a result of Grad (`owned`) must own its
// memory: users, optimizers and later backward passes modify grad() in place, so it cannot alias another
// branch's gradient, a caller's tensor or a broadcast view; with create_graph the copy is recorded (as
// PyTorch's AccumulateGrad clones). A node's input buffer need not: it is only read by the node's backward.
Tensor Accumulate(Tensor sum, Tensor g, bool create_graph, bool owned) {
  if (!sum.defined()) {
    if (!owned || IsExclusive(g)) return g;
    return clone(g);
  }
  if (!create_graph && sum.shape() == g.shape() && sum.dtype() == g.dtype()) {
    // Addition is commutative in floating point too, so either operand can take the sum.
    if (IsExclusive(sum)) {
      kernels::add_(sum, g);
      return sum;
    }
    if (IsExclusive(g)) {
      kernels::add_(g, sum);
      return g;
    }
  }
  return add(sum, g);
}

// The gradients already summed for `node`'s inputs from their other uses, handed over for the node to add
// its own into (BackwardContext::partial_sums): only those nobody else holds, each taken out of `buffers`
// once. Empty when there are none.
std::vector<Tensor> TakePartialSums(const Node& node, std::unordered_map<const Node*, Tensor>& buffers) {
  std::vector<Tensor> partial_sums;
  for (size_t i = 0; i < node.edges().size(); ++i) {
    const Edge& e = node.edges()[i];
    if (!e.node) continue;
    auto it = buffers.find(e.node.get());
    if (it == buffers.end() || !it->second.defined() || it->second.shape() != e.shape ||
        it->second.dtype() != e.dtype || !IsExclusive(it->second)) {
      continue;
    }
    partial_sums.resize(node.edges().size());
    partial_sums[i] = std::move(it->second);
    buffers.erase(it);
  }
  return partial_sums;
}

// What input i's edge adds to its node's buffer: the node's gradient `g` plus the partial sum it was handed,
// which the node may already have added g into (then g is that tensor).
Tensor WithPartialSum(Tensor g, std::vector<Tensor>& partial_sums, size_t i, bool create_graph) {
  if (i >= partial_sums.size() || !partial_sums[i].defined()) return g;
  Tensor partial = std::move(partial_sums[i]);
  if (!g.defined()) return partial;
  if (g.impl() == partial.impl()) return g;  // the node added its gradient into it
  return Accumulate(std::move(partial), std::move(g), create_graph, /*owned=*/false);
}

// Where the gradients that reach the graph's inputs go: accumulated into leaves' grad() (backward), or
// captured for a list of tensors (Grad).
struct Targets {
  bool accumulate_into_leaves = true;
  std::unordered_map<const TensorImpl*, size_t> leaves;  // captured leaf -> result index
  std::unordered_map<const Node*, size_t> nodes;         // captured non-leaf (its grad_fn) -> result index
  std::vector<Tensor> results;
};

// PyTorch's AccumulateGrad: the first gradient becomes grad() (stolen when nobody else holds it, else
// copied); later ones are added into that tensor in place, so that a handle taken on grad() after one
// backward sees the sums of the next ones (x.grad is g in PyTorch), as long as that is safe: without
// create_graph, and into a grad() that is not part of a graph and can be written whole (same shape, dtype
// and device, contiguous). Otherwise grad() becomes grad() + g, a new tensor, recorded with create_graph
// (so that it stays differentiable).
void AccumulateGrad(const Tensor& leaf, Tensor g, bool create_graph) {
  const Tensor grad = leaf.grad();
  if (grad.defined() && !create_graph && !grad.requires_grad() && grad.is_contiguous() &&
      grad.shape() == g.shape() && grad.dtype() == g.dtype() && grad.device() == g.device()) {
    kernels::add_(grad, g);
    grad.BumpVersion();  // a graph that saved this tensor must notice, as after any in-place write
    return;
  }
  leaf.set_grad(Accumulate(grad, std::move(g), create_graph, /*owned=*/true));
}

void DeliverToLeaf(const std::shared_ptr<TensorImpl>& leaf, Tensor g, bool create_graph, Targets& targets) {
  if (auto it = targets.leaves.find(leaf.get()); it != targets.leaves.end()) {
    Tensor& result = targets.results[it->second];
    result = Accumulate(std::move(result), std::move(g), create_graph, /*owned=*/true);
  } else if (targets.accumulate_into_leaves) {
    AccumulateGrad(Tensor(leaf), std::move(g), create_graph);
  }
}

// The nodes reachable from `roots` through which some target (a captured node or leaf) is reached: the
// only ones Grad runs, as torch.autograd.grad does. A captured node itself runs only if another target
// lies behind it. Iterative (a graph can be a chain of thousands of nodes).
std::unordered_set<const Node*> NodesLeadingToTargets(const std::vector<Tensor>& roots, const Targets& targets) {
  std::unordered_map<const Node*, bool> leads;  // the nodes finished so far
  auto reaches_target = [&](const Edge& e) {
    if (e.node) return targets.nodes.count(e.node.get()) > 0 || leads.at(e.node.get());
    const std::shared_ptr<TensorImpl> leaf = e.leaf.lock();
    return leaf != nullptr && targets.leaves.count(leaf.get()) > 0;
  };
  std::vector<std::pair<const Node*, size_t>> stack;  // a node and its next edge to visit
  for (const Tensor& root : roots) {
    if (const Node* n = root.grad_fn().get(); n && !leads.count(n)) stack.push_back({n, 0});
    while (!stack.empty()) {
      const Node* n = stack.back().first;
      const size_t i = stack.back().second++;
      if (i < n->edges().size()) {
        const Node* child = n->edges()[i].node.get();
        if (child && !leads.count(child)) stack.push_back({child, 0});  // a DAG: never on the stack already
        continue;
      }
      leads[n] = std::any_of(n->edges().begin(), n->edges().end(), reaches_target);
      stack.pop_back();
    }
  }
  std::unordered_set<const Node*> out;
  for (const auto& [n, lead] : leads) {
    if (lead) out.insert(n);
  }
  return out;
}

void Run(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads, BackwardOptions options,
         Targets& targets) {
  const bool create_graph = options.create_graph;
  const bool retain_graph = options.retain_graph || options.create_graph;
  GradModeGuard mode(create_graph);

  // Count, for every node reachable from the roots, how many edges lead into it.
  std::unordered_map<const Node*, int> dependencies;
  std::vector<Node*> stack;
  std::unordered_set<const Node*> seen;
  for (const Tensor& root : roots) {
    if (Node* n = root.grad_fn().get(); n && seen.insert(n).second) stack.push_back(n);
  }
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const Edge& e : n->edges()) {
      if (!e.node) continue;
      ++dependencies[e.node.get()];
      if (seen.insert(e.node.get()).second) stack.push_back(e.node.get());
    }
  }

  // Grad runs only the nodes between the outputs and the inputs; backward runs every node.
  const bool prune = !targets.accumulate_into_leaves;
  const std::unordered_set<const Node*> wanted =
      prune ? NodesLeadingToTargets(roots, targets) : std::unordered_set<const Node*>{};
  auto runs = [&](const Node* n) { return !prune || wanted.count(n) > 0; };

  std::unordered_map<const Node*, Tensor> buffers;
  std::vector<std::shared_ptr<Node>> ready;
  for (size_t i = 0; i < roots.size(); ++i) {
    const Tensor& root = roots[i];
    if (const auto& node = root.grad_fn()) {
      Tensor& buffer = buffers[node.get()];
      buffer = Accumulate(std::move(buffer), grads[i], create_graph, /*owned=*/false);
      // erase() makes a node that several roots share ready only once.
      if (dependencies[node.get()] == 0 && seen.erase(node.get())) ready.push_back(node);
    } else {
      DeliverToLeaf(root.impl_ptr(), grads[i], create_graph, targets);
    }
  }

  while (!ready.empty()) {
    std::shared_ptr<Node> node = std::move(ready.back());
    ready.pop_back();
    Tensor grad;
    if (auto it = buffers.find(node.get()); it != buffers.end()) {
      grad = std::move(it->second);
      buffers.erase(it);
    }
    if (auto it = targets.nodes.find(node.get()); it != targets.nodes.end() && grad.defined()) {
      targets.results[it->second] = grad;
    }
    std::vector<Tensor> input_grads, partial_sums;
    const bool has_grad = grad.defined() && runs(node.get());
    if (has_grad) {
      if (!create_graph) partial_sums = TakePartialSums(*node, buffers);
      // Handed over: the node may write into it unless someone else holds it (a captured result).
      input_grads = node->Apply(std::move(grad), partial_sums);
      NG_CHECK(input_grads.size() == node->edges().size(), "backward: ", node->name(), " returned ",
               input_grads.size(), " gradients for ", node->edges().size(), " inputs");
    }
    for (size_t i = 0; i < node->edges().size(); ++i) {
      const Edge& e = node->edges()[i];
      Tensor g = has_grad ? std::move(input_grads[i]) : Tensor();
      if (g.defined() && e.needs_grad()) CheckGradient(g, e.shape, e.dtype, node->name(), i);
      if (e.node) {
        g = WithPartialSum(std::move(g), partial_sums, i, create_graph);
        if (g.defined()) {
          Tensor& buffer = buffers[e.node.get()];
          buffer = Accumulate(std::move(buffer), std::move(g), create_graph, /*owned=*/false);
        }
        if (--dependencies[e.node.get()] == 0) ready.push_back(e.node);
      } else if (auto leaf = e.leaf.lock(); leaf && g.defined()) {
        DeliverToLeaf(leaf, std::move(g), create_graph, targets);
      }
    }
    if (!retain_graph && runs(node.get())) node->Release();
  }
}

Tensor RootGradient(const Tensor& root, const Tensor& grad, const char* op, size_t i) {
  NG_CHECK(root.defined(), op, ": expected a defined output ", i, ", got an undefined tensor");
  NG_CHECK(root.requires_grad(), op, ": expected output ", i, " to require grad (it was computed from no ",
           "tensor that requires grad, or under NoGradGuard)");
  if (!grad.defined()) {
    NG_CHECK(root.numel() == 1, op, ": expected an explicit gradient for output ", i, " of shape ",
             ShapeToString(root.shape()), " (only one-element outputs default to a gradient of 1)");
    return ones_like(root);
  }
  NG_CHECK(grad.shape() == root.shape(), op, ": expected a gradient of shape ", ShapeToString(root.shape()),
           " for output ", i, ", got ", ShapeToString(grad.shape()));
  NG_CHECK(grad.dtype() == root.dtype(), op, ": expected a gradient of dtype ", DTypeName(root.dtype()),
           " for output ", i, ", got ", DTypeName(grad.dtype()));
  return grad;
}

std::vector<Tensor> RootGradients(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads,
                                  const char* op) {
  NG_CHECK(grads.empty() || grads.size() == roots.size(), op, ": expected ", roots.size(),
           " gradients (one per output), got ", grads.size());
  std::vector<Tensor> out;
  for (size_t i = 0; i < roots.size(); ++i) out.push_back(RootGradient(roots[i], grads.empty() ? Tensor() : grads[i], op, i));
  return out;
}

}  // namespace

void Backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads, BackwardOptions options) {
  Targets targets;
  Run(roots, RootGradients(roots, grads, "backward"), options, targets);
}

std::vector<Tensor> Grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, BackwardOptions options, bool allow_unused) {
  Targets targets;
  targets.accumulate_into_leaves = false;
  targets.results.resize(inputs.size());
  std::vector<size_t> first(inputs.size());  // the first of inputs that are the same tensor
  for (size_t i = 0; i < inputs.size(); ++i) {
    NG_CHECK(inputs[i].defined() && inputs[i].requires_grad(), "grad: expected inputs[", i,
             "] to require grad");
    first[i] = inputs[i].grad_fn() ? targets.nodes.emplace(inputs[i].grad_fn().get(), i).first->second
                                   : targets.leaves.emplace(inputs[i].impl(), i).first->second;
  }
  Run(outputs, RootGradients(outputs, grad_outputs, "grad"), options, targets);
  for (size_t i = 0; i < inputs.size(); ++i) targets.results[i] = targets.results[first[i]];
  for (size_t i = 0; i < inputs.size(); ++i) {
    NG_CHECK(allow_unused || targets.results[i].defined(), "grad: inputs[", i,
             "] was not used to compute the outputs; pass allow_unused = true to get an undefined gradient");
  }
  return targets.results;
}

}  // namespace normgrad::autograd

namespace normgrad {

void Tensor::backward(const Tensor& gradient, BackwardOptions options) const {
  autograd::Backward({*this}, {gradient}, options);
}

}  // namespace normgrad
