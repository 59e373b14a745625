#include "optim/sgd.h"

#include "absl/strings/str_cat.h"
#include "autograd/grad_mode.h"
#include "autograd/ops/view.h"
#include "core/kernels/optimizer_step.h"

namespace normgrad::optim {

namespace {

// The groups, once each has a learning rate: its own or the options'. SGD has no default one, as in PyTorch.
std::vector<ParamGroup> WithLearningRates(std::vector<ParamGroup> groups, const std::optional<double>& lr) {
  for (size_t g = 0; g < groups.size(); ++g) {
    NG_CHECK(lr || groups[g].lr, "SGD: expected a learning rate (SGDOptions::lr, or the lr of every parameter "
             "group), got none for parameter group ", g, "; SGD has no default one, as in PyTorch");
  }
  return groups;
}

}  // namespace

SGD::SGD(std::vector<ParamGroup> groups, SGDOptions options)
    : Optimizer("SGD", WithLearningRates(std::move(groups), options.lr),
                {.lr = options.lr.value_or(0),
                 .weight_decay = options.weight_decay,
                 .momentum = options.momentum,
                 .dampening = options.dampening,
                 .nesterov = options.nesterov,
                 .maximize = options.maximize},
                {"beta1", "beta2", "eps", "amsgrad"}) {
  CheckGroups();
}

std::optional<Optimizer::GroupProblem> SGD::CheckGroup(const Group& g) const {
  if (auto problem = Optimizer::CheckGroup(g)) return problem;
  if (!(g.momentum >= 0 && g.momentum < 1)) {
    return GroupProblem{"momentum", absl::StrCat("expected momentum in [0, 1), got ", g.momentum)};
  }
  if (!(g.dampening >= 0 && g.dampening <= 1)) {
    return GroupProblem{"dampening", absl::StrCat("expected dampening in [0, 1], got ", g.dampening)};
  }
  if (g.nesterov && !(g.momentum > 0 && g.dampening == 0)) {
    return GroupProblem{"nesterov", absl::StrCat("Nesterov momentum requires momentum > 0 and dampening = 0, got "
                                                 "momentum ", g.momentum, " and dampening ", g.dampening)};
  }
  return std::nullopt;
}

void SGD::step() {
  NoGradGuard no_grad;
  ForEachParamWithGrad([&](const Group& group, Tensor& p, std::map<std::string, Tensor>& state) {
    NG_CHECK(p.is_contiguous(), "SGD: expected contiguous parameters, got one of shape ", ShapeToString(p.shape()));
    const Tensor grad = contiguous(p.grad());
    const bool use_momentum = group.momentum != 0;
    const bool first = use_momentum && !state.count("momentum_buffer");
    if (first) state["momentum_buffer"] = empty(p.shape(), {.dtype = p.dtype(), .device = p.device()});
    const Tensor buf = use_momentum ? state["momentum_buffer"] : Tensor();
    VisitFloatDType(p.dtype(), "SGD", [&]<typename T>() {
      kernels::OptimizerStepOn<T>(p.device())
          .sgd(p.data_ptr<T>(), grad.data_ptr<T>(), use_momentum ? buf.data_ptr<T>() : nullptr, p.numel(), group.lr,
               group.momentum, group.dampening, group.weight_decay, group.nesterov, group.maximize, first);
    });
    p.BumpVersion();
  });
}

}  // namespace normgrad::optim
