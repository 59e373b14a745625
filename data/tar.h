#ifndef NORMGRAD_DATA_TAR_H_
#define NORMGRAD_DATA_TAR_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace normgrad::data {

// Extracts the regular files of an uncompressed tar archive (POSIX ustar, with GNU long names and pax
// `path` records) held in memory into the folder `dest`, creating subfolders as needed; each file is
// written atomically. Returns the relative paths written, in archive order. Folders are created, other
// entry types (links, devices) skipped. Names that are absolute or contain ".." are refused rather than
// written outside `dest`. DataLoss names the entry and the problem (bad header checksum, size field, an
// entry running past the end); nothing is written unless the whole archive is well-formed.
absl::StatusOr<std::vector<std::string>> ExtractTar(std::string_view archive, const std::string& dest);

}  // namespace normgrad::data

#endif  // NORMGRAD_DATA_TAR_H_
