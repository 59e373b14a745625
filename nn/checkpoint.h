#ifndef NORMGRAD_NN_CHECKPOINT_H_
#define NORMGRAD_NN_CHECKPOINT_H_

// A module's parameters and buffers (batch norm's running statistics and num_batches_tracked included)
// in a safetensors file (see nn/safetensors.h), under PyTorch's state_dict keys, so that the same file
// loads into PyTorch's model of the same architecture and back:
//
//   if (absl::Status s = ng::Save(*model, "resnet20.safetensors"); !s.ok()) { ... }
//   absl::StatusOr<ng::Metadata> m = ng::Load(*model, "resnet20.safetensors");
//
// The header's metadata records:
//   "format"                   "pt" (the tensors follow PyTorch's layouts, as Python's safetensors expects)
//   "normgrad.format_version"  "1"
//   "normgrad.module"          the module's type name ("ResNet")
//   "normgrad.module_options"  its options as printed ("depth=20, shortcut=A, num_classes=10")
// plus whatever the caller adds.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nn/module.h"
#include "nn/safetensors.h"

namespace normgrad {

// The checkpoint format this version writes and the newest it reads.
inline constexpr int kCheckpointFormatVersion = 1;

// Writes module.state_dict() and the metadata above to `path`, atomically (WriteSafetensors). `metadata`
// may not use the keys "format" or "normgrad.*" (InvalidArgument).
[[nodiscard]] absl::Status Save(const nn::Module& module, const std::string& path, const Metadata& metadata = {});

// Loads `path` into `module` (strictly: every key present, none extra, every shape equal) and returns the
// file's metadata. The file is read and validated in full and checked against the module before any
// value is copied: on any error the module is unchanged. Errors: those of ReadSafetensors; InvalidArgument
// when the file was written for another module type or by a newer format version, or when its keys or
// shapes do not fit the module (the message lists the missing, unexpected and mismatched keys).
[[nodiscard]] absl::StatusOr<Metadata> Load(nn::Module& module, const std::string& path);

}  // namespace normgrad

#endif  // NORMGRAD_NN_CHECKPOINT_H_
