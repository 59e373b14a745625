#include "nn/safetensors.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <optional>
#include <tuple>
#include <vector>

#include "core/file_io.h"
#include "core/kernels/copy.h"
#include "core/kernels/device_copy.h"
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

// The status of a failed file operation, its message prefixed with "safetensors: ".
absl::Status Prefixed(const absl::Status& status) {
  return absl::Status(status.code(), "safetensors: " + std::string(status.message()));
}

// ---- reading

absl::Status Damaged(const std::string& what) { return absl::DataLossError("safetensors: " + what); }

// A JSON value as a uint64, if it is a non-negative integer.
std::optional<uint64_t> AsUnsigned(const Json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer() && v.get<int64_t>() >= 0) return static_cast<uint64_t>(v.get<int64_t>());
  return std::nullopt;
}

// A value from the file's header, for an error message: scalars and short arrays of scalars as they are
// (long strings cut short), anything else by its type and size. dump() would recurse into a crafted,
// deeply nested value and overflow the stack, or copy megabytes into the message.
std::string Describe(const Json& v) {
  constexpr size_t kMaxChars = 40, kMaxItems = 8;
  if (v.is_primitive()) {
    const std::string text = v.dump();
    return text.size() <= kMaxChars ? text : text.substr(0, kMaxChars) + "...";
  }
  if (v.is_array() && v.size() <= kMaxItems &&
      std::all_of(v.begin(), v.end(), [](const Json& item) { return item.is_primitive(); })) {
    std::string text = "[";
    for (size_t i = 0; i < v.size(); ++i) text += (i ? ", " : "") + Describe(v[i]);
    return text + "]";
  }
  return std::string(v.is_array() ? "an array" : "an object") + " of " + std::to_string(v.size()) + " items";
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
  // The product of the non-zero sizes: a count int64 cannot hold is refused even where a zero makes the
  // tensor empty, since the shape's strides are computed from it.
  unsigned __int128 nonzero = 1;
  for (const Json& size : *shape_it) {
    const std::optional<uint64_t> n = AsUnsigned(size);
    if (!n || *n > static_cast<uint64_t>(INT64_MAX)) {
      return Damaged(where + "expected non-negative integer sizes in the shape, got " + Describe(*shape_it));
    }
    e.shape.push_back(static_cast<int64_t>(*n));
    bytes = std::min<unsigned __int128>(bytes * *n, static_cast<unsigned __int128>(UINT64_MAX) + 1);
    if (*n != 0) nonzero = std::min<unsigned __int128>(nonzero * *n, static_cast<unsigned __int128>(INT64_MAX) + 1);
  }
  const std::optional<uint64_t> begin = AsUnsigned((*offsets_it)[0]);
  const std::optional<uint64_t> end = AsUnsigned((*offsets_it)[1]);
  if (!begin || !end || *begin > *end) {
    return Damaged(where + "expected data_offsets [begin, end] with 0 <= begin <= end, got " + Describe(*offsets_it));
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
  if (nonzero > static_cast<unsigned __int128>(INT64_MAX)) {
    return Damaged(where + "shape " + ShapeToString(e.shape) + " has more elements than an int64 counts");
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
    ordered.emplace_back(name, kernels::contiguous(kernels::to(t, kCPU)));  // device tensors come over first
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
  const uint64_t length = text.size();
  std::vector<std::string_view> pieces = {std::string_view(reinterpret_cast<const char*>(&length), sizeof(length)),
                                          text};
  for (const auto& [name, t] : ordered) {
    if (t.numel() > 0) pieces.emplace_back(static_cast<const char*>(t.raw_data()), t.numel() * ItemSize(t.dtype()));
  }
  if (const absl::Status s = WriteFileAtomically(path, pieces); !s.ok()) return Prefixed(s);
  return absl::OkStatus();
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
  const absl::StatusOr<std::string> bytes = ReadFile(path);
  if (!bytes.ok()) return Prefixed(bytes.status());
  absl::StatusOr<SafetensorsContents> contents = ParseSafetensors(*bytes);
  if (!contents.ok()) {
    return absl::Status(contents.status().code(), std::string(contents.status().message()) + " (in \"" + path + "\")");
  }
  return contents;
}

}  // namespace normgrad
