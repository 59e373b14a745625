#include "optim/adam.h"

#include "autograd/grad_mode.h"
#include "autograd/ops/view.h"
#include "core/kernels/optimizer_step.h"

namespace normgrad::optim {

Adam::Adam(std::vector<ParamGroup> groups, AdamOptions options) : Adam("Adam", std::move(groups), options, false) {}

AdamW::AdamW(std::vector<ParamGroup> groups, AdamOptions options)
    : Adam("AdamW", std::move(groups), options, true) {}

Adam::Adam(const char* name, std::vector<ParamGroup> groups, AdamOptions options, bool decoupled)
    : Optimizer(name, std::move(groups), options.lr, options.weight_decay, options.beta1),
      options_(options),
      decoupled_(decoupled) {
  NG_CHECK(options.beta1 >= 0 && options.beta1 < 1, name, ": expected beta1 in [0, 1), got ", options.beta1);
  NG_CHECK(options.beta2 >= 0 && options.beta2 < 1, name, ": expected beta2 in [0, 1), got ", options.beta2);
  NG_CHECK(options.eps >= 0, name, ": expected eps >= 0, got ", options.eps);
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
    double& t = *state[kStepSlot].data<double>();
    t += 1;
    VisitFloatDType(p.dtype(), name_, [&]<typename T>() {
      kernels::OptimizerStepOn<T>(p.device())
          .adam(p.data_ptr<T>(), grad.data_ptr<T>(), state["exp_avg"].data_ptr<T>(), state["exp_avg_sq"].data_ptr<T>(),
                p.numel(), group.lr, group.momentum, options_.beta2, options_.eps, group.weight_decay, decoupled_,
                static_cast<int64_t>(t));
    });
    p.BumpVersion();
  });
}

}  // namespace normgrad::optim
