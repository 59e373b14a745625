#include "core/cuda/optimizer_step.h"

#include <cmath>

#include "core/cuda/device_math.h"
#include "core/cuda/launch.h"

namespace normgrad::cuda {
namespace {

// As cpu::SgdStep: d = g + wd * p (g negated with maximize); buf = first ? d : momentum * buf + (1 -
// dampening) * d; d = nesterov ? d + momentum * buf : buf (with momentum); p -= lr * d. buf is null without
// momentum.
template <typename T>
__global__ void SgdStepKernel(T* p, const T* g, T* buf, int64_t n, T neg_lr, T mom, T keep, T wd, bool use_decay,
                              bool nesterov, bool maximize, bool first_step) {
  for (int64_t i = GlobalThreadIndex(); i < n; i += GridStride()) {
    const T gi = maximize ? -g[i] : g[i];
    T d = use_decay ? gi + wd * p[i] : gi;
    if (buf != nullptr) {
      buf[i] = first_step ? d : buf[i] * mom + keep * d;
      d = nesterov ? d + mom * buf[i] : buf[i];
    }
    p[i] = p[i] + neg_lr * d;
  }
}

// As cpu::AdamStep, with the bias corrections computed on the host; max_v is null without AMSGrad.
template <typename T>
__global__ void AdamStepKernel(T* p, const T* g, T* m, T* v, T* max_v, int64_t n, T b1, T b2, T one_b1, T one_b2,
                               T wd, T shrink, T c2, T e, T neg_step, bool decoupled, bool use_decay, bool maximize) {
  for (int64_t i = GlobalThreadIndex(); i < n; i += GridStride()) {
    T grad = maximize ? -g[i] : g[i];
    if (decoupled) {
      p[i] *= shrink;
    } else if (use_decay) {
      grad = grad + wd * p[i];
    }
    m[i] = m[i] * b1 + one_b1 * grad;
    v[i] = v[i] * b2 + one_b2 * (grad * grad);
    T second = v[i];
    // torch.maximum: NaN when either is NaN.
    if (max_v != nullptr) second = max_v[i] = max_v[i] < v[i] || v[i] != v[i] ? v[i] : max_v[i];
    p[i] = p[i] + neg_step * (m[i] / (Sqrt(second) / c2 + e));
  }
}

}  // namespace

template <typename T>
void SgdStep(T* p, const T* g, T* buf, int64_t n, double lr, double momentum, double dampening, double weight_decay,
             bool nesterov, bool maximize, bool first_step) {
  if (n == 0) return;
  Launch<SgdStepKernel<T>>(GridSize(n), kBlockSize, p, g, momentum != 0 ? buf : nullptr, n, static_cast<T>(-lr),
                           static_cast<T>(momentum), static_cast<T>(1 - dampening), static_cast<T>(weight_decay),
                           weight_decay != 0, nesterov, maximize, first_step);
}

template <typename T>
void AdamStep(T* p, const T* g, T* m, T* v, T* max_v, int64_t n, double lr, double beta1, double beta2, double eps,
              double weight_decay, bool decoupled, bool maximize, int64_t t) {
  if (n == 0) return;
  const double step_size = lr / (1 - std::pow(beta1, static_cast<double>(t)));
  const double correction2_sqrt = std::sqrt(1 - std::pow(beta2, static_cast<double>(t)));
  Launch<AdamStepKernel<T>>(GridSize(n), kBlockSize, p, g, m, v, max_v, n, static_cast<T>(beta1), static_cast<T>(beta2),
                            static_cast<T>(1 - beta1), static_cast<T>(1 - beta2), static_cast<T>(weight_decay),
                            static_cast<T>(1 - lr * weight_decay), static_cast<T>(correction2_sqrt),
                            static_cast<T>(eps), static_cast<T>(-step_size), decoupled, weight_decay != 0, maximize);
}

#define NORMGRAD_INSTANTIATE_OPTIMIZER_STEP(T)                                                                  \
  template void SgdStep<T>(T*, const T*, T*, int64_t, double, double, double, double, bool, bool, bool);      \
  template void AdamStep<T>(T*, const T*, T*, T*, T*, int64_t, double, double, double, double, double, bool,  \
                            bool, int64_t);
NORMGRAD_INSTANTIATE_OPTIMIZER_STEP(float)
NORMGRAD_INSTANTIATE_OPTIMIZER_STEP(double)
#undef NORMGRAD_INSTANTIATE_OPTIMIZER_STEP

}  // namespace normgrad::cuda
