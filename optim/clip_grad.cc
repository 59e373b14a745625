#include "optim/clip_grad.h"

#include <algorithm>
#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/ops/view.h"
#include "core/kernels/elementwise.h"
#include "core/kernels/reduce.h"

namespace normgrad::optim {
namespace {

// The norm of a gradient on a device, with the device's kernels: in float64 as on the CPU.
double DeviceNorm(const Tensor& g, double norm_type) {
  const Tensor a = kernels::abs(kernels::to_dtype(g, kFloat64));
  if (norm_type == kInfNorm) return g.numel() == 0 ? 0.0 : kernels::amax(a).item<double>();
  return std::pow(kernels::sum(kernels::pow(a, norm_type)).item<double>(), 1 / norm_type);
}

// The larger of a and b, NaN if either is (std::max keeps its first argument when the other is NaN).
double MaxOf(double a, double b) { return std::isnan(b) ? b : std::max(a, b); }

}  // namespace

double ClipGradNorm(const std::vector<Tensor>& params, double max_norm, double norm_type) {
  NG_CHECK(max_norm >= 0, "ClipGradNorm: expected max_norm >= 0, got ", max_norm);
  NG_CHECK(norm_type > 0, "ClipGradNorm: expected norm_type > 0, got ", norm_type);
  NoGradGuard no_grad;
  std::vector<Tensor> grads;
  for (const Tensor& p : params) {
    if (p.grad().defined()) {
      if (!p.grad().is_contiguous()) p.set_grad(contiguous(p.grad()));
      grads.push_back(p.grad());
    }
  }
  // Per-tensor norms in double, then their norm, as PyTorch stacks the per-tensor norms.
  double total = 0;
  for (const Tensor& g : grads) {
    const double norm = g.device().is_cpu() ? VisitFloatDType(g.dtype(), "ClipGradNorm", [&]<typename T>() {
      const T* x = g.data<T>();
      double acc = 0;
      for (int64_t i = 0; i < g.numel(); ++i) {
        const double a = std::abs(static_cast<double>(x[i]));
        acc = norm_type == kInfNorm ? MaxOf(acc, a) : acc + std::pow(a, norm_type);
      }
      return norm_type == kInfNorm ? acc : std::pow(acc, 1 / norm_type);
    }) : DeviceNorm(g, norm_type);
    total = norm_type == kInfNorm ? MaxOf(total, norm) : total + std::pow(norm, norm_type);
  }
  if (norm_type != kInfNorm) total = std::pow(total, 1 / norm_type);
  // A NaN norm scales every gradient by NaN, as PyTorch's clamp(max_norm / norm, max=1) does.
  const double coef = std::isnan(total) ? total : std::min(1.0, max_norm / (total + 1e-6));
  if (!(coef >= 1.0)) {
    for (const Tensor& g : grads) {
      if (g.device().is_cpu()) {
        VisitFloatDType(g.dtype(), "ClipGradNorm", [&]<typename T>() {
          T* x = g.data<T>();
          for (int64_t i = 0; i < g.numel(); ++i) x[i] *= static_cast<T>(coef);
        });
      } else {
        kernels::mul_(g, coef);
      }
      g.BumpVersion();
    }
  }
  return total;
}

}  // namespace normgrad::optim
