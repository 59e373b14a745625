#ifndef NORMGRAD_DATA_FILE_IO_H_
#define NORMGRAD_DATA_FILE_IO_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace normgrad::data {

// Whole-file reads and atomic writes are ReadFile and WriteFileAtomically in core/file_io.h.

// Creates `path` and its missing parents (like mkdir -p).
[[nodiscard]] absl::Status MakeDirectories(const std::string& path);

// The output of a program run to completion, and its exit status.
struct CommandResult {
  int exit_code = 0;    // 128 + n when killed by signal n
  std::string output;   // stdout and stderr, interleaved
};

// Runs argv[0] (looked up on PATH) with the arguments argv[1..], without a shell, and waits for it.
// NotFound when the program does not exist or cannot be started; otherwise the program ran, and its exit
// code and output are in the result (a non-zero exit is not an error here: callers word it).
absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv);

}  // namespace normgrad::data

#endif  // NORMGRAD_DATA_FILE_IO_H_
