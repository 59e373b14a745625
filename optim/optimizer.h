#ifndef NORMGRAD_OPTIM_OPTIMIZER_H_
#define NORMGRAD_OPTIM_OPTIMIZER_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/state_dict.h"
#include "core/tensor.h"

namespace normgrad::optim {

// Parameters that share hyperparameters, as a PyTorch param_groups entry. Values left unset take the
// optimizer's options; an optimizer refuses a group that sets one it does not have (SGD: beta1, beta2, eps,
// amsgrad; Adam and AdamW: momentum, dampening, nesterov):
//   optim::SGD opt({{.params = backbone, .lr = 0.01}, {.params = head, .momentum = 0.5}}, {.lr = 0.1, .momentum = 0.9});
struct ParamGroup {
  std::vector<Tensor> params;
  std::optional<double> lr;
  std::optional<double> weight_decay;
  std::optional<double> momentum;   // SGD
  std::optional<double> dampening;  // SGD
  std::optional<bool> nesterov;     // SGD
  std::optional<double> beta1;      // Adam, AdamW (kept as Group::momentum)
  std::optional<double> beta2;      // Adam, AdamW
  std::optional<double> eps;        // Adam, AdamW
  std::optional<bool> amsgrad;      // Adam, AdamW
  std::optional<bool> maximize;     // every optimizer
};

// A parameter group with every hyperparameter resolved: PyTorch's param_groups entry. Schedules change lr
// (and momentum) here, and so may a user between steps; every optimizer reads its hyperparameters from here
// at each step. The fields below the first four belong to some kinds of optimizer; the others leave them at
// 0 (false).
struct Group {
  std::vector<Tensor> params;
  double lr = 0;
  double initial_lr = 0;  // the lr the group started with: schedules scale from it
  double weight_decay = 0;
  double momentum = 0;    // SGD's momentum, Adam's beta1: what one-cycle schedules cycle
  double dampening = 0;   // SGD
  bool nesterov = false;  // SGD
  double beta2 = 0;       // Adam, AdamW
  double eps = 0;         // Adam, AdamW
  bool amsgrad = false;   // Adam, AdamW
  bool maximize = false;  // every optimizer: climb the objective (step along +gradient)
};

// One hyperparameter of a Group as state_dict() saves it, under "param_groups.<g>.<name>": a number as a
// float64 scalar, a flag as an int64 scalar 0 or 1. Exactly one of `number` and `flag` is set. A field
// `added_later` may be missing from checkpoints written before it was saved (the group keeps its value).
struct GroupField {
  const char* name;
  double Group::*number = nullptr;
  bool Group::*flag = nullptr;
  bool added_later = false;
};

// The base of every optimizer: parameter groups, zero_grad(), and the saved state.
class Optimizer {
 public:
  virtual ~Optimizer() = default;

  // Applies one update to every parameter that has a gradient (parameters without one are skipped, as in
  // PyTorch). Runs with recording off.
  virtual void step() = 0;
  // Drops every parameter's gradient (PyTorch's set_to_none behaviour).
  void zero_grad();

  std::vector<Group>& param_groups() { return groups_; }
  const std::vector<Group>& param_groups() const { return groups_; }

  // Every hyperparameter of every group and every parameter's state, as PyTorch's state_dict holds them:
  //   param_groups.<g>.<field>  the fields of GroupFields(): lr, initial_lr, weight_decay, momentum for
  //                             every optimizer, then SGD's dampening, nesterov and maximize, or Adam's and
  //                             AdamW's beta2, eps, amsgrad and maximize (momentum is their beta1);
  //   state.<k>.<slot>          StateSlots() of the k-th parameter in group order, once it has any.
  StateDict state_dict() const;
  // Restores a state_dict() of an optimizer of the same kind over parameters of the same shapes: the
  // per-parameter state, and every group's hyperparameters, which replace the ones the optimizer was built
  // with (as PyTorch's load_state_dict does). The loaded hyperparameters must pass the constructor's checks
  // (lr >= 0, momentum in [0, 1), Nesterov only with momentum > 0 and dampening 0, ...).
  // Checkpoints written before the optimizer-specific fields were saved have only lr, initial_lr,
  // weight_decay and momentum: a group without any of its optimizer's own fields keeps the values it was
  // built with; a group with some of them must have all, but for the fields added later still (amsgrad,
  // maximize), which keep their values when absent. Checks everything first: on any unexpected,
  // missing or invalid key it returns InvalidArgument naming the key, what was expected and what came,
  // and changes nothing.
  [[nodiscard]] absl::Status load_state_dict(const StateDict& state);

  // The hyperparameters state_dict() saves for each group: the four every optimizer has, then
  // OptionFields().
  std::vector<GroupField> GroupFields() const;

 protected:
  // Each group's hyperparameters are `defaults` (the optimizer's options, params empty) with those the
  // ParamGroup sets. Throws normgrad::Error for empty groups, parameters that are not floating leaves, a
  // parameter in two groups, negative lr or weight decay, and a group that sets one of `foreign`, the
  // ParamGroup fields this optimizer does not have ("beta2", ...).
  Optimizer(const char* name, std::vector<ParamGroup> groups, const Group& defaults,
            const std::vector<std::string>& foreign);

  // The names of the per-parameter state this optimizer keeps ("momentum_buffer", ...).
  virtual std::vector<std::string> StateSlots() const = 0;
  // The group fields of this kind of optimizer beyond lr, initial_lr, weight_decay and momentum (SGD:
  // dampening, nesterov, maximize).
  virtual std::vector<GroupField> OptionFields() const = 0;

  // What is wrong with one group's hyperparameters: the field at fault and "expected ..., got ...".
  struct GroupProblem {
    std::string field;
    std::string message;
  };
  // The rules a group's hyperparameters follow, shared by the constructors and load_state_dict. The base
  // checks lr, initial_lr and weight_decay >= 0; an override adds its optimizer's rules and calls it.
  virtual std::optional<GroupProblem> CheckGroup(const Group& group) const;
  // What is wrong with one parameter's loaded state (non-empty; each slot's shape and dtype already
  // checked): `field` names the slot at fault. None by default: every slot is optional.
  virtual std::optional<GroupProblem> CheckState(const std::map<std::string, Tensor>& state) const {
    return std::nullopt;
  }
  // For subclasses' constructors: throws normgrad::Error "<name>: <message>" when the options break a rule
  // (even where every group sets its own value, as PyTorch checks its defaults), then
  // "<name>: <message> (parameter group <g>)" for the first group with a problem.
  void CheckGroups() const;
  // Calls fn(group, param, state) for every parameter that has a gradient, with the parameter's
  // per-element state moved to its device first (the model may have moved since the last step).
  template <typename Fn>
  void ForEachParamWithGrad(Fn&& fn) {
    size_t k = 0;
    for (Group& g : groups_) {
      for (Tensor& p : g.params) {
        if (p.grad().defined()) {
          MoveStateTo(p.device(), state_[k]);
          fn(g, p, state_[k]);
        }
        ++k;
      }
    }
  }

  // The state slot of step counts (a float64 scalar), which stays on the CPU, where the optimizers read it.
  static constexpr const char* kStepSlot = "step";

  // Moves every tensor of `state` but the step count to `device`.
  static void MoveStateTo(Device device, std::map<std::string, Tensor>& state);

  // Per-parameter state (momentum buffers, moments, step counts), indexed like state_dict's k.
  std::vector<std::map<std::string, Tensor>> state_;
  const char* name_;

 private:
  friend class LRScheduler;

  std::vector<Group> groups_;
  Group defaults_;  // the options, without parameters
  // The live LRScheduler of this optimizer, if any: it holds the token; the pointer expires with it.
  std::weak_ptr<const void> scheduler_;
};

// Parameters of one tensor list as one group.
std::vector<ParamGroup> SingleGroup(std::vector<Tensor> params);

}  // namespace normgrad::optim

#endif  // NORMGRAD_OPTIM_OPTIMIZER_H_
