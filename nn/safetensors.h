#ifndef NORMGRAD_NN_SAFETENSORS_H_
#define NORMGRAD_NN_SAFETENSORS_H_

// Named tensors on disk in the safetensors layout, which Python's `safetensors` package and PyTorch tooling
// read and write:
//
//   bytes [0, 8)       N, the header's length, unsigned 64-bit little-endian
//   bytes [8, 8 + N)   a JSON object, padded with spaces so that 8 + N is a multiple of 8:
//                      {"layer1.0.bn1.running_mean": {"dtype": "F32", "shape": [16], "data_offsets": [0, 64]},
//                       ..., "__metadata__": {"format": "pt", ...}}
//   bytes [8 + N, end) the tensors' raw row-major little-endian bytes; each tensor's data_offsets
//                      [begin, end) are relative to 8 + N, and together they tile this region exactly.
//
// Dtypes: "F32" (float32), "F64" (float64), "I64" (int64). Rank-0 tensors have shape [].
// Any named tensors fit: a model's state dict, an optimizer's and a schedule's (a training checkpoint
// keeps them under "model.", "optimizer.", "scheduler."; see AddPrefix/StripPrefix in core/state_dict.h).

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/state_dict.h"

namespace normgrad {

// Free-form string metadata stored in the header's "__metadata__".
using Metadata = std::map<std::string, std::string>;

struct SafetensorsContents {
  StateDict tensors;
  Metadata metadata;
};

// The largest header a reader accepts (the same limit as Python's safetensors): a larger length field is
// taken as a damaged file rather than an allocation to attempt.
inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

// Writes `tensors` and `metadata` to `path` atomically, through WriteFileAtomically (core/file_io.h): the
// bytes go to a new temporary file in the same folder, which is fsynced, then renamed over `path`. A failure
// or a crash at any point leaves any previous file at `path` as it was (a crash may leave the temporary
// "<path>.tmp.*" behind). Tensors are stored largest item size first, then by name, so that every
// tensor's data is aligned to its item size. Tensors on a CUDA device are copied to the host first.
// Errors: InvalidArgument for an empty name, the name "__metadata__", an undefined tensor, names or
// metadata that are not valid UTF-8; the errno-derived status (naming the path) for a failed open, write,
// fsync or rename.
[[nodiscard]] absl::Status WriteSafetensors(const std::string& path, const StateDict& tensors,
                                            const Metadata& metadata = {});

// Reads a whole safetensors file. Everything is validated before anything is returned; a damaged file
// gives DataLoss saying what is wrong: truncated (shorter than 8 bytes, than its header or than its
// data), an oversized header length, a header that is not a JSON object, an entry without a valid dtype,
// shape or data_offsets, an unsupported dtype, offsets out of range, overlapping, leaving a gap, or not
// matching the shape's byte count, metadata that is not a map of strings. A missing file gives NotFound.
[[nodiscard]] absl::StatusOr<SafetensorsContents> ReadSafetensors(const std::string& path);

// The same validation and decoding for bytes already in memory.
[[nodiscard]] absl::StatusOr<SafetensorsContents> ParseSafetensors(std::string_view bytes);

}  // namespace normgrad

#endif  // NORMGRAD_NN_SAFETENSORS_H_
