#ifndef NORMGRAD_TESTS_DATA_TEST_FILES_H_
#define NORMGRAD_TESTS_DATA_TEST_FILES_H_

#include <cstdint>
#include <string>
#include <vector>

namespace normgrad::testing {

// A fresh empty folder under the test's temporary directory, named after the running test plus `suffix`.
std::string FreshDir(const std::string& suffix = "");

// Writes `bytes` to `path` (creating parent folders); fails the test on error.
void WriteBytes(const std::string& path, const std::string& bytes);

// CIFAR-10 records with the given labels; image i's pixel k is (first_id + i) * 7 + k * 13 (mod 256), so
// that every image is distinct and recognizable.
std::string CifarRecords(const std::vector<uint8_t>& labels, int first_id = 0);

// Runs a program (no shell) and returns its output; fails the test when it cannot run or exits non-zero.
std::string Run(const std::vector<std::string>& argv);

}  // namespace normgrad::testing

#endif  // NORMGRAD_TESTS_DATA_TEST_FILES_H_
