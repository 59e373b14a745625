// CUDA batch norm (core/cuda/batch_norm.h) against a float64 reference written here with plain loops:
// forward in training (batch statistics, running statistics updated on the device) and eval, backward in
// both, over shapes whose channels span many blocks (C = 16 with large N * S), odd sizes, [N, C] inputs,
// offset data, float32 and float64.

#include "core/cuda/batch_norm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/cuda/device.h"
#include "core/kernels/elementwise.h"
#include "core/kernels/normalization.h"
#include "core/kernels/view.h"
#include "tests/cuda/cuda_test.h"

namespace normgrad {
namespace {

using testing::CudaTest;
using testing::ExpectClose;
using testing::HostDoubles;
using testing::RandomCpu;
using testing::ToCuda;

struct Reference {
  std::vector<double> y, mean, var, invstd, running_mean, running_var;
  std::vector<double> dx, dweight, dbias;
};

// Everything in float64 with two passes, from the (already rounded) inputs.
Reference ReferenceBatchNorm(const cuda::BatchNormShape& sh, const std::vector<double>& x,
                             const std::vector<double>& dy, const std::vector<double>& w,
                             const std::vector<double>& b, const std::vector<double>& rm,
                             const std::vector<double>& rv, bool training, double momentum, double eps) {
  const int64_t count = sh.n * sh.s;
  auto at = [&](int64_t n, int64_t c, int64_t s) { return (n * sh.c + c) * sh.s + s; };
  Reference r;
  r.y.resize(x.size());
  r.dx.resize(x.size());
  r.running_mean = rm;
  r.running_var = rv;
  for (int64_t c = 0; c < sh.c; ++c) {
    double mean = 0, var = 0;
    if (training) {
      for (int64_t n = 0; n < sh.n; ++n) {
        for (int64_t s = 0; s < sh.s; ++s) mean += x[at(n, c, s)];
      }
      mean /= count;
      for (int64_t n = 0; n < sh.n; ++n) {
        for (int64_t s = 0; s < sh.s; ++s) var += (x[at(n, c, s)] - mean) * (x[at(n, c, s)] - mean);
      }
      r.running_mean[c] = momentum * mean + (1 - momentum) * rm[c];
      r.running_var[c] = momentum * var / (count - 1) + (1 - momentum) * rv[c];
      var /= count;
    } else {
      mean = rm[c];
      var = rv[c];
    }
    const double invstd = 1 / std::sqrt(var + eps);
    r.mean.push_back(mean);
    r.var.push_back(var);
    r.invstd.push_back(invstd);
    double sum_dy = 0, sum_dy_xhat = 0;
    for (int64_t n = 0; n < sh.n; ++n) {
      for (int64_t s = 0; s < sh.s; ++s) {
        const int64_t i = at(n, c, s);
        const double xhat = (x[i] - mean) * invstd;
        r.y[i] = xhat * w[c] + b[c];
        sum_dy += dy[i];
        sum_dy_xhat += dy[i] * xhat;
      }
    }
    r.dweight.push_back(sum_dy_xhat);
    r.dbias.push_back(sum_dy);
    for (int64_t n = 0; n < sh.n; ++n) {
      for (int64_t s = 0; s < sh.s; ++s) {
        const int64_t i = at(n, c, s);
        const double xhat = (x[i] - mean) * invstd;
        r.dx[i] = training ? w[c] * invstd * (dy[i] - sum_dy / count - xhat * sum_dy_xhat / count)
                           : dy[i] * w[c] * invstd;
      }
    }
  }
  return r;
}

struct Case {
  cuda::BatchNormShape shape;
  DType dtype;
  double mean = 0, std = 1;  // of the input
  bool affine = true;
  bool running = true;
};

std::string Name(const Case& c) {
  return absl::StrCat("[", c.shape.n, ", ", c.shape.c, ", ", c.shape.s, "] ", DTypeName(c.dtype),
                      c.affine ? "" : " no affine", c.running ? "" : " no running");
}

const std::vector<Case>& Cases() {
  static const std::vector<Case> cases = {
      {{64, 16, 33 * 33}, kFloat32},                // 16 channels, each spread over many blocks
      {{5, 3, 7}, kFloat32},                        // odd and small: one partial block per channel
      {{40000, 16, 1}, kFloat32},                   // [N, C]: S = 1, many blocks per channel
      {{3, 5, 300}, kFloat32, 0, 1, false},         // rows longer than a block, no weight or bias
      {{6, 7, 9}, kFloat32, 0, 1, true, false},     // without running statistics
      {{16, 16, 32 * 32}, kFloat32, 1e4, 0.1},      // large mean, small spread
      {{7, 6, 50}, kFloat64, 3, 2},
  };
  return cases;
}

// Tolerances: statistics and outputs to a few float32 roundings; sums over many elements to more.
double Rtol(DType dtype) { return dtype == kFloat32 ? 2e-5 : 1e-11; }

class CudaBatchNorm : public CudaTest {};

TEST_F(CudaBatchNorm, SpreadsFewChannelsOverTheDevice) {
  // At 16 channels, one block per channel would use 16 of the emulated H100's 132 multiprocessors.
  EXPECT_GE(cuda::BatchNormBlocksPerChannel({64, 16, 32 * 32}) * 16, 132 * 4);
  EXPECT_EQ(cuda::BatchNormBlocksPerChannel({5, 3, 7}), 1);
  EXPECT_GT(cuda::BatchNormBlocksPerChannel({64, 16, 33 * 33}), 1);
  EXPECT_GT(cuda::BatchNormBlocksPerChannel({40000, 16, 1}), 1);
}

TEST_F(CudaBatchNorm, TrainingAndEvalMatchTheFloat64Reference) {
  for (const Case& k : Cases()) {
    const cuda::BatchNormShape sh = k.shape;
    const Shape xshape = {sh.n, sh.c, sh.s};
    const Tensor x = RandomCpu(xshape, 1, k.dtype, k.mean, k.std);
    const Tensor dy = RandomCpu(xshape, 2, k.dtype);
    const Tensor w = k.affine ? RandomCpu({sh.c}, 3, k.dtype, 1, 0.5) : ones({sh.c}, {.dtype = k.dtype});
    const Tensor b = k.affine ? RandomCpu({sh.c}, 4, k.dtype) : zeros({sh.c}, {.dtype = k.dtype});
    const Tensor rm = RandomCpu({sh.c}, 5, k.dtype), rv = kernels::add(kernels::abs(RandomCpu({sh.c}, 6, k.dtype)), 0.5);
    const double momentum = 0.1, eps = 1e-5;
    const double tol = Rtol(k.dtype);
    for (bool training : {true, false}) {
      if (!training && !k.running) continue;
      const std::string what = Name(k) + (training ? " training" : " eval");
      const Reference ref =
          ReferenceBatchNorm(sh, x.to_vector<double>(), dy.to_vector<double>(), w.to_vector<double>(),
                             b.to_vector<double>(), rm.to_vector<double>(), rv.to_vector<double>(), training,
                             momentum, eps);
      const Tensor xd = ToCuda(x), dyd = ToCuda(dy), wd = ToCuda(w), bd = ToCuda(b);
      const Tensor rmd = ToCuda(rm), rvd = ToCuda(rv);
      const Tensor y = empty(xshape, {.dtype = k.dtype, .device = xd.device()});
      const Tensor mean = empty({sh.c}, {.dtype = kFloat64, .device = xd.device()});
      const Tensor invstd = empty({sh.c}, {.dtype = kFloat64, .device = xd.device()});
      const void* weight = k.affine ? wd.data_ptr() : nullptr;
      const void* bias = k.affine ? bd.data_ptr() : nullptr;
      if (training) {
        cuda::BatchNormForwardTraining(k.dtype, sh, xd.data_ptr(), weight, bias, k.running ? rmd.data_ptr() : nullptr,
                                       k.running ? rvd.data_ptr() : nullptr, momentum, eps, y.data_ptr(),
                                       static_cast<double*>(mean.data_ptr()), static_cast<double*>(invstd.data_ptr()));
      } else {
        cuda::BatchNormForwardEval(k.dtype, sh, xd.data_ptr(), weight, bias, rmd.data_ptr(), rvd.data_ptr(), eps,
                                   y.data_ptr(), static_cast<double*>(mean.data_ptr()),
                                   static_cast<double*>(invstd.data_ptr()));
      }
      // The mean to float32 accuracy of the data, relative to its spread.
      ExpectClose(mean, from_vector(ref.mean), tol, tol * k.std, what + " mean");
      ExpectClose(invstd, from_vector(ref.invstd), 10 * tol, 0, what + " invstd");
      ExpectClose(kernels::to_dtype(y, kFloat64), from_vector(ref.y, xshape), tol, tol, what + " y");
      const bool updated = training && k.running;
      ExpectClose(kernels::to_dtype(rmd, kFloat64), kernels::to_dtype(from_vector(updated ? ref.running_mean : rm.to_vector<double>()), kFloat64),
                  tol, tol * k.std, what + " running_mean");
      ExpectClose(kernels::to_dtype(rvd, kFloat64), from_vector(updated ? ref.running_var : rv.to_vector<double>()),
                  10 * tol, 0, what + " running_var");

      const Tensor dx = empty(xshape, {.dtype = k.dtype, .device = xd.device()});
      const Tensor dw = empty({sh.c}, {.dtype = k.dtype, .device = xd.device()});
      const Tensor db = empty({sh.c}, {.dtype = k.dtype, .device = xd.device()});
      cuda::BatchNormBackward(k.dtype, sh, xd.data_ptr(), dyd.data_ptr(), weight,
                              static_cast<const double*>(mean.data_ptr()), static_cast<const double*>(invstd.data_ptr()),
                              training, dx.data_ptr(), dw.data_ptr(), db.data_ptr());
      // Sums of N * S terms of either sign: absolute tolerance scaled by sqrt(count).
      const double sum_atol = tol * std::sqrt(static_cast<double>(sh.n * sh.s)) * 10;
      ExpectClose(kernels::to_dtype(dx, kFloat64), from_vector(ref.dx, xshape), 10 * tol, 10 * tol, what + " dx");
      ExpectClose(kernels::to_dtype(dw, kFloat64), from_vector(ref.dweight), tol, sum_atol, what + " dweight");
      ExpectClose(kernels::to_dtype(db, kFloat64), from_vector(ref.dbias), tol, sum_atol, what + " dbias");
    }
  }
}

TEST_F(CudaBatchNorm, BackwardComputesOnlyWhatIsAsked) {
  const cuda::BatchNormShape sh{4, 3, 10};
  const Tensor x = ToCuda(RandomCpu({4, 3, 10}, 7)), dy = ToCuda(RandomCpu({4, 3, 10}, 8));
  const Tensor mean = ToCuda(from_vector<double>({0.1, -0.2, 0.3})), invstd = ToCuda(from_vector<double>({1.5, 0.5, 2}));
  const Tensor dx = ToCuda(zeros({4, 3, 10})), dx_only = ToCuda(zeros({4, 3, 10}));
  const Tensor dw = ToCuda(zeros({3})), db = ToCuda(zeros({3}));
  cuda::BatchNormBackward(kFloat32, sh, x.data_ptr(), dy.data_ptr(), nullptr, static_cast<const double*>(mean.data_ptr()),
                          static_cast<const double*>(invstd.data_ptr()), false, dx.data_ptr(), dw.data_ptr(),
                          db.data_ptr());
  cuda::BatchNormBackward(kFloat32, sh, x.data_ptr(), dy.data_ptr(), nullptr, static_cast<const double*>(mean.data_ptr()),
                          static_cast<const double*>(invstd.data_ptr()), false, dx_only.data_ptr(), nullptr, nullptr);
  ExpectClose(dx_only, dx, 0, 0, "eval dx without the weight gradients");
  // Eval: dx = dy * invstd (no weight).
  const Tensor expected = kernels::mul(dy, ToCuda(from_vector<float>({1.5f, 0.5f, 2.0f}, {1, 3, 1})));
  ExpectClose(dx, expected, 1e-6, 0, "eval dx");
}

// kernels::batch_norm_forward / _backward on CUDA tensors against the same calls on the CPU.
TEST_F(CudaBatchNorm, TensorKernelsMatchTheCpu) {
  for (const Shape& shape : std::vector<Shape>{{32, 16, 17, 19}, {9, 5}, {3, 4, 2, 5, 6}}) {
    const int64_t c = shape[1];
    const Tensor x = RandomCpu(shape, 11, kFloat32, 2, 3), dy = RandomCpu(shape, 12);
    const Tensor w = RandomCpu({c}, 13, kFloat32, 1, 0.2), b = RandomCpu({c}, 14);
    // Running statistics as strided views (every other element of a [2c] buffer) on both devices.
    const Tensor stats = kernels::add(kernels::abs(RandomCpu({2 * c}, 15)), 0.5);
    const Tensor rm = kernels::slice(kernels::clone(stats), 0, 0, 2 * c, 2), rv = kernels::slice(kernels::clone(stats), 0, 1, 2 * c, 2);
    const Tensor rmd = kernels::slice(ToCuda(stats), 0, 0, 2 * c, 2), rvd = kernels::slice(ToCuda(stats), 0, 1, 2 * c, 2);
    for (bool training : {true, false}) {
      const std::string what = ShapeToString(shape) + (training ? " training" : " eval");
      const kernels::NormForwardResult cpu = kernels::batch_norm_forward(x, rm, rv, w, b, training, 0.1, 1e-5);
      const kernels::NormForwardResult dev =
          kernels::batch_norm_forward(ToCuda(x), rmd, rvd, ToCuda(w), ToCuda(b), training, 0.1, 1e-5);
      ExpectClose(dev.output, cpu.output, 1e-5, 1e-5, what + " output");
      ExpectClose(dev.save_mean, cpu.save_mean, 1e-6, 1e-6, what + " save_mean");
      ExpectClose(dev.save_invstd, cpu.save_invstd, 1e-5, 0, what + " save_invstd");
      ExpectClose(rmd, rm, 1e-6, 1e-6, what + " running_mean");
      ExpectClose(rvd, rv, 1e-5, 0, what + " running_var");
      const kernels::NormBackwardResult gc =
          kernels::batch_norm_backward(dy, x, w, cpu.save_mean, cpu.save_invstd, training);
      const kernels::NormBackwardResult gd = kernels::batch_norm_backward(ToCuda(dy), ToCuda(x), ToCuda(w), dev.save_mean,
                                                                          dev.save_invstd, training);
      ExpectClose(gd.grad_input, gc.grad_input, 1e-4, 1e-5, what + " grad_input");
      ExpectClose(gd.grad_weight, gc.grad_weight, 1e-4, 1e-3, what + " grad_weight");
      ExpectClose(gd.grad_bias, gc.grad_bias, 1e-4, 1e-3, what + " grad_bias");
      const kernels::NormBackwardResult only_input = kernels::batch_norm_backward(
          ToCuda(dy), ToCuda(x), Tensor(), dev.save_mean, dev.save_invstd, training, {.weight = false, .bias = false});
      EXPECT_FALSE(only_input.grad_weight.defined());
      EXPECT_EQ(only_input.grad_input.device(), testing::kCuda);
    }
  }
}

// Batch norm + relu on the device (the relu inside the elementwise pass forward, the mask read on the fly
// backward) equals the two kernels one after the other on the device, bit for bit.
TEST_F(CudaBatchNorm, FusedReluIsReluAfterBatchNormBitForBit) {
  for (const Shape& shape : std::vector<Shape>{{32, 16, 17, 19}, {9, 5}}) {
    const int64_t c = shape[1];
    const Tensor x = ToCuda(RandomCpu(shape, 21, kFloat32, 0.5, 2)), dy = ToCuda(RandomCpu(shape, 22));
    const Tensor w = ToCuda(RandomCpu({c}, 23, kFloat32, 1, 0.2)), b = ToCuda(RandomCpu({c}, 24));
    const Tensor stats = kernels::add(kernels::abs(RandomCpu({2 * c}, 25)), 0.5);
    for (bool training : {true, false}) {
      SCOPED_TRACE(ShapeToString(shape) + (training ? " training" : " eval"));
      const Tensor rm1 = ToCuda(kernels::slice(stats, 0, 0, c, 1)), rv1 = ToCuda(kernels::slice(stats, 0, c, 2 * c, 1));
      const Tensor rm2 = kernels::clone(rm1), rv2 = kernels::clone(rv1);
      const kernels::NormForwardResult fused = kernels::batch_norm_forward(x, rm1, rv1, w, b, training, 0.1, 1e-5, true);
      const kernels::NormForwardResult plain = kernels::batch_norm_forward(x, rm2, rv2, w, b, training, 0.1, 1e-5);
      const Tensor relu_out = kernels::relu(plain.output);
      EXPECT_EQ(HostDoubles(fused.output), HostDoubles(relu_out));
      EXPECT_EQ(HostDoubles(rm1), HostDoubles(rm2));
      EXPECT_EQ(HostDoubles(rv1), HostDoubles(rv2));
      const kernels::NormBackwardResult gf =
          kernels::batch_norm_backward(dy, x, w, fused.save_mean, fused.save_invstd, training, {}, fused.output);
      const kernels::NormBackwardResult gp = kernels::batch_norm_backward(
          kernels::relu_backward(dy, relu_out), x, w, plain.save_mean, plain.save_invstd, training);
      EXPECT_EQ(HostDoubles(gf.grad_input), HostDoubles(gp.grad_input));
      EXPECT_EQ(HostDoubles(gf.grad_weight), HostDoubles(gp.grad_weight));
      EXPECT_EQ(HostDoubles(gf.grad_bias), HostDoubles(gp.grad_bias));
    }
  }
}

// A NaN in the fused relu's output passes the gradient on the device as on the CPU (and in PyTorch): a NaN
// input makes that output NaN in eval mode, and its whole channel's in training.
TEST_F(CudaBatchNorm, FusedReluPassesTheGradientWhereItsOutputIsNan) {
  const Shape shape{8, 3, 5, 5};
  std::vector<float> values = RandomCpu(shape, 31, kFloat32, 0.5, 2).to_vector<float>();
  values[7] = std::nanf("");
  const Tensor x = from_vector<float>(values, shape), dy = RandomCpu(shape, 32);
  const Tensor w = RandomCpu({3}, 33, kFloat32, 1, 0.2), b = RandomCpu({3}, 34);
  const Tensor rm = RandomCpu({3}, 35), rv = kernels::add(kernels::abs(RandomCpu({3}, 36)), 0.5);
  for (bool training : {true, false}) {
    SCOPED_TRACE(training ? "training" : "eval");
    auto grads = [&](auto place) {
      const Tensor mean = training ? Tensor() : place(rm), var = training ? Tensor() : place(rv);
      const kernels::NormForwardResult f =
          kernels::batch_norm_forward(place(x), mean, var, place(w), place(b), training, 0.1, 1e-5, true);
      return kernels::batch_norm_backward(place(dy), place(x), place(w), f.save_mean, f.save_invstd, training, {},
                                          f.output);
    };
    const kernels::NormBackwardResult cpu = grads([](const Tensor& t) { return t; });
    const kernels::NormBackwardResult cuda = grads([](const Tensor& t) { return ToCuda(t); });
    ExpectClose(cuda.grad_input, cpu.grad_input, 1e-5, 1e-6, "grad_input");
    ExpectClose(cuda.grad_weight, cpu.grad_weight, 1e-5, 1e-5, "grad_weight");
    ExpectClose(cuda.grad_bias, cpu.grad_bias, 1e-5, 1e-5, "grad_bias");
    // The NaN's channel passes its whole gradient to the bias in training, and dx where the NaN is in eval.
    if (training) {
      const std::vector<float> dys = dy.to_vector<float>();
      double channel_sum = 0;
      for (int64_t n = 0; n < 8; ++n) {
        for (int64_t i = 0; i < 25; ++i) channel_sum += dys[n * 75 + i];
      }
      EXPECT_NEAR(HostDoubles(cuda.grad_bias)[0], channel_sum, 1e-4);
    } else {
      const double dx = HostDoubles(cuda.grad_input)[7];
      EXPECT_TRUE(std::isfinite(dx) && dx != 0) << dx;
    }
  }
}

// In eval mode dx = dy * a + 0 on both devices: a zero gradient through a negative weight gives +0, not -0.
TEST_F(CudaBatchNorm, EvalBackwardGivesTheCpusZeros) {
  const Shape shape{4, 2, 3};
  std::vector<float> zeros_of_both_signs(24);
  for (size_t i = 0; i < zeros_of_both_signs.size(); ++i) zeros_of_both_signs[i] = i % 2 ? -0.0f : 0.0f;
  const Tensor x = RandomCpu(shape, 41), dy = from_vector<float>(zeros_of_both_signs, shape);
  const Tensor w = from_vector<float>({-1.5f, 2}), b = RandomCpu({2}, 42);
  const Tensor rm = RandomCpu({2}, 43), rv = kernels::add(kernels::abs(RandomCpu({2}, 44)), 0.5);
  auto grad_input = [&](auto place) {
    const kernels::NormForwardResult f =
        kernels::batch_norm_forward(place(x), place(rm), place(rv), place(w), place(b), false, 0.1, 1e-5);
    return HostDoubles(
        kernels::batch_norm_backward(place(dy), place(x), place(w), f.save_mean, f.save_invstd, false).grad_input);
  };
  const std::vector<double> cpu = grad_input([](const Tensor& t) { return t; });
  const std::vector<double> cuda = grad_input([](const Tensor& t) { return ToCuda(t); });
  for (size_t i = 0; i < cpu.size(); ++i) {
    EXPECT_EQ(cpu[i], 0) << i;
    EXPECT_FALSE(std::signbit(cpu[i])) << i;
    EXPECT_FALSE(std::signbit(cuda[i])) << i;
  }
}

// Batch norm + residual add + relu on the device equals batch norm, then add and relu, bit for bit; the
// residual's gradient (written in dx's pass, or alone without dx) is relu's backward of dy, and overwriting
// dy with it (reuse_grad_output) gives the same gradients.
TEST_F(CudaBatchNorm, FusedAddReluIsAddReluAfterBatchNormBitForBit) {
  for (const Shape& shape : std::vector<Shape>{{32, 16, 17, 19}, {9, 5}}) {
    const int64_t c = shape[1];
    const Tensor x = ToCuda(RandomCpu(shape, 31, kFloat32, 0.5, 2)), dy = ToCuda(RandomCpu(shape, 32));
    const Tensor r = ToCuda(RandomCpu(shape, 33)), w = ToCuda(RandomCpu({c}, 34, kFloat32, 1, 0.2));
    const Tensor b = ToCuda(RandomCpu({c}, 35));
    const Tensor stats = kernels::add(kernels::abs(RandomCpu({2 * c}, 36)), 0.5);
    for (bool training : {true, false}) {
      SCOPED_TRACE(ShapeToString(shape) + (training ? " training" : " eval"));
      const Tensor rm1 = ToCuda(kernels::slice(stats, 0, 0, c, 1)), rv1 = ToCuda(kernels::slice(stats, 0, c, 2 * c, 1));
      const Tensor rm2 = kernels::clone(rm1), rv2 = kernels::clone(rv1);
      const kernels::NormForwardResult fused =
          kernels::batch_norm_forward(x, rm1, rv1, w, b, training, 0.1, 1e-5, /*relu=*/true, r);
      const kernels::NormForwardResult plain = kernels::batch_norm_forward(x, rm2, rv2, w, b, training, 0.1, 1e-5);
      const Tensor out = kernels::relu(kernels::add(plain.output, r));
      EXPECT_EQ(HostDoubles(fused.output), HostDoubles(out));
      EXPECT_EQ(HostDoubles(rm1), HostDoubles(rm2));
      const Tensor masked = kernels::relu_backward(dy, out);
      const kernels::NormBackwardResult gp =
          kernels::batch_norm_backward(masked, x, w, plain.save_mean, plain.save_invstd, training);
      const kernels::NormBackwardResult gf = kernels::batch_norm_backward(
          dy, x, w, fused.save_mean, fused.save_invstd, training, {.residual = true}, fused.output);
      EXPECT_EQ(HostDoubles(gf.grad_input), HostDoubles(gp.grad_input));
      EXPECT_EQ(HostDoubles(gf.grad_weight), HostDoubles(gp.grad_weight));
      EXPECT_EQ(HostDoubles(gf.grad_bias), HostDoubles(gp.grad_bias));
      EXPECT_EQ(HostDoubles(gf.grad_residual), HostDoubles(masked));
      const kernels::NormBackwardResult alone =
          kernels::batch_norm_backward(dy, x, w, fused.save_mean, fused.save_invstd, training,
                                       {.input = false, .weight = false, .bias = false, .residual = true}, fused.output);
      EXPECT_FALSE(alone.grad_input.defined());
      EXPECT_EQ(HostDoubles(alone.grad_residual), HostDoubles(masked));
      const Tensor reused = kernels::clone(dy);
      const kernels::NormBackwardResult in_place =
          kernels::batch_norm_backward(reused, x, w, fused.save_mean, fused.save_invstd, training, {.residual = true},
                                       fused.output, /*reuse_grad_output=*/true);
      EXPECT_TRUE(in_place.grad_residual.is_same(reused));
      EXPECT_EQ(HostDoubles(reused), HostDoubles(masked));
      EXPECT_EQ(HostDoubles(in_place.grad_input), HostDoubles(gp.grad_input));
    }
  }
}

TEST_F(CudaBatchNorm, TensorKernelsCheckDevices) {
  testing::ExpectError(
      [] { kernels::batch_norm_forward(ToCuda(ones({4, 3})), zeros({3}), ones({3}), Tensor(), Tensor(), true, 0.1, 1e-5); },
      "batch_norm: expected running_mean on the input's device (cuda:0), got cpu");
  testing::ExpectError(
      [] {
        kernels::batch_norm_forward(ToCuda(ones({4, 3})), Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 1e-5,
                                    /*relu=*/true, ones({4, 3}));
      },
      "batch_norm: expected residual on the input's device (cuda:0), got cpu");
}

TEST_F(CudaBatchNorm, RejectsTrainingOnOneValuePerChannel) {
  const Tensor x = ToCuda(ones({1, 3, 1})), y = ToCuda(ones({1, 3, 1}));
  const Tensor stats = empty({3}, {.dtype = kFloat64, .device = x.device()});
  testing::ExpectError(
      [&] {
        cuda::BatchNormForwardTraining(kFloat32, {1, 3, 1}, x.data_ptr(), nullptr, nullptr, nullptr, nullptr, 0.1, 1e-5,
                                       y.data_ptr(), static_cast<double*>(stats.data_ptr()),
                                       static_cast<double*>(stats.data_ptr()));
      },
      "expected more than 1 value per channel");
}

// An empty batch never reaches a kernel (a launch of no blocks is an error on a device): the output is
// empty, the running statistics stay, and weight and bias get zero gradients, on the device; group norm and
// layer norm likewise.
TEST_F(CudaBatchNorm, EmptyBatchesLaunchNothing) {
  for (const Shape& shape : {Shape{0, 3, 4}, Shape{2, 3, 0}}) {
    const Tensor x = ToCuda(ones(shape)), w = ToCuda(ones({3})), b = ToCuda(zeros({3}));
    const Tensor rm = ToCuda(full({3}, 0.5)), rv = ToCuda(full({3}, 2.0));
    for (bool training : {true, false}) {
      const kernels::NormForwardResult f = kernels::batch_norm_forward(x, rm, rv, w, b, training, 0.1, 1e-5);
      EXPECT_EQ(f.output.shape(), shape);
      EXPECT_EQ(f.output.device(), x.device());
      EXPECT_EQ(HostDoubles(rm), std::vector<double>(3, 0.5));
      EXPECT_EQ(HostDoubles(rv), std::vector<double>(3, 2.0));
      const kernels::NormBackwardResult g = kernels::batch_norm_backward(
          x, x, w, f.save_mean, f.save_invstd, training, {.input = true, .weight = true, .bias = true});
      EXPECT_EQ(g.grad_input.shape(), shape);
      EXPECT_EQ(HostDoubles(g.grad_weight), std::vector<double>(3, 0.0));
      EXPECT_EQ(HostDoubles(g.grad_bias), std::vector<double>(3, 0.0));
      EXPECT_EQ(g.grad_weight.device(), x.device());
    }
    const kernels::NormForwardResult gn = kernels::group_norm_forward(x, 3, w, b, 1e-5);
    EXPECT_EQ(gn.output.shape(), shape);
    const kernels::NormBackwardResult gg = kernels::group_norm_backward(
        x, x, 3, w, gn.save_mean, gn.save_invstd, {.input = true, .weight = true, .bias = true});
    EXPECT_EQ(gg.grad_input.shape(), shape);
    EXPECT_EQ(HostDoubles(gg.grad_weight), std::vector<double>(3, 0.0));
    // Layer norm over the last dim (size 4, or 0 for the empty positions).
    const Shape last = {shape.back()};
    const Tensor lw = ToCuda(ones(last));
    const kernels::NormForwardResult ln = kernels::layer_norm_forward(x, last, lw, Tensor(), 1e-5);
    EXPECT_EQ(ln.output.shape(), shape);
    const kernels::NormBackwardResult lg = kernels::layer_norm_backward(
        x, x, last, lw, ln.save_mean, ln.save_invstd, {.input = true, .weight = true});
    EXPECT_EQ(lg.grad_input.shape(), shape);
    EXPECT_EQ(HostDoubles(lg.grad_weight), std::vector<double>(shape.back(), 0.0));
  }
}

}  // namespace
}  // namespace normgrad
