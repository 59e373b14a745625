#include "data/file_io.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/file_io.h"
#include "tests/data/test_files.h"

namespace normgrad::data {
namespace {

TEST(FileIo, WriteAtomicallyThenRead) {
  const std::string dir = testing::FreshDir();
  const std::string path = dir + "/f.bin";
  const std::string bytes("a\0b\xff", 4);
  ASSERT_TRUE(WriteFileAtomically(path, bytes).ok());
  ASSERT_TRUE(WriteFileAtomically(path, bytes + bytes).ok());  // replaces
  absl::StatusOr<std::string> read = ReadFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, bytes + bytes);
  // No temporary files are left behind.
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) files += entry.is_regular_file();
  EXPECT_EQ(files, 1);
}

TEST(FileIo, Errors) {
  const std::string dir = testing::FreshDir();
  absl::StatusOr<std::string> missing = ReadFile(dir + "/none");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find(dir + "/none"), std::string::npos) << missing.status();
  EXPECT_EQ(ReadFile(dir).status().code(), absl::StatusCode::kInvalidArgument);  // a folder

  const absl::Status s = WriteFileAtomically(dir + "/no/such/folder/f", "x");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(s.message().find(dir + "/no/such/folder"), std::string::npos) << s;

  ASSERT_TRUE(MakeDirectories(dir + "/a/b/c").ok());
  EXPECT_TRUE(std::filesystem::is_directory(dir + "/a/b/c"));
  testing::WriteBytes(dir + "/file", "x");
  EXPECT_FALSE(MakeDirectories(dir + "/file/sub").ok());
}

TEST(RunCommand, OutputAndExitCode) {
  absl::StatusOr<CommandResult> echo = RunCommand({"echo", "hello", "world"});
  ASSERT_TRUE(echo.ok()) << echo.status();
  EXPECT_EQ(echo->exit_code, 0);
  EXPECT_EQ(echo->output, "hello world\n");

  absl::StatusOr<CommandResult> failing = RunCommand({"ls", "/no/such/path"});
  ASSERT_TRUE(failing.ok()) << failing.status();
  EXPECT_NE(failing->exit_code, 0);
  EXPECT_NE(failing->output.find("/no/such/path"), std::string::npos);  // stderr is captured too

  absl::StatusOr<CommandResult> missing = RunCommand({"no-such-program-normgrad"});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("no-such-program-normgrad"), std::string::npos);
  EXPECT_EQ(RunCommand({}).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace normgrad::data
