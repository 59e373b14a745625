// The normalization kernels against a naive float64 reference written from the definitions, across the
// loop variants (long channel runs, short runs processed by columns, per-sample blocks), strided
// inputs, thread counts, hard numerics and every argument error. The PyTorch fixtures are checked
// through the differentiable functions in tests/nn/normalization_test.cc.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "core/kernels/copy.h"
#include "core/kernels/elementwise.h"
#include "core/kernels/normalization.h"
#include "core/kernels/reduce.h"
#include "core/kernels/view.h"
#include "core/parallel.h"
#include "core/random.h"
#include "tests/testing/error.h"

namespace normgrad {
namespace {

using kernels::NormBackwardResult;
using kernels::NormForwardResult;
using testing::ExpectError;

// Which statistic and which affine entry element i (row-major) belongs to.
struct Mapping {
  std::function<int64_t(int64_t)> stat, affine;
  int64_t num_stats, num_affine;
};

Mapping BatchNormMapping(const Shape& shape) {
  const int64_t c = shape[1], s = Numel(shape) / (shape[0] * c);
  return {[=](int64_t i) { return (i / s) % c; }, [=](int64_t i) { return (i / s) % c; }, c, c};
}
Mapping InstanceNormMapping(const Shape& shape) {
  const int64_t c = shape[1], s = Numel(shape) / (shape[0] * c);
  return {[=](int64_t i) { return i / s; }, [=](int64_t i) { return (i / s) % c; }, shape[0] * c, c};
}
Mapping GroupNormMapping(const Shape& shape, int64_t groups) {
  const int64_t c = shape[1], s = Numel(shape) / (shape[0] * c);
  return {[=](int64_t i) { return i / (c / groups * s); }, [=](int64_t i) { return (i / s) % c; },
          shape[0] * groups, c};
}
Mapping LayerNormMapping(const Shape& shape, int64_t d) {
  return {[=](int64_t i) { return i / d; }, [=](int64_t i) { return i % d; }, Numel(shape) / d, d};
}

struct Reference {
  std::vector<double> y, mean, invstd, dx, dw, db;
};

// Two-pass statistics, the normalization, and the gradients from their textbook formulas, in double.
// With given mean/var (eval), the statistics are constants.
Reference Naive(const Mapping& m, const std::vector<double>& x, const std::vector<double>& dy,
                const std::vector<double>& w, const std::vector<double>& b, double eps,
                const std::vector<double>* given_mean = nullptr, const std::vector<double>* given_var = nullptr) {
  const int64_t n = x.size();
  std::vector<double> count(m.num_stats), mean(m.num_stats), var(m.num_stats);
  if (given_mean) {
    mean = *given_mean;
    var = *given_var;
  } else {
    for (int64_t i = 0; i < n; ++i) {
      count[m.stat(i)] += 1;
      mean[m.stat(i)] += x[i];
    }
    for (int64_t j = 0; j < m.num_stats; ++j) mean[j] /= count[j];
    for (int64_t i = 0; i < n; ++i) var[m.stat(i)] += (x[i] - mean[m.stat(i)]) * (x[i] - mean[m.stat(i)]);
    for (int64_t j = 0; j < m.num_stats; ++j) var[j] /= count[j];
  }
  Reference r;
  r.mean = mean;
  for (double v : var) r.invstd.push_back(1 / std::sqrt(v + eps));
  auto W = [&](int64_t i) { return w.empty() ? 1.0 : w[m.affine(i)]; };
  std::vector<double> xhat(n), sum_g(m.num_stats), sum_gx(m.num_stats);
  r.dw.assign(m.num_affine, 0);
  r.db.assign(m.num_affine, 0);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t j = m.stat(i);
    xhat[i] = (x[i] - mean[j]) * r.invstd[j];
    r.y.push_back(xhat[i] * W(i) + (b.empty() ? 0.0 : b[m.affine(i)]));
    sum_g[j] += dy[i] * W(i);
    sum_gx[j] += dy[i] * W(i) * xhat[i];
    r.dw[m.affine(i)] += dy[i] * xhat[i];
    r.db[m.affine(i)] += dy[i];
  }
  for (int64_t i = 0; i < n; ++i) {
    const int64_t j = m.stat(i);
    const double g = dy[i] * W(i);
    r.dx.push_back(given_mean ? g * r.invstd[j]
                              : r.invstd[j] * (g - sum_g[j] / count[j] - xhat[i] * sum_gx[j] / count[j]));
  }
  return r;
}

// |actual - expected| <= rtol * (|expected| + 0.1 max|expected|): relative, with a floor for entries near 0
// (a float32 result is accurate to its rounding relative to the largest values it was computed from).
void ExpectClose(const Tensor& actual, const std::vector<double>& expected, double rtol, const char* what) {
  ASSERT_TRUE(actual.defined()) << what;
  const std::vector<double> a = actual.to_vector<double>();
  ASSERT_EQ(a.size(), expected.size()) << what;
  double scale = 0;
  for (double e : expected) scale = std::max(scale, std::abs(e));
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_NEAR(a[i], expected[i], rtol * (std::abs(expected[i]) + 0.1 * scale)) << what << " element " << i;
  }
}

Tensor Random(const Shape& shape, DType dtype, uint64_t seed, double mean = 0, double std = 1) {
  Generator gen(seed);
  return normal(shape, mean, std, {.dtype = dtype}, &gen);
}

struct Inputs {
  Tensor x, dy, w, b;
};

Inputs MakeInputs(const Shape& shape, const Shape& affine, DType dtype, uint64_t seed, double mean = 0.5,
                  double std = 2) {
  return {Random(shape, dtype, seed, mean, std), Random(shape, dtype, seed + 1),
          Random(affine, dtype, seed + 2, 1, 0.5), Random(affine, dtype, seed + 3)};
}

void CheckAgainstNaive(const Mapping& m, const Inputs& in, bool affine, double eps, const NormForwardResult& f,
                       const NormBackwardResult& g, double rtol, const std::vector<double>* mean = nullptr,
                       const std::vector<double>* var = nullptr) {
  const std::vector<double> w = affine ? in.w.to_vector<double>() : std::vector<double>();
  const std::vector<double> b = affine ? in.b.to_vector<double>() : std::vector<double>();
  const Reference r = Naive(m, in.x.to_vector<double>(), in.dy.to_vector<double>(), w, b, eps, mean, var);
  ExpectClose(f.output, r.y, rtol, "output");
  ExpectClose(f.save_mean, r.mean, rtol, "save_mean");
  ExpectClose(f.save_invstd, r.invstd, rtol, "save_invstd");
  ExpectClose(g.grad_input, r.dx, rtol, "grad_input");
  ExpectClose(g.grad_weight, r.dw, rtol, "grad_weight");
  ExpectClose(g.grad_bias, r.db, rtol, "grad_bias");
}

// Shapes covering rank 2 to 5 and each loop variant: long runs (S >= 32), short runs by columns
// (S < 32, including S = 1 with many channels, split in several column blocks), per-sample blocks.
const std::vector<Shape> kShapes = {{4, 3}, {16, 700}, {3, 5, 7}, {2, 4, 40}, {2, 6, 3, 3},
                                    {3, 4, 8, 8}, {2, 4, 2, 3, 5}, {700, 16, 2}};

TEST(NormalizationKernels, BatchNormMatchesNaive) {
  for (DType dtype : {kFloat64, kFloat32}) {
    const double rtol = dtype == kFloat64 ? 1e-11 : 2e-5;
    for (const Shape& shape : kShapes) {
      for (bool affine : {true, false}) {
        SCOPED_TRACE(ShapeToString(shape) + " " + DTypeName(dtype) + (affine ? " affine" : ""));
        const Inputs in = MakeInputs(shape, {shape[1]}, dtype, 7);
        const Tensor w = affine ? in.w : Tensor(), b = affine ? in.b : Tensor();
        const NormForwardResult f = kernels::batch_norm_forward(in.x, {}, {}, w, b, true, 0.1, 1e-5);
        const NormBackwardResult g =
            kernels::batch_norm_backward(in.dy, in.x, w, f.save_mean, f.save_invstd, true);
        CheckAgainstNaive(BatchNormMapping(shape), in, affine, 1e-5, f, g, rtol);

        // Eval with running statistics: the statistics are constants.
        const Tensor rm = Random({shape[1]}, dtype, 11), rv = kernels::abs(Random({shape[1]}, dtype, 12));
        const std::vector<double> mean = rm.to_vector<double>(), var = rv.to_vector<double>();
        const NormForwardResult fe = kernels::batch_norm_forward(in.x, rm, rv, w, b, false, 0.1, 1e-3);
        const NormBackwardResult ge =
            kernels::batch_norm_backward(in.dy, in.x, w, fe.save_mean, fe.save_invstd, false);
        CheckAgainstNaive(BatchNormMapping(shape), in, affine, 1e-3, fe, ge, rtol, &mean, &var);
      }
    }
  }
}

TEST(NormalizationKernels, InstanceGroupLayerNormMatchNaive) {
  for (DType dtype : {kFloat64, kFloat32}) {
    const double rtol = dtype == kFloat64 ? 1e-11 : 2e-5;
    for (const Shape& shape : kShapes) {
      SCOPED_TRACE(ShapeToString(shape) + " " + DTypeName(dtype));
      const int64_t c = shape[1];
      const Inputs in = MakeInputs(shape, {c}, dtype, 21);
      if (Numel(shape) / (shape[0] * c) > 1) {
        const NormForwardResult f = kernels::instance_norm_forward(in.x, {}, {}, in.w, in.b, true, 0.1, 1e-5);
        const NormBackwardResult g =
            kernels::instance_norm_backward(in.dy, in.x, in.w, f.save_mean, f.save_invstd, true);
        CheckAgainstNaive(InstanceNormMapping(shape), in, true, 1e-5, f, g, rtol);
      }
      // One group, and groups of two channels where C is even.
      for (int64_t groups : {int64_t{1}, c % 2 == 0 ? c / 2 : int64_t{1}}) {
        const NormForwardResult f = kernels::group_norm_forward(in.x, groups, in.w, in.b, 1e-5);
        const NormBackwardResult g =
            kernels::group_norm_backward(in.dy, in.x, groups, in.w, f.save_mean, f.save_invstd);
        CheckAgainstNaive(GroupNormMapping(shape, groups), in, true, 1e-5, f, g, rtol);
      }
      // Layer norm over the last one and the last two dims.
      for (size_t nd : {size_t{1}, size_t{2}}) {
        const Shape normalized(shape.end() - nd, shape.end());
        const Inputs ln = MakeInputs(shape, normalized, dtype, 31);
        const NormForwardResult f = kernels::layer_norm_forward(ln.x, normalized, ln.w, ln.b, 1e-5);
        const NormBackwardResult g =
            kernels::layer_norm_backward(ln.dy, ln.x, normalized, ln.w, f.save_mean, f.save_invstd);
        CheckAgainstNaive(LayerNormMapping(shape, Numel(normalized)), ln, true, 1e-5, f, g, rtol);
      }
    }
  }
}

TEST(NormalizationKernels, StridedInputsAndMaskedGradients) {
  // x is a transposed view; the kernels see its logical layout.
  const Tensor base = Random({5, 3, 6}, kFloat64, 41);
  const Tensor x = kernels::transpose(base, 0, 2);  // [6, 3, 5]
  const Tensor contiguous_x = from_vector(x.to_vector<double>(), x.shape());
  const Tensor dy = Random(x.shape(), kFloat64, 42);
  const NormForwardResult a = kernels::batch_norm_forward(x, {}, {}, {}, {}, true, 0.1, 1e-5);
  const NormForwardResult b = kernels::batch_norm_forward(contiguous_x, {}, {}, {}, {}, true, 0.1, 1e-5);
  EXPECT_EQ(a.output.to_vector<double>(), b.output.to_vector<double>());
  const NormBackwardResult g =
      kernels::batch_norm_backward(dy, x, {}, a.save_mean, a.save_invstd, true, {.input = false, .bias = false});
  EXPECT_FALSE(g.grad_input.defined());
  EXPECT_FALSE(g.grad_bias.defined());
  const NormBackwardResult full = kernels::batch_norm_backward(dy, contiguous_x, {}, b.save_mean, b.save_invstd, true);
  EXPECT_EQ(g.grad_weight.to_vector<double>(), full.grad_weight.to_vector<double>());
}

// The residual's gradient is relu's backward of dy, on every path of the backward: runs and columns,
// training and eval, with dx, with only dweight, alone. It overwrites grad_output only when the caller
// allows it, and then the other gradients stay the same; a strided grad_output is never written (its
// contiguous copy is).
TEST(NormalizationKernels, ResidualGradient) {
  uint64_t seed = 43;
  for (const Shape& shape : {Shape{4, 3, 6, 6}, Shape{16, 5, 3, 3}, Shape{32, 6}}) {
    for (bool training : {true, false}) {
      SCOPED_TRACE(ShapeToString(shape) + (training ? " training" : " eval"));
      const int64_t c = shape[1];
      const Tensor x = Random(shape, kFloat32, ++seed), r = Random(shape, kFloat32, ++seed);
      const Tensor rm = Random({c}, kFloat32, ++seed), rv = kernels::add(kernels::abs(Random({c}, kFloat32, ++seed)), 1.0);
      const NormForwardResult f = kernels::batch_norm_forward(x, rm, rv, {}, {}, training, 0.0, 1e-5, true, r);
      const Tensor normalized = kernels::batch_norm_forward(x, rm, rv, {}, {}, training, 0.0, 1e-5).output;
      EXPECT_EQ(f.output.to_vector<float>(), kernels::add_relu(normalized, r).to_vector<float>());
      const Tensor dy = Random(shape, kFloat32, ++seed), dy_before = kernels::clone(dy);
      const std::vector<float> masked = kernels::relu_backward(dy, f.output).to_vector<float>();
      auto backward = [&](const Tensor& grad, kernels::NormGradMask mask, bool reuse) {
        return kernels::batch_norm_backward(grad, x, {}, f.save_mean, f.save_invstd, training, mask, f.output, reuse);
      };
      const NormBackwardResult kept = backward(dy, {.residual = true}, false);
      EXPECT_FALSE(kept.grad_residual.is_same(dy));
      EXPECT_EQ(kept.grad_residual.to_vector<float>(), masked);
      EXPECT_EQ(dy.to_vector<float>(), dy_before.to_vector<float>());
      for (kernels::NormGradMask mask : {kernels::NormGradMask{.input = false, .bias = false, .residual = true},
                                         kernels::NormGradMask{.input = false, .weight = false, .bias = false,
                                                               .residual = true}}) {
        const NormBackwardResult partial = backward(dy, mask, false);
        EXPECT_FALSE(partial.grad_input.defined());
        EXPECT_EQ(partial.grad_residual.to_vector<float>(), masked);
        if (mask.weight) {
          EXPECT_EQ(partial.grad_weight.to_vector<float>(), kept.grad_weight.to_vector<float>());
        }
      }
      const Tensor owned = kernels::clone(dy);
      const NormBackwardResult reused = backward(owned, {.residual = true}, true);
      EXPECT_TRUE(reused.grad_residual.is_same(owned));
      EXPECT_EQ(owned.to_vector<float>(), masked);
      EXPECT_EQ(reused.grad_input.to_vector<float>(), kept.grad_input.to_vector<float>());
      EXPECT_EQ(reused.grad_bias.to_vector<float>(), kept.grad_bias.to_vector<float>());
      // Relu without a residual: a reusable dy also receives the masked gradient, for the same results.
      const NormBackwardResult relu_kept = backward(dy, {}, false);
      EXPECT_EQ(dy.to_vector<float>(), dy_before.to_vector<float>());
      const Tensor relu_owned = kernels::clone(dy);
      const NormBackwardResult relu_reused = backward(relu_owned, {}, true);
      EXPECT_EQ(relu_owned.to_vector<float>(), masked);
      EXPECT_EQ(relu_reused.grad_input.to_vector<float>(), relu_kept.grad_input.to_vector<float>());
      EXPECT_EQ(relu_reused.grad_input.to_vector<float>(), kept.grad_input.to_vector<float>());
      EXPECT_EQ(relu_reused.grad_weight.to_vector<float>(), relu_kept.grad_weight.to_vector<float>());
      const Tensor strided = kernels::transpose(kernels::clone(kernels::transpose(dy, 0, 1)), 0, 1);
      ASSERT_FALSE(strided.is_contiguous());
      EXPECT_EQ(backward(strided, {.residual = true}, true).grad_residual.to_vector<float>(), masked);
      EXPECT_EQ(strided.to_vector<float>(), dy_before.to_vector<float>());
    }
  }
  const Tensor x = Random({4, 3, 5}, kFloat32, 1), r = Random({4, 3, 5}, kFloat32, 2);
  const NormForwardResult f = kernels::batch_norm_forward(x, {}, {}, {}, {}, true, 0.1, 1e-5, true, r);
  ExpectError([&] { kernels::batch_norm_backward(x, x, {}, f.save_mean, f.save_invstd, true, {.residual = true}); },
              "batch_norm_backward: expected relu_output for the residual's gradient (mask.residual)");
  ExpectError([&] { kernels::batch_norm_forward(x, {}, {}, {}, {}, true, 0.1, 1e-5, /*relu=*/false, r); },
              "batch_norm: expected relu with a residual (relu(y + residual))");
}

TEST(NormalizationKernels, SameBitsOnAnyThreadCount) {
  struct Case {
    Shape shape;
    std::function<std::vector<Tensor>(const Tensor&, const Tensor&)> run;
  };
  auto bn = [](const Tensor& x, const Tensor& dy) {
    const NormForwardResult f = kernels::batch_norm_forward(x, {}, {}, {}, {}, true, 0.1, 1e-5);
    const NormBackwardResult g = kernels::batch_norm_backward(dy, x, {}, f.save_mean, f.save_invstd, true);
    return std::vector<Tensor>{f.output, g.grad_input, g.grad_weight, g.grad_bias};
  };
  auto ln = [](const Tensor& x, const Tensor& dy) {
    const Shape d = {x.size(-1)};
    const NormForwardResult f = kernels::layer_norm_forward(x, d, {}, {}, 1e-5);
    const NormBackwardResult g = kernels::layer_norm_backward(dy, x, d, {}, f.save_mean, f.save_invstd);
    return std::vector<Tensor>{f.output, g.grad_input, g.grad_weight, g.grad_bias};
  };
  auto gn = [](const Tensor& x, const Tensor& dy) {
    const NormForwardResult f = kernels::group_norm_forward(x, 4, {}, {}, 1e-5);
    const NormBackwardResult g = kernels::group_norm_backward(dy, x, 4, {}, f.save_mean, f.save_invstd);
    return std::vector<Tensor>{f.output, g.grad_input, g.grad_weight, g.grad_bias};
  };
  const std::vector<Case> cases = {{{64, 8, 33, 33}, bn}, {{512, 1024}, bn}, {{4096, 96}, ln},
                                   {{1024, 96}, ln},       {{16, 8, 40, 40}, gn}, {{512, 64}, gn}};
  const int threads = GetNumThreads();
  for (const Case& c : cases) {
    SCOPED_TRACE(ShapeToString(c.shape));
    const Tensor x = Random(c.shape, kFloat32, 51, 3, 2), dy = Random(c.shape, kFloat32, 52);
    SetNumThreads(1);
    const std::vector<Tensor> one = c.run(x, dy);
    SetNumThreads(3);
    const std::vector<Tensor> three = c.run(x, dy);
    for (size_t i = 0; i < one.size(); ++i) EXPECT_EQ(one[i].to_vector<float>(), three[i].to_vector<float>()) << i;
  }
  SetNumThreads(threads);
}

// Mean 1e4 and standard deviation 0.1 per channel: float32 holds x to ~1e-3, and the float32 kernels
// must normalize those exact values as accurately as float64 does (no cancellation in the statistics
// or in the affine form).
TEST(NormalizationKernels, LargeOffsets) {
  for (const Shape& shape : {Shape{64, 3, 40}, Shape{300, 5}, Shape{4, 2, 3, 3}}) {
    SCOPED_TRACE(ShapeToString(shape));
    const Tensor x32 = Random(shape, kFloat32, 61, 1e4, 0.1);
    const Tensor x64 = from_vector(x32.to_vector<double>(), shape);
    const Tensor dy32 = Random(shape, kFloat32, 62);
    const Tensor dy64 = from_vector(dy32.to_vector<double>(), shape);
    const NormForwardResult f32 = kernels::batch_norm_forward(x32, {}, {}, {}, {}, true, 0.1, 1e-5);
    const NormForwardResult f64 = kernels::batch_norm_forward(x64, {}, {}, {}, {}, true, 0.1, 1e-5);
    ExpectClose(f32.output, f64.output.to_vector<double>(), 1e-5, "output");
    ExpectClose(f32.save_mean, f64.save_mean.to_vector<double>(), 1e-12, "mean");
    ExpectClose(f32.save_invstd, f64.save_invstd.to_vector<double>(), 1e-9, "invstd");
    const NormBackwardResult g32 = kernels::batch_norm_backward(dy32, x32, {}, f32.save_mean, f32.save_invstd, true);
    const NormBackwardResult g64 = kernels::batch_norm_backward(dy64, x64, {}, f64.save_mean, f64.save_invstd, true);
    ExpectClose(g32.grad_input, g64.grad_input.to_vector<double>(), 1e-5, "grad_input");
    ExpectClose(g32.grad_weight, g64.grad_weight.to_vector<double>(), 1e-5, "grad_weight");
    const NormForwardResult l32 = kernels::layer_norm_forward(x32, {shape.back()}, {}, {}, 1e-5);
    const NormForwardResult l64 = kernels::layer_norm_forward(x64, {shape.back()}, {}, {}, 1e-5);
    ExpectClose(l32.output, l64.output.to_vector<double>(), 1e-5, "layer_norm output");
  }
}

// Deviations of 1e20 overflow float32 squares; the statistics still come out right (double fallback).
TEST(NormalizationKernels, HugeValuesInFloat32) {
  for (const Shape& shape : {Shape{16, 3}, Shape{4, 2, 40}, Shape{2, 3, 5000}}) {
    SCOPED_TRACE(ShapeToString(shape));
    const Tensor x32 = Random(shape, kFloat32, 65, 0, 1e20);
    const Tensor x64 = from_vector(x32.to_vector<double>(), shape);
    const NormForwardResult f32 = kernels::batch_norm_forward(x32, {}, {}, {}, {}, true, 0.1, 1e-5);
    const NormForwardResult f64 = kernels::batch_norm_forward(x64, {}, {}, {}, {}, true, 0.1, 1e-5);
    ExpectClose(f32.output, f64.output.to_vector<double>(), 1e-5, "output");
    ExpectClose(f32.save_invstd, f64.save_invstd.to_vector<double>(), 1e-9, "invstd");
  }
}

// As PyTorch's double sums: a NaN in a channel makes its mean and variance NaN (the running variance too,
// so that a check on it notices the batch), and values near float's limit, whose float lane sums overflow,
// are redone in double. Shapes: the column path, one chunk of runs, several chunks.
TEST(NormalizationKernels, NonFiniteAndOverflowingSumsAsInDouble) {
  for (const Shape& shape : {Shape{4, 3}, Shape{2, 3, 8, 8}, Shape{2, 3, 5000}}) {
    SCOPED_TRACE(ShapeToString(shape));
    std::vector<float> v = Random(shape, kFloat32, 81).to_vector<float>();
    v[0] = std::numeric_limits<float>::quiet_NaN();  // channel 0
    const Tensor x = from_vector<float>(v, shape);
    const Tensor running_mean = zeros({3}), running_var = ones({3});
    const NormForwardResult f = kernels::batch_norm_forward(x, running_mean, running_var, {}, {}, true, 0.1, 1e-5);
    EXPECT_TRUE(std::isnan(f.save_mean.at({0})));
    EXPECT_TRUE(std::isnan(f.save_invstd.at({0})));
    EXPECT_TRUE(std::isnan(running_var.at({0})));
    EXPECT_TRUE(std::isfinite(running_var.at({1})) && std::isfinite(f.save_invstd.at({2})));

    const Tensor huge = full(shape, 1e38);
    const NormForwardResult h =
        kernels::batch_norm_forward(huge, {}, {}, {}, from_vector<float>({0.5f, 1, 2}), true, 0.1, 1e-5);
    EXPECT_DOUBLE_EQ(h.save_mean.at({1}), static_cast<double>(1e38f));
    EXPECT_EQ(h.output.to_vector<float>()[0], 0.5f);  // var 0: the output is the bias
  }
}

TEST(NormalizationKernels, ConstantChannelsAndExtremeEps) {
  // A constant channel has variance exactly 0: the output is the bias, the input gradient 0.
  Tensor x = Random({4, 2, 5}, kFloat32, 71);
  const Tensor constant = kernels::select(x, 1, 0);
  kernels::fill_(constant, 3.25);
  const Tensor bias = from_vector<float>({0.5f, -1.f});
  const NormForwardResult f = kernels::batch_norm_forward(x, {}, {}, {}, bias, true, 0.1, 1e-5);
  EXPECT_EQ(f.save_mean.at({0}), 3.25);
  EXPECT_DOUBLE_EQ(f.save_invstd.at({0}), 1 / std::sqrt(1e-5));
  for (int64_t n = 0; n < 4; ++n) {
    for (int64_t s = 0; s < 5; ++s) EXPECT_EQ(f.output.at({n, 0, s}), 0.5);
  }
  // Its input gradient is rstd * (dy - mean(dy)): xhat is 0.
  const Tensor dy = Random({4, 2, 5}, kFloat32, 72);
  const NormBackwardResult g = kernels::batch_norm_backward(dy, x, {}, f.save_mean, f.save_invstd, true);
  const Reference r = Naive(BatchNormMapping(x.shape()), x.to_vector<double>(), dy.to_vector<double>(), {}, {}, 1e-5);
  ExpectClose(g.grad_input, r.dx, 1e-5, "grad_input");
  ExpectClose(g.grad_weight, r.dw, 1e-5, "grad_weight");
  // eps = 0 on a constant channel divides 0 by 0, as PyTorch does.
  EXPECT_TRUE(std::isnan(kernels::batch_norm_forward(x, {}, {}, {}, {}, true, 0.1, 0).output.at({0, 0, 0})));
  // A huge eps shrinks the output to ~0; a tiny one leaves unit variance.
  const Tensor y = Random({8, 3}, kFloat64, 73);
  const NormForwardResult big = kernels::batch_norm_forward(y, {}, {}, {}, {}, true, 0.1, 1e10);
  for (double v : big.output.to_vector<double>()) EXPECT_LT(std::abs(v), 1e-4);
  const NormForwardResult tiny = kernels::batch_norm_forward(y, {}, {}, {}, {}, true, 0.1, 1e-300);
  const Tensor var = kernels::var(tiny.output, {0}, 0);
  for (double v : var.to_vector<double>()) EXPECT_NEAR(v, 1, 1e-12);
}

TEST(NormalizationKernels, SinglePositionPairs) {
  // N = 2 and one position: mean is the midpoint, the outputs +-1 (up to eps).
  const Tensor x = from_vector<double>({1, 10, 3, -10}, {2, 2});
  const NormForwardResult f = kernels::batch_norm_forward(x, {}, {}, {}, {}, true, 0.1, 0);
  EXPECT_EQ(f.output.to_vector<double>(), (std::vector<double>{-1, 1, 1, -1}));
}

TEST(NormalizationKernels, RunningStatistics) {
  const Tensor x = Random({6, 3, 4}, kFloat64, 81, 2, 3);
  Tensor rm = from_vector<double>({0.5, -1, 2}), rv = from_vector<double>({1, 2, 3});
  const uint64_t version = rm.storage().version();
  const NormForwardResult f = kernels::batch_norm_forward(x, rm, rv, {}, {}, true, 0.25, 1e-5);
  EXPECT_GT(rm.storage().version(), version);
  const Tensor mean = kernels::mean(x, {0, 2}), var = kernels::var(x, {0, 2}, 1);
  const std::vector<double> initial_mean = {0.5, -1, 2};
  for (int64_t c = 0; c < 3; ++c) {
    EXPECT_NEAR(rm.at({c}), 0.75 * initial_mean[c] + 0.25 * mean.at({c}), 1e-14);
    EXPECT_NEAR(rv.at({c}), 0.75 * (c + 1) + 0.25 * var.at({c}), 1e-14);
  }
  // Strided running statistics are updated where they lie.
  Tensor storage = zeros({3, 2}, {.dtype = kFloat64});
  const Tensor strided_mean = kernels::select(storage, 1, 0), strided_var = kernels::select(storage, 1, 1);
  kernels::fill_(strided_var, 1);
  kernels::batch_norm_forward(x, strided_mean, strided_var, {}, {}, true, 1.0, 1e-5);
  EXPECT_NEAR(strided_mean.at({1}), mean.at({1}), 1e-14);
  EXPECT_NEAR(strided_var.at({2}), var.at({2}), 1e-14);
  // Instance norm: towards the batch average of the per-instance statistics.
  Tensor im = zeros({3}, {.dtype = kFloat64}), iv = ones({3}, {.dtype = kFloat64});
  kernels::instance_norm_forward(x, im, iv, {}, {}, true, 0.5, 1e-5);
  const Tensor inst_mean = kernels::mean(kernels::mean(x, {2}), {0});
  const Tensor inst_var = kernels::mean(kernels::var(x, {2}, 1), {0});
  for (int64_t c = 0; c < 3; ++c) {
    EXPECT_NEAR(im.at({c}), 0.5 * inst_mean.at({c}), 1e-14);
    EXPECT_NEAR(iv.at({c}), 0.5 + 0.5 * inst_var.at({c}), 1e-14);
  }
}

TEST(NormalizationKernels, ErrorsLeaveRunningStatisticsUntouched) {
  const Tensor x = Random({4, 3, 5}, kFloat32, 91);
  const Tensor rm = zeros({3}), rv = ones({3}), w = ones({3});
  auto bn = [&](const Tensor& input, const Tensor& m, const Tensor& v, const Tensor& weight, const Tensor& bias,
                bool training, double momentum, double eps) {
    return [=] { kernels::batch_norm_forward(input, m, v, weight, bias, training, momentum, eps); };
  };
  ExpectError(bn(zeros({4}), rm, rv, {}, {}, true, 0.1, 1e-5),
              "batch_norm: expected an input with at least 2 dims ([N, C, ...]), got [4]");
  ExpectError(bn(zeros({4, 3}, {.dtype = kInt64}), {}, {}, {}, {}, true, 0.1, 1e-5),
              "batch_norm: expected a floating-point input (float32 or float64), got int64");
  ExpectError(bn(x, rm, rv, ones({4}), {}, true, 0.1, 1e-5), "batch_norm: expected weight of shape [3], got [4]");
  ExpectError(bn(x, rm, rv, {}, zeros({3, 1}), true, 0.1, 1e-5), "batch_norm: expected bias of shape [3], got [3, 1]");
  ExpectError(bn(x, zeros({2}), rv, {}, {}, true, 0.1, 1e-5), "batch_norm: expected running_mean of shape [3], got [2]");
  ExpectError(bn(x, rm, ones({4}), {}, {}, true, 0.1, 1e-5), "batch_norm: expected running_var of shape [3], got [4]");
  ExpectError(bn(x, rm, rv, ones({3}, {.dtype = kFloat64}), {}, true, 0.1, 1e-5),
              "batch_norm: expected weight of dtype float32 (the input's), got float64");
  ExpectError(bn(x, zeros({3}, {.dtype = kFloat64}), rv, {}, {}, true, 0.1, 1e-5),
              "batch_norm: expected running_mean of dtype float32 (the input's), got float64");
  ExpectError(bn(x, rm, {}, {}, {}, true, 0.1, 1e-5),
              "batch_norm: expected running_mean and running_var both given or both absent, got running_mean only");
  ExpectError(bn(Random({1, 3}, kFloat32, 1), rm, rv, {}, {}, true, 0.1, 1e-5),
              "batch_norm: expected more than 1 value per channel when training, got input of shape [1, 3]");
  ExpectError(bn(Random({1, 3, 1, 1}, kFloat32, 1), rm, rv, {}, {}, true, 0.1, 1e-5),
              "batch_norm: expected more than 1 value per channel when training, got input of shape [1, 3, 1, 1]");
  ExpectError(bn(x, {}, {}, w, {}, false, 0.1, 1e-5),
              "batch_norm: expected running_mean and running_var in eval mode (training = false)");
  ExpectError(bn(x, rm, rv, {}, {}, true, std::numeric_limits<double>::quiet_NaN(), 1e-5),
              "batch_norm: expected a finite momentum, got nan");
  ExpectError(bn(x, rm, rv, {}, {}, true, std::numeric_limits<double>::infinity(), 1e-5),
              "batch_norm: expected a finite momentum, got inf");
  ExpectError(bn(x, rm, rv, {}, {}, true, 0.1, -1), "batch_norm: expected eps >= 0, got -1");
  ExpectError(bn(x, rm, rv, {}, {}, true, 0.1, std::numeric_limits<double>::quiet_NaN()),
              "batch_norm: expected eps >= 0, got nan");
  EXPECT_EQ(rm.to_vector<float>(), std::vector<float>(3, 0));
  EXPECT_EQ(rv.to_vector<float>(), std::vector<float>(3, 1));
  EXPECT_EQ(rm.storage().version(), 0u);

  ExpectError([&] { kernels::instance_norm_forward(Random({2, 3, 1}, kFloat32, 1), rm, rv, {}, {}, true, 0.1, 1e-5); },
              "instance_norm: expected more than 1 spatial element when using input stats, got input of shape [2, 3, 1]");
  ExpectError([&] { kernels::instance_norm_forward(x, {}, {}, {}, {}, false, 0.1, 1e-5); },
              "instance_norm: expected running_mean and running_var when use_input_stats is false");
  ExpectError([&] { kernels::instance_norm_forward(x, zeros({4}), ones({4}), {}, {}, true, 0.1, 1e-5); },
              "instance_norm: expected running_mean of shape [3], got [4]");
  ExpectError([&] { kernels::instance_norm_forward(zeros({3}), {}, {}, {}, {}, true, 0.1, 1e-5); },
              "instance_norm: expected an input with at least 2 dims ([N, C, ...]), got [3]");
  ExpectError([&] { kernels::group_norm_forward(Random({2, 6}, kFloat32, 1), 4, {}, {}, 1e-5); },
              "group_norm: expected num_groups > 0 dividing the 6 channels, got 4");
  ExpectError([&] { kernels::group_norm_forward(Random({2, 6}, kFloat32, 1), 0, {}, {}, 1e-5); },
              "group_norm: expected num_groups > 0 dividing the 6 channels, got 0");
  ExpectError([&] { kernels::group_norm_forward(x, 3, ones({4}), {}, 1e-5); },
              "group_norm: expected weight of shape [3], got [4]");
  ExpectError([&] { kernels::group_norm_forward(x, 3, {}, {}, -2); }, "group_norm: expected eps >= 0, got -2");
  ExpectError([&] { kernels::layer_norm_forward(Random({2, 4, 3}, kFloat32, 1), {3, 4}, {}, {}, 1e-5); },
              "layer_norm: expected an input whose trailing dims are [3, 4], got [2, 4, 3]");
  ExpectError([&] { kernels::layer_norm_forward(Random({3}, kFloat32, 1), {2, 3}, {}, {}, 1e-5); },
              "layer_norm: expected an input whose trailing dims are [2, 3], got [3]");
  ExpectError([&] { kernels::layer_norm_forward(x, {}, {}, {}, 1e-5); },
              "layer_norm: expected a non-empty normalized_shape");
  ExpectError([&] { kernels::layer_norm_forward(x, {5}, ones({3}), {}, 1e-5); },
              "layer_norm: expected weight of shape [5], got [3]");
  ExpectError([&] { kernels::layer_norm_forward(x, {5}, {}, {}, -1e-3); }, "layer_norm: expected eps >= 0, got -0.001");
  // Backward argument checks.
  const NormForwardResult f = kernels::batch_norm_forward(x, {}, {}, {}, {}, true, 0.1, 1e-5);
  ExpectError([&] { kernels::batch_norm_backward(zeros({4, 3}), x, {}, f.save_mean, f.save_invstd, true); },
              "batch_norm_backward: expected grad_output of shape [4, 3, 5] (the input's), got [4, 3]");
  ExpectError([&] { kernels::batch_norm_backward(x, x, {}, f.save_invstd, zeros({3}), true); },
              "batch_norm_backward: expected saved statistics of 3 float64 values");
  ExpectError([&] { kernels::batch_norm_backward(zeros({4, 3, 5}, {.dtype = kFloat64}), x, {}, f.save_mean,
                                                 f.save_invstd, true); },
              "batch_norm_backward: expected grad_output of dtype float32 (the input's), got float64");
  ExpectError([&] { kernels::batch_norm_forward(Tensor(), {}, {}, {}, {}, true, 0.1, 1e-5); },
              "batch_norm: expected an input tensor, got an undefined one");
}

}  // namespace
}  // namespace normgrad
