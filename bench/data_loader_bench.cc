// Measures the CIFAR-10 input pipeline (random crop with 4-pixel padding, horizontal flip, normalization,
// batches of 128) and whether a training step ever waits for it. Prints CSV lines:
//   prepare,<median ms to prepare one batch on one thread>
//   wait,<workers>,<prefetch>,<step ms>,<mean wait ms per batch>,<max wait ms>,
//        <prepare ms per batch>,<wall ms per batch, step and loading together>
// The "training step" keeps every kernel thread busy for --step_ms (ParallelFor spinning), so the workers
// compete for the cores as they do in a real run. bench/data_loader_bench.py puts PyTorch's preparation
// time next to ours and prints the tables.
//
// Usage: data_loader_bench [--data_dir=DIR] [--threads=2] [--step_ms=60] [--batches=60]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "bench/harness.h"
#include "core/parallel.h"
#include "core/random.h"
#include "data/cifar10.h"
#include "data/loader.h"

namespace {

namespace data = normgrad::data;
using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Random CIFAR-shaped images when no data folder is given.
std::shared_ptr<const data::ImageDataset> Synthetic(int64_t n) {
  auto d = std::make_shared<data::ImageDataset>();
  d->channels = 3;
  d->height = d->width = 32;
  d->num_classes = 10;
  normgrad::Generator gen(0);
  d->pixels.resize(n * data::kCifarImageBytes);
  for (uint8_t& p : d->pixels) p = static_cast<uint8_t>(gen.NextBits());
  for (int64_t i = 0; i < n; ++i) d->labels.push_back(static_cast<uint8_t>(i % 10));
  return d;
}

data::LoaderOptions Options(int workers, int prefetch) {
  return {.batch_size = 128, .crop_padding = 4, .horizontal_flip = true,
          .mean = {std::begin(data::kCifar10Mean), std::end(data::kCifar10Mean)},
          .std = {std::begin(data::kCifar10Std), std::end(data::kCifar10Std)},
          .num_workers = workers, .prefetch = prefetch, .seed = 1};
}

// Every kernel thread busy for `ms`.
void Step(double ms) {
  const auto end = Clock::now() + std::chrono::microseconds(static_cast<int64_t>(ms * 1e3));
  normgrad::ParallelFor(0, normgrad::GetNumThreads(), 1, [&](int64_t, int64_t) {
    volatile double x = 1;
    while (Clock::now() < end) {
      for (int i = 0; i < 1000; ++i) x = x * 1.0000001 + 1e-9;
    }
  });
}

}  // namespace

int main(int argc, char** argv) {
  std::string data_dir;
  int threads = 2, batches = 60;
  double step_ms = 60;
  if (!normgrad::bench::Options("data_loader_bench")
           .String("data_dir", &data_dir)
           .Int("threads", &threads, 1)
           .Double("step_ms", &step_ms, 0)
           .Int("batches", &batches, 2)
           .Parse(argc, argv)) {
    return 2;
  }
  normgrad::SetNumThreads(threads);
  std::shared_ptr<const data::ImageDataset> train;
  if (data_dir.empty()) {
    train = Synthetic(128 * batches);
  } else {
    absl::StatusOr<data::Cifar10> cifar = data::LoadCifar10(data_dir);
    if (!cifar.ok()) {
      std::fprintf(stderr, "data_loader_bench: %s\n", std::string(cifar.status().message()).c_str());
      return 1;
    }
    train = std::make_shared<const data::ImageDataset>(std::move(cifar->train));
  }

  // Preparation alone, on the calling thread.
  {
    data::DataLoader loader(train, Options(0, 1));
    std::vector<double> ms;
    for (int b = 0; b < std::min<int64_t>(batches, loader.num_batches()); ++b) {
      const auto t0 = Clock::now();
      loader.Next();
      ms.push_back(Ms(Clock::now() - t0));
    }
    std::printf("prepare,%.4f\n", normgrad::bench::Median(ms));
  }
  // Waiting, with the workers preparing while the step keeps the cores busy.
  struct Config {
    int workers, prefetch;
  };
  for (const Config c : {Config{0, 1}, Config{1, 2}, Config{1, 4}, Config{2, 4}}) {
    data::DataLoader loader(train, Options(c.workers, c.prefetch));
    int n = 0;
    const auto start = Clock::now();
    while (n < batches && loader.Next()) {
      Step(step_ms);
      ++n;
    }
    const data::LoaderStats& s = loader.stats();
    const double step_seconds = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf("wait,%d,%d,%.1f,%.4f,%.4f,%.4f,%.2f\n", c.workers, c.prefetch, step_ms,
                1e3 * s.wait_seconds / (s.batches - 1), 1e3 * s.max_wait_seconds, 1e3 * s.prepare_seconds / s.batches, 1e3 * step_seconds / n);
    std::fflush(stdout);
  }
  return 0;
}
