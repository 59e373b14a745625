#include "optim/optimizer.h"

#include <algorithm>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "autograd/grad_mode.h"
#include "autograd/ops/view.h"
#include "core/error.h"
#include "core/kernels/device_copy.h"

namespace normgrad::optim {

std::vector<ParamGroup> SingleGroup(std::vector<Tensor> params) { return {ParamGroup{std::move(params)}}; }

namespace {

// Which optional hyperparameters a ParamGroup sets, by field name.
std::vector<std::pair<const char*, bool>> FieldsSet(const ParamGroup& pg) {
  return {{"momentum", pg.momentum.has_value()}, {"dampening", pg.dampening.has_value()},
          {"nesterov", pg.nesterov.has_value()}, {"beta1", pg.beta1.has_value()},
          {"beta2", pg.beta2.has_value()},       {"eps", pg.eps.has_value()},
          {"amsgrad", pg.amsgrad.has_value()},   {"maximize", pg.maximize.has_value()}};
}

// `defaults` with the hyperparameters `pg` sets, holding pg's parameters.
Group Resolve(ParamGroup pg, const Group& defaults) {
  Group g = defaults;
  g.params = std::move(pg.params);
  g.lr = g.initial_lr = pg.lr.value_or(defaults.lr);
  g.weight_decay = pg.weight_decay.value_or(defaults.weight_decay);
  g.momentum = pg.momentum.value_or(pg.beta1.value_or(defaults.momentum));
  g.dampening = pg.dampening.value_or(defaults.dampening);
  g.nesterov = pg.nesterov.value_or(defaults.nesterov);
  g.beta2 = pg.beta2.value_or(defaults.beta2);
  g.eps = pg.eps.value_or(defaults.eps);
  g.amsgrad = pg.amsgrad.value_or(defaults.amsgrad);
  g.maximize = pg.maximize.value_or(defaults.maximize);
  return g;
}

}  // namespace

Optimizer::Optimizer(const char* name, std::vector<ParamGroup> groups, const Group& defaults,
                     const std::vector<std::string>& foreign)
    : name_(name), defaults_(defaults) {
  NG_CHECK(defaults.lr >= 0, name, ": expected lr >= 0, got ", defaults.lr);
  NG_CHECK(defaults.weight_decay >= 0, name, ": expected weight_decay >= 0, got ", defaults.weight_decay);
  NG_CHECK(!groups.empty(), name, ": expected at least one parameter group, got none");
  std::set<const TensorImpl*> seen;
  for (size_t g = 0; g < groups.size(); ++g) {
    for (const auto& [field, set] : FieldsSet(groups[g])) {
      NG_CHECK(!set || std::find(foreign.begin(), foreign.end(), field) == foreign.end(), name,
               ": parameter group ", g, " sets ", field, ", which ", name, " does not have");
    }
    Group group = Resolve(std::move(groups[g]), defaults);
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

std::vector<GroupField> Optimizer::GroupFields() const {
  std::vector<GroupField> fields = {{"lr", &Group::lr},
                                    {"initial_lr", &Group::initial_lr},
                                    {"weight_decay", &Group::weight_decay},
                                    {"momentum", &Group::momentum}};
  for (const GroupField& f : OptionFields()) fields.push_back(f);
  return fields;
}

std::optional<Optimizer::GroupProblem> Optimizer::CheckGroup(const Group& group) const {
  for (const auto& [field, value] : {std::pair<const char*, double>{"lr", group.lr},
                                     {"initial_lr", group.initial_lr},
                                     {"weight_decay", group.weight_decay}}) {
    if (!(value >= 0)) return GroupProblem{field, absl::StrCat("expected ", field, " >= 0, got ", value)};
  }
  return std::nullopt;
}

void Optimizer::CheckGroups() const {
  const std::optional<GroupProblem> in_options = CheckGroup(defaults_);
  NG_CHECK(!in_options, name_, ": ", in_options->message);
  for (size_t g = 0; g < groups_.size(); ++g) {
    const std::optional<GroupProblem> problem = CheckGroup(groups_[g]);
    NG_CHECK(!problem, name_, ": ", problem->message, " (parameter group ", g, ")");
  }
}

StateDict Optimizer::state_dict() const {
  StateDict out;
  const std::vector<GroupField> fields = GroupFields();
  for (size_t g = 0; g < groups_.size(); ++g) {
    for (const GroupField& f : fields) {
      out[absl::StrCat("param_groups.", g, ".", f.name)] =
          f.flag ? full({}, groups_[g].*f.flag ? 1 : 0, {.dtype = kInt64})
                 : full({}, groups_[g].*f.number, {.dtype = kFloat64});
    }
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
  auto group_key = [](size_t g, const char* field) { return absl::StrCat("param_groups.", g, ".", field); };
  const std::vector<GroupField> fields = GroupFields();
  constexpr size_t kCommonFields = 4;  // lr, initial_lr, weight_decay, momentum: in every checkpoint
  // The groups as they will be (the loaded values over the current ones), and which fields the state has.
  std::vector<Group> new_groups = groups_;
  std::vector<std::vector<bool>> seen(groups_.size(), std::vector<bool>(fields.size(), false));
  std::vector<std::map<std::string, Tensor>> new_state(state_.size());
  for (const auto& [key, t] : state) {
    const std::vector<std::string> parts = absl::StrSplit(key, absl::MaxSplits('.', 2));
    size_t index = 0;
    if (parts.size() != 3 || !absl::SimpleAtoi(parts[1], &index)) return bad(key, "unexpected key");
    if (parts[0] == "param_groups") {
      if (index >= groups_.size()) {
        return bad(key, absl::StrCat("expected ", groups_.size(), " parameter groups, got more"));
      }
      const auto field = std::find_if(fields.begin(), fields.end(),
                                      [&](const GroupField& f) { return parts[2] == f.name; });
      if (field == fields.end()) return bad(key, "unexpected key");
      Group& group = new_groups[index];
      if (field->flag) {
        if (t.numel() != 1 || t.dtype() != kInt64 || (t.item<int64_t>() != 0 && t.item<int64_t>() != 1)) {
          return bad(key, absl::StrCat("expected an int64 scalar 0 or 1, got ", DTypeName(t.dtype()), " of shape ",
                                       ShapeToString(t.shape()),
                                       t.numel() == 1 ? absl::StrCat(" = ", t.item<double>()) : ""));
        }
        group.*field->flag = t.item<int64_t>() == 1;
      } else {
        if (t.numel() != 1 || !IsFloating(t.dtype())) {
          return bad(key, absl::StrCat("expected a floating-point scalar, got ", DTypeName(t.dtype()), " of shape ",
                                       ShapeToString(t.shape())));
        }
        group.*field->number = t.item<double>();
      }
      seen[index][field - fields.begin()] = true;
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
  for (size_t g = 0; g < groups_.size(); ++g) {
    for (size_t f = 0; f < kCommonFields; ++f) {
      if (!seen[g][f]) return bad(group_key(g, fields[f].name), "missing");
    }
    // The optimizer's own fields: all of them, or none (a checkpoint from before they were saved); those
    // added later still may be absent from a checkpoint that has the others.
    bool any = false;
    std::optional<size_t> absent;
    for (size_t f = kCommonFields; f < fields.size(); ++f) {
      any = any || seen[g][f];
      if (!seen[g][f] && !fields[f].added_later && !absent) absent = f;
    }
    if (any && absent) {
      return bad(group_key(g, fields[*absent].name),
                 "missing (the group has other fields of this optimizer: expected all of them, or none in a "
                 "checkpoint written before they were saved)");
    }
    if (const std::optional<GroupProblem> problem = CheckGroup(new_groups[g])) {
      return bad(group_key(g, problem->field.c_str()), problem->message);
    }
  }
  for (size_t k = 0; k < new_state.size(); ++k) {
    if (new_state[k].empty()) continue;
    if (const std::optional<GroupProblem> problem = CheckState(new_state[k])) {
      return bad(absl::StrCat("state.", k, ".", problem->field), problem->message);
    }
  }
  groups_ = std::move(new_groups);
  state_ = std::move(new_state);
  return absl::OkStatus();
}

}  // namespace normgrad::optim
