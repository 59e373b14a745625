#include "core/kernels/view.h"

#include <gtest/gtest.h>

#include <limits>
#include <numeric>
#include <string>

#include "core/cpu/copy.h"
#include "core/kernels/copy.h"
#include "core/parallel.h"
#include "tests/testing/error.h"

namespace normgrad {
namespace {

using kernels::contiguous;
using testing::ExpectError;

// 0, 1, ..., numel - 1 as float64 with `shape`.
Tensor Iota(const Shape& shape) {
  if (shape.empty()) return full({}, 0, {.dtype = kFloat64});  // from_vector makes empty shapes 1-d
  std::vector<double> v(Numel(shape));
  std::iota(v.begin(), v.end(), 0.0);
  return from_vector(v, shape);
}

std::vector<double> Values(const Tensor& t) { return t.to_vector<double>(); }

// dst = src through the strided copy (same shape and dtype).
void Write(const Tensor& dst, const Tensor& src) {
  cpu::StridedCopy(dst.raw_data(), dst.strides(), src.raw_data(), src.strides(), src.shape(),
                   ItemSize(src.dtype()));
}

TEST(View, ReshapeIsAViewOfContiguousTensors) {
  Tensor x = Iota({2, 3, 4});
  Tensor y = kernels::reshape(x, {4, -1});
  EXPECT_EQ(y.shape(), (Shape{4, 6}));
  EXPECT_TRUE(y.storage().is_same(x.storage()));
  y.data<double>()[5] = 100;  // element (0, 5) of y is element (0, 1, 1) of x
  EXPECT_EQ(x.at({0, 1, 1}), 100);
  EXPECT_EQ(kernels::reshape(x, {24}).shape(), (Shape{24}));
  EXPECT_EQ(kernels::reshape(Iota({}), {1, 1}).shape(), (Shape{1, 1}));
  EXPECT_EQ(kernels::reshape(zeros({0, 3}), {-1, 3}).shape(), (Shape{0, 3}));
}

TEST(View, ReshapeCopiesWhenStridesDoNotAllowAView) {
  Tensor x = Iota({2, 3});
  Tensor xt = kernels::t(x);  // [[0, 3], [1, 4], [2, 5]]
  Tensor y = kernels::reshape(xt, {6});
  EXPECT_FALSE(y.storage().is_same(x.storage()));
  EXPECT_EQ(Values(y), (std::vector<double>{0, 3, 1, 4, 2, 5}));
  ExpectError(
      [&] { kernels::view(xt, {6}); },
      "view: expected a shape compatible with the input's strides, got [6] for shape [3, 2] and strides "
      "[1, 3]");
}

TEST(View, ViewSplitsAndMergesWithinContiguousChunks) {
  // A [4, 6] slice of columns 0..2 of a [4, 6] matrix: rows are contiguous chunks, merging rows is not.
  Tensor x = kernels::narrow(Iota({4, 6}), 1, 0, 3);
  Tensor y = kernels::view(x, {4, 3, 1});
  EXPECT_EQ(y.strides()[0], 6);
  EXPECT_EQ(Values(y), Values(x));
  Tensor z = kernels::view(kernels::narrow(Iota({4, 6}), 0, 1, 2), {3, 4});  // rows 1..2 are contiguous
  EXPECT_EQ(z.at({0, 0}), 6);
  EXPECT_EQ(z.at({2, 3}), 17);
  EXPECT_THROW(kernels::view(x, {12}), Error);
  // Expanded dims view as long as they stay whole.
  Tensor e = kernels::expand(Iota({3, 1}), {3, 4});
  EXPECT_EQ(kernels::view(e, {3, 2, 2}).strides(), (Strides{1, 0, 0}));
}

TEST(View, InferShapeErrors) {
  ExpectError([] { kernels::reshape(Iota({6}), {-1, -1}); }, "reshape: expected at most one -1 in the shape");
  ExpectError(
      [] {
        kernels::reshape(Iota({6}), {4, 2});
      },
      "reshape: expected a shape with 6 elements, got [4, 2]");
  ExpectError(
      [] {
        kernels::reshape(Iota({6}), {4, -1});
      },
      "reshape: expected a shape with 6 elements, got [4, -1]");
  ExpectError([] { kernels::view(Iota({6}), {-2, -3}); }, "view: expected sizes >= 0 or -1, got [-2, -3]");
  ExpectError(
      [] {
        kernels::reshape(zeros({0, 3}), {3, -1, 0});
      },
      "reshape: expected a shape whose -1 can be inferred, got [3, -1, 0] for 0 elements");
}

TEST(View, Flatten) {
  Tensor x = Iota({2, 3, 4, 5});
  EXPECT_EQ(kernels::flatten(x).shape(), (Shape{120}));
  EXPECT_EQ(kernels::flatten(x, 1).shape(), (Shape{2, 60}));
  EXPECT_EQ(kernels::flatten(x, 1, 2).shape(), (Shape{2, 12, 5}));
  EXPECT_EQ(kernels::flatten(Iota({})).shape(), (Shape{1}));
  ExpectError([&] { kernels::flatten(x, 2, 1); }, "flatten: expected start_dim <= end_dim, got 2 and 1");
  ExpectError([&] { kernels::flatten(x, 4); }, "flatten: expected dim in [-4, 4), got 4");
}

TEST(View, PermuteAndTranspose) {
  Tensor x = Iota({2, 3, 4});
  Tensor p = kernels::permute(x, {2, 0, 1});
  EXPECT_EQ(p.shape(), (Shape{4, 2, 3}));
  EXPECT_EQ(p.strides(), (Strides{1, 12, 4}));
  EXPECT_EQ(p.at({3, 1, 2}), x.at({1, 2, 3}));
  EXPECT_FALSE(p.is_contiguous());
  Tensor tr = kernels::transpose(x, -1, 0);
  EXPECT_EQ(tr.shape(), (Shape{4, 3, 2}));
  EXPECT_EQ(tr.at({3, 2, 1}), x.at({1, 2, 3}));
  EXPECT_EQ(kernels::t(Iota({3})).shape(), (Shape{3}));
  ExpectError(
      [&] {
        kernels::permute(x, {0, 0, 1});
      },
      "permute: expected a permutation of the 3 dims, got [0, 0, 1]");
  ExpectError(
      [&] {
        kernels::permute(x, {0, 1});
      },
      "permute: expected a permutation of the 3 dims, got [0, 1]");
  ExpectError([&] { kernels::t(x); }, "t: expected a tensor with at most 2 dims, got [2, 3, 4]");
  ExpectError([&] { kernels::transpose(x, 0, 3); }, "transpose: expected dim in [-3, 3), got 3");
}

TEST(View, NarrowSliceSelect) {
  Tensor x = Iota({3, 5});
  Tensor n = kernels::narrow(x, 1, 1, 3);
  EXPECT_EQ(Values(n), (std::vector<double>{1, 2, 3, 6, 7, 8, 11, 12, 13}));
  EXPECT_EQ(Values(kernels::narrow(x, 1, -2, 2)), (std::vector<double>{3, 4, 8, 9, 13, 14}));
  EXPECT_EQ(Values(kernels::slice(x, 1, 0, 5, 2)), (std::vector<double>{0, 2, 4, 5, 7, 9, 10, 12, 14}));
  EXPECT_EQ(Values(kernels::slice(x, 1, -2)), (std::vector<double>{3, 4, 8, 9, 13, 14}));
  EXPECT_EQ(kernels::slice(x, 0, 2, 100).shape(), (Shape{1, 5}));  // clamped like Python
  EXPECT_EQ(kernels::slice(x, 0, 3, 1).shape(), (Shape{0, 5}));
  EXPECT_EQ(Values(kernels::select(x, 0, -1)), (std::vector<double>{10, 11, 12, 13, 14}));
  EXPECT_EQ(Values(kernels::select(x, 1, 2)), (std::vector<double>{2, 7, 12}));
  ExpectError([&] { kernels::narrow(x, 1, 3, 3); },
              "narrow: expected start + length <= 5 in dim 1, got start 3 and length 3");
  ExpectError([&] { kernels::narrow(x, 1, 6, 0); }, "narrow: expected start in [-5, 5] in dim 1, got 6");
  ExpectError([&] { kernels::slice(x, 0, 0, 2, 0); }, "slice: expected a positive step, got 0");
  ExpectError([&] { kernels::select(x, 1, 5); },
              "select: expected index in [-5, 5) for dim 1 of size 5, got 5");
  ExpectError([] { kernels::select(Iota({}), 0, 0); }, "select: expected a tensor with at least 1 dim");
}

TEST(View, WritesThroughViewsAreVisible) {
  Tensor x = zeros({3, 4}, {.dtype = kFloat64});
  Tensor col = kernels::select(x, 1, 2);
  col.data<double>()[col.stride(0) * 1] = 7;  // x[1, 2]
  EXPECT_EQ(x.at({1, 2}), 7);
  Write(kernels::slice(x, 0, 0, 3, 2), ones({2, 4}, {.dtype = kFloat64}));
  EXPECT_EQ(Values(kernels::select(x, 1, 0)), (std::vector<double>{1, 0, 1}));
  Write(kernels::t(x), Iota({4, 3}));
  EXPECT_EQ(x.at({2, 1}), 5);  // x^T[1, 2] = 5
}

// Sizes whose products overflow int64 are refused, not wrapped into small allocations or views.
TEST(View, SizesThatOverflowAreRefused) {
  ExpectError([&] { kernels::narrow(zeros({10}), 0, 1, std::numeric_limits<int64_t>::max()); },
              "narrow: expected start + length <= 10 in dim 0, got start 1 and length 9223372036854775807");
  ExpectError(
      [&] {
        empty({int64_t{1} << 62, 4});
      },
      "expected a shape of fewer than 2^63 elements, got [4611686018427387904, 4]");
  ExpectError(
      [&] {
        empty({int64_t{1} << 62, 4, 0});
      },  // empty, but its strides would overflow
      "expected a shape of fewer than 2^63 elements, got [4611686018427387904, 4, 0]");
  ExpectError([&] { empty({int64_t{1} << 61}, {.dtype = kFloat64}); },
              "empty: expected fewer than 2^63 bytes, got [2305843009213693952] of float64");
  ExpectError(
      [&] {
        kernels::view(zeros({0}), {int64_t{1} << 32, int64_t{1} << 32, 0});
      },
      "view: expected a shape with 0 elements, got [4294967296, 4294967296, 0]");
  ExpectError(
      [&] {
        kernels::view(zeros({0}), {int64_t{1} << 32, int64_t{1} << 32, 0, -1});
      },
      "view: expected a shape with 0 elements, got [4294967296, 4294967296, 0, -1]");
}

TEST(View, SqueezeUnsqueeze) {
  Tensor x = Iota({1, 3, 1, 2});
  EXPECT_EQ(kernels::squeeze(x).shape(), (Shape{3, 2}));
  EXPECT_EQ(kernels::squeeze(x, 2).shape(), (Shape{1, 3, 2}));
  EXPECT_EQ(kernels::squeeze(x, 1).shape(), (Shape{1, 3, 1, 2}));  // size 3: unchanged, as in PyTorch
  EXPECT_EQ(kernels::squeeze(Iota({})).shape(), (Shape{}));
  Tensor u = kernels::unsqueeze(Iota({2, 3}), -1);
  EXPECT_EQ(u.shape(), (Shape{2, 3, 1}));
  EXPECT_TRUE(u.is_contiguous());
  EXPECT_EQ(kernels::unsqueeze(Iota({2, 3}), 0).strides(), (Strides{6, 3, 1}));
  ExpectError([] { kernels::unsqueeze(Iota({2, 3}), 3); }, "unsqueeze: expected dim in [-3, 3), got 3");
  ExpectError([&] { kernels::squeeze(x, -5); }, "squeeze: expected dim in [-4, 4), got -5");
}

TEST(View, ExpandUsesStrideZero) {
  Tensor x = Iota({3, 1});
  Tensor e = kernels::expand(x, {2, -1, 4});
  EXPECT_EQ(e.shape(), (Shape{2, 3, 4}));
  EXPECT_EQ(e.strides(), (Strides{0, 1, 0}));
  EXPECT_EQ(e.at({1, 2, 3}), 2);
  EXPECT_EQ(Values(contiguous(e)),
            (std::vector<double>{0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2}));
  ExpectError([&] { kernels::expand(x, {4}); },
              "expand: expected a target of at least 2 dims, got [4] for shape [3, 1]");
  ExpectError(
      [&] {
        kernels::expand(x, {2, 4});
      },
      "expand: expected size 3 (or an input size of 1) in dim 0, got shape [3, 1] and target [2, 4]");
  ExpectError(
      [&] {
        kernels::expand(x, {-1, 3, 4});
      },
      "expand: expected a size >= 0 for the new leading dim 0");
}

TEST(Copy, ContiguousAndClone) {
  Tensor x = Iota({2, 3});
  EXPECT_TRUE(contiguous(x).is_same(x));
  Tensor c = kernels::clone(x);
  EXPECT_FALSE(c.storage().is_same(x.storage()));
  EXPECT_EQ(Values(c), Values(x));
  Tensor xt = contiguous(kernels::t(x));
  EXPECT_TRUE(xt.is_contiguous());
  EXPECT_EQ(Values(xt), (std::vector<double>{0, 3, 1, 4, 2, 5}));
  Tensor i = kernels::clone(kernels::t(from_vector<int64_t>({1, 2, 3, 4}, {2, 2})));
  EXPECT_EQ(i.to_vector<int64_t>(), (std::vector<int64_t>{1, 3, 2, 4}));
  Tensor f = kernels::clone(kernels::slice(from_vector<float>({1, 2, 3, 4, 5}), 0, 0, 5, 2));
  EXPECT_EQ(f.to_vector<float>(), (std::vector<float>{1, 3, 5}));
}

// The strided copy against element-by-element indexing, over layouts that exercise its paths: merged
// dims, long rows split over threads, transposed tiles, broadcast reads, float and double items.
TEST(Copy, StridedCopyMatchesIndexing) {
  SetNumThreads(2);
  const std::vector<std::pair<Shape, std::vector<int64_t>>> cases = {
      {{1000, 300}, {1, 0}}, {{300, 1000}, {0, 1}},    {{7, 33, 65}, {2, 0, 1}}, {{2, 3, 4, 5}, {3, 1, 0, 2}},
      {{200000}, {0}},       {{17, 1, 19}, {1, 2, 0}}, {{64, 64, 3}, {2, 1, 0}},
  };
  for (const auto& [shape, perm] : cases) {
    Tensor x = kernels::permute(Iota(shape), perm);
    Tensor y = contiguous(x);
    ASSERT_TRUE(y.is_contiguous());
    EXPECT_EQ(Values(y), Values(x)) << ShapeToString(shape);
    Tensor xf = contiguous(kernels::permute(kernels::reshape(arange(0, Numel(shape)), shape), perm));
    EXPECT_EQ(xf.to_vector<double>(), Values(x)) << ShapeToString(shape);
  }
  Tensor e = contiguous(kernels::expand(Iota({1, 5000}), {40, 5000}));
  EXPECT_EQ(e.at({39, 4999}), 4999);
  Tensor s = contiguous(kernels::slice(kernels::narrow(Iota({50, 60}), 1, 3, 40), 0, 1, 50, 3));
  EXPECT_EQ(s.shape(), (Shape{17, 40}));
  EXPECT_EQ(s.at({16, 39}), 49 * 60 + 42);
}

}  // namespace
}  // namespace normgrad
