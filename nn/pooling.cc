#include "nn/pooling.h"

#include "absl/strings/str_cat.h"
#include "nn/functional/pooling.h"

namespace normgrad::nn {

namespace {

void CheckPoolOptions(const char* layer, const Pool2dOptions& o) {
  const IntPair stride = o.stride.value_or(o.kernel_size);
  for (int i = 0; i < 2; ++i) {
    NG_CHECK(o.kernel_size[i] >= 1 && stride[i] >= 1 && o.padding[i] >= 0 && o.padding[i] <= o.kernel_size[i] / 2,
             layer, ": expected kernel_size and stride >= 1 and padding in [0, kernel_size / 2], got kernel_size ",
             o.kernel_size.ToString(), ", stride ", stride.ToString(), ", padding ", o.padding.ToString());
  }
}

functional::Pool2dFuncOptions ToFunctional(const Pool2dOptions& o) {
  functional::Pool2dFuncOptions f{.kernel_size = o.kernel_size.values,
                                  .padding = o.padding.values,
                                  .ceil_mode = o.ceil_mode,
                                  .count_include_pad = o.count_include_pad};
  if (o.stride) f.stride = o.stride->values;
  return f;
}

// PyTorch's repr, with the modes only where they are not the default.
std::string PoolRepr(const Pool2dOptions& o) {
  return absl::StrCat("kernel_size=", o.kernel_size.ToString(), ", stride=", o.stride.value_or(o.kernel_size).ToString(),
                      ", padding=", o.padding.ToString(), o.ceil_mode ? ", ceil_mode=true" : "",
                      o.count_include_pad ? "" : ", count_include_pad=false");
}

}  // namespace

MaxPool2d::MaxPool2d(const Pool2dOptions& options) : Cloneable("MaxPool2d"), options_(options) {
  CheckPoolOptions("MaxPool2d", options);
  NG_CHECK(options.count_include_pad, "MaxPool2d: count_include_pad is an option of AvgPool2d only");
}

Tensor MaxPool2d::forward(const Tensor& input) { return functional::max_pool2d(input, ToFunctional(options_)); }

std::string MaxPool2d::extra_repr() const { return PoolRepr(options_); }

AvgPool2d::AvgPool2d(const Pool2dOptions& options) : Cloneable("AvgPool2d"), options_(options) {
  CheckPoolOptions("AvgPool2d", options);
}

Tensor AvgPool2d::forward(const Tensor& input) { return functional::avg_pool2d(input, ToFunctional(options_)); }

std::string AvgPool2d::extra_repr() const { return PoolRepr(options_); }

AdaptiveAvgPool2d::AdaptiveAvgPool2d(IntPair output_size)
    : Cloneable("AdaptiveAvgPool2d"), output_size_(output_size) {
  NG_CHECK(output_size[0] >= 1 && output_size[1] >= 1, "AdaptiveAvgPool2d: expected an output size >= 1, got ",
           output_size.ToString());
}

Tensor AdaptiveAvgPool2d::forward(const Tensor& input) {
  return functional::adaptive_avg_pool2d(input, output_size_.values);
}

}  // namespace normgrad::nn
