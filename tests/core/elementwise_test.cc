#include "core/kernels/elementwise.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "core/kernels/copy.h"
#include "core/kernels/reduce.h"
#include "core/kernels/view.h"
#include "core/parallel.h"
#include "core/random.h"
#include "tests/testing/error.h"

namespace normgrad {
namespace {

using json = nlohmann::json;
using testing::ExpectError;

json Fixtures() {
  std::ifstream in("tests/core/testdata/elementwise_reduce.json");
  EXPECT_TRUE(in.good()) << "missing fixture file";
  return json::parse(in);
}

std::vector<double> Doubles(const json& j) { return j.get<std::vector<double>>(); }

void ExpectNear(const std::vector<double>& actual, const std::vector<double>& expected, double tol,
                const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (size_t i = 0; i < actual.size(); ++i) {
    if (std::isnan(expected[i])) {
      EXPECT_TRUE(std::isnan(actual[i])) << what << " [" << i << "]";
    } else {
      EXPECT_NEAR(actual[i], expected[i], tol * std::max(1.0, std::abs(expected[i]))) << what << " [" << i << "]";
    }
  }
}

// The transpose of a fresh [rows, cols] tensor: shape [cols, rows], non-contiguous.
Tensor Transposed(const Tensor& t) {
  return t.AliasWithGeometry({t.size(1), t.size(0)}, {t.stride(1), t.stride(0)}, t.storage_offset());
}

TEST(Elementwise, UnaryMatchesTorch) {
  const json f = Fixtures();
  const Tensor x = from_vector(Doubles(f["unary_x"]));
  const Tensor pos = from_vector(Doubles(f["unary_pos"]));
  const json& u = f["unary"];
  ExpectNear(kernels::neg(x).to_vector<double>(), Doubles(u["neg"]), 0, "neg");
  ExpectNear(kernels::abs(x).to_vector<double>(), Doubles(u["abs"]), 0, "abs");
  ExpectNear(kernels::relu(x).to_vector<double>(), Doubles(u["relu"]), 0, "relu");
  ExpectNear(kernels::exp(x).to_vector<double>(), Doubles(u["exp"]), 1e-15, "exp");
  ExpectNear(kernels::sigmoid(x).to_vector<double>(), Doubles(u["sigmoid"]), 1e-15, "sigmoid");
  ExpectNear(kernels::tanh(x).to_vector<double>(), Doubles(u["tanh"]), 1e-15, "tanh");
  ExpectNear(kernels::erf(x).to_vector<double>(), Doubles(u["erf"]), 1e-15, "erf");
  ExpectNear(kernels::log(pos).to_vector<double>(), Doubles(u["log"]), 1e-15, "log");
  ExpectNear(kernels::sqrt(pos).to_vector<double>(), Doubles(u["sqrt"]), 1e-15, "sqrt");
  ExpectNear(kernels::rsqrt(pos).to_vector<double>(), Doubles(u["rsqrt"]), 1e-15, "rsqrt");
  ExpectNear(kernels::pow(pos, 1.7).to_vector<double>(), Doubles(u["pow_1.7"]), 1e-15, "pow 1.7");
  ExpectNear(kernels::pow(pos, -0.5).to_vector<double>(), Doubles(u["pow_-0.5"]), 1e-15, "pow -0.5");
  ExpectNear(kernels::pow(x, 3).to_vector<double>(), Doubles(u["pow_3"]), 1e-15, "pow 3");
  ExpectNear(kernels::clamp(x, -1, 2).to_vector<double>(), Doubles(u["clamp_-1_2"]), 0, "clamp");
  // float32 follows the same formulas.
  ExpectNear(kernels::sigmoid(kernels::to_dtype(x, kFloat32)).to_vector<double>(), Doubles(u["sigmoid"]), 1e-6,
             "sigmoid float32");
}

// sum, mean and var (both corrections) over each set of dims, and max/min with their indices along each
// dim, against PyTorch on a [3, 4, 5] float64 tensor.
TEST(Reduce, MatchesTorch) {
  const json f = Fixtures();
  const json& r = f["reduce"];
  const Tensor x = from_vector(Doubles(r["x"]), r["shape"].get<Shape>());
  int cases = 0;
  for (const json& c : r["cases"]) {
    if (c.contains("dims")) {
      const std::vector<int64_t> dims = c["dims"].get<std::vector<int64_t>>();
      const std::string what = "dims " + c["dims"].dump();
      ExpectNear(kernels::sum(x, dims).to_vector<double>(), Doubles(c["sum"]), 1e-14, "sum " + what);
      ExpectNear(kernels::mean(x, dims).to_vector<double>(), Doubles(c["mean"]), 1e-14, "mean " + what);
      ExpectNear(kernels::var(x, dims).to_vector<double>(), Doubles(c["var"]), 1e-13, "var " + what);
      ExpectNear(kernels::var(x, dims, 0).to_vector<double>(), Doubles(c["var0"]), 1e-13, "var0 " + what);
    } else {
      const int64_t dim = c["dim"].get<int64_t>();
      const std::string what = "dim " + std::to_string(dim);
      const kernels::ValuesIndices max = kernels::max(x, dim), min = kernels::min(x, dim);
      ExpectNear(max.values.to_vector<double>(), Doubles(c["max"]), 0, "max " + what);
      ExpectNear(min.values.to_vector<double>(), Doubles(c["min"]), 0, "min " + what);
      EXPECT_EQ(max.indices.to_vector<int64_t>(), c["argmax"].get<std::vector<int64_t>>()) << what;
      EXPECT_EQ(min.indices.to_vector<int64_t>(), c["argmin"].get<std::vector<int64_t>>()) << what;
      EXPECT_EQ(kernels::argmax(x, dim).to_vector<int64_t>(), c["argmax"].get<std::vector<int64_t>>()) << what;
      EXPECT_EQ(kernels::argmin(x, dim).to_vector<int64_t>(), c["argmin"].get<std::vector<int64_t>>()) << what;
    }
    ++cases;
  }
  EXPECT_EQ(cases, 9);
}

TEST(Elementwise, BroadcastBinaryMatchesTorch) {
  const json f = Fixtures();
  const json& b = f["binary"];
  const Tensor x = from_vector(Doubles(b["a"]), b["a_shape"].get<Shape>());
  const Tensor y = from_vector(Doubles(b["b"]), b["b_shape"].get<Shape>());
  const Shape out_shape = b["out_shape"].get<Shape>();
  for (const auto& [name, fn] : std::vector<std::pair<std::string, std::function<Tensor()>>>{
           {"add", [&] { return kernels::add(x, y); }},
           {"sub", [&] { return kernels::sub(x, y); }},
           {"mul", [&] { return kernels::mul(x, y); }},
           {"div", [&] { return kernels::div(x, y); }},
           {"pow", [&] { return kernels::pow(y, x); }}}) {
    const Tensor out = fn();
    EXPECT_EQ(out.shape(), out_shape) << name;
    ExpectNear(out.to_vector<double>(), Doubles(b[name]), 1e-15, name);
  }
}

TEST(Elementwise, BroadcastShapesByHand) {
  const Tensor a = from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(kernels::add(a, from_vector<float>({10, 20, 30})).to_vector<float>(),
            (std::vector<float>{11, 22, 33, 14, 25, 36}));
  EXPECT_EQ(kernels::mul(a, from_vector<float>({2, 3}, {2, 1})).to_vector<float>(),
            (std::vector<float>{2, 4, 6, 12, 15, 18}));
  const Tensor outer = kernels::sub(from_vector<float>({1, 2}, {2, 1}), from_vector<float>({1, 2, 3}, {1, 3}));
  EXPECT_EQ(outer.shape(), (Shape{2, 3}));
  EXPECT_EQ(outer.to_vector<float>(), (std::vector<float>{0, -1, -2, 1, 0, -1}));
  const Tensor scalar = kernels::add(full({}, 1.5f), a);
  EXPECT_EQ(scalar.shape(), (Shape{2, 3}));
  EXPECT_EQ(scalar.at<float>({1, 2}), 7.5f);
}

TEST(Elementwise, ScalarVariants) {
  const Tensor a = from_vector<double>({1, 2, 4});
  EXPECT_EQ(kernels::add(a, 1).to_vector<double>(), (std::vector<double>{2, 3, 5}));
  EXPECT_EQ(kernels::sub(a, 1).to_vector<double>(), (std::vector<double>{0, 1, 3}));
  EXPECT_EQ(kernels::sub(10, a).to_vector<double>(), (std::vector<double>{9, 8, 6}));
  EXPECT_EQ(kernels::mul(a, -2).to_vector<double>(), (std::vector<double>{-2, -4, -8}));
  EXPECT_EQ(kernels::div(a, 4).to_vector<double>(), (std::vector<double>{0.25, 0.5, 1}));
  EXPECT_EQ(kernels::div(8, a).to_vector<double>(), (std::vector<double>{8, 4, 2}));
  EXPECT_EQ(kernels::pow(a, 2).to_vector<double>(), (std::vector<double>{1, 4, 16}));
  EXPECT_EQ(kernels::pow(a, 0.5).to_vector<double>(), (std::vector<double>{1, std::sqrt(2.0), 2}));
  const Tensor i = from_vector<int64_t>({-3, 0, 5});
  EXPECT_EQ(kernels::mul(kernels::add(i, 2), 3).to_vector<int64_t>(), (std::vector<int64_t>{-3, 6, 21}));
  EXPECT_EQ(kernels::abs(i).to_vector<int64_t>(), (std::vector<int64_t>{3, 0, 5}));
  EXPECT_EQ(kernels::relu(i).to_vector<int64_t>(), (std::vector<int64_t>{0, 0, 5}));
  EXPECT_EQ(kernels::clamp(i, std::nullopt, 1).to_vector<int64_t>(), (std::vector<int64_t>{-3, 0, 1}));
}

TEST(Elementwise, SpecialValues) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Tensor x = from_vector<double>({nan, -0.0, -1000, 1000});
  const std::vector<double> relu = kernels::relu(x).to_vector<double>();
  EXPECT_TRUE(std::isnan(relu[0]));
  EXPECT_EQ(relu[2], 0);
  const std::vector<double> sig = kernels::sigmoid(x).to_vector<double>();
  EXPECT_EQ(sig[2], 0);  // no overflow to NaN for large |x|
  EXPECT_EQ(sig[3], 1);
  EXPECT_TRUE(std::isnan(kernels::clamp(x, 0, 1).to_vector<double>()[0]));
  EXPECT_EQ(kernels::clamp(x, 2, 1).to_vector<double>()[3], 1);  // min > max gives max, as torch
  EXPECT_TRUE(std::signbit(kernels::pow(x, 0.5).to_vector<double>()[1]));  // sqrt(-0) = -0
  EXPECT_EQ(kernels::pow(x, 0).to_vector<double>()[0], 1);
  const std::vector<double> ne = kernels::ne(x, x).to_vector<double>();
  EXPECT_EQ(ne, (std::vector<double>{1, 0, 0, 0}));
}

TEST(Elementwise, AddReluIsReluOfTheSum) {
  Generator gen(5);
  const Tensor a = randn({3, 70000}, {}, &gen), b = randn({3, 70000}, {}, &gen);
  EXPECT_EQ(kernels::add_relu(a, b).to_vector<float>(), kernels::relu(kernels::add(a, b)).to_vector<float>());
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<double> r =
      kernels::add_relu(from_vector<double>({1, -3, nan}, {3, 1}), from_vector<double>({0.5, 2.5}, {1, 2}))
          .to_vector<double>();
  ASSERT_EQ(r.size(), 6u);
  EXPECT_EQ(r[0], 1.5);
  EXPECT_EQ(r[1], 3.5);
  EXPECT_EQ(r[2], 0);
  EXPECT_EQ(r[3], 0);
  EXPECT_TRUE(std::isnan(r[4]));  // NaN stays NaN, as in relu
  ExpectError([&] { kernels::add_relu(a, zeros({3, 70000}, {.dtype = kFloat64})); },
                  "add_relu: expected tensors of the same dtype, got float32 and float64");
  ExpectError([&] { kernels::add_relu(a, zeros({2})); }, "add_relu: expected broadcastable shapes");
}

TEST(Elementwise, ReluBackwardStopsTheGradientWhereTheOutputIsAtMostZero) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Tensor grad = from_vector<double>({1.5, -2, 3, nan, 4});
  const Tensor output = from_vector<double>({2, 0, -0.0, 0, nan});
  const std::vector<double> dx = kernels::relu_backward(grad, output).to_vector<double>();
  EXPECT_EQ(dx[0], 1.5);
  EXPECT_EQ(dx[1], 0);
  EXPECT_EQ(dx[2], 0);
  EXPECT_EQ(dx[3], 0);  // a NaN gradient where the output is 0 gives 0, not NaN
  EXPECT_EQ(dx[4], 4);  // NaN <= 0 is false: the gradient passes, as PyTorch's threshold_backward
  // Large enough to run on several threads, float32, against the product it replaces.
  Generator gen(3);
  const Tensor g = randn({3, 70000}, {}, &gen), y = kernels::relu(randn({3, 70000}, {}, &gen));
  EXPECT_EQ(kernels::relu_backward(g, y).to_vector<float>(), kernels::mul(g, kernels::gt(y, 0)).to_vector<float>());
  // The output broadcast along a dim, a transposed gradient.
  const Tensor gt = Transposed(from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3}));  // [3, 2]
  EXPECT_EQ(kernels::relu_backward(gt, from_vector<float>({0, 1}, {1, 2})).to_vector<float>(),
            (std::vector<float>{0, 4, 0, 5, 0, 6}));
  Tensor g2 = kernels::clone(g);
  kernels::relu_backward_(g2, y);
  EXPECT_EQ(g2.to_vector<float>(), kernels::relu_backward(g, y).to_vector<float>());
  Tensor g3 = from_vector<float>({1, 2, 3, 4, 5, 6}, {3, 2});
  kernels::relu_backward_(g3, from_vector<float>({0, 1}, {1, 2}));
  EXPECT_EQ(g3.to_vector<float>(), (std::vector<float>{0, 2, 0, 4, 0, 6}));
  ExpectError([&] { kernels::relu_backward_(g3, zeros({3, 2}, {.dtype = kFloat64})); },
                  "relu_backward_: expected tensors of the same dtype, got float32 and float64");
  ExpectError([&] { kernels::relu_backward_(g3, zeros({3, 3})); },
                  "relu_backward_: expected a shape broadcastable");
  ExpectError([&] { kernels::relu_backward(g, zeros({3, 70000}, {.dtype = kFloat64})); },
                  "relu_backward: expected tensors of the same dtype, got float32 and float64");
  ExpectError([&] { kernels::relu_backward(g, zeros({2})); }, "relu_backward: expected broadcastable shapes");
}

TEST(Elementwise, ComparisonsKeepTheInputDType) {
  const Tensor a = from_vector<int64_t>({1, 2, 3});
  const Tensor b = from_vector<int64_t>({2, 2, 2});
  EXPECT_EQ(kernels::lt(a, b).dtype(), kInt64);
  EXPECT_EQ(kernels::eq(a, b).to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 0}));
  EXPECT_EQ(kernels::ne(a, b).to_vector<int64_t>(), (std::vector<int64_t>{1, 0, 1}));
  EXPECT_EQ(kernels::lt(a, b).to_vector<int64_t>(), (std::vector<int64_t>{1, 0, 0}));
  EXPECT_EQ(kernels::le(a, b).to_vector<int64_t>(), (std::vector<int64_t>{1, 1, 0}));
  EXPECT_EQ(kernels::gt(a, b).to_vector<int64_t>(), (std::vector<int64_t>{0, 0, 1}));
  EXPECT_EQ(kernels::ge(a, b).to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 1}));
  const Tensor f = from_vector<float>({-1, 0, 1});
  EXPECT_EQ(kernels::gt(f, 0).dtype(), kFloat32);
  EXPECT_EQ(kernels::gt(f, 0).to_vector<float>(), (std::vector<float>{0, 0, 1}));
  EXPECT_EQ(kernels::le(f, 0).to_vector<float>(), (std::vector<float>{1, 1, 0}));
  EXPECT_EQ(kernels::eq(f, from_vector<float>({0}, {1})).to_vector<float>(), (std::vector<float>{0, 1, 0}));
}

TEST(Elementwise, WhereBroadcastsAllThree) {
  const Tensor cond = from_vector<int64_t>({1, 0, 7}, {3, 1});         // non-zero is true
  const Tensor a = from_vector<float>({1, 2}, {1, 2});
  const Tensor b = full({}, -1.0f);
  const Tensor out = kernels::where(cond, a, b);
  EXPECT_EQ(out.shape(), (Shape{3, 2}));
  EXPECT_EQ(out.dtype(), kFloat32);
  EXPECT_EQ(out.to_vector<float>(), (std::vector<float>{1, 2, -1, -1, 1, 2}));
  ExpectError([&] { kernels::where(cond, a, full({}, 1.0, {.dtype = kFloat64})); },
                  "where: expected tensors of the same dtype, got float32 and float64");
  ExpectError([&] { kernels::where(zeros({2}), a, zeros({4})); }, "where: expected broadcastable shapes");
}

TEST(Elementwise, StridedInputsAndOutputs) {
  const Tensor a = arange(0.0, 12.0, 1.0, {.dtype = kFloat64}).AliasWithGeometry({3, 4}, {4, 1}, 0);
  const Tensor at = Transposed(a);  // [4, 3], strides [1, 4]
  ASSERT_FALSE(at.is_contiguous());
  const Tensor b = from_vector<double>({1, 10, 100});
  const Tensor out = kernels::mul(at, b);
  EXPECT_EQ(out.shape(), (Shape{4, 3}));
  std::vector<double> expected;
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 3; ++j) expected.push_back((j * 4 + i) * std::pow(10.0, j));
  }
  EXPECT_EQ(out.to_vector<double>(), expected);
  // Every other element of a row: strides [4, 2].
  const Tensor sliced = a.AliasWithGeometry({3, 2}, {4, 2}, 1);
  EXPECT_EQ(kernels::exp(sliced).to_vector<double>()[3], std::exp(7.0));
  // copy_ into a transposed destination, broadcasting the source along dim 0.
  Tensor dst = zeros({3, 4}, {.dtype = kFloat64});
  kernels::copy_(Transposed(dst), from_vector<double>({1, 2, 3}));
  EXPECT_EQ(dst.to_vector<double>(), (std::vector<double>{1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3}));
}

TEST(Elementwise, InPlaceAndCopy) {
  Tensor a = from_vector<double>({1, 2, 3, 4}, {2, 2});
  kernels::add_(a, from_vector<double>({10, 20}));
  EXPECT_EQ(a.to_vector<double>(), (std::vector<double>{11, 22, 13, 24}));
  kernels::mul_(a, 2);
  kernels::sub_(a, 2);
  kernels::div_(a, from_vector<double>({2, 1}, {2, 1}));
  EXPECT_EQ(a.to_vector<double>(), (std::vector<double>{10, 21, 24, 46}));
  kernels::fill_(a, 0.5);
  EXPECT_EQ(a.to_vector<double>(), (std::vector<double>{0.5, 0.5, 0.5, 0.5}));
  // a += a^T reads a copy of the overlapping view, so the result is that of distinct tensors.
  Tensor m = from_vector<double>({1, 2, 3, 4}, {2, 2});
  kernels::add_(m, Transposed(m));
  EXPECT_EQ(m.to_vector<double>(), (std::vector<double>{2, 5, 5, 8}));
  // Shifting a buffer by one through overlapping views.
  Tensor buf = arange(0.0, 6.0, 1.0, {.dtype = kFloat64});
  kernels::copy_(buf.AliasWithGeometry({5}, {1}, 1), buf.AliasWithGeometry({5}, {1}, 0));
  EXPECT_EQ(buf.to_vector<double>(), (std::vector<double>{0, 0, 1, 2, 3, 4}));
  // Copies convert dtypes.
  Tensor i = zeros({3}, {.dtype = kInt64});
  kernels::copy_(i, from_vector<float>({1.9f, -1.9f, 3}));
  EXPECT_EQ(i.to_vector<int64_t>(), (std::vector<int64_t>{1, -1, 3}));
  EXPECT_EQ(kernels::to_dtype(i, kFloat64).to_vector<double>(), (std::vector<double>{1, -1, 3}));
  EXPECT_TRUE(kernels::to_dtype(i, kInt64).is_same(i));
}

TEST(Elementwise, ThreadedMatchesSerial) {
  Generator gen(7);
  const Tensor x = randn({301, 1009}, {}, &gen);  // > 2 grains: takes the threaded path
  const Tensor y = randn({1009}, {}, &gen);
  const Tensor xt = x.AliasWithGeometry({1009, 301}, {1, 1009}, 0);  // strided view
  const int threads = GetNumThreads();
  SetNumThreads(3);
  const Tensor sum = kernels::add(x, y), e = kernels::exp(xt), w = kernels::where(kernels::gt(x, 0), x, y);
  SetNumThreads(1);
  const Tensor sum1 = kernels::add(x, y), e1 = kernels::exp(xt), w1 = kernels::where(kernels::gt(x, 0), x, y);
  SetNumThreads(threads);
  EXPECT_EQ(sum.to_vector<float>(), sum1.to_vector<float>());
  EXPECT_EQ(e.to_vector<float>(), e1.to_vector<float>());
  EXPECT_EQ(w.to_vector<float>(), w1.to_vector<float>());
  // And both against a plain loop.
  const std::vector<float> xv = x.to_vector<float>(), yv = y.to_vector<float>(), sv = sum.to_vector<float>();
  const std::vector<float> ev = e.to_vector<float>();
  for (int64_t i = 0; i < 301; ++i) {
    for (int64_t j = 0; j < 1009; ++j) {
      ASSERT_EQ(sv[i * 1009 + j], xv[i * 1009 + j] + yv[j]);
      ASSERT_EQ(ev[j * 301 + i], std::exp(xv[i * 1009 + j]));
    }
  }
}

TEST(Elementwise, Errors) {
  const Tensor f = zeros({2, 3});
  ExpectError([&] { kernels::add(f, zeros({2, 3}, {.dtype = kFloat64})); },
                  "add: expected tensors of the same dtype, got float32 and float64");
  ExpectError([&] { kernels::mul(f, zeros({2})); }, "mul: expected broadcastable shapes, got [2, 3] and [2]");
  ExpectError([&] { kernels::exp(zeros({2}, {.dtype = kInt64})); },
                  "exp: expected a floating-point tensor (float32 or float64), got int64");
  ExpectError([&] { kernels::div(zeros({2}, {.dtype = kInt64}), 2); }, "div: expected a floating-point");
  ExpectError([&] { kernels::add(zeros({2}, {.dtype = kInt64}), 0.5); },
              "add: expected an integral scalar in int64's range for an int64 tensor, got 0.5");
  ExpectError([&] { kernels::fill_(zeros({2}, {.dtype = kInt64}), std::numeric_limits<double>::infinity()); },
              "fill_: expected an integral scalar in int64's range for an int64 tensor, got inf");
  ExpectError([&] { kernels::mul(zeros({2}, {.dtype = kInt64}), 1e19); },
              "mul: expected an integral scalar in int64's range for an int64 tensor, got 1e+19");
  // In-place: the destination keeps its shape and may not be a broadcast view.
  ExpectError([&] { kernels::add_(zeros({3}), f); }, "add_: expected a shape broadcastable to [3], got [2, 3]");
  ExpectError([&] { kernels::copy_(zeros({1}).AliasWithGeometry({4}, {0}, 0), zeros({4})); },
                  "copy_: expected a destination without broadcast (stride-0) dims");
  ExpectError([&] { kernels::fill_(zeros({1}).AliasWithGeometry({4}, {0}, 0), 1); },
              "fill_: expected a destination without broadcast (stride-0) dims");
}

// A reduction over no elements reads nothing, also where the empty dim sits between reduced dims that
// cannot merge: sum 0 and mean NaN, as in PyTorch.
TEST(Reduce, EmptyReductionsOfStridedViewsReadNothing) {
  const Tensor x = ones({2, 3, 5});
  for (int64_t start : {0, 3}) {  // 3: the view's offset is the storage's end
    // [2, 0, 3] with strides [15, 5, 2].
    const Tensor w = kernels::narrow(kernels::slice(x, 2, 0, 5, 2), 1, start, 0);
    EXPECT_EQ(kernels::sum(w).item<float>(), 0.0f) << start;
    EXPECT_TRUE(std::isnan(kernels::mean(w).item<float>())) << start;
    EXPECT_EQ(kernels::sum(w, {1, 2}).to_vector<float>(), (std::vector<float>{0, 0})) << start;
    EXPECT_TRUE(std::isnan(kernels::var(w, {0, 1}).to_vector<float>()[0])) << start;
  }
}

}  // namespace
}  // namespace normgrad
