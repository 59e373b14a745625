// The safetensors reader and writer: the byte layout, round trips, one test per kind of damaged file, and
// the atomic save (a failed or killed save leaves the previous file as it was).
#include "nn/safetensors.h"

#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "autograd/ops.h"
#include "core/random.h"
#include "nlohmann/json.hpp"

namespace normgrad {
namespace {

using Json = nlohmann::json;

std::string TempPath(const std::string& name) {
  const std::string dir = testing::TempDir() + "/" + testing::UnitTest::GetInstance()->current_test_info()->name();
  std::filesystem::create_directories(dir);
  return dir + "/" + name;
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// A file from a header text and data bytes, laid out as the format says (no padding added).
std::string Craft(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  return out + header + data;
}

std::string FloatBytes(std::vector<float> values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
}

// Leftover temporary files next to `path`.
std::vector<std::string> Temporaries(const std::string& path) {
  std::vector<std::string> out;
  const std::filesystem::path p(path);
  for (const auto& entry : std::filesystem::directory_iterator(p.parent_path())) {
    const std::string name = entry.path().filename();
    if (name.starts_with(p.filename().string() + ".tmp.")) out.push_back(entry.path());
  }
  return out;
}

StateDict Sample() {
  Generator gen(7);
  return {{"conv.weight", randn({4, 3, 3, 3}, {}, &gen)},
          {"bn.running_var", rand({4}, {.dtype = kFloat64}, &gen)},
          {"bn.num_batches_tracked", full({}, 12, {.dtype = kInt64})},
          {"empty", zeros({0, 5})},
          {"odd", randn({3}, {}, &gen)}};
}

void ExpectSameTensors(const StateDict& a, const StateDict& b) {
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [key, t] : a) {
    ASSERT_TRUE(b.contains(key)) << key;
    EXPECT_EQ(t.dtype(), b.at(key).dtype()) << key;
    EXPECT_EQ(t.shape(), b.at(key).shape()) << key;
    EXPECT_EQ(t.to_vector<double>(), b.at(key).to_vector<double>()) << key;
  }
}

TEST(Safetensors, RoundTripKeepsDTypesShapesValuesAndMetadata) {
  const std::string path = TempPath("sample.safetensors");
  StateDict tensors = Sample();
  tensors["transposed"] = transpose(reshape(arange(0.0, 6.0), {2, 3}), 0, 1);  // written in its logical order
  ASSERT_TRUE(WriteSafetensors(path, tensors, {{"epoch", "3"}}).ok());
  auto read = ReadSafetensors(path);
  ASSERT_TRUE(read.ok()) << read.status();
  ExpectSameTensors(tensors, read->tensors);
  EXPECT_EQ(read->metadata, (Metadata{{"epoch", "3"}}));
  EXPECT_EQ(read->tensors.at("transposed").to_vector<float>(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  EXPECT_TRUE(Temporaries(path).empty());
}

TEST(Safetensors, ByteLayout) {
  const std::string path = TempPath("layout.safetensors");
  ASSERT_TRUE(WriteSafetensors(path, Sample(), {{"k", "v"}}).ok());
  const std::string bytes = ReadBytes(path);
  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ((8 + n) % 8, 0u);
  EXPECT_EQ(bytes[8], '{');
  const Json header = Json::parse(bytes.substr(8, n));
  EXPECT_EQ(header["__metadata__"], (Json{{"k", "v"}}));
  EXPECT_EQ(header["bn.num_batches_tracked"], (Json{{"dtype", "I64"}, {"shape", Json::array()}, {"data_offsets", {0, 8}}}));
  EXPECT_EQ(header["conv.weight"]["dtype"], "F32");
  EXPECT_EQ(header["conv.weight"]["shape"], (Json{4, 3, 3, 3}));
  // 8-byte dtypes first (so each tensor is aligned to its item size), then by name.
  EXPECT_EQ(header["bn.running_var"]["data_offsets"], (Json{8, 40}));
  EXPECT_EQ(header["conv.weight"]["data_offsets"], (Json{40, 40 + 432}));
  EXPECT_EQ(header["empty"]["data_offsets"], (Json{472, 472}));
  EXPECT_EQ(header["odd"]["data_offsets"], (Json{472, 484}));
  EXPECT_EQ(bytes.size(), 8 + n + 484);
  int64_t tracked;
  std::memcpy(&tracked, bytes.data() + 8 + n, 8);
  EXPECT_EQ(tracked, 12);
}

TEST(Safetensors, ReadsPaddedHeadersAndNoMetadata) {
  // As Python's safetensors writes them: spaces after the JSON up to an 8-byte boundary.
  const std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  auto read = ParseSafetensors(Craft(header + std::string(4, ' '), FloatBytes({1.5f, -2})));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(read->metadata.empty());
  EXPECT_EQ(read->tensors.at("a").to_vector<float>(), (std::vector<float>{1.5f, -2}));
}

TEST(Safetensors, WriteRejectsBadNamesAndTensors) {
  const std::string path = TempPath("bad.safetensors");
  EXPECT_EQ(WriteSafetensors(path, {{"", zeros({1})}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(WriteSafetensors(path, {{"__metadata__", zeros({1})}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(WriteSafetensors(path, {{"u", Tensor()}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(WriteSafetensors(path, {{"\xff", zeros({1})}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(WriteSafetensors(path, {{"a", zeros({1})}}, {{"note", "\xc3"}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_TRUE(Temporaries(path).empty());
}

TEST(Safetensors, MissingFileAndUnwritableFolder) {
  EXPECT_EQ(ReadSafetensors(TempPath("absent.safetensors")).status().code(), absl::StatusCode::kNotFound);
  const absl::Status s = WriteSafetensors(TempPath("no/such/folder/x.safetensors"), Sample());
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(s.message().find("no/such/folder/x.safetensors"), std::string_view::npos) << s;
}

// ---- damaged files: each case gives DataLoss with a message that says what is wrong.

struct Damage {
  const char* name;
  std::string bytes;
  const char* message;  // a substring of the expected message
  friend void PrintTo(const Damage& d, std::ostream* os) { *os << d.name; }
};

std::vector<Damage> DamagedFiles() {
  const std::string ok_header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const std::string data = FloatBytes({1, 2});
  const auto with_entry = [&](const std::string& entry) { return Craft(R"({"a":)" + entry + "}", data); };
  std::string huge(8, '\0');
  const uint64_t big = kMaxSafetensorsHeaderBytes + 1;
  std::memcpy(huge.data(), &big, 8);
  // A shape nested a million deep, which a recursive dump() of it would overflow the stack on.
  const std::string nested_shape = std::string(1000000, '[') + std::string(1000000, ']');
  std::string long_length = Craft(ok_header, data);
  const uint64_t past = ok_header.size() + 100;
  std::memcpy(long_length.data(), &past, 8);
  return {
      {"Empty", "", "truncated file: 0 bytes"},
      {"ShorterThanLength", std::string("\x10\0\0", 3), "truncated file: 3 bytes"},
      {"OversizedHeader", huge + "{}", "header length 100000001 exceeds the limit"},
      {"TruncatedHeader", long_length, "truncated file: the header needs"},
      {"TruncatedData", Craft(ok_header, data.substr(0, 5)), "run past the 5 bytes of data"},
      {"NotJson", Craft(R"({"a": {"dtype": "F32", )", data), "not a JSON object"},
      {"JsonArray", Craft("[1, 2]", ""), "not a JSON object"},
      {"GarbageBeforeJson", Craft(" {}", ""), "not a JSON object"},
      {"EntryNotObject", with_entry("[0, 8]"), "tensor \"a\": expected an object"},
      {"MissingDType", with_entry(R"({"shape":[2],"data_offsets":[0,8]})"), "expected a string \"dtype\""},
      {"UnknownDType", with_entry(R"({"dtype":"F16","shape":[4],"data_offsets":[0,8]})"),
       "unsupported dtype \"F16\" (expected F32, F64 or I64)"},
      {"ShapeNotArray", with_entry(R"({"dtype":"F32","shape":2,"data_offsets":[0,8]})"), "expected an array \"shape\""},
      {"NegativeSize", with_entry(R"({"dtype":"F32","shape":[-2],"data_offsets":[0,8]})"),
       "expected non-negative integer sizes"},
      {"FractionalSize", with_entry(R"({"dtype":"F32","shape":[2.5],"data_offsets":[0,8]})"),
       "expected non-negative integer sizes in the shape, got [2.5]"},
      {"DeeplyNestedShape", with_entry(R"({"dtype":"F32","shape":)" + nested_shape + R"(,"data_offsets":[0,8]})"),
       "expected non-negative integer sizes in the shape, got an array of 1 items"},
      {"SizeBeyondInt64",
       with_entry(R"({"dtype":"F32","shape":[)" + std::string(20, '1') + R"(,"x"],"data_offsets":[0,8]})"),
       "got [11111111111111111111, \"x\"]"},
      {"OffsetsNotPair", with_entry(R"({"dtype":"F32","shape":[2],"data_offsets":[0]})"),
       "expected \"data_offsets\" as an array"},
      {"OffsetsReversed", with_entry(R"({"dtype":"F32","shape":[2],"data_offsets":[8,0]})"),
       "with 0 <= begin <= end, got [8, 0]"},
      {"OffsetsNested", with_entry(R"({"dtype":"F32","shape":[2],"data_offsets":[[0],{"a":1}]})"),
       "with 0 <= begin <= end, got an array of 2 items"},
      {"OffsetsOutOfRange", with_entry(R"({"dtype":"F32","shape":[4],"data_offsets":[0,16]})"),
       "run past the 8 bytes of data"},
      {"ShapeBytesMismatch", with_entry(R"({"dtype":"F64","shape":[2],"data_offsets":[0,8]})"),
       "hold 8 bytes, but shape [2] of F64 needs 16"},
      {"ShapeOverflow", with_entry(R"({"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,8]})"),
       "needs more than 2^64"},
      {"EmptyShapeOverflow",
       with_entry(R"({"dtype":"F32","shape":[4611686018427387904,4611686018427387904,0],"data_offsets":[0,0]})"),
       "shape [4611686018427387904, 4611686018427387904, 0] has more elements than an int64 counts"},
      {"Overlap",
       Craft(
           R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
           data),
       "tensors \"a\" and \"b\" overlap"},
      {"Gap", Craft(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", data),
       "data bytes [0, 4) belong to no tensor"},
      {"TrailingBytes", Craft(ok_header, data + "xyz"), "3 bytes after the last tensor"},
      {"MetadataNotObject", Craft(R"({"__metadata__": [1]})", ""), "__metadata__ must be an object of strings"},
      {"MetadataNotString", Craft(R"({"__metadata__": {"epoch": 3}})", ""),
       "__metadata__ entry \"epoch\" is not a string"},
  };
}

class DamagedFile : public testing::TestWithParam<Damage> {};

TEST_P(DamagedFile, GivesDataLossSayingWhat) {
  const Damage& d = GetParam();
  const std::string path = TempPath(std::string(d.name) + ".safetensors");
  WriteBytes(path, d.bytes);
  const auto read = ReadSafetensors(path);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kDataLoss) << read.status();
  EXPECT_NE(read.status().message().find(d.message), std::string_view::npos) << read.status();
  EXPECT_NE(read.status().message().find(path), std::string_view::npos) << read.status();
}

INSTANTIATE_TEST_SUITE_P(Safetensors, DamagedFile, testing::ValuesIn(DamagedFiles()),
                         [](const testing::TestParamInfo<Damage>& info) { return std::string(info.param.name); });

TEST(Safetensors, EveryTruncationAndEveryHeaderByteFlipIsCaughtOrHarmless) {
  const std::string path = TempPath("fuzz.safetensors");
  ASSERT_TRUE(WriteSafetensors(path, Sample(), {{"k", "v"}}).ok());
  const std::string bytes = ReadBytes(path);
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_EQ(ParseSafetensors(bytes.substr(0, n)).status().code(), absl::StatusCode::kDataLoss) << n;
  }
  uint64_t header;
  std::memcpy(&header, bytes.data(), 8);
  for (size_t i = 0; i < 8 + header; ++i) {
    for (const char flip : {'\x01', '\x20', '\x7f'}) {
      std::string damaged = bytes;
      damaged[i] ^= flip;
      const auto read = ParseSafetensors(damaged);
      // A flip inside a name or the metadata can leave a valid file; anything else is DataLoss.
      if (!read.ok()) {
        EXPECT_EQ(read.status().code(), absl::StatusCode::kDataLoss) << i;
      }
    }
  }
}

// ---- atomic saves

TEST(Safetensors, FailedSaveLeavesThePreviousFile) {
  const std::string path = TempPath("model.safetensors");
  ASSERT_TRUE(WriteSafetensors(path, Sample()).ok());
  const std::string before = ReadBytes(path);
  // In a child process limited to 64 KiB files, a 4 MB save fails part-way with EFBIG.
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{64 << 10, 64 << 10};
    setrlimit(RLIMIT_FSIZE, &limit);
    const absl::Status s = WriteSafetensors(path, {{"big", zeros({1 << 20})}});
    _exit(!s.ok() && s.message().find("cannot write") != std::string_view::npos ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the save did not fail with a write error";
  EXPECT_EQ(ReadBytes(path), before);
  EXPECT_TRUE(Temporaries(path).empty());
}

TEST(Safetensors, KilledSaveLeavesThePreviousFileLoadable) {
  const std::string path = TempPath("model.safetensors");
  const StateDict old_state = Sample();
  ASSERT_TRUE(WriteSafetensors(path, old_state).ok());
  const StateDict new_state = {{"big", full({16 << 20}, 1.0)}};  // 64 MB: long enough to be caught writing
  bool killed_mid_save = false;
  for (int attempt = 0; attempt < 5 && !killed_mid_save; ++attempt) {
    for (const std::string& tmp : Temporaries(path)) std::filesystem::remove(tmp);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) _exit(WriteSafetensors(path, new_state).ok() ? 0 : 1);
    // Kill the writer as soon as its temporary file has some bytes in it.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      const std::vector<std::string> tmps = Temporaries(path);
      if (!tmps.empty() && std::filesystem::file_size(tmps[0]) > 0) {
        kill(pid, SIGKILL);
        break;
      }
      if (waitpid(pid, nullptr, WNOHANG) == pid) break;  // finished first: try again
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    int status = 0;
    waitpid(pid, &status, 0);
    killed_mid_save = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    if (!killed_mid_save) {
      ASSERT_TRUE(WriteSafetensors(path, old_state).ok());
    }
  }
  ASSERT_TRUE(killed_mid_save) << "the writer always finished before it could be killed";
  // The half-written temporary is left behind; the checkpoint itself is the old one, whole.
  ASSERT_EQ(Temporaries(path).size(), 1u);
  EXPECT_LT(std::filesystem::file_size(Temporaries(path)[0]), 8 + (64u << 20));
  auto read = ReadSafetensors(path);
  ASSERT_TRUE(read.ok()) << read.status();
  ExpectSameTensors(old_state, read->tensors);
}

}  // namespace
}  // namespace normgrad
