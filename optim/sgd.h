#ifndef NORMGRAD_OPTIM_SGD_H_
#define NORMGRAD_OPTIM_SGD_H_

#include <optional>
#include <vector>

#include "optim/optimizer.h"

namespace normgrad::optim {

struct SGDOptions {
  std::optional<double> lr;  // required unless every ParamGroup sets its own: no default, as in PyTorch
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;
  bool maximize = false;  // climb the objective: step along +gradient (PyTorch's maximize)
};

// torch.optim.SGD: d = g + weight_decay * p (g negated first with maximize); with momentum,
// buf = momentum * buf + (1 - dampening) * d (buf = d on the first step) and
// d = nesterov ? d + momentum * buf : buf; then p -= lr * d.
// Every group holds the options (Group::momentum, dampening, nesterov, maximize), which state_dict saves;
// a ParamGroup may set its own (and may not set Adam's beta1, beta2, eps or amsgrad).
// Throws normgrad::Error for a missing lr, lr or weight_decay < 0, momentum outside [0, 1), dampening
// outside [0, 1], and Nesterov without momentum or with dampening.
class SGD : public Optimizer {
 public:
  SGD(std::vector<ParamGroup> groups, SGDOptions options);
  SGD(std::vector<Tensor> params, SGDOptions options) : SGD(SingleGroup(std::move(params)), options) {}

  void step() override;

 private:
  std::vector<std::string> StateSlots() const override { return {"momentum_buffer"}; }
  std::vector<GroupField> OptionFields() const override {
    return {{"dampening", &Group::dampening},
            {"nesterov", nullptr, &Group::nesterov},
            {"maximize", nullptr, &Group::maximize, /*added_later=*/true}};
  }
  std::optional<GroupProblem> CheckGroup(const Group& group) const override;
};

}  // namespace normgrad::optim

#endif  // NORMGRAD_OPTIM_SGD_H_
