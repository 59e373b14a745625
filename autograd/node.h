#ifndef NORMGRAD_AUTOGRAD_NODE_H_
#define NORMGRAD_AUTOGRAD_NODE_H_

#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "autograd/grad_mode.h"
#include "core/tensor.h"

namespace normgrad::autograd {

class Node;

// Where a gradient goes next: the node that produced an input, or the input itself when it is a leaf
// that requires grad (its grad() accumulates). Leaves are held weakly: a graph does not keep
// parameters alive. An edge with neither is an input that needs no gradient.
struct Edge {
  std::shared_ptr<Node> node;
  std::weak_ptr<TensorImpl> leaf;
  Shape shape;  // the input's shape, which its gradient must have
  DType dtype = kFloat32;
  bool needs_grad() const { return node != nullptr || !leaf.expired(); }
};

// A tensor kept for backward. get() throws if the tensor was modified in place after it was saved,
// since the gradient computed from it would be silently wrong.
class SavedTensor {
 public:
  SavedTensor() = default;
  explicit SavedTensor(const Tensor& t) : tensor_(t), version_(t.defined() ? t.storage().version() : 0) {}
  const Tensor& get() const;
  bool defined() const { return tensor_.defined(); }

 private:
  Tensor tensor_;
  uint64_t version_ = 0;
};

inline SavedTensor Save(const Tensor& t) { return SavedTensor(t); }

// What a backward function receives.
struct BackwardContext {
  const Tensor& grad;          // d(loss)/d(output), the output's shape
  const Tensor& output;        // the op's output, with its grad_fn (only when recorded with keep_output)
  const std::vector<Edge>& edges;
  // Whether input i needs a gradient; skip computing the others (return an undefined Tensor).
  bool needs(size_t i) const { return edges[i].needs_grad(); }
  // True when nothing else can see grad's memory (the engine handed over its only reference, and backward
  // is not being recorded): a backward function may write its result there instead of into a new tensor.
  bool grad_reusable = false;
  // Per input, the gradient that the input's other uses have summed so far, when the engine can hand it over
  // (nothing else holds it, and backward is not being recorded); empty or undefined otherwise. A backward
  // function may add its gradient for input i into partial_sum(i) in place and return that tensor: the
  // engine then skips its own sum (a residual block's input: the convolution adds to the shortcut's part).
  const std::vector<Tensor>* partial_sums = nullptr;
  const Tensor& partial_sum(size_t i) const;
};

// Gradients with respect to each input, in the order the inputs were recorded. They are computed with
// the differentiable ops of autograd/ops.h, so that backward itself can be recorded (create_graph) and
// differentiated again.
using BackwardFn = std::function<std::vector<Tensor>(const BackwardContext&)>;

// One recorded op: the graph vertex that turns d(loss)/d(output) into d(loss)/d(inputs).
class Node : public std::enable_shared_from_this<Node> {
 public:
  Node(const char* name, std::vector<Edge> edges, BackwardFn fn, Shape output_shape, DType output_dtype);
  ~Node();  // tears down the chain of nodes it owns without recursion
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const char* name() const { return name_; }
  const std::vector<Edge>& edges() const { return edges_; }
  const Shape& output_shape() const { return output_shape_; }
  DType output_dtype() const { return output_dtype_; }

  // Runs the backward function. Throws if the graph was freed by an earlier backward.
  std::vector<Tensor> Apply(const Tensor& grad);
  // The same, handing over `grad`: when it is the only reference to its tensor and memory, the backward
  // function may overwrite it (BackwardContext::grad_reusable). `partial_sums` (one per input, or empty)
  // become BackwardContext::partial_sums.
  std::vector<Tensor> Apply(Tensor&& grad, const std::vector<Tensor>& partial_sums = {});
  // Frees what backward needed (saved tensors); Apply then throws.
  void Release();
  // Keeps a detached copy of the output for the backward function, which sees it re-attached to this
  // node, so that backward-of-backward through the output is exact without a reference cycle. Like a
  // SavedTensor, it must not be modified in place before backward runs.
  void KeepOutput(const Tensor& output) { kept_output_ = SavedTensor(output.detach()); }

 private:
  const char* name_;
  std::vector<Edge> edges_;
  BackwardFn fn_;
  SavedTensor kept_output_;
  Shape output_shape_;
  DType output_dtype_;
  bool released_ = false;

  std::vector<Tensor> Run(const Tensor& grad, bool grad_reusable, const std::vector<Tensor>* partial_sums);
};

// True when `t` is contiguous and the only handle on its tensor and its memory, so that writing into it
// changes nothing anyone else can see (the engine's test for summing or computing into a gradient).
bool IsExclusive(const Tensor& t);

// True when grad mode is on and some input requires grad: only then do ops record a node.
bool AnyRequiresGrad(std::initializer_list<Tensor> inputs);
bool AnyRequiresGrad(const std::vector<Tensor>& inputs);

// Records `output` as computed from `inputs` by the op `name` (a string literal, e.g. "MulBackward"),
// when AnyRequiresGrad(inputs). Returns `output` (now with grad_fn) either way:
//
//   Tensor mul(const Tensor& a, const Tensor& b) {
//     return autograd::Record("MulBackward", kernels::mul(a, b), {a, b},
//         [a = Save(a), b = Save(b)](const BackwardContext& ctx) -> std::vector<Tensor> {
//           return {ctx.needs(0) ? sum_to(ctx.grad * b.get(), a.get().shape()) : Tensor(),
//                   ctx.needs(1) ? sum_to(ctx.grad * a.get(), b.get().shape()) : Tensor()};
//         });
//   }
//
// With keep_output, ctx.output is the output itself (for exp, tanh, sigmoid, ...).
Tensor Record(const char* name, Tensor output, const std::vector<Tensor>& inputs, BackwardFn fn,
              bool keep_output = false);

}  // namespace normgrad::autograd

#endif  // NORMGRAD_AUTOGRAD_NODE_H_
