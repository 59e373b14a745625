#include "data/fashion_mnist.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/data/test_files.h"

namespace normgrad::data {
namespace {

std::string BE32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

std::string IdxImages(uint32_t n, uint32_t h, uint32_t w) {
  std::string s = BE32(0x803) + BE32(n) + BE32(h) + BE32(w);
  for (uint32_t k = 0; k < n * h * w; ++k) s.push_back(static_cast<char>(k * 5));
  return s;
}

std::string IdxLabels(const std::string& labels) { return BE32(0x801) + BE32(labels.size()) + labels; }

std::string Gzip(const std::string& path) {
  testing::Run({"gzip", "-kf", path});
  return path + ".gz";
}

TEST(FashionMnist, ReadsGzipAndRawIdx) {
  const std::string dir = testing::FreshDir();
  testing::WriteBytes(dir + "/images", IdxImages(3, 2, 4));
  testing::WriteBytes(dir + "/labels", IdxLabels({0, 9, 4}));
  for (bool gz : {false, true}) {
    const std::string images = gz ? Gzip(dir + "/images") : dir + "/images";
    const std::string labels = gz ? Gzip(dir + "/labels") : dir + "/labels";
    absl::StatusOr<ImageDataset> d = ReadIdx(images, labels);
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_EQ(d->size(), 3);
    EXPECT_EQ(d->channels, 1);
    EXPECT_EQ(d->height, 2);
    EXPECT_EQ(d->width, 4);
    EXPECT_EQ(d->labels, (std::vector<uint8_t>{0, 9, 4}));
    EXPECT_EQ(d->image(2)[3], static_cast<uint8_t>((2 * 8 + 3) * 5));
  }
}

TEST(FashionMnist, BadFilesNameTheFileAndTheProblem) {
  const std::string dir = testing::FreshDir();
  const std::string images = dir + "/images", labels = dir + "/labels";
  auto message = [&](const std::string& image_bytes, const std::string& label_bytes) {
    testing::WriteBytes(images, image_bytes);
    testing::WriteBytes(labels, label_bytes);
    absl::StatusOr<ImageDataset> d = ReadIdx(images, labels);
    EXPECT_FALSE(d.ok());
    return std::string(d.status().message());
  };
  const std::string good = IdxImages(2, 3, 3);
  EXPECT_NE(message(IdxLabels({1, 2}), IdxLabels({1, 2})).find(images + ": expected an IDX file of unsigned bytes with 3"),
            std::string::npos);
  EXPECT_NE(message(good, IdxLabels({1, 2}).substr(0, 3))
                .find(labels + ": expected an IDX file of unsigned bytes with 1 "
                               "dimensions (magic 0x00000801), got a file of 3 bytes"),
            std::string::npos);
  EXPECT_NE(message(good.substr(0, 10), IdxLabels({1, 2}))
                .find(images + ": expected a header of 16 bytes, got a file of 10 bytes"),
            std::string::npos);
  // Items of no bytes, or of more than 2^31 (with no items, the data size cannot bound them).
  EXPECT_NE(
      message(IdxImages(2, 0, 3), IdxLabels({1, 2})).find(images + ": expected items of 1 to 2^31 bytes, got 0 x 3"),
      std::string::npos);
  EXPECT_NE(message(BE32(0x803) + BE32(0) + BE32(0xffffffff) + BE32(0xffffffff), IdxLabels({}))
                .find("expected items of 1 to 2^31 bytes, got 4294967295 x 4294967295"),
            std::string::npos);
  EXPECT_NE(message(good.substr(0, good.size() - 1), IdxLabels({1, 2})).find("promises 2 x 3 x 3 bytes of data, the file has 17"),
            std::string::npos);
  EXPECT_NE(message(good, IdxLabels({1, 2, 3})).find("holds 2 images but"), std::string::npos);
  EXPECT_NE(message(good, IdxLabels({1, 10})).find(labels + ": label 1 is 10, expected 0-9"), std::string::npos);
  // A huge count in the header is a size mismatch, not an overflow or an allocation.
  EXPECT_NE(message(BE32(0x803) + BE32(0xffffffff) + BE32(0xffffffff) + BE32(0xffffffff) + "xx", IdxLabels({1}))
                .find("promises"),
            std::string::npos);
  testing::WriteBytes(dir + "/bad.gz", std::string("\x1f\x8b", 2) + "not really gzip");
  const absl::Status gz = ReadIdx(dir + "/bad.gz", labels).status();
  EXPECT_EQ(gz.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(gz.message().find(dir + "/bad.gz: gzip:"), std::string::npos) << gz;
  EXPECT_EQ(ReadIdx(dir + "/none", labels).status().code(), absl::StatusCode::kNotFound);
}

// The real data set, from Debian's dataset-fashion-mnist (tools/setup.sh installs it).
TEST(FashionMnist, DebianPackage) {
  if (!std::filesystem::exists(kFashionMnistDir)) {
    GTEST_SKIP() << "skipped: " << kFashionMnistDir << " is absent (install dataset-fashion-mnist)";
  }
  absl::StatusOr<FashionMnist> d = LoadFashionMnist();
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->train.size(), 60000);
  EXPECT_EQ(d->test.size(), 10000);
  EXPECT_EQ(d->train.height, 28);
  EXPECT_EQ(d->train.width, 28);
  std::vector<int> per_class(10);
  for (uint8_t label : d->train.labels) ++per_class[label];
  EXPECT_EQ(per_class, std::vector<int>(10, 6000));
  EXPECT_EQ(d->test.ClassName(9), "Ankle boot");
}

}  // namespace
}  // namespace normgrad::data
