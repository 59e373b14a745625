#include "data/cifar10_fetch.h"

#include <algorithm>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "core/error.h"
#include "core/file_io.h"
#include "data/cifar10.h"
#include "data/file_io.h"
#include "data/gzip.h"
#include "data/md5.h"
#include "data/tar.h"

namespace normgrad::data {
namespace {

// What a person can do when the data cannot be had automatically.
std::string Remedy(const std::string& dir, const FetchOptions& options) {
  return absl::StrCat(
      "To provide CIFAR-10 by hand, either put data_batch_1.bin ... data_batch_5.bin (and test_batch.bin, "
      "optional) in ", (std::filesystem::path(dir) / kCifar10Subdir).string(),
      " (the official binary layout: per image 1 label byte, then 3072 pixel bytes: red, green, blue "
      "planes of 32 x 32; a converter such as prepare.py can write this layout from a JPEG copy), or "
      "download ", options.url, " elsewhere (MD5 ", options.md5, ") and copy it to ",
      (std::filesystem::path(dir) / kCifar10Archive).string(), ", then run again.");
}

absl::Status Download(const std::string& url, const std::string& to) {
  absl::StatusOr<CommandResult> run = RunCommand(
      {"curl", "--fail", "--location", "--silent", "--show-error", "--connect-timeout", "30", "--output", to, url});
  if (!run.ok()) return absl::FailedPreconditionError(absl::StrCat("cannot run curl: ", run.status().message()));
  if (run->exit_code != 0) {
    std::error_code ignored;
    std::filesystem::remove(to, ignored);
    return absl::FailedPreconditionError(absl::StrCat("curl failed (exit code ", run->exit_code, "): ",
                                                      absl::StripTrailingAsciiWhitespace(run->output)));
  }
  return absl::OkStatus();
}

absl::Status CheckMd5(const std::string& path, const std::string& expected) {
  NG_ASSIGN_OR_RETURN(std::string actual, Md5OfFile(path));
  if (actual != expected) {
    return absl::DataLossError(absl::StrCat(path, " has MD5 ", actual, ", expected ", expected,
                                            " (a truncated or corrupted download?)"));
  }
  return absl::OkStatus();
}

// Unpacks the archive into a new folder in `dir`, then moves its files into place with the training
// batches last. FindCifar10 looks for those, so an unpack that stops part way (killed, disk full) is
// done again by the next run instead of being taken for a data set that lacks its test batch.
absl::Status Unpack(std::string_view tar, const std::string& dir) {
  const std::filesystem::path staging = std::filesystem::path(dir) / (".unpacking." + UniqueSuffix());
  absl::Status status = [&]() -> absl::Status {
    NG_ASSIGN_OR_RETURN(std::vector<std::string> files, ExtractTar(tar, staging.string()));
    std::stable_partition(files.begin(), files.end(), [](const std::string& file) {
      return !std::filesystem::path(file).filename().string().starts_with("data_batch_");
    });
    for (const std::string& file : files) {
      const std::filesystem::path from = staging / file, to = std::filesystem::path(dir) / file;
      std::error_code ec;
      std::filesystem::create_directories(to.parent_path(), ec);
      if (!ec) std::filesystem::rename(from, to, ec);
      if (ec) {
        return absl::DataLossError(
            absl::StrCat("cannot move ", from.string(), " to ", to.string(), ": ", ec.message()));
      }
    }
    return absl::OkStatus();
  }();
  std::error_code ignored;
  std::filesystem::remove_all(staging, ignored);
  return status;
}

}  // namespace

absl::StatusOr<std::string> FindOrFetchCifar10(const std::string& dir, const FetchOptions& options) {
  if (absl::StatusOr<std::string> found = FindCifar10(dir); found.ok()) return found;
  auto failed = [&](const std::string& what, const absl::Status& why) {
    return absl::Status(why.code(), absl::StrCat("CIFAR-10 is not in ", dir, " and ", what, ": ", why.message(),
                                                 "\n", Remedy(dir, options)));
  };
  const std::string archive = (std::filesystem::path(dir) / kCifar10Archive).string();
  auto log = [&](const std::string& message) {
    if (options.log) options.log(message);
  };
  if (!std::filesystem::exists(archive)) {
    if (!options.download) {
      return failed("downloading is off", absl::NotFoundError(absl::StrCat("no ", archive)));
    }
    if (absl::Status s = MakeDirectories(dir); !s.ok()) return failed("its folder cannot be created", s);
    const std::string partial = archive + ".part." + UniqueSuffix();  // two runs may download at once
    log(absl::StrCat("CIFAR-10 is not in ", dir, ": downloading ", options.url, " (about 170 MB)"));
    if (absl::Status s = Download(options.url, partial); !s.ok()) {
      return failed(absl::StrCat("downloading ", options.url, " failed"), s);
    }
    std::error_code ec;
    if (absl::Status s = CheckMd5(partial, options.md5); !s.ok()) {
      std::filesystem::remove(partial, ec);
      return failed("the download is not the expected file", s);
    }
    std::filesystem::rename(partial, archive, ec);
    if (ec) {
      return failed("the download cannot be renamed",
                    absl::DataLossError(absl::StrCat("rename ", partial, " to ", archive, ": ", ec.message())));
    }
  } else if (absl::Status s = CheckMd5(archive, options.md5); !s.ok()) {
    return failed("the archive found there is not the expected file", s);
  }
  log(absl::StrCat("unpacking ", archive, " into ", dir));
  absl::StatusOr<std::string> tar = ReadGzipFile(archive);
  if (!tar.ok()) return failed("the archive cannot be decompressed", tar.status());
  if (absl::Status s = Unpack(*tar, dir); !s.ok()) return failed("the archive cannot be unpacked", s);
  absl::StatusOr<std::string> found = FindCifar10(dir);
  if (!found.ok()) return failed("the archive did not hold the batch files", found.status());
  return found;
}

}  // namespace normgrad::data
