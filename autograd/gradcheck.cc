#include "autograd/gradcheck.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "core/random.h"

namespace normgrad::autograd {
namespace {

using MultiFn = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;

// Storage offsets of every element of t, in row-major order.
std::vector<int64_t> ElementOffsets(const Tensor& t) {
  std::vector<int64_t> offsets;
  offsets.reserve(t.numel());
  if (t.numel() == 0) return offsets;
  std::vector<int64_t> index(t.dim(), 0);
  for (int64_t n = 0; n < t.numel(); ++n) {
    int64_t off = t.storage_offset();
    for (int64_t d = 0; d < t.dim(); ++d) off += index[d] * t.strides()[d];
    offsets.push_back(off);
    for (int64_t d = t.dim() - 1; d >= 0; --d) {
      if (++index[d] < t.shape()[d]) break;
      index[d] = 0;
    }
  }
  return offsets;
}

double Project(const std::vector<Tensor>& outputs, const std::vector<Tensor>& v) {
  double sum = 0;
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (!outputs[i].defined()) continue;
    const std::vector<double> y = outputs[i].to_vector<double>(), w = v[i].to_vector<double>();
    for (size_t k = 0; k < y.size(); ++k) sum += y[k] * w[k];
  }
  return sum;
}

absl::Status CheckFirstOrder(const MultiFn& fn, const std::vector<Tensor>& inputs, const GradCheckOptions& o,
                             const char* order) {
  std::vector<Tensor> checked;
  for (const Tensor& x : inputs) {
    if (x.defined() && x.requires_grad()) checked.push_back(x);
  }
  if (checked.empty()) return absl::InvalidArgumentError("GradCheck: expected an input that requires grad");

  const std::vector<Tensor> outputs = fn(inputs);
  Generator gen(o.seed);
  std::vector<Tensor> v, roots, root_grads;
  for (const Tensor& y : outputs) {
    v.push_back(y.defined() ? randn(y.shape(), {.dtype = kFloat64}, &gen) : Tensor());
    if (y.defined() && y.requires_grad()) {
      roots.push_back(y);
      root_grads.push_back(v.back());
    }
  }
  std::vector<Tensor> analytic(checked.size());
  if (!roots.empty()) analytic = Grad(roots, checked, root_grads, {}, /*allow_unused=*/true);

  NoGradGuard no_grad;
  for (size_t i = 0; i < checked.size(); ++i) {
    double* data = static_cast<double*>(checked[i].storage().data());
    const std::vector<int64_t> offsets = ElementOffsets(checked[i]);
    const std::vector<double> a =
        analytic[i].defined() ? analytic[i].to_vector<double>() : std::vector<double>(offsets.size(), 0.0);
    for (size_t k = 0; k < offsets.size(); ++k) {
      const double original = data[offsets[k]];
      data[offsets[k]] = original + o.eps;
      const double plus = Project(fn(inputs), v);
      data[offsets[k]] = original - o.eps;
      const double minus = Project(fn(inputs), v);
      data[offsets[k]] = original;
      const double numeric = (plus - minus) / (2 * o.eps);
      if (!(std::abs(a[k] - numeric) <= o.atol + o.rtol * std::abs(numeric))) {
        return absl::InternalError(absl::StrCat("GradCheck (", order, " order): input ", i, " of shape ",
                                                ShapeToString(checked[i].shape()), ", element ", k,
                                                ": analytic ", a[k], " vs numeric ", numeric));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status GradCheck(const TensorFn& fn, const std::vector<Tensor>& inputs, GradCheckOptions options) {
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].defined() && inputs[i].requires_grad() && inputs[i].dtype() != kFloat64) {
      return absl::InvalidArgumentError(absl::StrCat("GradCheck: expected float64 inputs, got ",
                                                     DTypeName(inputs[i].dtype()), " for input ", i));
    }
  }
  const MultiFn single = [&fn](const std::vector<Tensor>& xs) { return std::vector<Tensor>{fn(xs)}; };
  if (absl::Status s = CheckFirstOrder(single, inputs, options, "first"); !s.ok()) return s;
  if (!options.check_second_order) return absl::OkStatus();

  // The gradient of <w, fn(x)> as a function of x, differentiated again.
  std::vector<Tensor> checked;
  for (const Tensor& x : inputs) {
    if (x.defined() && x.requires_grad()) checked.push_back(x);
  }
  Generator gen(options.seed + 1);
  const Tensor w = randn(NoGrad([&] { return fn(inputs); }).shape(), {.dtype = kFloat64}, &gen);
  const MultiFn gradient = [&](const std::vector<Tensor>& xs) {
    GradModeGuard enable(true);
    const Tensor y = fn(xs);
    if (!y.requires_grad()) return std::vector<Tensor>(checked.size());
    return Grad({y}, checked, {w}, {.create_graph = true}, /*allow_unused=*/true);
  };
  // The create_graph gradient must also equal the plain one (checked above against finite differences):
  // otherwise a backward that is wrong but self-consistent under create_graph would pass the check below.
  {
    const std::vector<Tensor> recorded = gradient(inputs);
    const Tensor y = fn(inputs);
    const std::vector<Tensor> plain =
        y.requires_grad() ? Grad({y}, checked, {w}, {}, /*allow_unused=*/true) : std::vector<Tensor>(checked.size());
    for (size_t i = 0; i < checked.size(); ++i) {
      if (!recorded[i].defined() && !plain[i].defined()) continue;
      const std::vector<double> r = recorded[i].defined() ? recorded[i].to_vector<double>()
                                                          : std::vector<double>(checked[i].numel(), 0.0);
      const std::vector<double> p = plain[i].defined() ? plain[i].to_vector<double>()
                                                       : std::vector<double>(checked[i].numel(), 0.0);
      for (size_t k = 0; k < r.size(); ++k) {
        if (!(std::abs(r[k] - p[k]) <= options.atol + options.rtol * std::abs(p[k]))) {
          return absl::InternalError(absl::StrCat("GradCheck (create_graph): input ", i, ", element ", k,
                                                  ": the recorded gradient ", r[k], " differs from backward's ",
                                                  p[k]));
        }
      }
    }
  }
  return CheckFirstOrder(gradient, inputs, options, "second");
}

}  // namespace normgrad::autograd
