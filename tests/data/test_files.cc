#include "tests/data/test_files.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/file_io.h"
#include "data/cifar10.h"
#include "data/file_io.h"

namespace normgrad::testing {

std::string FreshDir(const std::string& suffix) {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) /
                                    (std::string(info->test_suite_name()) + "." + info->name() + suffix);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  const absl::Status s = WriteFileAtomically(path, bytes);
  ASSERT_TRUE(s.ok()) << s;
}

std::string CifarRecords(const std::vector<uint8_t>& labels, int first_id) {
  std::string out;
  for (size_t i = 0; i < labels.size(); ++i) {
    out.push_back(static_cast<char>(labels[i]));
    for (int64_t k = 0; k < data::kCifarImageBytes; ++k) {
      out.push_back(static_cast<char>(((first_id + static_cast<int64_t>(i)) * 7 + k * 13) % 256));
    }
  }
  return out;
}

std::string Run(const std::vector<std::string>& argv) {
  absl::StatusOr<data::CommandResult> r = data::RunCommand(argv);
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok()) return "";
  EXPECT_EQ(r->exit_code, 0) << argv[0] << ": " << r->output;
  return r->output;
}

}  // namespace normgrad::testing
