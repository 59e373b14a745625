// Times normgrad's float32 batch norm kernels at ResNet shapes and prints one CSV line per shape and pass:
//   shape,pass,median_ms,min_ms        (pass: forward_train, forward_eval, backward)
// and the machine's copy bandwidth over the largest tensor, the yardstick for a memory-bound kernel:
//   copy,bytes,median_ms,min_ms        (a parallel memcpy, same thread count; bytes = read + written)
// bench/batch_norm_bench.py runs this next to PyTorch and prints the comparison table.
//
// Usage: batch_norm_bench [--threads=N] [--reps=N]
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "bench/harness.h"
#include "core/kernels/normalization.h"
#include "core/parallel.h"
#include "core/random.h"

namespace {

using normgrad::Shape;
using normgrad::Tensor;

// The BatchNorm2d inputs of a CIFAR ResNet's three stages (batch 128), an ImageNet ResNet's first stage
// (batch 32) and a BatchNorm1d after a wide linear layer.
const std::vector<Shape> kShapes = {
    {128, 16, 32, 32}, {128, 32, 16, 16}, {128, 64, 8, 8}, {32, 64, 56, 56}, {256, 1024},
};

using normgrad::bench::ShapeName;
using normgrad::bench::Time;
using normgrad::bench::Timing;

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, reps = 21;
  if (!normgrad::bench::Options("batch_norm_bench").Int("threads", &threads, 1).Int("reps", &reps, 1).Parse(argc, argv)) {
    return 2;
  }
  normgrad::SetNumThreads(threads);
  namespace kernels = normgrad::kernels;
  int64_t largest = 0;
  for (const Shape& shape : kShapes) {
    normgrad::Generator gen(0);
    const int64_t c = shape[1];
    largest = std::max(largest, normgrad::Numel(shape));
    const Tensor x = normgrad::normal(shape, 1, 2, {}, &gen), dy = normgrad::randn(shape, {}, &gen);
    const Tensor w = normgrad::normal({c}, 1, 0.1, {}, &gen), b = normgrad::randn({c}, {}, &gen);
    const Tensor rm = normgrad::zeros({c}), rv = normgrad::ones({c});
    const kernels::NormForwardResult saved = kernels::batch_norm_forward(x, {}, {}, w, b, true, 0.1, 1e-5);
    const Timing train = Time([&] { kernels::batch_norm_forward(x, rm, rv, w, b, true, 0.1, 1e-5); }, reps);
    const Timing eval = Time([&] { kernels::batch_norm_forward(x, rm, rv, w, b, false, 0.1, 1e-5); }, reps);
    const Timing backward =
        Time([&] { kernels::batch_norm_backward(dy, x, w, saved.save_mean, saved.save_invstd, true); }, reps);
    for (const auto& [pass, t] : {std::pair{"forward_train", train}, {"forward_eval", eval}, {"backward", backward}}) {
      std::printf("%s,%s,%.6f,%.6f\n", ShapeName(shape).c_str(), pass, t.median_ms, t.min_ms);
    }
    std::fflush(stdout);
  }
  // Copy bandwidth: a float32 tensor of the largest size into a preallocated one, split over the threads.
  const size_t bytes = static_cast<size_t>(largest) * sizeof(float);
  std::vector<char> src(bytes, 1), dst(bytes, 0);
  const Timing copy = Time(
      [&] {
        normgrad::ParallelFor(0, static_cast<int64_t>(bytes), 1 << 20, [&](int64_t lo, int64_t hi) {
          std::memcpy(dst.data() + lo, src.data() + lo, hi - lo);
        });
      },
      reps);
  std::printf("copy,%zu,%.6f,%.6f\n", 2 * bytes, copy.median_ms, copy.min_ms);
  return 0;
}
