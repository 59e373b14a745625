#ifndef NORMGRAD_DATA_CIFAR10_H_
#define NORMGRAD_DATA_CIFAR10_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "data/image_dataset.h"

namespace normgrad::data {

// CIFAR-10 (Krizhevsky 2009) in its official binary layout: files data_batch_1.bin ... data_batch_5.bin
// (training) and test_batch.bin, each a sequence of records of 1 label byte (0-9) followed by 3,072
// pixel bytes: the 32 x 32 red plane, then green, then blue, each row-major.
inline constexpr int64_t kCifarImageBytes = 3 * 32 * 32;
inline constexpr int64_t kCifarRecordBytes = 1 + kCifarImageBytes;
inline constexpr const char* kCifar10Classes[10] = {"airplane", "automobile", "bird",  "cat",  "deer",
                                                    "dog",      "frog",       "horse", "ship", "truck"};
// The folder the official archive unpacks to.
inline constexpr const char* kCifar10Subdir = "cifar-10-batches-bin";

// The per-channel mean and standard deviation of the 50,000 official training images (pixels in [0, 1]),
// the usual normalization constants.
inline constexpr double kCifar10Mean[3] = {0.4914, 0.4822, 0.4465};
inline constexpr double kCifar10Std[3] = {0.2470, 0.2435, 0.2616};

// Reads one batch file. Any number of records is accepted (the official files hold 10,000, tests write
// a few). Errors name the file: NotFound when missing, DataLoss when its size is not a positive multiple
// of 3,073 bytes (a truncated or foreign file) or a label is not in 0-9 (naming the record).
absl::StatusOr<ImageDataset> ReadCifar10File(const std::string& path);

// The data set found in a folder: training images from data_batch_1..5.bin, in that order, and the test
// images from test_batch.bin when that file exists.
struct Cifar10 {
  std::string dir;  // the folder the files were read from
  ImageDataset train;
  std::optional<ImageDataset> test;
};

// The folder holding data_batch_1..5.bin: `dir` itself or `dir`/cifar-10-batches-bin (where the official
// archive and prepare-style converters put them). NotFound, listing the missing files, when neither has
// all five.
absl::StatusOr<std::string> FindCifar10(const std::string& dir);

// Reads the data set from FindCifar10(dir). Errors as FindCifar10 and ReadCifar10File.
absl::StatusOr<Cifar10> LoadCifar10(const std::string& dir);

}  // namespace normgrad::data

#endif  // NORMGRAD_DATA_CIFAR10_H_
