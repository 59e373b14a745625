#include "autograd/node.h"

#include <utility>

namespace normgrad::autograd {

const Tensor& SavedTensor::get() const {
  NG_CHECK(!tensor_.defined() || tensor_.storage().version() == version_,
           "a tensor saved for backward was modified by an in-place operation after it was saved (version ",
           version_, ", now ", tensor_.storage().version(), "); clone it before modifying it");
  return tensor_;
}

Node::Node(const char* name, std::vector<Edge> edges, BackwardFn fn, Shape output_shape, DType output_dtype)
    : name_(name),
      edges_(std::move(edges)),
      fn_(std::move(fn)),
      output_shape_(std::move(output_shape)),
      output_dtype_(output_dtype) {}

// A long chain of nodes would otherwise be destroyed recursively (node -> edge -> node -> ...) and overflow
// the stack. Each node whose last owner is this destructor hands its edges and saved tensors to a local
// worklist first, so every node is destroyed with nothing left to recurse into.
Node::~Node() {
  std::vector<std::shared_ptr<Node>> pending;
  auto take = [&pending](Node& node) {
    for (Edge& e : node.edges_) {
      if (e.node) pending.push_back(std::move(e.node));
    }
    node.edges_.clear();
    node.fn_ = nullptr;  // saved tensors may hold the only references to earlier nodes' outputs
    node.kept_output_ = SavedTensor();
  };
  take(*this);
  while (!pending.empty()) {
    std::shared_ptr<Node> node = std::move(pending.back());
    pending.pop_back();
    if (node.use_count() == 1) take(*node);
  }
}

const Tensor& BackwardContext::partial_sum(size_t i) const {
  static const Tensor kNone;
  return partial_sums != nullptr && i < partial_sums->size() ? (*partial_sums)[i] : kNone;
}

std::vector<Tensor> Node::Apply(const Tensor& grad) { return Run(grad, false, nullptr); }

std::vector<Tensor> Node::Apply(Tensor&& grad, const std::vector<Tensor>& partial_sums) {
  const Tensor owned = std::move(grad);
  const bool recording = GradMode::is_enabled();
  return Run(owned, IsExclusive(owned) && !recording, recording ? nullptr : &partial_sums);
}

std::vector<Tensor> Node::Run(const Tensor& grad, bool grad_reusable, const std::vector<Tensor>* partial_sums) {
  NG_CHECK(!released_, "backward: ", name_, " was already run and its saved tensors freed; pass ",
           "{.retain_graph = true} to the first backward to run backward through the graph twice");
  try {
    Tensor output;
    if (kept_output_.defined()) {
      output = kept_output_.get().detach();  // get() checks that it was not modified in place
      output.set_grad_fn(shared_from_this());
    }
    return fn_(BackwardContext{grad, output, edges_, grad_reusable, partial_sums});
  } catch (const Error& e) {
    throw Error(std::string(name_) + ": " + e.what());
  }
}

void Node::Release() {
  released_ = true;
  fn_ = nullptr;
  kept_output_ = SavedTensor();
}

bool IsExclusive(const Tensor& t) {
  return t.is_contiguous() && t.impl_ptr().use_count() == 1 && t.storage().use_count() == 1;
}

bool AnyRequiresGrad(const std::vector<Tensor>& inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor& t : inputs) {
    if (t.defined() && t.requires_grad()) return true;
  }
  return false;
}

bool AnyRequiresGrad(std::initializer_list<Tensor> inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor& t : inputs) {
    if (t.defined() && t.requires_grad()) return true;
  }
  return false;
}

Tensor Record(const char* name, Tensor output, const std::vector<Tensor>& inputs, BackwardFn fn,
              bool keep_output) {
  if (!AnyRequiresGrad(inputs)) return output;
  NG_CHECK(output.is_leaf() && !output.requires_grad(), name,
           ": internal error: Record expects the op's fresh output, got a tensor already in a graph");
  std::vector<Edge> edges(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& in = inputs[i];
    if (!in.defined() || !in.requires_grad()) continue;
    edges[i].shape = in.shape();
    edges[i].dtype = in.dtype();
    if (in.grad_fn()) {
      edges[i].node = in.grad_fn();
    } else {
      edges[i].leaf = in.impl_ptr();
    }
  }
  auto node = std::make_shared<Node>(name, std::move(edges), std::move(fn), output.shape(), output.dtype());
  if (keep_output) node->KeepOutput(output);
  // The op's output is a fresh tensor; give it to the graph without touching any other handle.
  output.set_grad_fn(std::move(node));
  return output;
}

}  // namespace normgrad::autograd
