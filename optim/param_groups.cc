#include "optim/param_groups.h"

#include <string>
#include <unordered_set>

namespace normgrad::optim {

std::vector<ParamGroup> NoDecayOnNorms(const nn::Module& module, double weight_decay) {
  NG_CHECK(weight_decay >= 0, "NoDecayOnNorms: expected weight_decay >= 0, got ", weight_decay);
  ParamGroup decay{.weight_decay = weight_decay}, no_decay{.weight_decay = 0.0};
  std::unordered_set<const TensorImpl*> seen;
  // Walks the tree module by module, so that each parameter is judged by the module that owns it.
  const auto visit = [&](const auto& self, const nn::Module& m) -> void {
    const bool norm = dynamic_cast<const nn::NormalizationLayer*>(&m) != nullptr;
    for (const auto& [name, p] : m.named_parameters(/*recurse=*/false)) {
      if (!p.requires_grad() || !seen.insert(p.impl()).second) continue;
      (norm || name == "bias" ? no_decay : decay).params.push_back(p);
    }
    for (const auto& [name, child] : m.named_children()) self(self, *child);
  };
  visit(visit, module);
  NG_CHECK(!decay.params.empty() || !no_decay.params.empty(), "NoDecayOnNorms: ", module.type_name(),
           " has no trainable parameters");
  std::vector<ParamGroup> groups;
  if (!decay.params.empty()) groups.push_back(std::move(decay));
  if (!no_decay.params.empty()) groups.push_back(std::move(no_decay));
  return groups;
}

}  // namespace normgrad::optim
