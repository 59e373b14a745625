#include "data/tar.h"

#include <algorithm>
#include <filesystem>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "core/error.h"
#include "core/file_io.h"
#include "data/file_io.h"

namespace normgrad::data {
namespace {

constexpr size_t kBlock = 512;

struct Entry {
  std::string name;
  char type;
  std::string_view contents;
};

// A NUL-terminated (or full-width) text field of the header.
std::string_view Field(std::string_view header, size_t at, size_t width) {
  std::string_view f = header.substr(at, width);
  return f.substr(0, f.find('\0'));
}

// An octal number field, padded with spaces or NULs. False when it holds anything else.
bool ParseOctal(std::string_view field, uint64_t* value) {
  *value = 0;
  bool digits = false;
  for (char c : field) {
    if (c == ' ' || c == '\0') {
      if (digits) break;
      continue;
    }
    if (c < '0' || c > '7' || *value > (uint64_t{1} << 60)) return false;
    *value = *value * 8 + static_cast<uint64_t>(c - '0');
    digits = true;
  }
  return digits;
}

// The value of `key` in a pax extended header ("<length> <key>=<value>\n" records), or "".
std::string PaxValue(std::string_view records, std::string_view key) {
  while (!records.empty()) {
    const size_t space = records.find(' ');
    uint64_t length = 0;
    for (char c : records.substr(0, space)) {
      if (c < '0' || c > '9') return "";
      length = length * 10 + static_cast<uint64_t>(c - '0');
    }
    if (space == std::string_view::npos || length <= space + 1 || length > records.size()) return "";
    std::string_view record = records.substr(space + 1, length - space - 2);  // without the newline
    if (record.size() > key.size() && record.substr(0, key.size()) == key && record[key.size()] == '=') {
      return std::string(record.substr(key.size() + 1));
    }
    records.remove_prefix(length);
  }
  return "";
}

bool SafeRelativePath(const std::string& name) {
  if (name.empty() || name.front() == '/') return false;
  for (size_t start = 0; start <= name.size();) {
    const size_t end = std::min(name.find('/', start), name.size());
    if (name.compare(start, end - start, "..") == 0) return false;
    start = end + 1;
  }
  return true;
}

absl::StatusOr<std::vector<Entry>> ParseEntries(std::string_view archive) {
  std::vector<Entry> entries;
  std::string long_name;  // from a preceding GNU 'L' or pax 'x' entry
  for (size_t at = 0; at + kBlock <= archive.size();) {
    const std::string_view header = archive.substr(at, kBlock);
    if (header.find_first_not_of('\0') == std::string_view::npos) return entries;  // end-of-archive block
    const std::string where = absl::StrCat("tar: entry at byte ", at);
    uint64_t checksum = 0, expected = 0;
    for (size_t i = 0; i < kBlock; ++i) checksum += (i >= 148 && i < 156) ? ' ' : static_cast<uint8_t>(header[i]);
    if (!ParseOctal(header.substr(148, 8), &expected)) {
      return absl::DataLossError(absl::StrCat(where, ": expected an octal header checksum, got \"",
                                              absl::CHexEscape(std::string(header.substr(148, 8))),
                                              "\" (not a tar archive?)"));
    }
    if (checksum != expected) {
      return absl::DataLossError(absl::StrCat(where, ": header checksum mismatch: the header says ", expected,
                                              ", its bytes add up to ", checksum, " (not a tar archive?)"));
    }
    uint64_t size = 0;
    if (!ParseOctal(header.substr(124, 12), &size)) {
      return absl::DataLossError(absl::StrCat(where, ": unreadable size field"));
    }
    const size_t data_at = at + kBlock;
    if (size > archive.size() - data_at) {
      return absl::DataLossError(absl::StrCat(where, ": its ", size, " bytes run past the end of the archive"));
    }
    const std::string_view contents = archive.substr(data_at, size);
    const char type = header[156];
    std::string name(Field(header, 0, 100));
    if (header.substr(257, 5) == "ustar") {
      const std::string_view prefix = Field(header, 345, 155);
      if (!prefix.empty()) name = absl::StrCat(std::string(prefix), "/", name);
    }
    at = data_at + (size + kBlock - 1) / kBlock * kBlock;
    if (type == 'L') {
      long_name = std::string(contents.substr(0, contents.find('\0')));
      continue;
    }
    if (type == 'x') {
      long_name = PaxValue(contents, "path");
      continue;
    }
    if (!long_name.empty()) name = std::exchange(long_name, "");
    entries.push_back({std::move(name), type, contents});
  }
  return entries;  // archives cut right after their last entry are accepted, as tar itself does
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ExtractTar(std::string_view archive, const std::string& dest) {
  NG_ASSIGN_OR_RETURN(std::vector<Entry> entries, ParseEntries(archive));
  for (const Entry& e : entries) {
    if (!SafeRelativePath(e.name)) {
      return absl::InvalidArgumentError(absl::StrCat("tar: refusing to extract \"", e.name,
                                                     "\": absolute paths and \"..\" would escape ", dest));
    }
  }
  std::vector<std::string> written;
  for (const Entry& e : entries) {
    const std::filesystem::path target = std::filesystem::path(dest) / e.name;
    if (e.type == '5') {
      NG_RETURN_IF_ERROR(MakeDirectories(target.string()));
    } else if (e.type == '0' || e.type == '\0') {
      NG_RETURN_IF_ERROR(MakeDirectories(target.parent_path().string()));
      NG_RETURN_IF_ERROR(WriteFileAtomically(target.string(), e.contents));
      written.push_back(e.name);
    }
  }
  return written;
}

}  // namespace normgrad::data
