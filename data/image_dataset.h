#ifndef NORMGRAD_DATA_IMAGE_DATASET_H_
#define NORMGRAD_DATA_IMAGE_DATASET_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace normgrad::data {

// A labelled image data set held in memory as bytes, the way CIFAR-10 and Fashion-MNIST ship: image i
// is pixels[i * C*H*W, (i + 1) * C*H*W), channel planes one after another, each row-major ([C, H, W]);
// labels[i] is its class in [0, num_classes). The loader turns batches of it into float tensors.
struct ImageDataset {
  int64_t channels = 0;
  int64_t height = 0;
  int64_t width = 0;
  int num_classes = 0;
  std::vector<std::string> class_names;  // num_classes names, or empty
  std::vector<uint8_t> pixels;
  std::vector<uint8_t> labels;

  int64_t size() const { return static_cast<int64_t>(labels.size()); }
  int64_t image_bytes() const { return channels * height * width; }
  const uint8_t* image(int64_t i) const { return pixels.data() + i * image_bytes(); }
  // The class's name, or its number when the set has no names.
  std::string ClassName(int label) const;
};

// Splits `data` into its first size() - tail_count images and its last tail_count (a validation set held
// out of a training set). InvalidArgument unless 0 <= tail_count <= size().
absl::StatusOr<std::pair<ImageDataset, ImageDataset>> SplitTail(const ImageDataset& data, int64_t tail_count);

// Appends `more` to `data`. InvalidArgument, naming both geometries, when the image geometry or the
// number of classes differ.
[[nodiscard]] absl::Status Append(ImageDataset& data, const ImageDataset& more);

// Per-channel mean and standard deviation (population, divide by count) of the pixel values scaled to
// [0, 1]: what the loader's normalization subtracts and divides by.
struct ChannelStats {
  std::vector<double> mean;
  std::vector<double> std;
};
ChannelStats ComputeChannelStats(const ImageDataset& data);

}  // namespace normgrad::data

#endif  // NORMGRAD_DATA_IMAGE_DATASET_H_
