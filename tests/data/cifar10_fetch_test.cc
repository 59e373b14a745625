#include "data/cifar10_fetch.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "data/cifar10.h"
#include "data/md5.h"
#include "tests/data/test_files.h"

namespace normgrad::data {
namespace {

// A small archive laid out like the official one (cifar-10-batches-bin/data_batch_1..5.bin, test_batch.bin),
// made with tar and gzip; returns its path.
std::string MakeArchive() {
  const std::string src = testing::FreshDir("_src");
  for (int b = 1; b <= 5; ++b) {
    testing::WriteBytes(absl::StrCat(src, "/", kCifar10Subdir, "/data_batch_", b, ".bin"),
                        testing::CifarRecords({static_cast<uint8_t>(b), 0}, 2 * b));
  }
  testing::WriteBytes(absl::StrCat(src, "/", kCifar10Subdir, "/test_batch.bin"), testing::CifarRecords({7}));
  const std::string archive = testing::FreshDir("_archive") + "/" + kCifar10Archive;
  testing::Run({"tar", "-czf", archive, "-C", src, kCifar10Subdir});
  return archive;
}

std::string Md5(const std::string& path) {
  absl::StatusOr<std::string> md5 = Md5OfFile(path);
  EXPECT_TRUE(md5.ok()) << md5.status();
  return md5.value_or("");
}

// The names in a folder, sorted: what a fetch leaves behind (no temporary download or unpacking folder).
std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

void ExpectLoads(const std::string& batches_dir) {
  absl::StatusOr<Cifar10> data = LoadCifar10(batches_dir);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->train.size(), 10);
  EXPECT_EQ(data->train.labels[2], 2);
  ASSERT_TRUE(data->test.has_value());
  EXPECT_EQ(data->test->labels[0], 7);
}

TEST(FetchCifar10, FilesAlreadyThereNeedNoDownload) {
  const std::string dir = testing::FreshDir();
  for (int b = 1; b <= 5; ++b) testing::WriteBytes(absl::StrCat(dir, "/data_batch_", b, ".bin"), testing::CifarRecords({1}));
  absl::StatusOr<std::string> found = FindOrFetchCifar10(dir, {.url = "http://127.0.0.1:9/never-used"});
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(*found, dir);
}

TEST(FetchCifar10, DownloadsChecksAndUnpacks) {
  const std::string archive = MakeArchive();
  const std::string dir = testing::FreshDir() + "/new/folder";
  std::vector<std::string> log;
  absl::StatusOr<std::string> found = FindOrFetchCifar10(
      dir, {.url = "file://" + archive, .md5 = Md5(archive), .log = [&](const std::string& m) { log.push_back(m); }});
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(*found, dir + "/" + kCifar10Subdir);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0], "CIFAR-10 is not in " + dir + ": downloading file://" + archive + " (about 170 MB)");
  EXPECT_EQ(log[1], "unpacking " + dir + "/" + kCifar10Archive + " into " + dir);
  ExpectLoads(*found);
  // The archive is kept under its own name; no temporary download or unpacking folder is left.
  EXPECT_EQ(Entries(dir), (std::vector<std::string>{kCifar10Subdir, kCifar10Archive}));
}

// An unpack that fails part way (here: test_batch.bin cannot be moved into place, a folder being in the
// way) leaves no training batches behind, so the next run unpacks again instead of taking the folder for a
// data set without its test batch.
TEST(FetchCifar10, AnUnpackThatFailsPartWayLeavesNoTrainingBatches) {
  const std::string archive = MakeArchive();
  const std::string dir = testing::FreshDir();
  std::filesystem::copy_file(archive, dir + "/" + kCifar10Archive);
  const std::string blocker = absl::StrCat(dir, "/", kCifar10Subdir, "/test_batch.bin");
  testing::WriteBytes(blocker + "/in_the_way", "x");
  const absl::Status s = FindOrFetchCifar10(dir, {.md5 = Md5(archive)}).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_NE(s.message().find("the archive cannot be unpacked: cannot move"), std::string::npos) << s;
  EXPECT_FALSE(FindCifar10(dir).ok());
  EXPECT_EQ(Entries(dir), (std::vector<std::string>{kCifar10Subdir, kCifar10Archive}));

  std::filesystem::remove_all(blocker);
  absl::StatusOr<std::string> found = FindOrFetchCifar10(dir, {.md5 = Md5(archive)});
  ASSERT_TRUE(found.ok()) << found.status();
  ExpectLoads(*found);
}

TEST(FetchCifar10, AnArchivePutThereByHandIsUsedOffline) {
  const std::string archive = MakeArchive();
  const std::string dir = testing::FreshDir();
  std::filesystem::copy_file(archive, dir + "/" + kCifar10Archive);
  absl::StatusOr<std::string> found = FindOrFetchCifar10(dir, {.md5 = Md5(archive), .download = false});
  ASSERT_TRUE(found.ok()) << found.status();
  ExpectLoads(*found);
}

TEST(FetchCifar10, WrongMd5IsRefused) {
  const std::string archive = MakeArchive();
  const std::string dir = testing::FreshDir();
  const absl::Status s = FindOrFetchCifar10(dir, {.url = "file://" + archive}).status();  // the official MD5
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(s.message().find(absl::StrCat("expected ", kCifar10Md5)), std::string::npos) << s;
  EXPECT_EQ(Entries(dir), std::vector<std::string>{});  // neither the download nor its temporary

  // The same for an archive found in the folder.
  std::filesystem::copy_file(archive, dir + "/" + kCifar10Archive);
  const absl::Status found = FindOrFetchCifar10(dir, {.download = false}).status();
  EXPECT_EQ(found.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(found.message().find("the archive found there is not the expected file"), std::string::npos) << found;
}

TEST(FetchCifar10, OfflineSaysWhereToPutTheFiles) {
  const std::string dir = testing::FreshDir();
  // Nothing listens on port 9 here: the connection is refused at once, as it is without a network.
  const absl::Status s = FindOrFetchCifar10(dir, {.url = "http://127.0.0.1:9/cifar-10-binary.tar.gz"}).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  for (const std::string& needle :
       {std::string("downloading http://127.0.0.1:9/cifar-10-binary.tar.gz failed"), std::string("curl failed"),
        absl::StrCat(dir, "/", kCifar10Subdir), std::string("data_batch_1.bin"), std::string("3072 pixel bytes"),
        absl::StrCat(dir, "/", kCifar10Archive), std::string(kCifar10Md5)}) {
    EXPECT_NE(s.message().find(needle), std::string::npos) << "missing \"" << needle << "\" in: " << s;
  }
  EXPECT_EQ(Entries(dir), std::vector<std::string>{});

  const absl::Status no_download = FindOrFetchCifar10(dir, {.download = false}).status();
  EXPECT_EQ(no_download.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(no_download.message().find("downloading is off"), std::string::npos) << no_download;
}

TEST(FetchCifar10, AnArchiveWithoutTheBatchesIsReported) {
  const std::string src = testing::FreshDir("_src");
  testing::WriteBytes(src + "/other/readme.txt", "not cifar");
  const std::string archive = testing::FreshDir("_archive") + "/a.tar.gz";
  testing::Run({"tar", "-czf", archive, "-C", src, "other"});
  const std::string dir = testing::FreshDir();
  const absl::Status s = FindOrFetchCifar10(dir, {.url = "file://" + archive, .md5 = Md5(archive)}).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(s.message().find("did not hold the batch files"), std::string::npos) << s;

  // Not gzip at all, with a matching MD5.
  const std::string dir2 = testing::FreshDir("_2");
  testing::WriteBytes(dir2 + "/" + kCifar10Archive, "plain");
  const absl::Status plain = FindOrFetchCifar10(dir2, {.md5 = Md5(dir2 + "/" + kCifar10Archive)}).status();
  EXPECT_EQ(plain.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(plain.message().find("cannot be decompressed"), std::string::npos) << plain;
}

}  // namespace
}  // namespace normgrad::data
