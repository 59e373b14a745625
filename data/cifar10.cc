#include "data/cifar10.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/error.h"
#include "core/file_io.h"

namespace normgrad::data {
namespace {

std::vector<std::string> TrainFileNames() {
  std::vector<std::string> names;
  for (int b = 1; b <= 5; ++b) names.push_back(absl::StrCat("data_batch_", b, ".bin"));
  return names;
}

ImageDataset EmptyCifar10() {
  ImageDataset d;
  d.channels = 3;
  d.height = d.width = 32;
  d.num_classes = 10;
  d.class_names.assign(std::begin(kCifar10Classes), std::end(kCifar10Classes));
  return d;
}

}  // namespace

absl::StatusOr<ImageDataset> ReadCifar10File(const std::string& path) {
  NG_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  if (bytes.empty() || bytes.size() % kCifarRecordBytes != 0) {
    return absl::DataLossError(absl::StrCat(
        path, ": expected a CIFAR-10 batch file whose size is a positive multiple of ", kCifarRecordBytes,
        " bytes (1 label byte + 3072 pixel bytes per image), got ", bytes.size(), " bytes"));
  }
  const int64_t n = static_cast<int64_t>(bytes.size()) / kCifarRecordBytes;
  ImageDataset d = EmptyCifar10();
  d.pixels.resize(n * kCifarImageBytes);
  d.labels.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    const char* record = bytes.data() + i * kCifarRecordBytes;
    const uint8_t label = static_cast<uint8_t>(record[0]);
    if (label >= 10) {
      return absl::DataLossError(absl::StrCat(path, ": record ", i, " (byte offset ", i * kCifarRecordBytes,
                                              ") has label ", label, ", expected 0-9"));
    }
    d.labels[i] = label;
    std::copy(record + 1, record + kCifarRecordBytes, d.pixels.begin() + i * kCifarImageBytes);
  }
  return d;
}

absl::StatusOr<std::string> FindCifar10(const std::string& dir) {
  std::string missing;
  for (const std::filesystem::path& candidate : {std::filesystem::path(dir), std::filesystem::path(dir) / kCifar10Subdir}) {
    std::vector<std::string> absent;
    for (const std::string& name : TrainFileNames()) {
      if (!std::filesystem::is_regular_file(candidate / name)) absent.push_back(name);
    }
    if (absent.empty()) return candidate.string();
    absl::StrAppend(&missing, missing.empty() ? "" : "; ", candidate.string(), " lacks ", absl::StrJoin(absent, ", "));
  }
  return absl::NotFoundError(absl::StrCat("CIFAR-10 not found: ", missing));
}

absl::StatusOr<Cifar10> LoadCifar10(const std::string& dir) {
  Cifar10 out;
  NG_ASSIGN_OR_RETURN(out.dir, FindCifar10(dir));
  out.train = EmptyCifar10();
  for (const std::string& name : TrainFileNames()) {
    NG_ASSIGN_OR_RETURN(ImageDataset part, ReadCifar10File((std::filesystem::path(out.dir) / name).string()));
    NG_RETURN_IF_ERROR(Append(out.train, part));
  }
  const std::filesystem::path test = std::filesystem::path(out.dir) / "test_batch.bin";
  if (std::filesystem::exists(test)) {
    NG_ASSIGN_OR_RETURN(out.test, ReadCifar10File(test.string()));
  }
  return out;
}

}  // namespace normgrad::data
