#include "examples/cifar10/tta.h"

#include <gtest/gtest.h>

#include <vector>

#include "core/error.h"
#include "core/tensor.h"
#include "tests/testing/error.h"

namespace normgrad::cifar10 {
namespace {

using testing::ExpectError;

// A batch of 2 images with 2 channels, 3 x 4 pixels: element (n, c, y, x) = 1000n + 100c + 10y + x.
Tensor Numbered() {
  Tensor t = empty({2, 2, 3, 4});
  float* p = t.data<float>();
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < 2; ++c)
      for (int64_t y = 0; y < 3; ++y)
        for (int64_t x = 0; x < 4; ++x) *p++ = static_cast<float>(1000 * n + 100 * c + 10 * y + x);
  return t;
}

float At(const Tensor& t, int64_t n, int64_t c, int64_t y, int64_t x) {
  return t.data<float>()[((n * t.size(1) + c) * t.size(2) + y) * t.size(3) + x];
}

bool SameValues(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) return false;
  for (int64_t i = 0; i < a.numel(); ++i) {
    if (a.data<float>()[i] != b.data<float>()[i]) return false;
  }
  return true;
}

const std::vector<float> kFill = {-7, -9};  // per channel

TEST(Tta, ShiftMovesTheImageAndFillsTheUncoveredBorderPerChannel) {
  const Tensor images = Numbered();
  // Moved up 1 and left 2: view(y, x) = image(y + 1, x + 2).
  const Tensor v = ShiftImages(images, 1, 2, kFill);
  EXPECT_EQ(At(v, 1, 1, 0, 0), 1000 + 100 + 10 * 1 + 2);
  EXPECT_EQ(At(v, 1, 1, 1, 1), 1000 + 100 + 10 * 2 + 3);
  EXPECT_EQ(At(v, 1, 1, 1, 2), -9);  // column 4 is outside
  EXPECT_EQ(At(v, 0, 0, 2, 0), -7);  // row 3 is outside
  // Moved down 2 and right 3: view(y, x) = image(y - 2, x - 3).
  const Tensor w = ShiftImages(images, -2, -3, kFill);
  EXPECT_EQ(At(w, 0, 1, 2, 3), 100 + 0 + 0);
  EXPECT_EQ(At(w, 0, 1, 2, 2), -9);
  EXPECT_EQ(At(w, 0, 0, 1, 3), -7);
  // Further than the image: all fill.
  const Tensor gone = ShiftImages(images, 0, 5, kFill);
  EXPECT_EQ(At(gone, 0, 0, 1, 0), -7);
  EXPECT_EQ(At(gone, 0, 1, 1, 3), -9);
  EXPECT_TRUE(SameValues(ShiftImages(images, 0, 0, kFill), images));
  EXPECT_THROW(ShiftImages(images, 1, 0, {0.0f}), Error);
}

TEST(Tta, ViewsAreTheImageItsShiftsAndTheirMirrors) {
  const Tensor images = Numbered();
  EXPECT_EQ(TtaViews(images, {}, kFill).size(), 1u);
  EXPECT_EQ(TtaViews(images, {.flip = true}, kFill).size(), 2u);
  EXPECT_EQ(TtaViews(images, {.shift = 1}, kFill).size(), 5u);
  const std::vector<Tensor> views = TtaViews(images, {.flip = true, .shift = 1}, kFill);
  ASSERT_EQ(views.size(), 10u);
  EXPECT_TRUE(SameValues(views[0], images));
  EXPECT_TRUE(SameValues(views[1], MirrorImages(images)));
  EXPECT_TRUE(SameValues(views[2], ShiftImages(images, 1, 0, kFill)));
  EXPECT_TRUE(SameValues(views[3], MirrorImages(views[2])));
  EXPECT_TRUE(SameValues(views[8], ShiftImages(images, 0, -1, kFill)));
  EXPECT_EQ(At(views[1], 0, 0, 0, 0), 3);
  EXPECT_THROW(TtaViews(images, {.flip = true, .shift = -1}, kFill), Error);
}

TEST(Tta, DiagonalsCompleteTheGridOfShifts) {
  const Tensor images = Numbered();
  EXPECT_EQ(TtaViews(images, {.shift = 2, .diagonals = true}, kFill).size(), 9u);
  const std::vector<Tensor> views = TtaViews(images, {.flip = true, .shift = 2, .diagonals = true}, kFill);
  ASSERT_EQ(views.size(), 18u);
  // The first ten are the views without diagonals; then each diagonal and its mirror image.
  const std::vector<Tensor> cross = TtaViews(images, {.flip = true, .shift = 2}, kFill);
  for (size_t v = 0; v < cross.size(); ++v) EXPECT_TRUE(SameValues(views[v], cross[v])) << "view " << v;
  EXPECT_TRUE(SameValues(views[10], ShiftImages(images, 2, 2, kFill)));
  EXPECT_TRUE(SameValues(views[11], MirrorImages(views[10])));
  EXPECT_TRUE(SameValues(views[16], ShiftImages(images, -2, -2, kFill)));
  ExpectError([&] { TtaViews(images, {.diagonals = true}, kFill); },
              "TtaViews: expected a shift > 0 with diagonals, got 0");
}

TEST(Tta, AnImageAndItsMirrorImageGetTheSameViews) {
  // So the averaged logits cannot favour one side: every view of the mirrored batch is a view of the batch.
  const Tensor images = Numbered();
  const TtaOptions grid{.flip = true, .shift = 2, .diagonals = true};
  const std::vector<Tensor> views = TtaViews(images, grid, kFill);
  const std::vector<Tensor> mirrored = TtaViews(MirrorImages(images), grid, kFill);
  for (const Tensor& m : mirrored) {
    int matches = 0;
    for (const Tensor& v : views) matches += SameValues(m, v);
    EXPECT_EQ(matches, 1);
  }
  // Without the flips the set is not symmetric (a left shift of the mirror is a right shift of the image).
  const std::vector<Tensor> one_side = TtaViews(images, {.shift = 2}, kFill);
  const std::vector<Tensor> other_side = TtaViews(MirrorImages(images), {.shift = 2}, kFill);
  int matches = 0;
  for (const Tensor& m : other_side) {
    for (const Tensor& v : one_side) matches += SameValues(m, v);
  }
  EXPECT_EQ(matches, 0);
}

}  // namespace
}  // namespace normgrad::cifar10
