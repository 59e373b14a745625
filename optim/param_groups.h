#ifndef NORMGRAD_OPTIM_PARAM_GROUPS_H_
#define NORMGRAD_OPTIM_PARAM_GROUPS_H_

#include <vector>

#include "nn/module.h"
#include "optim/optimizer.h"

namespace normgrad::optim {

// A module's trainable parameters in two groups, the usual recipe for training with weight decay:
//   [0] weight_decay = `weight_decay`: every other parameter (convolution and linear weights);
//   [1] weight_decay = 0: the parameters of normalization layers (modules deriving nn::NormalizationLayer:
//       BatchNorm, LayerNorm, RMSNorm, GroupNorm, InstanceNorm weight and bias) and every parameter named "bias".
// Both groups keep the optimizer's learning rate; parameters keep named_parameters() order; parameters
// with requires_grad off are left out, and so is a group that would be empty.
//   optim::SGD opt(optim::NoDecayOnNorms(*model, 5e-4), {.lr = 0.1, .momentum = 0.9});
// Throws normgrad::Error for a negative weight_decay, and when the module has no trainable parameter.
std::vector<ParamGroup> NoDecayOnNorms(const nn::Module& module, double weight_decay);

}  // namespace normgrad::optim

#endif  // NORMGRAD_OPTIM_PARAM_GROUPS_H_
