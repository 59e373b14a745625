#include "data/md5.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/data/test_files.h"

namespace normgrad::data {
namespace {

std::string Md5Hex(const std::string& s) {
  Md5 md5;
  md5.Update(s);
  return md5.HexDigest();
}

// RFC 1321, appendix A.5.
TEST(Md5, RfcTestSuite) {
  EXPECT_EQ(Md5Hex(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(Md5Hex("a"), "0cc175b9c0f1b6a831c399e269772661");
  EXPECT_EQ(Md5Hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(Md5Hex("message digest"), "f96b697d7cb7938d525a2f31aaf161d0");
  EXPECT_EQ(Md5Hex("abcdefghijklmnopqrstuvwxyz"), "c3fcd3d76192e4007dfb496cca67e13b");
  EXPECT_EQ(Md5Hex("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
            "d174ab98d277d9f5a5611c2c9f419d9f");
  EXPECT_EQ(Md5Hex("12345678901234567890123456789012345678901234567890123456789012345678901234567890"),
            "57edf4a22be3c955ac49da2e2107b67a");
}

TEST(Md5, PaddingBoundaries) {
  // Lengths around the 56-byte padding boundary and whole blocks, against md5sum.
  const std::string dir = testing::FreshDir();
  for (size_t n : {55, 56, 57, 63, 64, 65, 119, 120, 128}) {
    const std::string text(n, 'x');
    const std::string path = dir + "/x" + std::to_string(n);
    testing::WriteBytes(path, text);
    EXPECT_EQ(Md5Hex(text), testing::Run({"md5sum", path}).substr(0, 32)) << n << " bytes";
  }
}

TEST(Md5, ChunkedUpdatesMatchOneUpdate) {
  std::string data;
  for (int i = 0; i < 1000; ++i) data.push_back(static_cast<char>(i * 31 + i / 7));
  const std::string whole = Md5Hex(data);
  for (size_t chunk : {1, 3, 63, 64, 65, 500}) {
    Md5 md5;
    for (size_t at = 0; at < data.size(); at += chunk) md5.Update(std::string_view(data).substr(at, chunk));
    EXPECT_EQ(md5.HexDigest(), whole) << "chunks of " << chunk;
  }
}

TEST(Md5, OfFile) {
  const std::string path = testing::FreshDir() + "/abc";
  testing::WriteBytes(path, "abc");
  absl::StatusOr<std::string> md5 = Md5OfFile(path);
  ASSERT_TRUE(md5.ok()) << md5.status();
  EXPECT_EQ(*md5, "900150983cd24fb0d6963f7d28e17f72");

  absl::StatusOr<std::string> missing = Md5OfFile(path + ".missing");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("abc.missing"), std::string::npos) << missing.status();
}

}  // namespace
}  // namespace normgrad::data
