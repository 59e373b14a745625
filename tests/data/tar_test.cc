#include "data/tar.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "core/file_io.h"
#include "tests/data/test_files.h"

namespace normgrad::data {
namespace {

// A tar entry written by hand (ustar header, octal fields, checksum), for inputs tar would not make.
std::string Entry(const std::string& name, const std::string& contents, char type = '0') {
  std::string h(512, '\0');
  h.replace(0, name.size(), name);
  std::snprintf(&h[100], 8, "%07o", 0644);
  std::snprintf(&h[124], 12, "%011o", static_cast<unsigned>(contents.size()));
  h[156] = type;
  h.replace(257, 6, std::string("ustar\0", 6));
  h.replace(263, 2, "00");
  h.replace(148, 8, "        ");
  unsigned sum = 0;
  for (char c : h) sum += static_cast<uint8_t>(c);
  std::snprintf(&h[148], 8, "%06o", sum);
  std::string padded = contents;
  padded.resize((contents.size() + 511) / 512 * 512, '\0');
  return h + padded;
}

std::string End() { return std::string(1024, '\0'); }

TEST(ExtractTar, ArchivesMadeByTar) {
  const std::string src = testing::FreshDir("_src");
  const std::string long_dir(120, 'd');  // past the 100-byte name field: long-name records
  testing::WriteBytes(src + "/top/a.bin", std::string("\x00\x01\x02", 3));
  testing::WriteBytes(src + "/top/sub/b.txt", std::string(5000, 'b'));
  testing::WriteBytes(src + "/top/" + long_dir + "/c.txt", "long");
  testing::WriteBytes(src + "/top/empty", "");
  const std::vector<std::string> names = {"top/a.bin", "top/sub/b.txt", "top/empty", "top/" + long_dir + "/c.txt"};
  for (const char* format : {"gnu", "pax", "ustar"}) {
    // Files named one by one: ustar cannot hold the long folder's own entry (its name cannot be split).
    const std::string archive = testing::FreshDir(absl::StrCat("_", format)) + "/a.tar";
    std::vector<std::string> argv = {"tar", absl::StrCat("--format=", format), "-C", src, "-cf", archive};
    argv.insert(argv.end(), names.begin(), names.end());
    testing::Run(argv);
    absl::StatusOr<std::string> bytes = ReadFile(archive);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    const std::string dest = testing::FreshDir(absl::StrCat("_out_", format));
    absl::StatusOr<std::vector<std::string>> written = ExtractTar(*bytes, dest);
    ASSERT_TRUE(written.ok()) << format << ": " << written.status();
    EXPECT_EQ(written->size(), 4u) << format;
    for (const std::string& name : names) {
      absl::StatusOr<std::string> got = ReadFile(dest + "/" + name), want = ReadFile(src + "/" + name);
      ASSERT_TRUE(got.ok()) << format << ": " << got.status();
      EXPECT_EQ(*got, *want) << format << ": " << name;
    }
  }
}

TEST(ExtractTar, HandMadeEntries) {
  const std::string dest = testing::FreshDir();
  absl::StatusOr<std::vector<std::string>> written =
      ExtractTar(Entry("dir/", "", '5') + Entry("dir/x", "xyz") + Entry("link", "", '2') + End(), dest);
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(*written, std::vector<std::string>{"dir/x"});  // links are skipped
  EXPECT_EQ(*ReadFile(dest + "/dir/x"), "xyz");
  // An archive that stops right after its last entry, without the two zero blocks, is still read.
  EXPECT_TRUE(ExtractTar(Entry("y", "1"), dest).ok());
}

TEST(ExtractTar, Errors) {
  const std::string dest = testing::FreshDir();
  auto status = [&](const std::string& archive) { return ExtractTar(archive, dest).status(); };

  std::string bad_checksum = Entry("f", "abc") + End();
  bad_checksum[0] = 'g';
  EXPECT_EQ(status(bad_checksum).code(), absl::StatusCode::kDataLoss);
  // 'g' adds 1 to the sum of the header's bytes.
  unsigned stored = 0;
  for (int i = 148; i < 154; ++i) stored = stored * 8 + (bad_checksum[i] - '0');
  EXPECT_NE(status(bad_checksum)
                .message()
                .find(absl::StrCat("tar: entry at byte 0: header checksum mismatch: the "
                                   "header says ",
                                   stored, ", its bytes add up to ", stored + 1)),
            std::string::npos)
      << status(bad_checksum);
  std::string not_octal = Entry("f", "abc") + End();
  not_octal[148] = 'x';
  EXPECT_NE(status(not_octal).message().find("expected an octal header checksum, got \"x"), std::string::npos)
      << status(not_octal);

  const std::string truncated = Entry("f", std::string(2000, 'x')).substr(0, 1024);
  EXPECT_NE(status(truncated).message().find("past the end"), std::string::npos) << status(truncated);

  std::string bad_size = Entry("f", "abc");
  bad_size.replace(124, 11, "0000000009x");
  bad_size.replace(148, 8, "        ");
  unsigned sum = 0;
  for (int i = 0; i < 512; ++i) sum += static_cast<uint8_t>(bad_size[i]);
  std::snprintf(&bad_size[148], 8, "%06o", sum);
  EXPECT_NE(status(bad_size).message().find("size field"), std::string::npos) << status(bad_size);

  // Paths that would escape the destination are refused before anything is written.
  for (const char* name : {"../evil", "a/../../evil", "/tmp/evil"}) {
    const absl::Status s = status(Entry("first", "1") + Entry(name, "x") + End());
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_NE(s.message().find(name), std::string::npos) << s;
  }
  EXPECT_FALSE(std::filesystem::exists(dest + "/first"));
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(dest).parent_path() / "evil"));
}

}  // namespace
}  // namespace normgrad::data
