#include "nn/dropout.h"

#include "absl/strings/str_cat.h"
#include "nn/functional/dropout.h"

namespace normgrad::nn {

Dropout::Dropout(const DropoutOptions& options, Generator* gen) : Cloneable("Dropout"), options_(options), gen_(gen) {
  NG_CHECK(options.p >= 0 && options.p <= 1, "Dropout: expected p in [0, 1], got ", options.p);
}

Tensor Dropout::forward(const Tensor& input) {
  return functional::dropout(input, options_.p, is_training(), gen_);
}

std::string Dropout::extra_repr() const { return absl::StrCat("p=", options_.p); }

}  // namespace normgrad::nn
