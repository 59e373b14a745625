#ifndef NORMGRAD_CORE_FILE_IO_H_
#define NORMGRAD_CORE_FILE_IO_H_

// Whole-file reads and crash-safe whole-file writes, shared by every layer that touches the disk
// (checkpoints in nn, data sets in data, logs in the examples).

#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace normgrad {

// Owns a POSIX file descriptor and closes it when the scope ends (a negative one is never closed).
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  ~ScopedFd() { Close(); }
  int get() const { return fd_; }
  // Closes now and returns close's result (0, or -1 with errno set: a failed delayed write can show up
  // only here).
  int Close();

 private:
  int fd_;
};

// A whole file's bytes. NotFound when it does not exist, InvalidArgument for a folder, and the errno-derived
// status otherwise; the message names the file and the system's reason.
[[nodiscard]] absl::StatusOr<std::string> ReadFile(const std::string& path);

// Writes the concatenation of `pieces` to `path` so that a reader never sees a half-written file: the bytes
// go to a new temporary "<path>.tmp.<pid>.<n>" in the same folder (created with O_EXCL, mode 0666 less the
// umask), which is fsynced, closed and renamed over `path`; then the folder is fsynced so that the rename
// survives a crash (best effort: some file systems refuse to sync folders). On error the temporary is
// removed and any previous file at `path` is untouched; a crash may leave the temporary behind.
// Errors: the errno-derived status (NotFound for a missing folder, ...) naming the file, and "cannot write"
// when writing fails.
[[nodiscard]] absl::Status WriteFileAtomically(const std::string& path, std::span<const std::string_view> pieces);

// The same for one piece.
[[nodiscard]] inline absl::Status WriteFileAtomically(const std::string& path, std::string_view bytes) {
  return WriteFileAtomically(path, std::span<const std::string_view>(&bytes, 1));
}

// "<pid>.<n>", with n counting this process's calls: for names of temporary files and folders that no
// other writer, in this process or another, uses at the same time.
std::string UniqueSuffix();

}  // namespace normgrad

#endif  // NORMGRAD_CORE_FILE_IO_H_
