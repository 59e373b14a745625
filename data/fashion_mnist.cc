#include "data/fashion_mnist.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/error.h"
#include "core/file_io.h"
#include "data/gzip.h"

namespace normgrad::data {
namespace {

uint32_t ReadBE32(const std::string& s, size_t at) {
  return uint32_t{static_cast<uint8_t>(s[at])} << 24 | uint32_t{static_cast<uint8_t>(s[at + 1])} << 16 |
         uint32_t{static_cast<uint8_t>(s[at + 2])} << 8 | uint32_t{static_cast<uint8_t>(s[at + 3])};
}

// The file's bytes, decompressed when they start with gzip's magic.
absl::StatusOr<std::string> ReadMaybeGzip(const std::string& path) {
  absl::StatusOr<std::string> bytes = ReadFile(path);
  if (!bytes.ok() || !bytes->starts_with("\x1f\x8b")) return bytes;
  absl::StatusOr<std::string> raw = Gunzip(*bytes);
  if (!raw.ok()) return absl::DataLossError(absl::StrCat(path, ": ", raw.status().message()));
  return raw;
}

// Checks an IDX header of unsigned bytes with `dims` dimensions and returns the dimensions.
absl::StatusOr<std::vector<int64_t>> IdxDims(const std::string& bytes, const std::string& path, int dims) {
  const uint32_t magic = 0x00000800u | static_cast<uint32_t>(dims);
  const size_t header = 4 + 4 * static_cast<size_t>(dims);
  if (bytes.size() < 4 || ReadBE32(bytes, 0) != magic) {
    return absl::DataLossError(
        absl::StrCat(path, ": expected an IDX file of unsigned bytes with ", dims, " dimensions (magic 0x",
                     absl::Hex(magic, absl::kZeroPad8), "), got ",
                     bytes.size() < 4 ? absl::StrCat("a file of ", bytes.size(), " bytes")
                                      : absl::StrCat("magic 0x", absl::Hex(ReadBE32(bytes, 0), absl::kZeroPad8))));
  }
  if (bytes.size() < header) {
    return absl::DataLossError(
        absl::StrCat(path, ": expected a header of ", header, " bytes, got a file of ", bytes.size(), " bytes"));
  }
  std::vector<int64_t> shape;
  const uint64_t data_bytes = bytes.size() - header;
  uint64_t count = 1;  // saturates just past data_bytes, so that it cannot overflow
  for (int d = 0; d < dims; ++d) {
    shape.push_back(ReadBE32(bytes, 4 + 4 * d));
    const uint64_t dim = static_cast<uint64_t>(shape.back());
    count = dim != 0 && count > data_bytes / dim ? data_bytes + 1 : count * dim;
  }
  if (count != data_bytes) {
    return absl::DataLossError(absl::StrCat(path, ": the header promises ", absl::StrJoin(shape, " x "),
                                            " bytes of data, the file has ", data_bytes));
  }
  // Every dimension but the first (the item count) sizes one item, which must hold at least one byte and at
  // most 2^31 (so that sizes and offsets computed from them fit in int64 whatever the count).
  uint64_t item_bytes = 1;
  for (int d = 1; d < dims; ++d) {
    if (shape[d] == 0 || item_bytes * static_cast<uint64_t>(shape[d]) > (uint64_t{1} << 31)) {
      return absl::DataLossError(absl::StrCat(path, ": expected items of 1 to 2^31 bytes, got ",
                                              absl::StrJoin(shape.begin() + 1, shape.end(), " x ")));
    }
    item_bytes *= static_cast<uint64_t>(shape[d]);
  }
  return shape;
}

}  // namespace

absl::StatusOr<ImageDataset> ReadIdx(const std::string& images_path, const std::string& labels_path,
                                     int num_classes) {
  NG_ASSIGN_OR_RETURN(std::string images, ReadMaybeGzip(images_path));
  NG_ASSIGN_OR_RETURN(std::string labels, ReadMaybeGzip(labels_path));
  NG_ASSIGN_OR_RETURN(std::vector<int64_t> image_shape, IdxDims(images, images_path, 3));
  NG_ASSIGN_OR_RETURN(std::vector<int64_t> label_shape, IdxDims(labels, labels_path, 1));
  if (image_shape[0] != label_shape[0]) {
    return absl::InvalidArgumentError(absl::StrCat(images_path, " holds ", image_shape[0], " images but ",
                                                   labels_path, " holds ", label_shape[0], " labels"));
  }
  ImageDataset d;
  d.channels = 1;
  d.height = image_shape[1];
  d.width = image_shape[2];
  d.num_classes = num_classes;
  d.labels.assign(labels.begin() + 8, labels.end());
  for (size_t i = 0; i < d.labels.size(); ++i) {
    if (d.labels[i] >= num_classes) {
      return absl::DataLossError(absl::StrCat(labels_path, ": label ", i, " is ", d.labels[i], ", expected 0-",
                                              num_classes - 1));
    }
  }
  d.pixels.assign(images.begin() + 16, images.end());
  return d;
}

absl::StatusOr<FashionMnist> LoadFashionMnist(const std::string& dir) {
  auto path = [&](const char* name) { return (std::filesystem::path(dir) / name).string(); };
  FashionMnist out;
  NG_ASSIGN_OR_RETURN(out.train,
                      ReadIdx(path("train-images-idx3-ubyte.gz"), path("train-labels-idx1-ubyte.gz")));
  NG_ASSIGN_OR_RETURN(out.test, ReadIdx(path("t10k-images-idx3-ubyte.gz"), path("t10k-labels-idx1-ubyte.gz")));
  for (ImageDataset* d : {&out.train, &out.test}) {
    d->class_names.assign(std::begin(kFashionMnistClasses), std::end(kFashionMnistClasses));
  }
  return out;
}

}  // namespace normgrad::data
