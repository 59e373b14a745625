#include "data/image_dataset.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace normgrad::data {
namespace {

std::string Geometry(const ImageDataset& d) {
  return absl::StrCat("[", d.channels, ", ", d.height, ", ", d.width, "] images of ", d.num_classes, " classes");
}

}  // namespace

std::string ImageDataset::ClassName(int label) const {
  return label >= 0 && label < static_cast<int>(class_names.size()) ? class_names[label] : std::to_string(label);
}

absl::StatusOr<std::pair<ImageDataset, ImageDataset>> SplitTail(const ImageDataset& data, int64_t tail_count) {
  if (tail_count < 0 || tail_count > data.size()) {
    return absl::InvalidArgumentError(absl::StrCat("SplitTail: expected a split of 0 to ", data.size(),
                                                   " images, got ", tail_count));
  }
  const int64_t head = data.size() - tail_count;
  std::pair<ImageDataset, ImageDataset> out;
  for (ImageDataset* part : {&out.first, &out.second}) {
    part->channels = data.channels;
    part->height = data.height;
    part->width = data.width;
    part->num_classes = data.num_classes;
    part->class_names = data.class_names;
  }
  const auto split_pixels = data.pixels.begin() + head * data.image_bytes();
  out.first.pixels.assign(data.pixels.begin(), split_pixels);
  out.second.pixels.assign(split_pixels, data.pixels.end());
  out.first.labels.assign(data.labels.begin(), data.labels.begin() + head);
  out.second.labels.assign(data.labels.begin() + head, data.labels.end());
  return out;
}

absl::Status Append(ImageDataset& data, const ImageDataset& more) {
  if (data.channels != more.channels || data.height != more.height || data.width != more.width ||
      data.num_classes != more.num_classes) {
    return absl::InvalidArgumentError(
        absl::StrCat("Append: expected ", Geometry(data), ", got ", Geometry(more)));
  }
  data.pixels.insert(data.pixels.end(), more.pixels.begin(), more.pixels.end());
  data.labels.insert(data.labels.end(), more.labels.begin(), more.labels.end());
  return absl::OkStatus();
}

ChannelStats ComputeChannelStats(const ImageDataset& data) {
  ChannelStats stats;
  const int64_t plane = data.height * data.width;
  for (int64_t c = 0; c < data.channels; ++c) {
    // Integer sums are exact: 255^2 * 50,000 * 1,024 fits in 64 bits with room to spare.
    uint64_t sum = 0, sum_sq = 0;
    for (int64_t i = 0; i < data.size(); ++i) {
      const uint8_t* p = data.image(i) + c * plane;
      for (int64_t k = 0; k < plane; ++k) {
        sum += p[k];
        sum_sq += uint64_t{p[k]} * p[k];
      }
    }
    const double n = static_cast<double>(data.size() * plane);
    const double mean = n ? static_cast<double>(sum) / n : 0;
    const double var = n ? static_cast<double>(sum_sq) / n - mean * mean : 0;
    stats.mean.push_back(mean / 255);
    stats.std.push_back(std::sqrt(std::max(var, 0.0)) / 255);
  }
  return stats;
}

}  // namespace normgrad::data
