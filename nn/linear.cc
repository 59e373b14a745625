#include "nn/linear.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "nn/functional/conv.h"
#include "nn/init.h"

namespace normgrad::nn {

Linear::Linear(const LinearOptions& options, Generator* gen) : Cloneable("Linear"), options_(options) {
  NG_CHECK(options.in_features >= 1 && options.out_features >= 1,
           "Linear: expected in_features and out_features >= 1, got ", options.in_features, " and ",
           options.out_features);
  register_parameter("weight", empty({options.out_features, options.in_features}));
  if (options.bias) register_parameter("bias", empty({options.out_features}));
  reset_parameters(gen);
}

void Linear::reset_parameters(Generator* gen) {
  init::kaiming_uniform_(parameter("weight"), std::sqrt(5.0), init::FanMode::kFanIn, gen);
  if (const Tensor bias = parameter("bias"); bias.defined()) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(options_.in_features));
    init::uniform_(bias, -bound, bound, gen);
  }
}

Tensor Linear::forward(const Tensor& input) {
  return functional::linear(input, parameter("weight"), parameter("bias"));
}

std::string Linear::extra_repr() const {
  return absl::StrCat("in_features=", options_.in_features, ", out_features=", options_.out_features,
                      ", bias=", options_.bias ? "true" : "false");
}

}  // namespace normgrad::nn
