// CPU/CUDA parity of softmax, log-softmax and the classification losses (core/kernels/softmax.h,
// core/kernels/loss.h): over inner and outer dims, rows longer than a warp, label smoothing, -inf and
// NaN, and the accuracy count.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "core/kernels/copy.h"
#include "core/kernels/elementwise.h"
#include "core/kernels/loss.h"
#include "core/kernels/softmax.h"
#include "tests/cuda/cuda_test.h"

namespace normgrad {
namespace {

using testing::CudaTest;
using testing::ExpectClose;
using testing::RandomCpu;
using testing::ToCuda;

class CudaSoftmax : public CudaTest {};

double Rtol(DType dtype) { return dtype == kFloat32 ? 1e-6 : 1e-14; }

TEST_F(CudaSoftmax, SoftmaxAndLogSoftmaxMatchTheCpu) {
  struct Case {
    Shape shape;
    int64_t dim;
  };
  const std::vector<Case> cases = {{{7, 10}, 1}, {{3, 100}, -1}, {{2, 5, 3, 4}, 1}, {{6}, 0}, {{4, 33}, 0}};
  for (DType dtype : {kFloat32, kFloat64}) {
    for (const Case& c : cases) {
      const std::string what = ShapeToString(c.shape) + " dim " + std::to_string(c.dim) + " " + DTypeName(dtype);
      const Tensor x = RandomCpu(c.shape, 1, dtype, 0, 4), g = RandomCpu(c.shape, 2, dtype);
      const Tensor ls = kernels::log_softmax(x, c.dim), sm = kernels::softmax(x, c.dim);
      ExpectClose(kernels::log_softmax(ToCuda(x), c.dim), ls, Rtol(dtype), Rtol(dtype), "log_softmax " + what);
      ExpectClose(kernels::softmax(ToCuda(x), c.dim), sm, Rtol(dtype), Rtol(dtype), "softmax " + what);
      ExpectClose(kernels::log_softmax_backward(ToCuda(g), ToCuda(ls), c.dim), kernels::log_softmax_backward(g, ls, c.dim),
                  Rtol(dtype), Rtol(dtype), "log_softmax_backward " + what);
      ExpectClose(kernels::softmax_backward(ToCuda(g), ToCuda(sm), c.dim), kernels::softmax_backward(g, sm, c.dim),
                  Rtol(dtype), Rtol(dtype), "softmax_backward " + what);
    }
  }
  const float inf = std::numeric_limits<float>::infinity();
  const Tensor special = from_vector<float>({-inf, -inf, 0, 1, NAN, 2, -inf, 5, 3}, {3, 3});
  ExpectClose(kernels::log_softmax(ToCuda(special), 1), kernels::log_softmax(special, 1), 1e-6, 1e-6, "-inf and NaN");
}

TEST_F(CudaSoftmax, LossesMatchTheCpu) {
  for (DType dtype : {kFloat32, kFloat64}) {
    for (int64_t classes : {10, 100}) {
      const int64_t rows = 37;
      const Tensor logits = RandomCpu({rows, classes}, 3, dtype, 0, 3);
      // Labels in [0, classes): |N(0, 1)| * classes / 4, clamped.
      const Tensor labels = kernels::to_dtype(
          kernels::clamp(kernels::mul(kernels::abs(RandomCpu({rows}, 4, kFloat64)), classes / 4.0), 0, classes - 1),
          kInt64);
      // The losses' targets: two samples that count for nothing.
      const Tensor target = kernels::clone(labels);
      for (int64_t i : {3, 17}) target.data<int64_t>()[i] = kernels::kIgnoreIndex;
      const std::string what = std::to_string(classes) + " classes " + DTypeName(dtype);
      // Without class weights, and with weights of both signs (the kernels take them as they come).
      const Tensor class_weight = RandomCpu({classes}, 6, dtype, 0.5, 1);
      for (const Tensor& weight : {Tensor(), class_weight}) {
        const Tensor device_weight = weight.defined() ? ToCuda(weight) : Tensor();
        const std::string case_name = what + (weight.defined() ? " weighted" : "");
        for (double smoothing : {0.0, 0.1}) {
          const int64_t ignore = kernels::kIgnoreIndex;
          ExpectClose(kernels::cross_entropy(ToCuda(logits), ToCuda(target), smoothing, ignore, device_weight),
                      kernels::cross_entropy(logits, target, smoothing, ignore, weight), Rtol(dtype), Rtol(dtype),
                      "cross_entropy " + case_name);
          const Tensor per_row = RandomCpu({rows}, 5, dtype);
          ExpectClose(kernels::cross_entropy_backward(ToCuda(per_row), ToCuda(logits), ToCuda(target), smoothing, 0.5,
                                                      ignore, device_weight),
                      kernels::cross_entropy_backward(per_row, logits, target, smoothing, 0.5, ignore, weight),
                      Rtol(dtype), Rtol(dtype), "cross_entropy_backward per row " + case_name);
          const Tensor mean_grad = full({}, 1.0 / rows, {.dtype = dtype});
          ExpectClose(kernels::cross_entropy_backward(ToCuda(mean_grad), ToCuda(logits), ToCuda(target), smoothing, 1,
                                                      ignore, device_weight),
                      kernels::cross_entropy_backward(mean_grad, logits, target, smoothing, 1, ignore, weight),
                      Rtol(dtype), Rtol(dtype), "cross_entropy_backward broadcast " + case_name);
        }
        const Tensor log_probs = kernels::log_softmax(logits, 1);
        ExpectClose(kernels::nll_loss(ToCuda(log_probs), ToCuda(target), kernels::kIgnoreIndex, device_weight),
                    kernels::nll_loss(log_probs, target, kernels::kIgnoreIndex, weight), 0, 0, "nll_loss " + case_name);
      }
      for (int64_t k : {1, 5}) {
        EXPECT_EQ(kernels::count_correct(ToCuda(logits), ToCuda(labels), k), kernels::count_correct(logits, labels, k))
            << "count_correct k=" << k << " " << what;
      }
      EXPECT_EQ(kernels::one_hot(ToCuda(target), classes, dtype, kernels::kIgnoreIndex).device(), testing::kCuda);
      ExpectClose(kernels::one_hot(ToCuda(target), classes, dtype, kernels::kIgnoreIndex),
                  kernels::one_hot(target, classes, dtype, kernels::kIgnoreIndex), 0, 0, "one_hot " + what);
    }
  }
  // Ties and NaN in the accuracy count.
  const Tensor tied = from_vector<float>({1, 1, 0, NAN, 2, NAN, 3, 3, 3}, {3, 3});
  const Tensor labels = from_vector<int64_t>({1, 2, 0});
  EXPECT_EQ(kernels::count_correct(ToCuda(tied), ToCuda(labels)), kernels::count_correct(tied, labels));
}

TEST_F(CudaSoftmax, BadLabelsAreReportedBeforeAnyWork) {
  testing::ExpectError(
      [] { kernels::cross_entropy(ToCuda(zeros({2, 3})), ToCuda(from_vector<int64_t>({0, 3})), 0); },
      "cross_entropy: expected target values in [0, 3) or ignore_index (-100), got 3 at index 1");
  testing::ExpectError([] { kernels::cross_entropy(ToCuda(zeros({2, 3})), from_vector<int64_t>({0, 1}), 0); },
                           "cross_entropy: expected logits and target on the same device, got cuda:0 and cpu");
}

}  // namespace
}  // namespace normgrad
