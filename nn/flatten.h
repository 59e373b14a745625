#ifndef NORMGRAD_NN_FLATTEN_H_
#define NORMGRAD_NN_FLATTEN_H_

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "autograd/ops.h"
#include "nn/module.h"

namespace normgrad::nn {

struct FlattenOptions {
  int64_t start_dim = 1;  // keeps the batch dim
  int64_t end_dim = -1;
};

// Dims start_dim..end_dim merged into one (normgrad::flatten): [N, C, H, W] -> [N, C * H * W].
class Flatten : public Cloneable<Flatten> {
 public:
  explicit Flatten(const FlattenOptions& options = {}) : Cloneable("Flatten"), options_(options) {}
  Tensor forward(const Tensor& input) override { return flatten(input, options_.start_dim, options_.end_dim); }
  std::string extra_repr() const override {
    return absl::StrCat("start_dim=", options_.start_dim, ", end_dim=", options_.end_dim);
  }

 private:
  FlattenOptions options_;
};

}  // namespace normgrad::nn

#endif  // NORMGRAD_NN_FLATTEN_H_
