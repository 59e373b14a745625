#include "nn/module.h"

#include <type_traits>
#include <unordered_set>

#include "core/kernels/copy.h"
#include "core/kernels/device_copy.h"
#include "core/kernels/elementwise.h"

namespace normgrad::nn {

namespace {

// "1234567" -> "1,234,567".
std::string WithThousands(int64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// Points `t` at `data`'s storage and geometry, keeping t's identity (and so every handle to it) and its
// autograd flags: PyTorch's `param.data = data`.
void RebindData(const Tensor& t, const Tensor& data) {
  TensorImpl* impl = t.impl();
  impl->storage = data.storage();
  impl->shape = data.shape();
  impl->strides = data.strides();
  impl->offset = data.storage_offset();
  impl->dtype = data.dtype();
}

// "a, b, c" with at most `limit` items and "and N more" after them.
template <typename T, typename Format>
std::string JoinLimited(const std::vector<T>& items, Format format, size_t limit = 10) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < limit; ++i) out += (i ? ", " : "") + format(items[i]);
  if (items.size() > limit) out += " and " + std::to_string(items.size() - limit) + " more";
  return out;
}

// The keys that keep a state dict from loading (missing and unexpected ones only when strict).
std::string DescribeMismatch(const std::string& type_name, const LoadResult& r,
                             const std::vector<ShapeMismatch>& mismatched, bool strict) {
  std::string out = "load_state_dict: the state dict does not fit " + type_name + ":";
  const auto name = [](const std::string& key) { return key; };
  if (strict && !r.missing_keys.empty()) out += " missing keys: " + JoinLimited(r.missing_keys, name) + ";";
  if (strict && !r.unexpected_keys.empty()) {
    out += " unexpected keys: " + JoinLimited(r.unexpected_keys, name) + ";";
  }
  if (!mismatched.empty()) {
    out += " shape mismatches: " + JoinLimited(mismatched, [](const ShapeMismatch& m) {
             return m.key + " (expected " + ShapeToString(m.expected) + ", got " + ShapeToString(m.got) + ")";
           }) + ";";
  }
  out.pop_back();
  if (!strict) out += " (a non-strict load copies no tensor of another shape either: leave the key out)";
  return out;
}

}  // namespace

Tensor Module::forward(const Tensor&) { Fail("forward: ", type_name_, " has no forward(const Tensor&)"); }

std::shared_ptr<Module> Module::ShallowCopy() const {
  Fail("clone: ", type_name_, " cannot be cloned: derive it from nn::Cloneable<", type_name_, ">");
}

Tensor Module::ValueForMissingKey(std::string_view) const { return Tensor(); }

// ---- registration

void Module::CheckNewName(const std::string& name, const char* what) const {
  NG_CHECK(!name.empty() && name.find('.') == std::string::npos, what, ": expected a non-empty name without '.', got \"",
           name, "\"");
  const auto taken = [&](const auto& entries) {
    for (const auto& entry : entries) {
      if (entry.first == name) return true;
    }
    return false;
  };
  NG_CHECK(!taken(parameters_) && !taken(buffers_) && !taken(children_), what, ": ", type_name_,
           " already has an entry named \"", name, "\"");
}

Tensor Module::register_parameter(std::string name, Tensor tensor, bool requires_grad) {
  CheckNewName(name, "register_parameter");
  NG_CHECK(tensor.defined(), "register_parameter: expected a defined tensor for \"", name, "\"");
  NG_CHECK(IsFloating(tensor.dtype()), "register_parameter: expected a floating-point tensor for \"", name,
           "\", got ", tensor.dtype());
  NG_CHECK(tensor.is_leaf(), "register_parameter: expected a leaf tensor for \"", name,
           "\", got the output of an op; pass detach() of it");
  tensor.set_requires_grad(requires_grad);
  parameters_.emplace_back(std::move(name), tensor);
  return tensor;
}

Tensor Module::register_buffer(std::string name, Tensor tensor) {
  CheckNewName(name, "register_buffer");
  NG_CHECK(tensor.defined(), "register_buffer: expected a defined tensor for \"", name, "\"");
  NG_CHECK(!tensor.requires_grad(), "register_buffer: expected a tensor that does not require grad for \"", name,
           "\"; register it as a parameter instead");
  buffers_.emplace_back(std::move(name), tensor);
  return tensor;
}

void Module::RegisterChild(std::string name, std::shared_ptr<Module> module) {
  CheckNewName(name, "register_module");
  NG_CHECK(module != nullptr, "register_module: expected a module for \"", name, "\", got null");
  NG_CHECK(module.get() != this, "register_module: a module cannot be its own child (\"", name, "\")");
  children_.emplace_back(std::move(name), std::move(module));
}

Tensor Module::parameter(std::string_view name) const {
  for (const auto& [key, t] : parameters_) {
    if (key == name) return t;
  }
  return Tensor();
}

Tensor Module::buffer(std::string_view name) const {
  for (const auto& [key, t] : buffers_) {
    if (key == name) return t;
  }
  return Tensor();
}

std::shared_ptr<Module> Module::child(std::string_view name) const {
  for (const auto& [key, m] : children_) {
    if (key == name) return m;
  }
  return nullptr;
}

void Module::FailChildType(std::string_view name) const {
  Fail("child_as: ", type_name_, " has no child \"", name, "\" of the requested type");
}

// ---- the tree

template <typename Fn>
void Module::ForEachTensor(bool buffers, bool recurse, bool dedupe, Fn&& fn) const {
  std::unordered_set<const void*> seen;  // TensorImpls and Modules already visited
  const auto visit = [&](const auto& self, const Module& m, const std::string& prefix) -> void {
    for (const auto& [name, t] : buffers ? m.buffers_ : m.parameters_) {
      if (dedupe && !seen.insert(t.impl()).second) continue;
      if constexpr (std::is_invocable_v<Fn&, const std::string&, const Tensor&, const Module&, const std::string&>) {
        fn(prefix + name, t, m, name);
      } else {
        fn(prefix + name, t);
      }
    }
    if (!recurse) return;
    for (const auto& [name, c] : m.children_) {
      if (dedupe && !seen.insert(c.get()).second) continue;
      self(self, *c, prefix + name + ".");
    }
  };
  visit(visit, *this, "");
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  ForEachTensor(false, recurse, true, [&](const std::string&, const Tensor& t) { out.push_back(t); });
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters(bool recurse) const {
  std::vector<std::pair<std::string, Tensor>> out;
  ForEachTensor(false, recurse, true, [&](const std::string& name, const Tensor& t) { out.emplace_back(name, t); });
  return out;
}

std::vector<Tensor> Module::buffers(bool recurse) const {
  std::vector<Tensor> out;
  ForEachTensor(true, recurse, true, [&](const std::string&, const Tensor& t) { out.push_back(t); });
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers(bool recurse) const {
  std::vector<std::pair<std::string, Tensor>> out;
  ForEachTensor(true, recurse, true, [&](const std::string& name, const Tensor& t) { out.emplace_back(name, t); });
  return out;
}

std::vector<std::shared_ptr<Module>> Module::children() const {
  std::vector<std::shared_ptr<Module>> out;
  for (const auto& [name, m] : children_) out.push_back(m);
  return out;
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_modules() {
  std::shared_ptr<Module> self = weak_from_this().lock();
  NG_CHECK(self != nullptr, "named_modules: expected a ", type_name_,
           " held by a std::shared_ptr (make it with std::make_shared)");
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> out = {{"", self}};
  std::unordered_set<const Module*> seen = {this};
  const auto visit = [&](const auto& visit_children, const Module& m, const std::string& prefix) -> void {
    for (const auto& [name, c] : m.children_) {
      if (!seen.insert(c.get()).second) continue;
      out.emplace_back(prefix + name, c);
      visit_children(visit_children, *c, prefix + name + ".");
    }
  };
  visit(visit, *this, "");
  return out;
}

std::vector<std::shared_ptr<Module>> Module::modules() {
  std::vector<std::shared_ptr<Module>> out;
  for (auto& [name, m] : named_modules()) out.push_back(std::move(m));
  return out;
}

// ---- modes and gradients

Module& Module::train(bool on) {
  training_ = on;
  for (const auto& [name, c] : children_) c->train(on);
  return *this;
}

void Module::zero_grad() {
  for (const Tensor& p : parameters()) p.set_grad(Tensor());
}

// ---- copies and conversions

std::shared_ptr<Module> Module::clone() const {
  CloneMemo memo;
  return CloneWith(memo);
}

std::shared_ptr<Module> Module::CloneWith(CloneMemo& memo) const {
  std::shared_ptr<Module> copy = ShallowCopy();
  const auto copy_tensor = [&](const Tensor& t) {
    auto [it, inserted] = memo.tensors.try_emplace(t.impl());
    if (inserted) {
      Tensor c = kernels::clone(t);
      if (t.requires_grad()) c.set_requires_grad(true);
      if (t.grad().defined()) c.set_grad(kernels::clone(t.grad()));
      it->second = c;
    }
    return it->second;
  };
  for (auto& [name, t] : copy->parameters_) t = copy_tensor(t);
  for (auto& [name, t] : copy->buffers_) t = copy_tensor(t);
  for (auto& [name, c] : copy->children_) {
    auto it = memo.modules.find(c.get());
    if (it == memo.modules.end()) it = memo.modules.emplace(c.get(), c->CloneWith(memo)).first;
    c = it->second;
  }
  return copy;
}

Module& Module::to(DType dtype) {
  NG_CHECK(IsFloating(dtype), "to: expected a floating-point dtype (float32 or float64), got ", dtype);
  const auto convert = [&](const std::string&, const Tensor& t) {
    if (!IsFloating(t.dtype()) || t.dtype() == dtype) return;
    const Tensor grad = t.grad();
    RebindData(t, kernels::to_dtype(t, dtype));
    t.set_grad(grad.defined() ? kernels::to_dtype(grad, dtype) : Tensor());
  };
  ForEachTensor(false, true, true, convert);
  ForEachTensor(true, true, true, convert);
  return *this;
}

Module& Module::to(Device device) {
  struct Move {
    Tensor tensor, data, grad;
  };
  std::vector<Move> moves;
  const auto copy = [&](const std::string&, const Tensor& t) {
    if (t.device() == device) return;
    const Tensor grad = t.grad();
    moves.push_back({t, kernels::to(t, device), grad.defined() ? kernels::to(grad, device) : Tensor()});
  };
  ForEachTensor(false, true, true, copy);
  ForEachTensor(true, true, true, copy);
  for (const Move& m : moves) {
    RebindData(m.tensor, m.data);
    m.tensor.set_grad(m.grad);
  }
  return *this;
}

// ---- saved state

StateDict Module::state_dict() const {
  StateDict out;
  const auto add = [&](const std::string& name, const Tensor& t) { out.emplace(name, t.detach()); };
  ForEachTensor(false, true, false, add);
  ForEachTensor(true, true, false, add);
  return out;
}

absl::StatusOr<LoadResult> Module::load_state_dict(const StateDict& state, bool strict) {
  LoadResult result;
  std::vector<ShapeMismatch> mismatched;
  std::unordered_set<std::string> own_keys;
  std::vector<std::pair<Tensor, Tensor>> copies;  // (destination, source)
  std::string undefined_key;
  const auto match = [&](const std::string& key, const Tensor& dst, const Module& owner, const std::string& name) {
    own_keys.insert(key);
    const auto it = state.find(key);
    if (it == state.end()) {
      const Tensor fill = owner.ValueForMissingKey(name);
      if (fill.defined()) {
        NG_CHECK(fill.shape() == dst.shape(), owner.type_name(), ": ValueForMissingKey(\"", name,
                 "\") returned shape ", ShapeToString(fill.shape()), ", expected ", ShapeToString(dst.shape()));
        copies.emplace_back(dst, fill);
      } else {
        result.missing_keys.push_back(key);
      }
    } else if (!it->second.defined()) {
      undefined_key = key;
    } else if (it->second.shape() != dst.shape()) {
      mismatched.push_back({key, dst.shape(), it->second.shape()});
    } else {
      copies.emplace_back(dst, it->second);
    }
  };
  ForEachTensor(false, true, false, match);
  ForEachTensor(true, true, false, match);
  if (!undefined_key.empty()) {
    return absl::InvalidArgumentError("load_state_dict: the tensor for \"" + undefined_key + "\" is undefined");
  }
  for (const auto& [key, value] : state) {
    if (!own_keys.contains(key)) result.unexpected_keys.push_back(key);
  }
  if ((strict && !result.clean()) || !mismatched.empty()) {
    return absl::InvalidArgumentError(DescribeMismatch(type_name_, result, mismatched, strict));
  }
  for (const auto& [dst, src] : copies) {
    kernels::copy_(dst, src);
    dst.BumpVersion();
  }
  return result;
}

// ---- description

int64_t CountParameters(const Module& module) {
  int64_t n = 0;
  for (const Tensor& p : module.parameters()) n += p.numel();
  return n;
}

void Module::AppendTree(std::string& out, const std::string& name, int depth) const {
  out += std::string(2 * depth, ' ');
  if (!name.empty()) out += "(" + name + "): ";
  out += type_name_ + "(" + extra_repr() + ")";
  if (const int64_t n = CountParameters(*this); n > 0) {
    out += "  # " + WithThousands(n) + (n == 1 ? " parameter" : " parameters");
  }
  out += '\n';
  for (const auto& [child_name, c] : children_) c->AppendTree(out, child_name, depth + 1);
}

std::string Module::ToString() const {
  std::string out;
  AppendTree(out, "", 0);
  out.pop_back();
  return out;
}

std::ostream& operator<<(std::ostream& os, const Module& module) { return os << module.ToString(); }

}  // namespace normgrad::nn
