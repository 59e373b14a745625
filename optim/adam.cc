#include "optim/adam.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "autograd/grad_mode.h"
#include "autograd/ops/view.h"
#include "core/kernels/optimizer_step.h"

namespace normgrad::optim {

Adam::Adam(std::vector<ParamGroup> groups, AdamOptions options) : Adam("Adam", std::move(groups), options, false) {}

AdamW::AdamW(std::vector<ParamGroup> groups, AdamOptions options)
    : Adam("AdamW", std::move(groups), options, true) {}

Adam::Adam(const char* name, std::vector<ParamGroup> groups, AdamOptions options, bool decoupled)
    : Optimizer(name, std::move(groups),
                {.lr = options.lr,
                 .weight_decay = options.weight_decay.value_or(decoupled ? 1e-2 : 0.0),
                 .momentum = options.beta1,
                 .beta2 = options.beta2,
                 .eps = options.eps,
                 .amsgrad = options.amsgrad,
                 .maximize = options.maximize},
                {"momentum", "dampening", "nesterov"}),
      decoupled_(decoupled) {
  CheckGroups();
}

std::optional<Optimizer::GroupProblem> Adam::CheckGroup(const Group& g) const {
  if (auto problem = Optimizer::CheckGroup(g)) return problem;
  if (!(g.momentum >= 0 && g.momentum < 1)) {
    return GroupProblem{"momentum", absl::StrCat("expected beta1 (the group's momentum) in [0, 1), got ", g.momentum)};
  }
  if (!(g.beta2 >= 0 && g.beta2 < 1)) {
    return GroupProblem{"beta2", absl::StrCat("expected beta2 in [0, 1), got ", g.beta2)};
  }
  if (!(g.eps >= 0)) return GroupProblem{"eps", absl::StrCat("expected eps >= 0, got ", g.eps)};
  return std::nullopt;
}

std::optional<Optimizer::GroupProblem> Adam::CheckState(const std::map<std::string, Tensor>& state) const {
  for (const char* slot : {kStepSlot, "exp_avg", "exp_avg_sq"}) {
    if (!state.count(slot)) {
      return GroupProblem{slot, "missing (a parameter's state has step, exp_avg and exp_avg_sq, or none of them)"};
    }
  }
  const double step = state.at(kStepSlot).item<double>();
  if (!(step >= 0 && step <= 0x1p53 && step == std::floor(step))) {
    return GroupProblem{kStepSlot, absl::StrCat("expected a whole number of steps >= 0, got ", step)};
  }
  return std::nullopt;
}

void Adam::step() {
  NoGradGuard no_grad;
  ForEachParamWithGrad([&](const Group& group, Tensor& p, std::map<std::string, Tensor>& state) {
    NG_CHECK(p.is_contiguous(), name_, ": expected contiguous parameters, got one of shape ",
             ShapeToString(p.shape()));
    const Tensor grad = contiguous(p.grad());
    if (!state.count(kStepSlot)) {
      state[kStepSlot] = zeros({}, {.dtype = kFloat64});
      state["exp_avg"] = zeros(p.shape(), {.dtype = p.dtype(), .device = p.device()});
      state["exp_avg_sq"] = zeros(p.shape(), {.dtype = p.dtype(), .device = p.device()});
    }
    // Also when amsgrad was switched on after the first steps (from zero: the next max is the moment).
    if (group.amsgrad && !state.count("max_exp_avg_sq")) {
      state["max_exp_avg_sq"] = zeros(p.shape(), {.dtype = p.dtype(), .device = p.device()});
    }
    double& t = *state[kStepSlot].data<double>();
    t += 1;
    VisitFloatDType(p.dtype(), name_, [&]<typename T>() {
      kernels::OptimizerStepOn<T>(p.device())
          .adam(p.data_ptr<T>(), grad.data_ptr<T>(), state["exp_avg"].data_ptr<T>(), state["exp_avg_sq"].data_ptr<T>(),
                group.amsgrad ? state["max_exp_avg_sq"].data_ptr<T>() : nullptr, p.numel(), group.lr, group.momentum,
                group.beta2, group.eps, group.weight_decay, decoupled_, group.maximize, static_cast<int64_t>(t));
    });
    p.BumpVersion();
  });
}

}  // namespace normgrad::optim
