#include "data/image_dataset.h"

#include <gtest/gtest.h>

#include <cmath>

namespace normgrad::data {
namespace {

ImageDataset Tiny(std::vector<uint8_t> labels) {
  ImageDataset d;
  d.channels = 2;
  d.height = 1;
  d.width = 2;
  d.num_classes = 3;
  d.labels = labels;
  for (size_t i = 0; i < labels.size() * 4; ++i) d.pixels.push_back(static_cast<uint8_t>(i));
  return d;
}

TEST(ImageDataset, SplitTailAndAppend) {
  const ImageDataset d = Tiny({0, 1, 2, 0, 1});
  absl::StatusOr<std::pair<ImageDataset, ImageDataset>> split = SplitTail(d, 2);
  ASSERT_TRUE(split.ok()) << split.status();
  EXPECT_EQ(split->first.labels, (std::vector<uint8_t>{0, 1, 2}));
  EXPECT_EQ(split->second.labels, (std::vector<uint8_t>{0, 1}));
  EXPECT_EQ(split->second.image(0)[0], 12);
  EXPECT_EQ(split->second.channels, 2);

  ImageDataset joined = split->first;
  ASSERT_TRUE(Append(joined, split->second).ok());
  EXPECT_EQ(joined.labels, d.labels);
  EXPECT_EQ(joined.pixels, d.pixels);

  EXPECT_EQ(SplitTail(d, 6).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SplitTail(d, -1).status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(SplitTail(d, 0).ok());
  EXPECT_EQ(SplitTail(d, 0)->second.size(), 0);

  ImageDataset other = Tiny({0});
  other.height = 2;
  const absl::Status s = Append(joined, other);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("expected [2, 1, 2] images of 3 classes, got [2, 2, 2]"), std::string::npos) << s;
}

TEST(ImageDataset, ChannelStats) {
  // Channel 0 holds pixels 0, 1, 4, 5, 8, 9; channel 1 holds 2, 3, 6, 7, 10, 11.
  const ChannelStats stats = ComputeChannelStats(Tiny({0, 1, 2}));
  ASSERT_EQ(stats.mean.size(), 2u);
  const double mean0 = (0 + 1 + 4 + 5 + 8 + 9) / 6.0;
  double var0 = 0;
  for (double v : {0, 1, 4, 5, 8, 9}) var0 += (v - mean0) * (v - mean0) / 6;
  EXPECT_NEAR(stats.mean[0], mean0 / 255, 1e-12);
  EXPECT_NEAR(stats.mean[1], (mean0 + 2) / 255, 1e-12);
  EXPECT_NEAR(stats.std[0], std::sqrt(var0) / 255, 1e-12);
  EXPECT_NEAR(stats.std[1], std::sqrt(var0) / 255, 1e-12);
  EXPECT_EQ(Tiny({0}).ClassName(1), "1");
}

}  // namespace
}  // namespace normgrad::data
