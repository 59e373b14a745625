#ifndef NORMGRAD_CORE_CPU_OPTIMIZER_STEP_H_
#define NORMGRAD_CORE_CPU_OPTIMIZER_STEP_H_

#include <cmath>
#include <cstdint>

namespace normgrad::cpu {

// Parameter updates, one fused pass per parameter. Each follows PyTorch 1.13's single-tensor update
// exactly, operation by operation, so that the same steps give the same numbers (PyTorch 2 takes Adam's
// first moment with lerp, which can round the last bit of a float32 differently).
//   p, g, buf: [n] parameter, gradient, momentum buffer.

// With maximize, every update starts from -g (the parameters climb the objective), as PyTorch's.

// SGD: d = g + wd * p; buf = first ? d : momentum * buf + (1 - dampening) * d;
//      d = nesterov ? d + momentum * buf : buf (when momentum != 0); p -= lr * d.
template <typename T>
void SgdStep(T* p, const T* g, T* buf, int64_t n, double lr, double momentum, double dampening,
             double weight_decay, bool nesterov, bool maximize, bool first_step) {
  const T wd = static_cast<T>(weight_decay), mom = static_cast<T>(momentum);
  const T keep = static_cast<T>(1 - dampening), neg_lr = static_cast<T>(-lr);
  for (int64_t i = 0; i < n; ++i) {
    const T gi = maximize ? -g[i] : g[i];
    T d = weight_decay != 0 ? gi + wd * p[i] : gi;
    if (momentum != 0) {
      buf[i] = first_step ? d : buf[i] * mom + keep * d;
      d = nesterov ? d + mom * buf[i] : buf[i];
    }
    p[i] = p[i] + neg_lr * d;
  }
}

// Adam / AdamW at step t (1-based): with decoupled weight decay p *= 1 - lr * wd first, else g += wd * p;
// m = beta1 * m + (1 - beta1) * g; v = beta2 * v + (1 - beta2) * g^2;
// p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps). With AMSGrad (max_v not null),
// max_v = max(max_v, v) takes v's place in the denominator.
template <typename T>
void AdamStep(T* p, const T* g, T* m, T* v, T* max_v, int64_t n, double lr, double beta1, double beta2, double eps,
              double weight_decay, bool decoupled, bool maximize, int64_t t) {
  const double step_size = lr / (1 - std::pow(beta1, static_cast<double>(t)));
  const double correction2_sqrt = std::sqrt(1 - std::pow(beta2, static_cast<double>(t)));
  const T b1 = static_cast<T>(beta1), b2 = static_cast<T>(beta2);
  const T one_b1 = static_cast<T>(1 - beta1), one_b2 = static_cast<T>(1 - beta2);
  const T wd = static_cast<T>(weight_decay), shrink = static_cast<T>(1 - lr * weight_decay);
  const T c2 = static_cast<T>(correction2_sqrt), e = static_cast<T>(eps), neg_step = static_cast<T>(-step_size);
  for (int64_t i = 0; i < n; ++i) {
    T grad = maximize ? -g[i] : g[i];
    if (decoupled) {
      p[i] *= shrink;
    } else if (weight_decay != 0) {
      grad = grad + wd * p[i];
    }
    m[i] = m[i] * b1 + one_b1 * grad;
    v[i] = v[i] * b2 + one_b2 * (grad * grad);
    T second = v[i];
    // torch.maximum: NaN when either is NaN.
    if (max_v != nullptr) second = max_v[i] = max_v[i] < v[i] || v[i] != v[i] ? v[i] : max_v[i];
    p[i] = p[i] + neg_step * (m[i] / (std::sqrt(second) / c2 + e));
  }
}

}  // namespace normgrad::cpu

#endif  // NORMGRAD_CORE_CPU_OPTIMIZER_STEP_H_
