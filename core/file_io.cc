#include "core/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>

namespace normgrad {
namespace {

absl::Status ErrnoStatus(const std::string& what, const std::string& path) {
  return absl::ErrnoToStatus(errno, what + " \"" + path + "\"");
}

std::string Folder(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Creates a new file next to `path` that no other writer uses (O_EXCL guards against leftovers of a
// crashed writer).
absl::Status CreateTemporary(const std::string& path, int* fd, std::string* name) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    *name = path + ".tmp." + UniqueSuffix();
    *fd = ::open(name->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (*fd >= 0) return absl::OkStatus();
    if (errno != EEXIST) return ErrnoStatus("cannot create a temporary file for", path);
  }
  return absl::AlreadyExistsError("cannot find a free temporary name for \"" + path + "\"");
}

absl::Status WriteAll(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("cannot write", path);
    }
    bytes.remove_prefix(static_cast<size_t>(written));
  }
  return absl::OkStatus();
}

}  // namespace

int ScopedFd::Close() {
  const int rc = fd_ >= 0 ? ::close(fd_) : 0;
  fd_ = -1;
  return rc;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoStatus("cannot open", path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("cannot stat", path);
  if (S_ISDIR(st.st_mode)) return absl::InvalidArgumentError("\"" + path + "\" is a folder, expected a file");
  std::string bytes;
  bytes.resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (true) {  // read to the end even if the size changed since fstat
    if (done == bytes.size()) bytes.resize(bytes.size() + (1 << 16));
    const ssize_t n = ::read(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("cannot read", path);
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

absl::Status WriteFileAtomically(const std::string& path, std::span<const std::string_view> pieces) {
  int raw_fd = -1;
  std::string tmp;
  if (absl::Status s = CreateTemporary(path, &raw_fd, &tmp); !s.ok()) return s;
  ScopedFd fd(raw_fd);
  absl::Status status;
  for (std::string_view piece : pieces) {
    status = WriteAll(fd.get(), piece, tmp);
    if (!status.ok()) break;
  }
  if (status.ok() && ::fsync(fd.get()) != 0) status = ErrnoStatus("cannot fsync", tmp);
  if (fd.Close() != 0 && status.ok()) status = ErrnoStatus("cannot close", tmp);
  if (status.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) status = ErrnoStatus("cannot rename into", path);
  if (!status.ok()) {
    ::unlink(tmp.c_str());
    return status;
  }
  // The rename is durable only once the folder's entry is on disk.
  ScopedFd dir(::open(Folder(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() >= 0) ::fsync(dir.get());
  return absl::OkStatus();
}

std::string UniqueSuffix() {
  static std::atomic<uint64_t> counter{0};
  return std::to_string(::getpid()) + "." + std::to_string(counter++);
}

}  // namespace normgrad
