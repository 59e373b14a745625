#include "optim/averaged_model.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "autograd/grad_mode.h"
#include "core/error.h"
#include "core/kernels/device_copy.h"
#include "core/kernels/elementwise.h"

namespace normgrad::optim {
namespace {

constexpr const char* kCountKey = "n_averaged";
constexpr const char* kModulePrefix = "module.";

// A module's parameters, then its buffers, by name.
struct Entry {
  std::string name;
  Tensor tensor;
  bool parameter;
};

std::vector<Entry> Entries(const nn::Module& m) {
  std::vector<Entry> out;
  for (auto& [name, t] : m.named_parameters()) out.push_back({name, t, true});
  for (auto& [name, t] : m.named_buffers()) out.push_back({name, t, false});
  return out;
}

std::string Describe(const Entry& e) {
  return absl::StrCat(e.parameter ? "parameter " : "buffer ", e.name, " (", DTypeName(e.tensor.dtype()), " ",
                      ShapeToString(e.tensor.shape()), ")");
}

}  // namespace

AveragedModel::AveragedModel(const std::shared_ptr<const nn::Module>& model, AveragedModelOptions options)
    : options_(options) {
  NG_CHECK(model != nullptr, "AveragedModel: expected a model, got null");
  NG_CHECK(!options.decay || (*options.decay >= 0 && *options.decay < 1),
           "AveragedModel: expected decay in [0, 1) or none (an equal-weight average), got ", options.decay.value_or(0));
  module_ = model->clone();
}

void AveragedModel::update(const nn::Module& model) {
  const std::vector<Entry> average = Entries(*module_), current = Entries(model);
  for (size_t i = 0; i < std::max(average.size(), current.size()); ++i) {
    const bool same = i < average.size() && i < current.size() && average[i].name == current[i].name &&
                      average[i].parameter == current[i].parameter &&
                      average[i].tensor.dtype() == current[i].tensor.dtype() &&
                      average[i].tensor.shape() == current[i].tensor.shape();
    NG_CHECK(same, "AveragedModel::update: expected the averaged model's ",
             i < average.size() ? Describe(average[i]) : "end of parameters and buffers", ", got ",
             i < current.size() ? Describe(current[i]) : "no more parameters or buffers");
  }
  NoGradGuard no_grad;
  const double n = static_cast<double>(num_averaged_);
  for (size_t i = 0; i < average.size(); ++i) {
    const Tensor& avg = average[i].tensor;
    const Tensor now = current[i].tensor.device() == avg.device() ? current[i].tensor
                                                                  : kernels::to(current[i].tensor, avg.device());
    const bool averaged = average[i].parameter || (options_.average_buffers && IsFloating(avg.dtype()));
    if (num_averaged_ == 0 || !averaged) {
      avg.copy_(now);
    } else if (options_.decay) {
      avg.copy_(kernels::add(kernels::mul(avg, *options_.decay), kernels::mul(now, 1 - *options_.decay)));
    } else {
      avg.copy_(kernels::add(avg, kernels::div(kernels::sub(now, avg), n + 1)));
    }
  }
  ++num_averaged_;
}

StateDict AveragedModel::state_dict() const {
  StateDict state = AddPrefix(module_->state_dict(), kModulePrefix);
  state[kCountKey] = full({}, static_cast<double>(num_averaged_), {.dtype = kInt64});
  return state;
}

absl::Status AveragedModel::load_state_dict(const StateDict& state) {
  const auto count = state.find(kCountKey);
  if (count == state.end()) return absl::InvalidArgumentError("AveragedModel::load_state_dict: missing key n_averaged");
  const Tensor& n = count->second;
  if (!n.defined() || n.dtype() != kInt64 || n.dim() != 0 || n.item<int64_t>() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "AveragedModel::load_state_dict: expected n_averaged to be an int64 scalar >= 0, got ",
        !n.defined() ? "an undefined tensor"
                     : absl::StrCat(DTypeName(n.dtype()), " ", ShapeToString(n.shape()),
                                    n.numel() == 1 ? absl::StrCat(" ", n.item<double>()) : "")));
  }
  for (const auto& [key, t] : state) {
    if (key != kCountKey && !key.starts_with(kModulePrefix)) {
      return absl::InvalidArgumentError(absl::StrCat("AveragedModel::load_state_dict: unexpected key ", key,
                                                     " (expected n_averaged and module.*)"));
    }
  }
  const absl::StatusOr<nn::LoadResult> loaded = module_->load_state_dict(StripPrefix(state, kModulePrefix));
  if (!loaded.ok()) return absl::InvalidArgumentError(absl::StrCat("AveragedModel::load_state_dict: ", loaded.status().message()));
  num_averaged_ = n.item<int64_t>();
  return absl::OkStatus();
}

}  // namespace normgrad::optim
