// Times normgrad's float32 matmul over a fixed list of shapes and prints one CSV line per shape:
//   name,batch,m,k,n,median_ms
// bench/matmul_bench.py runs this next to PyTorch and prints the comparison table.
//
// Usage: matmul_bench [--threads=N] [--reps=N]
#include <cstdio>
#include <string>
#include <vector>

#include "bench/harness.h"
#include "core/kernels/linalg.h"
#include "core/parallel.h"
#include "core/random.h"

namespace {

struct Shape3 {
  std::string name;
  int64_t batch, m, k, n;  // batch 0: plain 2-d product
};

// Square products, the im2col GEMM of a ResNet-20 3x3 conv on a CIFAR batch (128 images of 32 x 32,
// 16 channels in and out), and a batch of small products.
const std::vector<Shape3> kShapes = {
    {"64", 0, 64, 64, 64},       {"128", 0, 128, 128, 128},       {"256", 0, 256, 256, 256},
    {"512", 0, 512, 512, 512},   {"1024", 0, 1024, 1024, 1024},   {"resnet", 0, 128 * 32 * 32, 144, 16},
    {"bmm256x32", 256, 32, 32, 32},
};

double MedianMs(const Shape3& s, int reps) {
  normgrad::Generator gen(0);
  using normgrad::Shape;
  const Shape sa = s.batch ? Shape{s.batch, s.m, s.k} : Shape{s.m, s.k};
  const Shape sb = s.batch ? Shape{s.batch, s.k, s.n} : Shape{s.k, s.n};
  const normgrad::Tensor a = normgrad::randn(sa, {}, &gen), b = normgrad::randn(sb, {}, &gen);
  return normgrad::bench::Time([&] { normgrad::kernels::matmul(a, b); }, reps).median_ms;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, reps = 21;
  if (!normgrad::bench::Options("matmul_bench").Int("threads", &threads, 1).Int("reps", &reps, 1).Parse(argc, argv)) {
    return 2;
  }
  normgrad::SetNumThreads(threads);
  for (const Shape3& s : kShapes) {
    std::printf("%s,%lld,%lld,%lld,%lld,%.6f\n", s.name.c_str(), static_cast<long long>(s.batch),
                static_cast<long long>(s.m), static_cast<long long>(s.k), static_cast<long long>(s.n),
                MedianMs(s, reps));
    std::fflush(stdout);
  }
  return 0;
}
