#include "core/tensor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numbers>

#include "core/random.h"

namespace normgrad {
namespace {

TEST(Tensor, CreationAndMetadata) {
  Tensor t = zeros({2, 3}, {.dtype = kFloat64});
  EXPECT_EQ(t.shape(), (Shape{2, 3}));
  EXPECT_EQ(t.strides(), (Strides{3, 1}));
  EXPECT_EQ(t.numel(), 6);
  EXPECT_EQ(t.dtype(), kFloat64);
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw_data()) % Storage::kAlignment, 0u);
  EXPECT_EQ(t.size(-1), 3);
}

TEST(Device, ParsesWhatToStringWrites) {
  for (const Device d : {kCPU, Device::CUDA(0), Device::CUDA(3), Device::CUDA(12)}) {
    EXPECT_EQ(Device::Parse(d.ToString()), d) << d;
  }
  EXPECT_EQ(Device::Parse("cuda"), Device::CUDA(0));
  for (const char* bad : {"", "CPU", "gpu", "cuda:", "cuda:-1", "cuda:-0", "cuda:01", "cuda:1x", "cuda:+1", "cuda: 1", "cpu:0", "cuda0"}) {
    EXPECT_EQ(Device::Parse(bad), std::nullopt) << bad;
  }
}

TEST(Tensor, FromVectorAndAccess) {
  Tensor t = from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(t.dtype(), kFloat32);
  EXPECT_EQ(t.at<float>({1, 2}), 6.0f);
  EXPECT_EQ(t.to_vector<double>(), (std::vector<double>{1, 2, 3, 4, 5, 6}));
  EXPECT_THROW(t.at({2, 0}), Error);
  EXPECT_THROW(t.data<double>(), Error);
  EXPECT_THROW(from_vector<float>({1, 2, 3}, {2, 2}), Error);
}

TEST(Tensor, ArangeAndFull) {
  EXPECT_EQ(arange(5).to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(arange(1.0, 2.0, 0.25, {.dtype = kFloat64}).to_vector<double>(),
            (std::vector<double>{1, 1.25, 1.5, 1.75}));
  EXPECT_EQ(full({}, 2.5).item<float>(), 2.5f);
  EXPECT_EQ(full({2}, 7, {.dtype = kInt64}).to_vector<int64_t>(), (std::vector<int64_t>{7, 7}));
}

TEST(Tensor, Printing) {
  EXPECT_EQ(from_vector<float>({1, -2.5f}).ToString(), "tensor([ 1.0000, -2.5000])");
  EXPECT_EQ(from_vector<int64_t>({3, 4}, {1, 2}).ToString(), "tensor([[3, 4]], shape=[1, 2], dtype=int64)");
  EXPECT_EQ(Tensor().ToString(), "tensor(undefined)");
}

TEST(Tensor, UndefinedTensorThrows) { EXPECT_THROW(Tensor().shape(), Error); }

TEST(Tensor, RequiresGradOnlyOnFloatLeaves) {
  Tensor t = zeros({2}, {.dtype = kInt64});
  EXPECT_THROW(t.set_requires_grad(), Error);
  Tensor f = zeros({2}, {.requires_grad = true});
  EXPECT_TRUE(f.requires_grad());
  EXPECT_TRUE(f.is_leaf());
}

TEST(Random, SameSeedSameDraws) {
  Generator a(42), b(42);
  Tensor x = randn({100}, {}, &a), y = randn({100}, {}, &b);
  EXPECT_EQ(x.to_vector<float>(), y.to_vector<float>());
  Generator c(43);
  EXPECT_NE(x.to_vector<float>(), randn({100}, {}, &c).to_vector<float>());
}

TEST(Random, StateRoundTrip) {
  Generator a(7);
  a.NextNormal();
  Generator b;
  ASSERT_TRUE(b.set_state(a.state()).ok());
  EXPECT_EQ(a.NextNormal(), b.NextNormal());
  EXPECT_EQ(a.NextBits(), b.NextBits());
  EXPECT_FALSE(b.set_state("garbage").ok());
}

TEST(Random, Moments) {
  Generator g(1);
  std::vector<double> v = normal({20000}, 3.0, 2.0, {.dtype = kFloat64}, &g).to_vector<double>();
  double mean = 0, var = 0;
  for (double x : v) mean += x / v.size();
  for (double x : v) var += (x - mean) * (x - mean) / v.size();
  EXPECT_NEAR(mean, 3.0, 0.05);
  EXPECT_NEAR(var, 4.0, 0.15);
  std::vector<double> b = bernoulli({20000}, 0.3, {.dtype = kFloat64}, &g).to_vector<double>();
  double ones = 0;
  for (double x : b) ones += x;
  EXPECT_NEAR(ones / b.size(), 0.3, 0.02);
  EXPECT_THROW(bernoulli({2}, 1.5), Error);
}

// The largest distance between the empirical CDF of n draws and `cdf` (the Kolmogorov-Smirnov statistic).
double KolmogorovDistance(std::vector<double> draws, const std::function<double(double)>& cdf) {
  std::sort(draws.begin(), draws.end());
  const double n = static_cast<double>(draws.size());
  double d = 0;
  for (size_t i = 0; i < draws.size(); ++i) {
    const double f = cdf(draws[i]);
    d = std::max({d, static_cast<double>(i + 1) / n - f, f - static_cast<double>(i) / n});
  }
  return d;
}

// Each distribution against its closed-form CDF, shapes below 1 (the boosted path) and above. 20000 draws of
// the right distribution exceed a distance of 0.0115 with probability 1%; a gamma shape off by 10% puts the
// CDF 0.04 or more away and the boost left out (shape + 1) 0.16 or more, which these tests catch surely;
// beta's two shapes off by 10% move it only 0.0128, caught about two times in three.
TEST(Random, GammaAndBetaFollowTheirDistributions) {
  constexpr int kDraws = 20000;
  constexpr double kCritical = 0.0115;
  const auto draw = [&](const std::function<double()>& next) {
    std::vector<double> v(kDraws);
    for (double& x : v) x = next();
    return v;
  };
  Generator g(11);
  EXPECT_LT(KolmogorovDistance(draw([&] { return g.NextGamma(1); }), [](double x) { return 1 - std::exp(-x); }),
            kCritical);
  EXPECT_LT(KolmogorovDistance(draw([&] { return g.NextGamma(0.5); }), [](double x) { return std::erf(std::sqrt(x)); }),
            kCritical);
  EXPECT_LT(KolmogorovDistance(draw([&] { return g.NextGamma(3); }),
                               [](double x) { return 1 - std::exp(-x) * (1 + x + x * x / 2); }),
            kCritical);
  EXPECT_LT(KolmogorovDistance(draw([&] { return g.NextBeta(1, 1); }), [](double x) { return x; }), kCritical);
  EXPECT_LT(KolmogorovDistance(draw([&] { return g.NextBeta(0.5, 0.5); }),
                               [](double x) { return 2 / std::numbers::pi * std::asin(std::sqrt(x)); }),
            kCritical);
  EXPECT_LT(KolmogorovDistance(draw([&] { return g.NextBeta(2, 2); }), [](double x) { return x * x * (3 - 2 * x); }),
            kCritical);
  // Shapes so small that the gamma draws often underflow to 0: Beta(a, b) is then near 0 or near 1, near 1
  // with probability a / (a + b).
  double ones = 0;
  for (int i = 0; i < 2000; ++i) {
    const double x = g.NextBeta(1e-3, 3e-3);
    ASSERT_TRUE(x >= 0 && x <= 1) << x;
    ones += x > 0.5;
  }
  EXPECT_NEAR(ones / 2000, 0.25, 0.04);
  // The same seed, the same draws.
  Generator a(3), b(3);
  for (int i = 0; i < 10; ++i) ASSERT_EQ(a.NextBeta(0.3, 0.3), b.NextBeta(0.3, 0.3));
}

// [low, high) in the tensor's dtype: with high the next float after low, about half of the draws would
// round to high in float32.
TEST(Random, UniformNeverReturnsItsUpperBound) {
  Generator g(5);
  const float high = 1.0f + 0x1p-23f;
  for (float v : uniform({2000}, 1.0, high, {}, &g).to_vector<float>()) ASSERT_LT(v, high);
  EXPECT_EQ(uniform({3}, 2.0, 2.0, {}, &g).to_vector<float>(), (std::vector<float>{2, 2, 2}));
  EXPECT_EQ(uniform({2}, 1.0, 1.0 + 1e-12, {}, &g).to_vector<float>(), (std::vector<float>{1, 1}));  // one float
}

// A permutation, shuffled (not the identity), reproducible from the seed and different for another.
TEST(Random, Randperm) {
  Generator g1(3), g2(3), g3(4);
  const std::vector<int64_t> p = randperm(50, &g1).to_vector<int64_t>();
  EXPECT_EQ(randperm(50, &g2).to_vector<int64_t>(), p);
  EXPECT_NE(randperm(50, &g3).to_vector<int64_t>(), p);
  std::vector<int64_t> sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 50; ++i) EXPECT_EQ(sorted[i], i);
  EXPECT_NE(sorted, p);
}

TEST(Random, RejectsBadArguments) {
  auto message = [](const std::function<void()>& f) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message([] { uniform({2}, 2.0, 1.0); }), "uniform: expected low <= high, got 2 and 1");
  EXPECT_EQ(message([] { normal({2}, 0.0, -1.0); }), "normal: expected std >= 0, got -1");
  EXPECT_EQ(message([] { bernoulli({2}, 1.5); }), "bernoulli: expected p in [0, 1], got 1.5");
  EXPECT_EQ(message([] { randperm(-1); }), "randperm: expected n >= 0, got -1");
  Generator g;
  EXPECT_EQ(message([&] { g.NextGamma(0); }), "Generator::NextGamma: expected a finite shape > 0, got 0");
  EXPECT_EQ(message([&] { g.NextBeta(0.5, -1); }),
            "Generator::NextBeta: expected finite a > 0 and b > 0, got 0.5 and -1");
}

}  // namespace
}  // namespace normgrad
