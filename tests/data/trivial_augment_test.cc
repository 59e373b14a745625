// data/trivial_augment against torchvision 0.14's TrivialAugmentWide operations
// (tools/make_augment_fixtures.py): the magnitude tables, and every operation at three magnitudes and both
// signs on images of three channels and of one; the draws; the argument errors.
#include "data/trivial_augment.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/random.h"
#include "tests/testing/error.h"
#include "tests/testing/fixtures.h"

namespace normgrad::data {
namespace {

using testing::ExpectError;
using testing::json;

std::vector<uint8_t> FromHex(const std::string& hex) {
  std::vector<uint8_t> out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  return out;
}

AugmentOp OpNamed(const std::string& name) {
  for (int i = 0; i < kNumAugmentOps; ++i) {
    if (name == AugmentOpName(static_cast<AugmentOp>(i))) return static_cast<AugmentOp>(i);
  }
  ADD_FAILURE() << "no operation named " << name;
  return AugmentOp::kIdentity;
}

const json& Fixture() {
  static const json* fixture = new json(testing::LoadJson("tests/data/testdata/trivial_augment.json"));
  return *fixture;
}

TEST(TrivialAugment, OperationsAndMagnitudesAreTorchvisions) {
  const json& ops = Fixture().at("ops");
  ASSERT_EQ(ops.size(), static_cast<size_t>(kNumAugmentOps));
  for (int i = 0; i < kNumAugmentOps; ++i) {
    const auto op = static_cast<AugmentOp>(i);
    SCOPED_TRACE(AugmentOpName(op));
    EXPECT_EQ(ops[i].at("name").get<std::string>(), AugmentOpName(op));  // in torchvision's order
    EXPECT_EQ(ops[i].at("signed").get<bool>(), AugmentOpIsSigned(op));
    const std::vector<double> table = ops[i].at("magnitudes").get<std::vector<double>>();
    EXPECT_EQ(table.size() > 1, AugmentOpHasMagnitude(op));
    // torchvision's float32 linspace rounds some bins' values differently in its vector lanes: equal to
    // within one float32 ulp, and exactly where a translation's is a whole number of pixels.
    for (size_t bin = 0; bin < table.size(); ++bin) {
      const double ours = AugmentMagnitude(op, static_cast<int>(bin));
      const float theirs = static_cast<float>(table[bin]);
      EXPECT_TRUE(ours == theirs || ours == std::nextafter(theirs, 1e9f) || ours == std::nextafter(theirs, -1e9f))
          << "bin " << bin << ": " << ours << " against " << theirs;
      if (table[bin] == std::trunc(table[bin])) {
        EXPECT_EQ(ours, table[bin]);
      }
    }
  }
}

// Colour and histogram operations match exactly. Geometric ones may differ where a source position is
// half-way between two pixels (float32 there, double here): at most 2% of the pixels of an image.
TEST(TrivialAugment, EachOperationMatchesTorchvision) {
  std::map<std::string, std::pair<ImageSize, std::vector<uint8_t>>> images;
  for (const auto& [name, image] : Fixture().at("images").items()) {
    const std::vector<int64_t> shape = image.at("shape").get<std::vector<int64_t>>();
    images[name] = {ImageSize{shape[0], shape[1], shape[2]}, FromHex(image.at("pixels").get<std::string>())};
  }
  const json& cases = Fixture().at("cases");
  ASSERT_GE(cases.size(), 250u);
  std::set<std::string> ops_seen;
  int64_t geometric_mismatches = 0, geometric_pixels = 0;
  for (const json& c : cases) {
    const std::string op_name = c.at("op").get<std::string>(), image = c.at("image").get<std::string>();
    const double magnitude = c.at("magnitude").get<double>();
    SCOPED_TRACE(absl::StrCat(op_name, " ", magnitude, " on ", image));
    const auto& [size, pixels] = images.at(image);
    const std::vector<uint8_t> expected = FromHex(c.at("output").get<std::string>());
    ASSERT_EQ(expected.size(), static_cast<size_t>(size.bytes()));
    std::vector<uint8_t> got(size.bytes());
    const AugmentOp op = OpNamed(op_name);
    ApplyAugmentOp(op, magnitude, pixels.data(), got.data(), size);
    ops_seen.insert(op_name);
    const bool geometric = op >= AugmentOp::kShearX && op <= AugmentOp::kRotate;
    if (!geometric) {
      EXPECT_EQ(got, expected);
      continue;
    }
    // Positions where any channel differs.
    const int64_t plane = size.height * size.width;
    int64_t positions = 0;
    for (int64_t p = 0; p < plane; ++p) {
      bool differs = false;
      for (int64_t c = 0; c < size.channels; ++c) differs |= got[c * plane + p] != expected[c * plane + p];
      positions += differs;
    }
    EXPECT_LE(positions, size.height * size.width / 50);
    geometric_mismatches += positions;
    geometric_pixels += size.height * size.width;
  }
  EXPECT_EQ(ops_seen.size(), static_cast<size_t>(kNumAugmentOps));
  EXPECT_LE(geometric_mismatches * 200, geometric_pixels);  // under 0.5% over all the geometric cases
}

// The draws: reproducible from the generator's seed, in the documented order (operation, bin, sign), and
// uniform over the operations, bins and signs. On an image of values 50 to 150 (enough pixels that Equalize
// changes it), the draws that leave it unchanged are Identity (1 in 14) and, of the 31 bins of an
// operation, magnitude 0 of the 9 signed ones, 8 bits of Posterize (3 bins) and a Solarize threshold above
// 150 (13 bins): 1/14 * (1 + 25/31) = 12.9% of the draws, 52 of 400 (standard deviation 7).
TEST(TrivialAugment, DrawsUniformlyFromTheGenerator) {
  const ImageSize size{3, 32, 32};
  std::vector<uint8_t> src(size.bytes());
  Generator fill(5);
  for (uint8_t& v : src) v = static_cast<uint8_t>(50 + fill.NextBelow(101));
  std::vector<uint8_t> a(size.bytes()), b(size.bytes());
  Generator g1(11), replay(11), g3(12);
  bool seeds_differ = false;
  int unchanged = 0;
  std::vector<int> per_op(kNumAugmentOps);
  for (int i = 0; i < 400; ++i) {
    TrivialAugment(g1, src.data(), a.data(), size);
    const auto op = static_cast<AugmentOp>(replay.NextBelow(kNumAugmentOps));
    double magnitude = 0;
    if (AugmentOpHasMagnitude(op))
      magnitude = AugmentMagnitude(op, static_cast<int>(replay.NextBelow(kNumMagnitudeBins)));
    if (AugmentOpIsSigned(op) && replay.NextBelow(2) == 1) magnitude = -magnitude;
    ApplyAugmentOp(op, magnitude, src.data(), b.data(), size);
    EXPECT_EQ(a, b) << i << ": " << AugmentOpName(op) << " " << magnitude;
    ++per_op[static_cast<int>(op)];
    unchanged += a == src;
    TrivialAugment(g3, src.data(), b.data(), size);
    seeds_differ |= a != b;
  }
  EXPECT_TRUE(seeds_differ);
  EXPECT_GE(unchanged, 30);
  EXPECT_LE(unchanged, 75);
  for (int op = 0; op < kNumAugmentOps; ++op) {  // 28.6 each (standard deviation 5.2)
    EXPECT_GE(per_op[op], 10) << AugmentOpName(static_cast<AugmentOp>(op));
    EXPECT_LE(per_op[op], 50) << AugmentOpName(static_cast<AugmentOp>(op));
  }
}

TEST(TrivialAugment, RejectsBadArguments) {
  std::vector<uint8_t> src(2 * 4 * 4), dst(src.size());
  const ImageSize two_channels{2, 4, 4}, grey{1, 4, 4};
  auto apply = [&](AugmentOp op, double magnitude, ImageSize size) {
    return [&, op, magnitude, size] { ApplyAugmentOp(op, magnitude, src.data(), dst.data(), size); };
  };
  ExpectError(apply(AugmentOp::kIdentity, 0, two_channels),
              "ApplyAugmentOp: expected an image of 1 or 3 channels and at least 1 x 1 pixels, got 2 x 4 x 4");
  ExpectError(apply(AugmentOp::kRotate, std::nan(""), grey),
              "ApplyAugmentOp: expected a finite Rotate magnitude, got nan");
  ExpectError(apply(AugmentOp::kContrast, -1.5, grey),
              "ApplyAugmentOp: expected a Contrast magnitude in [-1, 1000000] (a blend factor 1 + m >= 0), got -1.5");
  ExpectError(apply(AugmentOp::kBrightness, std::numeric_limits<double>::infinity(), grey),
              "ApplyAugmentOp: expected a Brightness magnitude in [-1, 1000000] (a blend factor 1 + m >= 0), got inf");
  ExpectError(apply(AugmentOp::kColor, 2e6, grey),
              "ApplyAugmentOp: expected a Color magnitude in [-1, 1000000] (a blend factor 1 + m >= 0), got 2e+06");
  ExpectError(apply(static_cast<AugmentOp>(kNumAugmentOps), 0, grey),
              "ApplyAugmentOp: expected an operation in [0, 14), got 14");
  ExpectError([] { AugmentOpName(static_cast<AugmentOp>(-1)); },
              "AugmentOpName: expected an operation in [0, 14), got -1");
  ExpectError(apply(AugmentOp::kAutoContrast, 0, ImageSize{3, 0, 4}),
              "ApplyAugmentOp: expected an image of 1 or 3 channels and at least 1 x 1 pixels, got 3 x 0 x 4");
  ExpectError(apply(AugmentOp::kSolarize, 256, grey),
              "ApplyAugmentOp: expected a Solarize magnitude (threshold) <= 255, got 256");
  ExpectError(apply(AugmentOp::kPosterize, 9, grey),
              "ApplyAugmentOp: expected a Posterize magnitude (bits) in [0, 8], got 9");
  ExpectError([] { AugmentMagnitude(AugmentOp::kShearX, 31); }, "AugmentMagnitude: expected a bin in [0, 31), got 31");
  // Any threshold at or below 0 inverts every value, however far below.
  std::iota(src.begin(), src.end(), 0);
  ApplyAugmentOp(AugmentOp::kSolarize, -1e300, src.data(), dst.data(), grey);
  for (int64_t e = 0; e < grey.bytes(); ++e) EXPECT_EQ(dst[e], 255 - src[e]) << e;
}

}  // namespace
}  // namespace normgrad::data
