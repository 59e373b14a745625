#ifndef NORMGRAD_NN_MODULE_H_
#define NORMGRAD_NN_MODULE_H_

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/state_dict.h"
#include "core/tensor.h"

namespace normgrad::nn {

// A key whose tensor has another shape in the state dict than in the module.
struct ShapeMismatch {
  std::string key;
  Shape expected;  // the module's
  Shape got;       // the state dict's
};

// What a non-strict load_state_dict skipped: keys the module has and the state dict lacks, and keys the
// state dict has and the module lacks.
struct LoadResult {
  std::vector<std::string> missing_keys;
  std::vector<std::string> unexpected_keys;
  bool clean() const { return missing_keys.empty() && unexpected_keys.empty(); }
};

// The base of every layer and model: named registries of parameters (leaves that require grad), buffers
// (state that is saved but not trained, such as batch norm's running statistics) and child modules, in
// registration order, so that names follow PyTorch's: "layer1.0.bn1.running_mean".
//
// Modules are held by std::shared_ptr (std::make_shared<BatchNorm2d>(...)). A module reads its own
// parameters, buffers and children from the registries (parameter("weight"), child_as<Conv2d>("conv1"))
// rather than keeping handles of its own: clone() and to(dtype) then need no help from subclasses.
// Subclasses derive from Cloneable<Derived> to get clone().
class Module : public std::enable_shared_from_this<Module> {
 public:
  explicit Module(std::string type_name = "Module") : type_name_(std::move(type_name)) {}
  virtual ~Module() = default;
  Module& operator=(const Module&) = delete;

  // ---- computing
  // The module's computation. The base class has none and throws "forward: <type> has no forward".
  virtual Tensor forward(const Tensor& input);
  Tensor operator()(const Tensor& input) { return forward(input); }

  // ---- registration. Names are non-empty, contain no '.', and are unique across a module's
  // parameters, buffers and children; violations throw normgrad::Error naming the module and the name.
  // `tensor` becomes a parameter: it must be a floating-point leaf; its requires_grad is set as given.
  Tensor register_parameter(std::string name, Tensor tensor, bool requires_grad = true);
  // `tensor` becomes a buffer: any dtype, not requiring grad.
  Tensor register_buffer(std::string name, Tensor tensor);
  template <typename M>
  std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> module) {
    RegisterChild(std::move(name), module);
    return module;
  }

  // ---- this module's own entries by name; an undefined Tensor / null when none has that name (so an
  // optional bias passes straight into a functional op's `bias = {}`).
  Tensor parameter(std::string_view name) const;
  Tensor buffer(std::string_view name) const;
  std::shared_ptr<Module> child(std::string_view name) const;
  // The child `name` as an M; throws unless there is one and it is an M.
  template <typename M>
  std::shared_ptr<M> child_as(std::string_view name) const {
    auto typed = std::dynamic_pointer_cast<M>(child(name));
    if (!typed) FailChildType(name);
    return typed;
  }
  // ---- the tree. Recursive listings are in registration order, depth first (a module's own entries
  // before its children's); a tensor or module reachable by two paths is listed once, under the first.
  std::vector<Tensor> parameters(bool recurse = true) const;
  std::vector<std::pair<std::string, Tensor>> named_parameters(bool recurse = true) const;
  std::vector<Tensor> buffers(bool recurse = true) const;
  std::vector<std::pair<std::string, Tensor>> named_buffers(bool recurse = true) const;
  std::vector<std::shared_ptr<Module>> children() const;
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& named_children() const {
    return children_;
  }
  // Every module of the tree, this one first (named ""). Throws unless this module is held by a
  // std::shared_ptr.
  std::vector<std::shared_ptr<Module>> modules();
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_modules();

  // ---- modes
  // Sets training mode on this module and every descendant (batch norm uses batch statistics and
  // updates its running ones; dropout drops). Returns *this. Virtual, as in PyTorch, so that a module can
  // keep part of itself in another mode (a frozen backbone's batch norms in eval mode, say): an override
  // calls Module::train(on) and then changes what it keeps; eval() and a parent's train() reach it.
  virtual Module& train(bool on = true);
  // train(false): batch norm uses its running statistics and leaves every buffer untouched.
  Module& eval() { return train(false); }
  bool is_training() const { return training_; }

  // Drops every parameter's gradient (as PyTorch's zero_grad(set_to_none=True)).
  void zero_grad();

  // A deep copy: new tensors with the same values (and gradients) for every parameter and buffer, new
  // children, the same mode and options. Parameters shared within the tree stay shared in the copy.
  std::shared_ptr<Module> clone() const;

  // Converts every floating-point parameter and buffer (and gradient) to `dtype` in place: the tensors
  // keep their identity, so optimizers and other holders see the change. int64 buffers
  // (num_batches_tracked) stay int64. Throws for an int64 `dtype`. Returns *this.
  Module& to(DType dtype);
  // Moves every parameter and buffer (and gradient) to `device` in place, keeping the tensors' identity as
  // to(dtype) does; int64 buffers move too. Every copy is made before any tensor is rebound, so a device
  // that cannot be used ("normgrad was built without CUDA; rebuild with --config=cuda") leaves the module
  // unchanged. Returns *this.
  Module& to(Device device);

  // ---- saved state
  // Every parameter and buffer by its dotted name (PyTorch's state_dict keys), sharing data with the
  // module (detached, no gradient).
  StateDict state_dict() const;
  // Copies values from `state` into the parameters and buffers of the same name (converting the dtype
  // when it differs). Validates everything before copying anything:
  // - strict (the default): any missing, unexpected or shape-mismatched key returns InvalidArgument
  //   listing them all, and the module is unchanged.
  // - non-strict: copies the keys both have and returns the missing and unexpected ones in the
  //   LoadResult. A key both have with different shapes is still an error (InvalidArgument, nothing
  //   copied), as in PyTorch: a model whose new head silently kept its random weights is worse.
  // A key that a module fills when it is absent (ValueForMissingKey: batch and instance norm's
  // num_batches_tracked, which older PyTorch checkpoints lack) is not missing in either mode: it gets that
  // value, as in PyTorch. An undefined tensor in `state` returns InvalidArgument in both modes.
  [[nodiscard]] absl::StatusOr<LoadResult> load_state_dict(const StateDict& state, bool strict = true);

  // ---- description
  const std::string& type_name() const { return type_name_; }
  // The options shown in parentheses after the type name when printing: "16, eps=1e-05, momentum=0.1".
  virtual std::string extra_repr() const { return ""; }
  // The module tree, one line per module, indented by depth, each with its parameter count:
  //   ResNet(depth=20, shortcut=A, num_classes=10)  # 272,474 parameters
  //     (conv1): Conv2d(3, 16, kernel_size=[3, 3], stride=[1, 1], padding=[1, 1], bias=false)  # 432 parameters
  std::string ToString() const;

 protected:
  // For Cloneable: copies the registries (sharing their tensors and children) and the mode.
  Module(const Module&) = default;
  // A copy of this module of its own dynamic type whose registries share the original's entries;
  // clone() then replaces those. Cloneable<Derived> provides it; the base throws that the module cannot
  // be cloned.
  virtual std::shared_ptr<Module> ShallowCopy() const;
  // The value load_state_dict gives this module's own parameter or buffer `name` when the state dict lacks
  // it, for keys that older formats did not have (PyTorch fills them in its _load_from_state_dict); an
  // undefined Tensor, the base's answer, makes the key missing. It must have the entry's shape.
  virtual Tensor ValueForMissingKey(std::string_view name) const;

 private:
  struct CloneMemo {
    std::unordered_map<const TensorImpl*, Tensor> tensors;
    std::unordered_map<const Module*, std::shared_ptr<Module>> modules;
  };
  std::shared_ptr<Module> CloneWith(CloneMemo& memo) const;
  void RegisterChild(std::string name, std::shared_ptr<Module> module);
  void CheckNewName(const std::string& name, const char* what) const;
  [[noreturn]] void FailChildType(std::string_view name) const;
  // Calls fn(name, entry) for each parameter (or buffer) of the tree in listing order, or
  // fn(name, entry, owner, local_name) when fn takes those too; with `dedupe`, tensors and modules
  // reachable twice are visited once.
  template <typename Fn>
  void ForEachTensor(bool buffers, bool recurse, bool dedupe, Fn&& fn) const;
  void AppendTree(std::string& out, const std::string& name, int depth) const;

  std::string type_name_;
  bool training_ = true;
  std::vector<std::pair<std::string, Tensor>> parameters_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

std::ostream& operator<<(std::ostream& os, const Module& module);

// The number of parameter elements in the tree (each shared parameter counted once).
int64_t CountParameters(const Module& module);

// Derive a module from Cloneable<Itself> to make clone() work: the copy is made with the derived class's
// copy constructor (so options and other plain members come along) and its registries are then deep-copied.
// `Base` is Module or a class derived from it that holds what several modules share (BatchNormBase).
template <typename Derived, typename Base = Module>
class Cloneable : public Base {
 public:
  using Base::Base;

 protected:
  std::shared_ptr<Module> ShallowCopy() const override {
    return std::make_shared<Derived>(static_cast<const Derived&>(*this));
  }
};

// A typed deep copy: auto copy = nn::Clone(model);  // std::shared_ptr<ResNet>
template <typename M>
std::shared_ptr<M> Clone(const std::shared_ptr<M>& module) {
  return std::static_pointer_cast<M>(module->clone());
}

// Marks a normalization layer (BatchNorm, LayerNorm, GroupNorm, InstanceNorm): its parameters are the
// affine scale and shift, which optim::NoDecayOnNorms exempts from weight decay. A user-written
// normalization layer derives from it too.
class NormalizationLayer {
 public:
  virtual ~NormalizationLayer() = default;
};

}  // namespace normgrad::nn

#endif  // NORMGRAD_NN_MODULE_H_
