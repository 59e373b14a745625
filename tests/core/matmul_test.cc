#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "core/kernels/copy.h"
#include "core/kernels/linalg.h"
#include "core/kernels/view.h"
#include "core/parallel.h"
#include "core/random.h"
#include "tests/testing/error.h"

namespace normgrad {
namespace {

using testing::ExpectError;

// out[b, i, j] = sum_p a[b, i, p] * b[b, p, j] in double, element by element through at(): an
// independent reference for 3-d operands of any layout.
std::vector<double> NaiveBmm(const Tensor& a, const Tensor& b) {
  std::vector<double> out;
  for (int64_t n = 0; n < a.size(0); ++n) {
    for (int64_t i = 0; i < a.size(1); ++i) {
      for (int64_t j = 0; j < b.size(2); ++j) {
        double s = 0;
        for (int64_t p = 0; p < a.size(2); ++p) s += a.at({n, i, p}) * b.at({n, p, j});
        out.push_back(s);
      }
    }
  }
  return out;
}

void ExpectNear(const std::vector<double>& actual, const std::vector<double>& expected, double tol) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) EXPECT_NEAR(actual[i], expected[i], tol) << "element " << i;
}

TEST(Matmul, HandComputed) {
  Tensor a = from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = from_vector<float>({7, 8, 9, 10, 11, 12}, {3, 2});
  Tensor c = kernels::matmul(a, b);
  EXPECT_EQ(c.shape(), (Shape{2, 2}));
  EXPECT_EQ(c.to_vector<float>(), (std::vector<float>{58, 64, 139, 154}));
  Tensor d = kernels::matmul(from_vector<double>({1, 2, 3}), from_vector<double>({4, 5, 6}));
  EXPECT_EQ(d.shape(), (Shape{}));
  EXPECT_EQ(d.item(), 32);
  Tensor i =
      kernels::matmul(from_vector<int64_t>({1, 2, 3, 4, 5, 6}, {2, 3}), from_vector<int64_t>({1, 0, -1}));
  EXPECT_EQ(i.to_vector<int64_t>(), (std::vector<int64_t>{-2, -2}));
}

TEST(Matmul, MatchesPyTorchFixtures) {
  std::ifstream file("tests/core/testdata/matmul.json");
  ASSERT_TRUE(file.good()) << "fixture missing; run tools/make_linalg_fixtures.py";
  const nlohmann::json fixture = nlohmann::json::parse(file);
  ASSERT_GE(fixture["cases"].size(), 10u);
  for (const auto& c : fixture["cases"]) {
    const Shape sa = c["a_shape"], sb = c["b_shape"], so = c["out_shape"];
    const Tensor a = from_vector(c["a"].get<std::vector<double>>(), sa);
    const Tensor b = from_vector(c["b"].get<std::vector<double>>(), sb);
    SCOPED_TRACE(ShapeToString(sa) + " x " + ShapeToString(sb));
    const Tensor out = kernels::matmul(a, b);
    EXPECT_EQ(out.shape(), so);
    ExpectNear(out.to_vector<double>(), c["out"].get<std::vector<double>>(), 1e-12);
    // The same in float32.
    Tensor af = from_vector(a.to_vector<float>(), sa), bf = from_vector(b.to_vector<float>(), sb);
    ExpectNear(kernels::matmul(af, bf).to_vector<double>(), c["out"].get<std::vector<double>>(), 1e-5);
  }
}

// Transposed, sliced, stepped and broadcast operands: passed to BLAS as they lie or copied first; the
// result must not depend on which.
TEST(Matmul, NonContiguousOperands) {
  Generator gen(7);
  Tensor base_a = randn({3, 12, 10}, {.dtype = kFloat64}, &gen);
  Tensor base_b = randn({3, 10, 14}, {.dtype = kFloat64}, &gen);
  const std::vector<std::pair<Tensor, Tensor>> pairs = {
      // a^T stored: [3, 10, 12] transposed in its last two dims.
      {kernels::transpose(kernels::contiguous(kernels::transpose(base_a, 1, 2)), 1, 2), base_b},
      // column slices (rows evenly apart with a leading dimension larger than the width).
      {kernels::narrow(base_a, 2, 2, 5), kernels::narrow(base_b, 1, 3, 5)},
      // row slices with a step, and a transposed b.
      {kernels::slice(base_a, 1, 0, 12, 3), kernels::transpose(kernels::transpose(base_b, 1, 2), 1, 2)},
      // steps in both dims: neither layout fits BLAS, copied.
      {kernels::slice(kernels::slice(base_a, 1, 0, 12, 2), 2, 0, 10, 2), kernels::slice(base_b, 1, 0, 10, 2)},
      // a batch-broadcast operand (stride 0) and a permuted one.
      {kernels::expand(kernels::narrow(base_a, 0, 1, 1), {3, 12, 10}),
       kernels::permute(kernels::contiguous(kernels::permute(base_b, {2, 0, 1})), {1, 2, 0})},
  };
  for (size_t i = 0; i < pairs.size(); ++i) {
    const auto& [a, b] = pairs[i];
    SCOPED_TRACE("pair " + std::to_string(i));
    ExpectNear(kernels::matmul(a, b).to_vector<double>(), NaiveBmm(a, b), 1e-10);
    ExpectNear(kernels::bmm(a, b).to_vector<double>(), NaiveBmm(a, b), 1e-10);
  }
}

// One shared right operand over a batch folds into a single product; a large batch of small products
// runs over the thread pool with OpenBLAS at one thread, which must then be restored.
TEST(Matmul, BatchPathsAgreeWithReference) {
  SetNumThreads(2);
  Generator gen(3);
  Tensor a = randn({64, 9, 8}, {}, &gen), w = randn({8, 5}, {}, &gen);
  Tensor folded = kernels::matmul(a, w);
  EXPECT_EQ(folded.shape(), (Shape{64, 9, 5}));
  ExpectNear(folded.to_vector<double>(), NaiveBmm(a, kernels::expand(w, {64, 8, 5})), 1e-4);
  Tensor b = randn({64, 8, 5}, {}, &gen);
  ExpectNear(kernels::bmm(a, b).to_vector<double>(), NaiveBmm(a, b), 1e-4);
  Tensor big_a = randn({2, 300, 200}, {}, &gen), big_b = randn({2, 200, 100}, {}, &gen);
  ExpectNear(kernels::bmm(big_a, big_b).to_vector<double>(), NaiveBmm(big_a, big_b), 1e-3);
}

TEST(Matmul, EmptyAndZeroInnerDims) {
  Tensor c = kernels::matmul(zeros({2, 0}), zeros({0, 3}));
  EXPECT_EQ(c.shape(), (Shape{2, 3}));
  EXPECT_EQ(c.to_vector<float>(), std::vector<float>(6, 0));
  EXPECT_EQ(kernels::matmul(zeros({0, 4}), zeros({4, 3})).shape(), (Shape{0, 3}));
  EXPECT_EQ(kernels::bmm(zeros({0, 2, 4}), zeros({0, 4, 3})).shape(), (Shape{0, 2, 3}));
}

TEST(Matmul, Errors) {
  ExpectError(
      [] {
        kernels::matmul(zeros({3, 4}), zeros({5, 2}));
      },
      "matmul: expected the inner dimensions to match, got [3, 4] and [5, 2]");
  ExpectError([] { kernels::matmul(zeros({3}), zeros({4})); },
              "matmul: expected the inner dimensions to match, got [3] and [4]");
  ExpectError([] { kernels::matmul(zeros({}), zeros({3})); },
              "matmul: expected tensors with at least 1 dim, got [] and [3]");
  ExpectError(
      [] {
        kernels::matmul(zeros({2, 2}), zeros({2, 2}, {.dtype = kFloat64}));
      },
      "matmul: expected tensors of the same dtype, got float32 and float64");
  ExpectError(
      [] {
        kernels::matmul(zeros({2, 3, 4}), zeros({3, 4, 5}));
      },
      "matmul: expected broadcastable batch dims, got [2, 3, 4] and [3, 4, 5]");
  ExpectError(
      [] {
        kernels::bmm(zeros({3, 4}), zeros({2, 4, 5}));
      },
      "bmm: expected 3-d tensors, got [3, 4] and [2, 4, 5]");
  ExpectError(
      [] {
        kernels::bmm(zeros({2, 3, 4}), zeros({3, 4, 5}));
      },
      "bmm: expected the same batch size, got [2, 3, 4] and [3, 4, 5]");
  ExpectError(
      [] {
        kernels::bmm(zeros({2, 3, 4}), zeros({2, 5, 6}));
      },
      "bmm: expected the inner dimensions to match, got [2, 3, 4] and [2, 5, 6]");
  ExpectError(
      [] {
        kernels::bmm(zeros({2, 3, 4}), zeros({2, 4, 6}, {.dtype = kInt64}));
      },
      "bmm: expected tensors of the same dtype, got float32 and int64");
}

}  // namespace
}  // namespace normgrad
