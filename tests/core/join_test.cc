#include "core/kernels/join.h"

#include <gtest/gtest.h>

#include <string>

#include "core/kernels/view.h"
#include "tests/testing/error.h"

namespace normgrad {
namespace {

using testing::ExpectError;

TEST(Cat, JoinsAlongAnyDim) {
  Tensor a = from_vector<double>({1, 2, 3, 4}, {2, 2});
  Tensor b = from_vector<double>({5, 6}, {2, 1});
  Tensor c = kernels::cat({a, b}, 1);
  EXPECT_EQ(c.shape(), (Shape{2, 3}));
  EXPECT_EQ(c.to_vector<double>(), (std::vector<double>{1, 2, 5, 3, 4, 6}));
  Tensor r = kernels::cat({a, kernels::t(a), zeros({0, 2}, {.dtype = kFloat64})}, -2);
  EXPECT_EQ(r.shape(), (Shape{4, 2}));
  EXPECT_EQ(r.to_vector<double>(), (std::vector<double>{1, 2, 3, 4, 1, 3, 2, 4}));
  EXPECT_FALSE(kernels::cat({a}, 0).storage().is_same(a.storage()));  // always a new tensor
  Tensor i = kernels::cat({arange(3), kernels::expand(from_vector<int64_t>({9}), {2})}, 0);
  EXPECT_EQ(i.to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2, 9, 9}));
}

TEST(Stack, AddsADim) {
  Tensor a = from_vector<float>({1, 2, 3}), b = from_vector<float>({4, 5, 6});
  Tensor s0 = kernels::stack({a, b}, 0);
  EXPECT_EQ(s0.shape(), (Shape{2, 3}));
  EXPECT_EQ(s0.to_vector<float>(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  Tensor s1 = kernels::stack({a, b}, -1);
  EXPECT_EQ(s1.shape(), (Shape{3, 2}));
  EXPECT_EQ(s1.to_vector<float>(), (std::vector<float>{1, 4, 2, 5, 3, 6}));
  EXPECT_EQ(kernels::stack({full({}, 1.0), full({}, 2.0)}, 0).to_vector<float>(), (std::vector<float>{1, 2}));
}

TEST(Cat, Errors) {
  ExpectError([] { kernels::cat({}, 0); }, "cat: expected a non-empty list of tensors");
  ExpectError([] { kernels::cat({full({}, 1.0)}, 0); },
              "cat: expected tensors with at least 1 dim, got a scalar");
  ExpectError(
      [] {
        kernels::cat({zeros({2}), zeros({2}, {.dtype = kFloat64})}, 0);
      },
      "cat: expected tensors of the same dtype, got float32 (tensor 0) and float64 (tensor 1)");
  ExpectError(
      [] {
        kernels::cat({zeros({2, 3}), zeros({3})}, 0);
      },
      "cat: expected tensors of the same rank, got [2, 3] (tensor 0) and [3] (tensor 1)");
  ExpectError(
      [] {
        kernels::cat({zeros({2, 3}), zeros({2, 3}), zeros({3, 3})}, 1);
      },
      "cat: expected the same size in every dim but 1, got [2, 3] (tensor 0) and [3, 3] (tensor 2)");
  ExpectError([] { kernels::cat({zeros({2, 3})}, 2); }, "cat: expected dim in [-2, 2), got 2");
  ExpectError([] { kernels::stack({}, 0); }, "stack: expected a non-empty list of tensors");
  ExpectError(
      [] {
        kernels::stack({zeros({2, 3}), zeros({3, 2})}, 0);
      },
      "stack: expected tensors of the same shape, got [2, 3] (tensor 0) and [3, 2] (tensor 1)");
  ExpectError(
      [] {
        kernels::stack({zeros({2}), zeros({2}, {.dtype = kInt64})}, 0);
      },
      "stack: expected tensors of the same dtype, got float32 (tensor 0) and int64 (tensor 1)");
  ExpectError([] { kernels::stack({zeros({2})}, 2); }, "stack: expected dim in [-2, 2), got 2");
}

}  // namespace
}  // namespace normgrad
