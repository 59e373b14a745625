#include "nn/checkpoint.h"

#include "absl/strings/numbers.h"

namespace normgrad {

namespace {

constexpr char kFormatKey[] = "format";
constexpr char kVersionKey[] = "normgrad.format_version";
constexpr char kModuleKey[] = "normgrad.module";
constexpr char kOptionsKey[] = "normgrad.module_options";

}  // namespace

absl::Status Save(const nn::Module& module, const std::string& path, const Metadata& metadata) {
  for (const auto& [key, value] : metadata) {
    if (key == kFormatKey || key.starts_with("normgrad.")) {
      return absl::InvalidArgumentError("Save: the metadata key \"" + key + "\" is reserved");
    }
  }
  Metadata all = metadata;
  all[kFormatKey] = "pt";
  all[kVersionKey] = std::to_string(kCheckpointFormatVersion);
  all[kModuleKey] = module.type_name();
  all[kOptionsKey] = module.extra_repr();
  return WriteSafetensors(path, module.state_dict(), all);
}

absl::StatusOr<Metadata> Load(nn::Module& module, const std::string& path) {
  NG_ASSIGN_OR_RETURN(SafetensorsContents contents, ReadSafetensors(path));
  const Metadata& metadata = contents.metadata;
  // Files written elsewhere (PyTorch) carry no normgrad keys; those written here must match.
  if (const auto it = metadata.find(kVersionKey); it != metadata.end()) {
    int version = 0;
    if (!absl::SimpleAtoi(it->second, &version) || version < 1 || version > kCheckpointFormatVersion) {
      return absl::InvalidArgumentError("Load: \"" + path + "\" has checkpoint format version \"" + it->second +
                                        "\"; this build reads versions 1 to " +
                                        std::to_string(kCheckpointFormatVersion));
    }
  }
  if (const auto it = metadata.find(kModuleKey); it != metadata.end() && it->second != module.type_name()) {
    return absl::InvalidArgumentError("Load: \"" + path + "\" holds a " + it->second + ", not a " + module.type_name());
  }
  absl::StatusOr<nn::LoadResult> loaded = module.load_state_dict(contents.tensors, /*strict=*/true);
  if (!loaded.ok()) {
    return absl::InvalidArgumentError(std::string(loaded.status().message()) + " (in \"" + path + "\")");
  }
  return metadata;
}

}  // namespace normgrad
