#include "nn/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>
#include <optional>
#include <tuple>
#include <vector>

#include "core/kernels/copy.h"
#include "nlohmann/json.hpp"

namespace normgrad {

static_assert(std::endian::native == std::endian::little,
              "safetensors stores little-endian data; a big-endian host would need byte swaps");

namespace {

using Json = nlohmann::json;

constexpr std::string_view kMetadataKey = "__metadata__";

const char* SafetensorsDType(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return "F32";
    case DType::kFloat64: return "F64";
    case DType::kInt64: return "I64";
  }
  return "?";
}

std::optional<DType> ParseDType(const std::string& name) {
  if (name == "F32") return kFloat32;
  if (name == "F64") return kFloat64;
  if (name == "I64") return kInt64;
  return std::nullopt;
}

// ---- writing

// A file descriptor that is closed when it goes out of scope (unless released by Close()).
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now and reports close's error (which can be the first sign of a failed delayed write).
  int Close() {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

absl::Status ErrnoStatus(const std::string& what, const std::string& path) {
  return absl::ErrnoToStatus(errno, "safetensors: " + what + " \"" + path + "\"");
}

absl::Status WriteAll(int fd, const void* data, size_t n, const std::string& path) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t written = ::write(fd, p, n);
    if (written < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("cannot write", path);
    }
    p += written;
    n -= static_cast<size_t>(written);
  }
  return absl::OkStatus();
}

std::string Folder(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Creates a new file next to `path` that no other writer uses (its name carries the process id and a
// per-process counter; O_EXCL guards against leftovers of a crashed writer).
absl::StatusOr<std::pair<int, std::string>> CreateTemporary(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) return std::make_pair(fd, std::move(tmp));
    if (errno != EEXIST) return ErrnoStatus("cannot create a temporary file for", path);
  }
  return absl::AlreadyExistsError("safetensors: cannot find a free temporary name for \"" + path + "\"");
}

// Writes the bytes produced by `emit(fd)` to `path` through a temporary file, as WriteSafetensors
// describes.
template <typename Emit>
absl::Status AtomicWrite(const std::string& path, Emit emit) {
  NG_ASSIGN_OR_RETURN(auto created, CreateTemporary(path));
  Fd fd(created.first);
  const std::string& tmp = created.second;
  absl::Status status = emit(fd.get(), tmp);
  if (status.ok() && ::fsync(fd.get()) != 0) status = ErrnoStatus("cannot fsync", tmp);
  if (fd.Close() != 0 && status.ok()) status = ErrnoStatus("cannot close", tmp);
  if (status.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) status = ErrnoStatus("cannot rename into", path);
  if (!status.ok()) {
    ::unlink(tmp.c_str());
    return status;
  }
  // The rename is durable only once the folder's entry is on disk.
  const std::string folder = Folder(path);
  Fd dir(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) return ErrnoStatus("cannot open the folder", folder);
  if (::fsync(dir.get()) != 0) return ErrnoStatus("cannot fsync the folder", folder);
  return absl::OkStatus();
}

// ---- reading

absl::Status Damaged(const std::string& what) { return absl::DataLossError("safetensors: " + what); }

// A JSON value as a uint64, if it is a non-negative integer.
std::optional<uint64_t> AsUnsigned(const Json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer() && v.get<int64_t>() >= 0) return static_cast<uint64_t>(v.get<int64_t>());
  return std::nullopt;
}

struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin = 0, end = 0;
};

absl::StatusOr<Entry> ParseEntry(const std::string& name, const Json& v, uint64_t data_bytes) {
  const std::string where = "tensor \"" + name + "\": ";
  if (!v.is_object()) return Damaged(where + "expected an object with dtype, shape and data_offsets");
  const auto dtype_it = v.find("dtype");
  const auto shape_it = v.find("shape");
  const auto offsets_it = v.find("data_offsets");
  if (dtype_it == v.end() || !dtype_it->is_string()) return Damaged(where + "expected a string \"dtype\"");
  if (shape_it == v.end() || !shape_it->is_array()) return Damaged(where + "expected an array \"shape\"");
  if (offsets_it == v.end() || !offsets_it->is_array() || offsets_it->size() != 2) {
    return Damaged(where + "expected \"data_offsets\" as an array [begin, end]");
  }
  Entry e{.name = name};
  const std::string dtype_name = dtype_it->get<std::string>();
  const std::optional<DType> dtype = ParseDType(dtype_name);
  if (!dtype) return Damaged(where + "unsupported dtype \"" + dtype_name + "\" (expected F32, F64 or I64)");
  e.dtype = *dtype;
  // The byte count is computed in 128 bits: a crafted shape cannot overflow it into a small number.
  unsigned __int128 bytes = ItemSize(e.dtype);
  for (const Json& size : *shape_it) {
    const std::optional<uint64_t> n = AsUnsigned(size);
    if (!n || *n > static_cast<uint64_t>(INT64_MAX)) {
      return Damaged(where + "expected non-negative integer sizes in the shape, got " + shape_it->dump());
    }
    e.shape.push_back(static_cast<int64_t>(*n));
    bytes = std::min<unsigned __int128>(bytes * *n, static_cast<unsigned __int128>(UINT64_MAX) + 1);
  }
  const std::optional<uint64_t> begin = AsUnsigned((*offsets_it)[0]);
  const std::optional<uint64_t> end = AsUnsigned((*offsets_it)[1]);
  if (!begin || !end || *begin > *end) {
    return Damaged(where + "expected data_offsets [begin, end] with 0 <= begin <= end, got " + offsets_it->dump());
  }
  if (*end > data_bytes) {
    return Damaged(where + "data_offsets " + offsets_it->dump() + " run past the " + std::to_string(data_bytes) +
                   " bytes of data (truncated file?)");
  }
  if (*end - *begin != bytes) {
    return Damaged(where + "data_offsets " + offsets_it->dump() + " hold " + std::to_string(*end - *begin) +
                   " bytes, but shape " + ShapeToString(e.shape) + " of " + dtype_name + " needs " +
                   (bytes > UINT64_MAX ? std::string("more than 2^64") : std::to_string(static_cast<uint64_t>(bytes))));
  }
  e.begin = *begin;
  e.end = *end;
  return e;
}

}  // namespace

absl::Status WriteSafetensors(const std::string& path, const StateDict& tensors, const Metadata& metadata) {
  std::vector<std::pair<std::string, Tensor>> ordered;
  for (const auto& [name, t] : tensors) {
    if (name.empty() || name == kMetadataKey) {
      return absl::InvalidArgumentError("safetensors: a tensor cannot be named \"" + name + "\"");
    }
    if (!t.defined()) return absl::InvalidArgumentError("safetensors: the tensor \"" + name + "\" is undefined");
    if (!t.device().is_cpu()) {
      return absl::InvalidArgumentError("safetensors: the tensor \"" + name + "\" is on " + t.device().ToString() +
                                        "; copy it to the CPU first");
    }
    ordered.emplace_back(name, kernels::contiguous(t));
  }
  std::stable_sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) {
    return ItemSize(a.second.dtype()) > ItemSize(b.second.dtype());
  });
  Json header = Json::object();
  uint64_t offset = 0;
  for (const auto& [name, t] : ordered) {
    const uint64_t bytes = static_cast<uint64_t>(t.numel()) * ItemSize(t.dtype());
    header[name] = {{"dtype", SafetensorsDType(t.dtype())}, {"shape", t.shape()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  if (!metadata.empty()) header[std::string(kMetadataKey)] = metadata;
  std::string text;
  try {
    text = header.dump();
  } catch (const Json::exception&) {
    return absl::InvalidArgumentError("safetensors: tensor names and metadata must be valid UTF-8");
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  uint64_t length = text.size();
  return AtomicWrite(path, [&](int fd, const std::string& tmp) -> absl::Status {
    NG_RETURN_IF_ERROR(WriteAll(fd, &length, sizeof(length), tmp));
    NG_RETURN_IF_ERROR(WriteAll(fd, text.data(), text.size(), tmp));
    for (const auto& [name, t] : ordered) {
      if (t.numel() > 0) NG_RETURN_IF_ERROR(WriteAll(fd, t.raw_data(), t.numel() * ItemSize(t.dtype()), tmp));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<SafetensorsContents> ParseSafetensors(std::string_view bytes) {
  if (bytes.size() < 8) {
    return Damaged("truncated file: " + std::to_string(bytes.size()) + " bytes, fewer than the 8 of the header length");
  }
  uint64_t length;
  std::memcpy(&length, bytes.data(), sizeof(length));
  if (length > kMaxSafetensorsHeaderBytes) {
    return Damaged("header length " + std::to_string(length) + " exceeds the limit of " +
                   std::to_string(kMaxSafetensorsHeaderBytes) + " bytes");
  }
  if (length > bytes.size() - 8) {
    return Damaged("truncated file: the header needs " + std::to_string(length) + " bytes after the length, the file has " +
                   std::to_string(bytes.size() - 8));
  }
  const std::string_view text = bytes.substr(8, length);
  const Json header = Json::parse(text, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded() || !header.is_object() || text.empty() || text.front() != '{') {
    return Damaged("the header is not a JSON object");
  }
  const std::string_view data = bytes.substr(8 + length);
  SafetensorsContents out;
  std::vector<Entry> entries;
  for (const auto& [name, value] : header.items()) {
    if (name == kMetadataKey) {
      if (!value.is_object()) return Damaged("__metadata__ must be an object of strings");
      for (const auto& [key, v] : value.items()) {
        if (!v.is_string()) return Damaged("__metadata__ entry \"" + key + "\" is not a string");
        out.metadata.emplace(key, v.get<std::string>());
      }
      continue;
    }
    NG_ASSIGN_OR_RETURN(Entry e, ParseEntry(name, value, data.size()));
    entries.push_back(std::move(e));
  }
  // The tensors must tile the data region: no byte shared, none unaccounted for.
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return std::tie(a.begin, a.end) < std::tie(b.begin, b.end); });
  uint64_t covered = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    if (e.begin < covered) {
      return Damaged("tensors \"" + entries[i - 1].name + "\" and \"" + e.name + "\" overlap in the data");
    }
    if (e.begin > covered) {
      return Damaged("data bytes [" + std::to_string(covered) + ", " + std::to_string(e.begin) + ") belong to no tensor");
    }
    covered = e.end;
  }
  if (covered != data.size()) {
    return Damaged("the file has " + std::to_string(data.size() - covered) + " bytes after the last tensor's data");
  }
  for (const Entry& e : entries) {
    out.tensors.emplace(e.name, from_buffer(data.data() + e.begin, e.shape, e.dtype, {.dtype = e.dtype}));
  }
  return out;
}

absl::StatusOr<SafetensorsContents> ReadSafetensors(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoStatus("cannot open", path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("cannot stat", path);
  std::string bytes(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::read(fd.get(), bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("cannot read", path);
    if (n == 0) break;  // the file shrank while being read
    got += static_cast<size_t>(n);
  }
  bytes.resize(got);
  absl::StatusOr<SafetensorsContents> contents = ParseSafetensors(bytes);
  if (!contents.ok()) {
    return absl::Status(contents.status().code(), std::string(contents.status().message()) + " (in \"" + path + "\")");
  }
  return contents;
}

}  // namespace normgrad
