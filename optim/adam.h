#ifndef NORMGRAD_OPTIM_ADAM_H_
#define NORMGRAD_OPTIM_ADAM_H_

#include <optional>
#include <vector>

#include "optim/optimizer.h"

namespace normgrad::optim {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  // Left out: 0 for Adam, 1e-2 for AdamW, as in PyTorch (so AdamW(params, {.lr = 3e-4}) still decays).
  std::optional<double> weight_decay;
  // AMSGrad: the denominator uses the largest second moment so far (state "max_exp_avg_sq").
  bool amsgrad = false;
  bool maximize = false;  // climb the objective: step along +gradient (PyTorch's maximize)
};

// torch.optim.Adam (L2 weight decay added to the gradient) and, with decoupled weight decay,
// torch.optim.AdamW (p *= 1 - lr * weight_decay before the update). At step t:
// m = beta1 m + (1 - beta1) g, v = beta2 v + (1 - beta2) g^2,
// p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps), with max(v so far) for v with
// amsgrad.
// Every group holds the options: beta1 as Group::momentum (which a one-cycle schedule cycles), beta2, eps,
// amsgrad and maximize; state_dict saves them. A ParamGroup may set its own (and may not set SGD's
// momentum, dampening or nesterov).
// Throws normgrad::Error for lr, eps or weight_decay < 0 and betas outside [0, 1).
class Adam : public Optimizer {
 public:
  Adam(std::vector<ParamGroup> groups, AdamOptions options);
  Adam(std::vector<Tensor> params, AdamOptions options) : Adam(SingleGroup(std::move(params)), options) {}

  void step() override;

 protected:
  Adam(const char* name, std::vector<ParamGroup> groups, AdamOptions options, bool decoupled);

 private:
  std::vector<std::string> StateSlots() const override {
    return {kStepSlot, "exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
  }
  std::vector<GroupField> OptionFields() const override {
    return {{"beta2", &Group::beta2},
            {"eps", &Group::eps},
            {"amsgrad", nullptr, &Group::amsgrad, /*added_later=*/true},
            {"maximize", nullptr, &Group::maximize, /*added_later=*/true}};
  }
  std::optional<GroupProblem> CheckGroup(const Group& group) const override;
  // A parameter's state has its step count (a whole number >= 0) and both moments, or nothing.
  std::optional<GroupProblem> CheckState(const std::map<std::string, Tensor>& state) const override;
  bool decoupled_;
};

class AdamW : public Adam {
 public:
  AdamW(std::vector<ParamGroup> groups, AdamOptions options = {});
  AdamW(std::vector<Tensor> params, AdamOptions options = {}) : AdamW(SingleGroup(std::move(params)), options) {}
};

}  // namespace normgrad::optim

#endif  // NORMGRAD_OPTIM_ADAM_H_
