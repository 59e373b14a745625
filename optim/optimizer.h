#ifndef NORMGRAD_OPTIM_OPTIMIZER_H_
#define NORMGRAD_OPTIM_OPTIMIZER_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/state_dict.h"
#include "core/tensor.h"

namespace normgrad::optim {

// Parameters that share hyperparameters. Values left unset take the optimizer's.
struct ParamGroup {
  std::vector<Tensor> params;
  std::optional<double> lr;
  std::optional<double> weight_decay;
};

// A parameter group with every hyperparameter resolved. Schedules change lr (and momentum) here.
struct Group {
  std::vector<Tensor> params;
  double lr = 0;
  double initial_lr = 0;  // the lr the group started with: schedules scale from it
  double weight_decay = 0;
  double momentum = 0;    // SGD's momentum, Adam's beta1: what one-cycle schedules cycle
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

  // "param_groups.<g>.<lr|initial_lr|weight_decay|momentum>" and "state.<k>.<slot>" for the k-th parameter
  // in group order.
  StateDict state_dict() const;
  // Restores a state_dict() of an optimizer of the same kind over parameters of the same shapes. Checks
  // everything first: on any mismatch it returns InvalidArgument naming the key and changes nothing.
  [[nodiscard]] absl::Status load_state_dict(const StateDict& state);

 protected:
  // Throws normgrad::Error for empty groups, parameters that are not floating leaves, a parameter in two
  // groups, and negative lr or weight decay.
  Optimizer(const char* name, std::vector<ParamGroup> groups, double lr, double weight_decay, double momentum);

  // The names of the per-parameter state this optimizer keeps ("momentum_buffer", ...).
  virtual std::vector<std::string> StateSlots() const = 0;
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
  std::vector<Group> groups_;
};

// Parameters of one tensor list as one group.
std::vector<ParamGroup> SingleGroup(std::vector<Tensor> params);

}  // namespace normgrad::optim

#endif  // NORMGRAD_OPTIM_OPTIMIZER_H_
