#include "optim/sgd.h"

#include "autograd/grad_mode.h"
#include "autograd/ops/view.h"
#include "core/kernels/optimizer_step.h"

namespace normgrad::optim {

SGD::SGD(std::vector<ParamGroup> groups, SGDOptions options)
    : Optimizer("SGD", std::move(groups), options.lr, options.weight_decay, options.momentum), options_(options) {
  NG_CHECK(options.momentum >= 0 && options.momentum < 1, "SGD: expected momentum in [0, 1), got ",
           options.momentum);
  NG_CHECK(options.dampening >= 0 && options.dampening <= 1, "SGD: expected dampening in [0, 1], got ",
           options.dampening);
  NG_CHECK(!options.nesterov || (options.momentum > 0 && options.dampening == 0),
           "SGD: Nesterov momentum requires momentum > 0 and dampening = 0, got momentum ", options.momentum,
           " and dampening ", options.dampening);
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
               group.momentum, options_.dampening, group.weight_decay, options_.nesterov, first);
    });
    p.BumpVersion();
  });
}

}  // namespace normgrad::optim
