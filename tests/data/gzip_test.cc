#include "data/gzip.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "core/random.h"
#include "tests/data/test_files.h"

namespace normgrad::data {
namespace {

// `data` compressed by the gzip program at `level` (-n: no name or time stamp in the header).
std::string GzipProgram(const std::string& data, int level, bool keep_name = false) {
  const std::string path = testing::FreshDir(absl::StrCat("_gz", level)) + "/input.bin";
  testing::WriteBytes(path, data);
  std::vector<std::string> argv = {"gzip", "-c", absl::StrCat("-", level)};
  if (!keep_name) argv.push_back("-n");
  argv.push_back(path);
  return testing::Run(argv);
}

std::string RandomBytes(size_t n, uint64_t seed) {
  Generator gen(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(gen.NextBits());
  return s;
}

std::string Text(size_t n) {
  static const char* kWords[] = {"batch ", "norm ", "running_mean ", "momentum ", "eps ", "gamma\n", "beta, "};
  Generator gen(3);
  std::string s;
  while (s.size() < n) s += kWords[gen.NextBelow(7)];
  return s.substr(0, n);
}

TEST(Crc32, CheckValue) {
  EXPECT_EQ(Crc32("123456789"), 0xcbf43926u);  // the standard check value of CRC-32/ISO-HDLC
  EXPECT_EQ(Crc32(""), 0u);
  EXPECT_EQ(Crc32("6789", Crc32("12345")), 0xcbf43926u);  // continues across pieces
}

TEST(Gunzip, MatchesTheGzipProgram) {
  struct Case {
    const char* name;
    std::string data;
  };
  const std::vector<Case> cases = {
      {"empty", ""},
      {"short text (fixed Huffman codes)", "hello, hello, hello world"},
      {"long text (dynamic Huffman codes)", Text(300000)},
      {"random bytes (stored blocks)", RandomBytes(200000, 1)},
      {"long runs (overlapping copies)", std::string(100000, 'a') + std::string(70000, 'b')},
      {"mixed", Text(50000) + RandomBytes(70000, 2) + Text(90000)},
  };
  for (const Case& c : cases) {
    for (int level : {1, 6, 9}) {
      absl::StatusOr<std::string> out = Gunzip(GzipProgram(c.data, level));
      ASSERT_TRUE(out.ok()) << c.name << " level " << level << ": " << out.status();
      EXPECT_TRUE(*out == c.data) << c.name << " level " << level << ": got " << out->size() << " bytes, expected "
                                  << c.data.size();
    }
  }
}

TEST(Gunzip, HeaderFieldsAndConcatenatedMembers) {
  // A stored file name (FNAME), and two members one after the other, as `cat a.gz b.gz` makes.
  const std::string a = Text(1000), b = Text(2000);
  absl::StatusOr<std::string> out = Gunzip(GzipProgram(a, 6, /*keep_name=*/true) + GzipProgram(b, 6));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(*out == a + b);

  // FEXTRA, FCOMMENT and FHCRC, which the gzip program does not write: spliced into its header by hand.
  std::string gz = GzipProgram(a, 6);
  std::string header = gz.substr(0, 10);
  header[3] = 4 | 16 | 2;
  header += std::string("\x03\x00xyz", 5) + std::string("a comment", 10);
  const uint32_t crc = Crc32(header);
  std::string with_crc = header + static_cast<char>(crc & 0xff) + static_cast<char>((crc >> 8) & 0xff) + gz.substr(10);
  out = Gunzip(with_crc);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(*out == a);

  with_crc[header.size()] ^= 1;
  EXPECT_NE(Gunzip(with_crc).status().message().find("header CRC mismatch"), std::string::npos);
}

TEST(Inflate, HandMadeStreams) {
  // One final stored block: BFINAL = 1, BTYPE = 00, then LEN = 5, NLEN = ~5, then the bytes.
  size_t consumed = 0;
  absl::StatusOr<std::string> out = Inflate(std::string("\x01\x05\x00\xfa\xffhello+tail", 15), &consumed);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, "hello");
  EXPECT_EQ(consumed, 10u);

  EXPECT_NE(Inflate(std::string("\x01\x05\x00\xfa\xfehello", 10)).status().message().find("complement"),
            std::string::npos);
  EXPECT_NE(Inflate("\x07").status().message().find("invalid block type"), std::string::npos);
  EXPECT_NE(Inflate(std::string("\x01\x05\x00\xfa\xffhel", 8)).status().message().find("truncated"),
            std::string::npos);
  EXPECT_NE(Inflate("").status().message().find("truncated"), std::string::npos);
  // A fixed-Huffman block whose first symbol is a copy at distance 1 with no output yet: bits
  // 1 (final), 10 (fixed), then length code 257 (0000001) and distance code 0 (00000).
  EXPECT_NE(Inflate(std::string("\x03\x02\x00", 3)).status().message().find("before the start"), std::string::npos);
}

// Each gzip member is a stream of its own: a copy in the second member cannot reach back into the first's
// output, even with a trailer that matches what such a copy would give ("ccc", copied from "abc").
TEST(Gunzip, ACopyCannotReachIntoTheMemberBefore) {
  std::string second = std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10) + std::string("\x03\x02\x00", 3);
  for (uint32_t v : {Crc32("ccc"), 3u}) {
    for (int k = 0; k < 4; ++k) second.push_back(static_cast<char>(v >> (8 * k)));
  }
  const absl::StatusOr<std::string> out = Gunzip(GzipProgram("abc", 6) + second);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(out.status().message().find("distance reaches before the start of the output"), std::string::npos)
      << out.status();
}

TEST(Gunzip, CorruptInputIsDataLoss) {
  const std::string data = Text(20000);
  const std::string good = GzipProgram(data, 9);
  auto message = [](const std::string& gz) {
    absl::StatusOr<std::string> out = Gunzip(gz);
    EXPECT_EQ(out.status().code(), absl::StatusCode::kDataLoss) << out.status();
    return std::string(out.status().message());
  };
  EXPECT_NE(message("not gzip at all, just some text").find("wrong magic"), std::string::npos);
  EXPECT_NE(message(good.substr(0, 12)).find("truncated"), std::string::npos);
  EXPECT_NE(message(good.substr(0, good.size() / 2)).find("truncated"), std::string::npos);
  std::string method = good;
  method[2] = 7;
  EXPECT_NE(message(method).find("compression method"), std::string::npos);
  std::string reserved = good;
  reserved[3] = static_cast<char>(0x20);
  EXPECT_NE(message(reserved).find("reserved"), std::string::npos);
  std::string crc = good;
  crc[crc.size() - 6] ^= 1;
  EXPECT_NE(message(crc).find(absl::StrCat("CRC-32 mismatch (corrupt data): the trailer says 0x",
                                           absl::Hex(Crc32(data) ^ 0x10000, absl::kZeroPad8), ", the data gives 0x",
                                           absl::Hex(Crc32(data), absl::kZeroPad8))),
            std::string::npos)
      << message(crc);
  std::string length = good;
  length[length.size() - 1] ^= 1;
  EXPECT_NE(message(length).find("length mismatch: the trailer says 16797216 bytes (modulo 2^32), the data has 20000"),
            std::string::npos)
      << message(length);
  // Flipped bits inside the compressed data: whichever check catches it, it is an error, never a crash.
  for (size_t at = 10; at < good.size() - 8; at += 97) {
    std::string flipped = good;
    flipped[at] ^= 0x10;
    absl::StatusOr<std::string> out = Gunzip(flipped);
    EXPECT_FALSE(out.ok()) << "byte " << at;
  }
}

TEST(ReadGzipFile, ErrorsNameTheFile) {
  const std::string dir = testing::FreshDir();
  testing::WriteBytes(dir + "/bad.gz", "plain text");
  absl::StatusOr<std::string> out = ReadGzipFile(dir + "/bad.gz");
  EXPECT_EQ(out.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(out.status().message().find(dir + "/bad.gz"), std::string::npos) << out.status();
  EXPECT_EQ(ReadGzipFile(dir + "/missing.gz").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace normgrad::data
