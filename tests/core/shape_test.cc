#include "core/shape.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"

namespace normgrad {
namespace {

using ::testing::HasSubstr;

TEST(Shape, NumelAndStrides) {
  EXPECT_EQ(Numel({}), 1);
  EXPECT_EQ(Numel({2, 0, 3}), 0);
  EXPECT_EQ(ContiguousStrides({2, 3, 4}), (Strides{12, 4, 1}));
  EXPECT_EQ(ShapeToString({2, 3}), "[2, 3]");
  EXPECT_EQ(ShapeToString({}), "[]");
}

TEST(Shape, NormalizeDim) {
  EXPECT_EQ(NormalizeDim(-1, 3, "op"), 2);
  EXPECT_EQ(NormalizeDim(0, 0, "op"), 0);  // a scalar accepts dim 0 and -1, as in PyTorch
  try {
    NormalizeDim(3, 3, "sum");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "sum: expected dim in [-3, 3), got 3");
  }
}

TEST(Shape, Broadcast) {
  EXPECT_EQ(BroadcastShapes({2, 1, 4}, {3, 1}, "add"), (Shape{2, 3, 4}));
  EXPECT_EQ(BroadcastShapes({}, {5}, "add"), (Shape{5}));
  try {
    BroadcastShapes({2, 3}, {4}, "mul");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("mul: expected broadcastable shapes, got [2, 3] and [4]"));
  }
}

}  // namespace
}  // namespace normgrad
