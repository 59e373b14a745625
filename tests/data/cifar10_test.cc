#include "data/cifar10.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "tests/data/test_files.h"

namespace normgrad::data {
namespace {

// Five training files of 3 images each (labels 0..9 cycling, image ids 0..14) and a test file of 2.
std::string WriteCifar(const std::string& dir) {
  for (int b = 0; b < 5; ++b) {
    std::vector<uint8_t> labels;
    for (int i = 0; i < 3; ++i) labels.push_back(static_cast<uint8_t>((3 * b + i) % 10));
    testing::WriteBytes(absl::StrCat(dir, "/data_batch_", b + 1, ".bin"), testing::CifarRecords(labels, 3 * b));
  }
  testing::WriteBytes(dir + "/test_batch.bin", testing::CifarRecords({9, 0}, 100));
  return dir;
}

TEST(Cifar10, ReadsTrainingFilesInOrderAndTheTestFile) {
  const std::string dir = WriteCifar(testing::FreshDir());
  absl::StatusOr<Cifar10> data = LoadCifar10(dir);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->dir, dir);
  const ImageDataset& train = data->train;
  EXPECT_EQ(train.size(), 15);
  EXPECT_EQ(train.channels, 3);
  EXPECT_EQ(train.height, 32);
  EXPECT_EQ(train.width, 32);
  EXPECT_EQ(train.num_classes, 10);
  EXPECT_EQ(train.ClassName(3), "cat");
  for (int i = 0; i < 15; ++i) {
    EXPECT_EQ(train.labels[i], i % 10);
    // Pixel k of image i is (i * 7 + k * 13) mod 256: red plane first, each row-major.
    for (int k : {0, 1, 1023, 1024, 3071}) EXPECT_EQ(train.image(i)[k], (i * 7 + k * 13) % 256) << i << " " << k;
  }
  ASSERT_TRUE(data->test.has_value());
  EXPECT_EQ(data->test->size(), 2);
  EXPECT_EQ(data->test->labels[0], 9);
  EXPECT_EQ(data->test->image(1)[5], (101 * 7 + 5 * 13) % 256);
}

TEST(Cifar10, FindsTheArchiveSubfolderAndWorksWithoutATestFile) {
  const std::string dir = testing::FreshDir();
  WriteCifar(dir + "/" + kCifar10Subdir);
  std::filesystem::remove(dir + "/" + kCifar10Subdir + "/test_batch.bin");
  absl::StatusOr<Cifar10> data = LoadCifar10(dir);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->dir, dir + "/" + kCifar10Subdir);
  EXPECT_EQ(data->train.size(), 15);
  EXPECT_FALSE(data->test.has_value());
}

TEST(Cifar10, MissingFilesAreListed) {
  const std::string dir = WriteCifar(testing::FreshDir());
  std::filesystem::remove(dir + "/data_batch_4.bin");
  const absl::Status s = LoadCifar10(dir).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(s.message().find(dir + " lacks data_batch_4.bin"), std::string::npos) << s;
  EXPECT_NE(s.message().find(kCifar10Subdir), std::string::npos) << s;
}

TEST(Cifar10, BadFilesNameTheFileAndTheProblem) {
  const std::string dir = testing::FreshDir();
  struct Case {
    const char* what;
    std::string bytes;
    const char* message;
  };
  const std::string one = testing::CifarRecords({1});
  const std::vector<Case> cases = {
      {"truncated", one + one.substr(0, 100), "got 3173 bytes"},
      {"empty", "", "got 0 bytes"},
      {"bad label", one + testing::CifarRecords({10}), "record 1 (byte offset 3073) has label 10"},
  };
  for (const Case& c : cases) {
    const std::string path = dir + "/data_batch_1.bin";
    testing::WriteBytes(path, c.bytes);
    absl::StatusOr<ImageDataset> d = ReadCifar10File(path);
    EXPECT_EQ(d.status().code(), absl::StatusCode::kDataLoss) << c.what;
    EXPECT_NE(d.status().message().find(path), std::string::npos) << c.what << ": " << d.status();
    EXPECT_NE(d.status().message().find(c.message), std::string::npos) << c.what << ": " << d.status();
  }
  EXPECT_EQ(ReadCifar10File(dir + "/none.bin").status().code(), absl::StatusCode::kNotFound);

  // A bad file among the five fails the whole load with its own name.
  WriteCifar(dir);
  testing::WriteBytes(dir + "/data_batch_3.bin", "junk");
  const absl::Status s = LoadCifar10(dir).status();
  EXPECT_NE(s.message().find("data_batch_3.bin"), std::string::npos) << s;
  testing::WriteBytes(dir + "/data_batch_3.bin", one);
  testing::WriteBytes(dir + "/test_batch.bin", one + "x");
  EXPECT_NE(LoadCifar10(dir).status().message().find("test_batch.bin"), std::string::npos);
}

}  // namespace
}  // namespace normgrad::data
