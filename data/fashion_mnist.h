#ifndef NORMGRAD_DATA_FASHION_MNIST_H_
#define NORMGRAD_DATA_FASHION_MNIST_H_

#include <string>

#include "absl/status/statusor.h"
#include "data/image_dataset.h"

namespace normgrad::data {

// Fashion-MNIST (Xiao et al. 2017): 28 x 28 grey images of 10 kinds of clothing, 60,000 for training and
// 10,000 for testing, in the IDX format of MNIST. Debian's package dataset-fashion-mnist installs the
// gzip-compressed files here.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";
inline constexpr const char* kFashionMnistClasses[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                         "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

// Reads an IDX image file (magic 0x00000803: unsigned bytes, 3 dims N x H x W, big-endian sizes) and its
// IDX label file (magic 0x00000801, N labels) as an ImageDataset of 1-channel images; `num_classes` bounds
// the labels. Either file may be gzip-compressed (recognized by its magic bytes, not its name). Errors name
// the file: NotFound, DataLoss for a bad gzip stream, a wrong magic number, a size that disagrees with the
// header, a label out of range; InvalidArgument when the two files hold different numbers of items.
absl::StatusOr<ImageDataset> ReadIdx(const std::string& images_path, const std::string& labels_path,
                                     int num_classes = 10);

struct FashionMnist {
  ImageDataset train;
  ImageDataset test;
};

// Reads train-{images-idx3,labels-idx1}-ubyte.gz and t10k-... from `dir`.
absl::StatusOr<FashionMnist> LoadFashionMnist(const std::string& dir = kFashionMnistDir);

}  // namespace normgrad::data

#endif  // NORMGRAD_DATA_FASHION_MNIST_H_
