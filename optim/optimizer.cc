#include "optim/optimizer.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "autograd/grad_mode.h"
#include "autograd/ops/view.h"
#include "core/error.h"
#include "core/kernels/device_copy.h"

namespace normgrad::optim {

std::vector<ParamGroup> SingleGroup(std::vector<Tensor> params) { return {ParamGroup{std::move(params)}}; }

Optimizer::Optimizer(const char* name, std::vector<ParamGroup> groups, double lr, double weight_decay,
                     double momentum)
    : name_(name) {
  NG_CHECK(lr >= 0, name, ": expected lr >= 0, got ", lr);
  NG_CHECK(weight_decay >= 0, name, ": expected weight_decay >= 0, got ", weight_decay);
  NG_CHECK(!groups.empty(), name, ": expected at least one parameter group, got none");
  std::set<const TensorImpl*> seen;
  for (size_t g = 0; g < groups.size(); ++g) {
    ParamGroup& pg = groups[g];
    Group group{std::move(pg.params), pg.lr.value_or(lr), 0, pg.weight_decay.value_or(weight_decay), momentum};
    group.initial_lr = group.lr;
    NG_CHECK(group.lr >= 0, name, ": expected lr >= 0 in parameter group ", g, ", got ", group.lr);
    NG_CHECK(group.weight_decay >= 0, name, ": expected weight_decay >= 0 in parameter group ", g, ", got ",
             group.weight_decay);
    for (size_t i = 0; i < group.params.size(); ++i) {
      const Tensor& p = group.params[i];
      NG_CHECK(p.defined() && p.is_leaf() && IsFloating(p.dtype()), name, ": expected parameter ", i,
               " of group ", g, " to be a floating-point leaf tensor");
      NG_CHECK(seen.insert(p.impl()).second, name, ": parameter ", i, " of group ", g,
               " appears in more than one group");
    }
    groups_.push_back(std::move(group));
  }
  NG_CHECK(!seen.empty(), name, ": expected at least one parameter, got an empty list");
  state_.resize(seen.size());
}

void Optimizer::zero_grad() {
  for (Group& g : groups_) {
    for (Tensor& p : g.params) p.set_grad(Tensor());
  }
}

StateDict Optimizer::state_dict() const {
  StateDict out;
  auto scalar = [](double v) { return full({}, v, {.dtype = kFloat64}); };
  for (size_t g = 0; g < groups_.size(); ++g) {
    const std::string prefix = absl::StrCat("param_groups.", g, ".");
    out[prefix + "lr"] = scalar(groups_[g].lr);
    out[prefix + "initial_lr"] = scalar(groups_[g].initial_lr);
    out[prefix + "weight_decay"] = scalar(groups_[g].weight_decay);
    out[prefix + "momentum"] = scalar(groups_[g].momentum);
  }
  for (size_t k = 0; k < state_.size(); ++k) {
    for (const auto& [slot, t] : state_[k]) {
      out[absl::StrCat("state.", k, ".", slot)] = NoGrad([&] { return clone(t); });
    }
  }
  return out;
}

void Optimizer::MoveStateTo(Device device, std::map<std::string, Tensor>& state) {
  for (auto& [slot, t] : state) {
    if (slot != kStepSlot && t.device() != device) t = kernels::to(t, device);
  }
}

absl::Status Optimizer::load_state_dict(const StateDict& state) {
  std::vector<const Tensor*> params;
  for (const Group& g : groups_) {
    for (const Tensor& p : g.params) params.push_back(&p);
  }
  auto bad = [&](const std::string& key, const std::string& why) {
    return absl::InvalidArgumentError(absl::StrCat(name_, " load_state_dict: ", key, ": ", why));
  };
  std::vector<double> group_values(groups_.size() * 4);
  std::vector<bool> group_seen(groups_.size() * 4, false);
  std::vector<std::map<std::string, Tensor>> new_state(state_.size());
  static constexpr const char* kGroupFields[] = {"lr", "initial_lr", "weight_decay", "momentum"};
  for (const auto& [key, t] : state) {
    const std::vector<std::string> parts = absl::StrSplit(key, absl::MaxSplits('.', 2));
    size_t index = 0;
    if (parts.size() != 3 || !absl::SimpleAtoi(parts[1], &index)) return bad(key, "unexpected key");
    if (parts[0] == "param_groups") {
      if (index >= groups_.size()) {
        return bad(key, absl::StrCat("expected ", groups_.size(), " parameter groups, got more"));
      }
      int field = -1;
      for (int f = 0; f < 4; ++f) {
        if (parts[2] == kGroupFields[f]) field = f;
      }
      if (field < 0) return bad(key, "unexpected key");
      if (t.numel() != 1 || !IsFloating(t.dtype())) return bad(key, "expected a floating-point scalar");
      group_values[index * 4 + field] = t.item<double>();
      group_seen[index * 4 + field] = true;
    } else if (parts[0] == "state") {
      if (index >= params.size()) {
        return bad(key, absl::StrCat("expected state for ", params.size(), " parameters, got an index beyond"));
      }
      const Tensor& p = *params[index];
      const std::vector<std::string> slots = StateSlots();
      if (std::find(slots.begin(), slots.end(), parts[2]) == slots.end()) return bad(key, "unexpected key");
      // A step count is a float64 scalar; every other slot has the parameter's shape and dtype.
      const bool step = parts[2] == kStepSlot;
      const Shape want_shape = step ? Shape{} : p.shape();
      const DType want_dtype = step ? kFloat64 : p.dtype();
      if (t.shape() != want_shape || t.dtype() != want_dtype) {
        return bad(key, absl::StrCat("expected ", DTypeName(want_dtype), " of shape ", ShapeToString(want_shape),
                                     ", got ", DTypeName(t.dtype()), " of shape ", ShapeToString(t.shape())));
      }
      new_state[index][parts[2]] = NoGrad([&] { return clone(t); });
      MoveStateTo(p.device(), new_state[index]);  // a checkpoint is read on the CPU
    } else {
      return bad(key, "unexpected key");
    }
  }
  for (size_t i = 0; i < group_seen.size(); ++i) {
    if (!group_seen[i]) {
      return bad(absl::StrCat("param_groups.", i / 4, ".", kGroupFields[i % 4]), "missing");
    }
  }
  for (size_t g = 0; g < groups_.size(); ++g) {
    groups_[g].lr = group_values[g * 4];
    groups_[g].initial_lr = group_values[g * 4 + 1];
    groups_[g].weight_decay = group_values[g * 4 + 2];
    groups_[g].momentum = group_values[g * 4 + 3];
  }
  state_ = std::move(new_state);
  return absl::OkStatus();
}

}  // namespace normgrad::optim
