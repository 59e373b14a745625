#ifndef NORMGRAD_TESTS_EXAMPLES_CIFAR10_TRAINER_TESTING_H_
#define NORMGRAD_TESTS_EXAMPLES_CIFAR10_TRAINER_TESTING_H_

// Small CIFAR-format data sets and tiny runs for the trainer tests (CPU and CUDA).

#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/file_io.h"
#include "core/kernels/device_copy.h"
#include "core/random.h"
#include "examples/cifar10/interrupt.h"
#include "examples/cifar10/trainer.h"

namespace normgrad::cifar10 {

// A CIFAR-10 folder with `per_file` images in each of the five training files (and `test` in test_batch.bin):
// image i has label i % 10 and pixels drawn around a colour that depends on the label, so a small network
// can learn them; `random_labels` scrambles the labels instead (pure memorization).
inline std::string WriteData(const std::string& name, int per_file, int test, bool random_labels = false) {
  const std::string dir = absl::StrCat(::testing::TempDir(), "/", name, "_data");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  Generator gen(99);
  auto records = [&](int n) {
    std::string out;
    for (int i = 0; i < n; ++i) {
      const int label = random_labels ? static_cast<int>(gen.NextBelow(10)) : i % 10;
      out.push_back(static_cast<char>(label));
      for (int c = 0; c < 3; ++c) {
        const int base = (label * (37 + 50 * c)) % 200;
        for (int k = 0; k < 1024; ++k) out.push_back(static_cast<char>(base + gen.NextBelow(56)));
      }
    }
    return out;
  };
  for (int b = 1; b <= 5; ++b) {
    EXPECT_TRUE(WriteFileAtomically(absl::StrCat(dir, "/data_batch_", b, ".bin"), records(per_file)).ok());
  }
  if (test > 0) {
    EXPECT_TRUE(WriteFileAtomically(dir + "/test_batch.bin", records(test)).ok());
  }
  return dir;
}

// ResNet-8 (n = 1) on a handful of images: seconds per run.
inline TrainConfig Tiny(const std::string& data_dir, const std::string& run) {
  TrainConfig c;
  c.data_dir = data_dir;
  c.download = false;
  c.model = "resnet8";
  c.epochs = 2;
  c.batch_size = 16;
  c.val_split = 16;
  c.lr = 0.05;
  c.threads = 2;
  c.loader_workers = 2;
  c.eval_batch_size = 16;
  c.checkpoint_dir = absl::StrCat(::testing::TempDir(), "/", run);
  std::filesystem::remove_all(c.checkpoint_dir);
  return c;
}

inline absl::StatusOr<std::unique_ptr<Trainer>> Create(const TrainConfig& c) {
  static std::FILE* devnull = std::fopen("/dev/null", "w");  // progress output is not under test here
  return Trainer::Create(c, devnull);
}

inline std::unique_ptr<Trainer> Make(const TrainConfig& c) {
  absl::StatusOr<std::unique_ptr<Trainer>> t = Create(c);
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? std::move(*t) : nullptr;
}

// Runs a trainer for `c` that Ctrl-C stops after optimizer step `stop_at` (never when it is negative), and
// returns it with Run()'s result, the interrupt cleared again. Null (a test failure) when Create fails.
inline std::unique_ptr<Trainer> RunStoppingAt(const TrainConfig& c, int64_t stop_at, absl::StatusOr<RunResult>& result) {
  ClearInterrupt();
  std::unique_ptr<Trainer> t = Make(c);
  if (t == nullptr) return nullptr;
  t->after_step = [stop_at](int64_t step) {
    if (step == stop_at) std::raise(SIGINT);
  };
  result = t->Run();
  ClearInterrupt();
  return t;
}

// Run() of a trainer for `c` with evaluate_only set.
inline absl::StatusOr<RunResult> EvaluateOnly(TrainConfig c) {
  c.evaluate_only = true;
  std::unique_ptr<Trainer> t = Make(c);
  if (t == nullptr) return absl::InternalError("Trainer::Create failed");
  return t->Run();
}

// Parameters and buffers are contiguous: their bytes can be compared directly (on the host).
inline bool SameBits(const Tensor& a, const Tensor& b) {
  const Tensor x = kernels::to(a, kCPU), y = kernels::to(b, kCPU);
  return x.shape() == y.shape() && x.dtype() == y.dtype() && x.is_contiguous() && y.is_contiguous() &&
         std::memcmp(x.raw_data(), y.raw_data(), x.numel() * ItemSize(x.dtype())) == 0;
}

inline std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace normgrad::cifar10

#endif  // NORMGRAD_TESTS_EXAMPLES_CIFAR10_TRAINER_TESTING_H_
