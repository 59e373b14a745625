#ifndef NORMGRAD_DATA_FILE_IO_H_
#define NORMGRAD_DATA_FILE_IO_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace normgrad::data {

// A whole file's bytes. NotFound when it does not exist, PermissionDenied / DataLoss otherwise; the
// message names the file and the system's reason.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// Writes `bytes` to `path` so that a reader never sees a half-written file: the bytes go to a temporary
// file in the same folder, which is flushed, fsync'ed and renamed over `path` (the folder is fsync'ed
// too, so the rename survives a crash). On error the temporary is removed and `path` is untouched.
[[nodiscard]] absl::Status WriteFileAtomically(const std::string& path, std::string_view bytes);

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
