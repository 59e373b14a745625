#ifndef NORMGRAD_DATA_CIFAR10_FETCH_H_
#define NORMGRAD_DATA_CIFAR10_FETCH_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"

namespace normgrad::data {

// The official CIFAR-10 binary archive and its published MD5.
inline constexpr const char* kCifar10Url = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";
inline constexpr const char* kCifar10Md5 = "c32a1d4ab5d03f1284b67883e8d87530";
inline constexpr const char* kCifar10Archive = "cifar-10-binary.tar.gz";

struct FetchOptions {
  std::string url = kCifar10Url;
  std::string md5 = kCifar10Md5;
  // False: never download (only use files or an archive already in the folder).
  bool download = true;
  // Told each step taken when the data is not already there ("downloading ... to ...", "unpacking ..."):
  // a download takes minutes, and a silent program looks stuck.
  std::function<void(const std::string&)> log;
};

// Makes sure CIFAR-10 is in `dir` and returns the folder holding the batch files (see FindCifar10):
//  1. data_batch_1..5.bin already in `dir` or `dir`/cifar-10-batches-bin: nothing to do;
//  2. otherwise `dir`/cifar-10-binary.tar.gz, when present (put there by hand), or else downloaded from
//     options.url with curl, has its MD5 checked against options.md5 and is unpacked into `dir`.
// The download goes to a temporary name of its own (two runs may download at once) and is only kept under
// the archive's name once its MD5 matches. The archive is unpacked into a temporary folder, and its files
// are moved into place with the training batches last, so that an unpack that stops part way is not taken
// for a complete data set by the next run.
// Errors: FailedPrecondition when the download fails (offline, curl missing), DataLoss when the MD5 differs
// or the archive is malformed; each message says where to put the files and how to produce them.
absl::StatusOr<std::string> FindOrFetchCifar10(const std::string& dir, const FetchOptions& options = {});

}  // namespace normgrad::data

#endif  // NORMGRAD_DATA_CIFAR10_FETCH_H_
