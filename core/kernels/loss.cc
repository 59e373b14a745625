#include "core/kernels/loss.h"

#include <vector>

#include "absl/strings/str_cat.h"

#include "core/cpu/softmax.h"
#include "core/cuda/device.h"
#include "core/cuda/softmax.h"
#include "core/kernels/copy.h"
#include "core/kernels/device_copy.h"
#include "core/kernels/elementwise.h"

namespace normgrad::kernels {
namespace {

// The losses' device switch: core/cpu/softmax.h or its twin core/cuda/softmax.h (the function pointer
// types check that the signatures agree).
template <typename T>
struct Backend {
  decltype(&cpu::CrossEntropyForward<T>) cross_entropy_forward;
  decltype(&cpu::CrossEntropyBackward<T>) cross_entropy_backward;
  decltype(&cpu::NllLossForward<T>) nll_loss_forward;
  decltype(&cpu::CountCorrect<T>) count_correct;
};

template <typename T>
const Backend<T>& On(Device device) {
  static constexpr Backend<T> kCpu{cpu::CrossEntropyForward<T>, cpu::CrossEntropyBackward<T>, cpu::NllLossForward<T>,
                                   cpu::CountCorrect<T>};
  static constexpr Backend<T> kCuda{cuda::CrossEntropyForward<T>, cuda::CrossEntropyBackward<T>,
                                    cuda::NllLossForward<T>, cuda::CountCorrect<T>};
  switch (device.type) {
    case Device::Type::kCPU: return kCpu;
    case Device::Type::kCUDA:
      cuda::MakeCurrent(device.index);
      return kCuda;
  }
  __builtin_unreachable();
}

// An optional per-class weight as the kernels read it: contiguous, or nullptr when undefined.
Tensor ContiguousOrUndefined(const Tensor& weight) { return weight.defined() ? contiguous(weight) : Tensor(); }
template <typename T>
const T* DataOrNull(const Tensor& weight) {
  return weight.defined() ? weight.data_ptr<T>() : nullptr;
}

void CheckSmoothing(double label_smoothing) {
  NG_CHECK(label_smoothing >= 0 && label_smoothing <= 1, "cross_entropy: expected label_smoothing in [0, 1], got ",
           label_smoothing);
}

}  // namespace

TargetTotals CheckClassTarget(const char* op, const char* input_name, const Tensor& input, const Tensor& target,
                              std::optional<int64_t> ignore_index, const Tensor& weight) {
  NG_CHECK(input.dim() == 2, op, ": expected ", input_name, " of 2 dims [N, C], got ", ShapeToString(input.shape()));
  NG_CHECK(IsFloating(input.dtype()), op, ": expected ", input_name, " of a floating-point dtype, got ", input.dtype());
  NG_CHECK(input.size(1) >= 1, op, ": expected at least one class, got ", input_name, " of shape ",
           ShapeToString(input.shape()));
  NG_CHECK(target.dtype() == kInt64, op, ": expected target of dtype int64 (class indices), got ", target.dtype());
  NG_CHECK(target.shape() == Shape{input.size(0)}, op, ": expected target of shape [", input.size(0), "], got ",
           ShapeToString(target.shape()));
  NG_CHECK(target.device() == input.device(), op, ": expected ", input_name, " and target on the same device, got ",
           input.device(), " and ", target.device());
  // The class weights in double on the host (C values), for the total below.
  std::vector<double> w;
  if (weight.defined()) {
    NG_CHECK(weight.shape() == Shape{input.size(1)}, op, ": expected weight of shape [", input.size(1),
             "] (one per class), got ", ShapeToString(weight.shape()));
    NG_CHECK(weight.dtype() == input.dtype(), op, ": expected weight of dtype ", input.dtype(), " (the ", input_name,
             "'), got ", weight.dtype());
    NG_CHECK(weight.device() == input.device(), op, ": expected ", input_name, " and weight on the same device, got ",
             input.device(), " and ", weight.device());
    const Tensor w64 = contiguous(to_dtype(to(weight, kCPU), kFloat64));
    w.assign(w64.data<double>(), w64.data<double>() + w64.numel());
  }
  // Read on the host (a copy for a device target), so that a bad label is reported before anything runs.
  const Tensor t = contiguous(to(target, kCPU));
  const int64_t* v = t.data<int64_t>();
  TargetTotals totals;
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (ignore_index && v[i] == *ignore_index) continue;
    NG_CHECK(v[i] >= 0 && v[i] < input.size(1), op, ": expected target values in [0, ", input.size(1), ")",
             ignore_index ? absl::StrCat(" or ignore_index (", *ignore_index, ")") : "", ", got ", v[i], " at index ", i);
    ++totals.counted;
    totals.weight += w.empty() ? 1.0 : w[v[i]];
  }
  return totals;
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, double label_smoothing, int64_t ignore_index,
                     const Tensor& weight, TargetTotals* totals) {
  const TargetTotals checked = CheckClassTarget("cross_entropy", "logits", logits, target, ignore_index, weight);
  if (totals != nullptr) *totals = checked;
  CheckSmoothing(label_smoothing);
  Tensor loss = empty({logits.size(0)}, {.dtype = logits.dtype(), .device = logits.device()});
  const Tensor x = contiguous(logits), t = contiguous(target), w = ContiguousOrUndefined(weight);
  VisitFloatDType(logits.dtype(), "cross_entropy", [&]<typename T>() {
    On<T>(logits.device())
        .cross_entropy_forward(logits.size(0), logits.size(1), x.data_ptr<T>(), t.data_ptr<int64_t>(), ignore_index,
                               DataOrNull<T>(w), label_smoothing, loss.data_ptr<T>());
  });
  return loss;
}

Tensor cross_entropy_backward(const Tensor& grad_loss, const Tensor& logits, const Tensor& target,
                              double label_smoothing, double scale, int64_t ignore_index, const Tensor& weight) {
  CheckClassTarget("cross_entropy_backward", "logits", logits, target, ignore_index, weight);
  CheckSmoothing(label_smoothing);
  const bool per_row = grad_loss.shape() == Shape{logits.size(0)};
  NG_CHECK(per_row || grad_loss.numel() == 1, "cross_entropy_backward: expected grad_loss of shape [", logits.size(0),
           "] or one element, got ", ShapeToString(grad_loss.shape()));
  NG_CHECK(grad_loss.dtype() == logits.dtype(), "cross_entropy_backward: expected grad_loss of dtype ", logits.dtype(),
           ", got ", grad_loss.dtype());
  NG_CHECK(grad_loss.device() == logits.device(),
           "cross_entropy_backward: expected grad_loss and logits on the same device, got ", grad_loss.device(),
           " and ", logits.device());
  Tensor grad = empty(logits.shape(), {.dtype = logits.dtype(), .device = logits.device()});
  const Tensor x = contiguous(logits), t = contiguous(target), g = contiguous(grad_loss),
               w = ContiguousOrUndefined(weight);
  VisitFloatDType(logits.dtype(), "cross_entropy_backward", [&]<typename T>() {
    On<T>(logits.device())
        .cross_entropy_backward(logits.size(0), logits.size(1), x.data_ptr<T>(), t.data_ptr<int64_t>(), ignore_index,
                                DataOrNull<T>(w), label_smoothing, g.data_ptr<T>(), per_row ? 1 : 0, scale, grad.data_ptr<T>());
  });
  return grad;
}

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, int64_t ignore_index, const Tensor& weight,
                TargetTotals* totals) {
  const TargetTotals checked = CheckClassTarget("nll_loss", "log_probs", log_probs, target, ignore_index, weight);
  if (totals != nullptr) *totals = checked;
  Tensor loss = empty({log_probs.size(0)}, {.dtype = log_probs.dtype(), .device = log_probs.device()});
  const Tensor x = contiguous(log_probs), t = contiguous(target), w = ContiguousOrUndefined(weight);
  VisitFloatDType(log_probs.dtype(), "nll_loss", [&]<typename T>() {
    On<T>(log_probs.device())
        .nll_loss_forward(log_probs.size(0), log_probs.size(1), x.data_ptr<T>(), t.data_ptr<int64_t>(), ignore_index,
                          DataOrNull<T>(w), loss.data_ptr<T>());
  });
  return loss;
}

Tensor one_hot(const Tensor& target, int64_t classes, DType dtype, std::optional<int64_t> ignore_index) {
  NG_CHECK(target.dim() == 1 && target.dtype() == kInt64, "one_hot: expected an int64 target of 1 dim, got ",
           target.dtype(), " ", ShapeToString(target.shape()));
  // Built on the host, then moved to the target's device.
  Tensor out = zeros({target.size(0), classes}, {.dtype = dtype});
  const Tensor t = contiguous(to(target, kCPU));
  const int64_t* v = t.data<int64_t>();
  VisitDType(dtype, [&]<typename T>() {
    T* o = out.data<T>();
    for (int64_t i = 0; i < t.numel(); ++i) {
      if (ignore_index && v[i] == *ignore_index) continue;
      NG_CHECK(v[i] >= 0 && v[i] < classes, "one_hot: expected target values in [0, ", classes, "), got ", v[i],
               " at index ", i);
      o[i * classes + v[i]] = T(1);
    }
  });
  return to(out, target.device());
}

int64_t count_correct(const Tensor& logits, const Tensor& target, int64_t k) {
  CheckClassTarget("count_correct", "logits", logits, target);
  NG_CHECK(k >= 1, "count_correct: expected k >= 1, got ", k);
  const Tensor x = contiguous(logits), t = contiguous(target);
  return VisitFloatDType(logits.dtype(), "count_correct", [&]<typename T>() {
    return On<T>(logits.device())
        .count_correct(logits.size(0), logits.size(1), x.data_ptr<T>(), t.data_ptr<int64_t>(), k);
  });
}

}  // namespace normgrad::kernels
