// Times normgrad's float32 conv2d passes (forward, backward-input, backward-weight) over the convolutions
// of a CIFAR ResNet-20 at batch 128, and a float32 sgemm for the machine's GEMM rate. Prints CSV lines:
//   conv,name,in_channels,out_channels,size,kernel,stride,pass,median_ms
//   sgemm,n,median_ms
// bench/conv_bench.py runs this next to PyTorch and prints the comparison table.
//
// Usage: conv_bench [--threads=N] [--reps=N] [--batch=N] [--cpu-time] [--im2col | --direct] [--layer=NAME]
//                   [--pass=NAME]
//   --im2col:   time the im2col + OpenBLAS sgemm reference path (cpu::Conv2d*Gemm) instead of the kernels
//   --direct:   time the direct kernels (cpu::DirectConv2d*), which the dispatch replaces by Winograd
//               for the 3 x 3 stride-1 layers but the 3-channel stem
//   --cpu-time: time the calling thread's CPU time instead of wall time (with --threads=1, a measure that
//               a loaded machine's time slicing leaves alone)
#include <cstdio>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

#include "bench/harness.h"
#include "core/cpu/conv.h"
#include "core/cpu/conv_direct.h"
#include "core/kernels/conv.h"
#include "core/kernels/linalg.h"
#include "core/parallel.h"
#include "core/random.h"

namespace {

struct Layer {
  std::string name;
  int64_t in_channels, out_channels, size, kernel, stride;
};

// Every distinct convolution of ResNet-20 on 32 x 32 images (3 x 3 with padding 1, 1 x 1 without).
const std::vector<Layer> kLayers = {
    {"stem", 3, 16, 32, 3, 1},    {"stage1", 16, 16, 32, 3, 1}, {"down2", 16, 32, 32, 3, 2},
    {"stage2", 32, 32, 16, 3, 1}, {"down3", 32, 64, 16, 3, 2},  {"stage3", 64, 64, 8, 3, 1},
    {"proj2", 16, 32, 32, 1, 2},  {"proj3", 32, 64, 16, 1, 2},
};

// Seconds on a monotonic clock: wall time, or the calling thread's CPU time.
double Now(bool cpu_time) {
  timespec ts;
  clock_gettime(cpu_time ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Median time of fn in ms (wall or CPU time), after a warm-up of at least 3 calls and 50 ms.
double MedianMs(const std::function<void()>& fn, int reps, bool cpu_time) {
  return normgrad::bench::Sample(
             [&] {
               const double t0 = Now(cpu_time);
               fn();
               return 1e3 * (Now(cpu_time) - t0);
             },
             reps)
      .median_ms;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, reps = 11, batch = 128;
  bool cpu_time = false, im2col = false, direct = false;
  std::string only_layer, only_pass;
  if (!normgrad::bench::Options("conv_bench")
           .Int("threads", &threads, 1)
           .Int("reps", &reps, 1)
           .Int("batch", &batch, 1)
           .Switch("cpu-time", &cpu_time)
           .Switch("im2col", &im2col)
           .Switch("direct", &direct)
           .String("layer", &only_layer)
           .String("pass", &only_pass)
           .Parse(argc, argv)) {
    return 2;
  }
  if (im2col && direct) {
    std::fprintf(stderr, "conv_bench: --im2col and --direct each choose the path to time; give one of them\n");
    return 2;
  }
  normgrad::SetNumThreads(threads);
  namespace k = normgrad::kernels;
  normgrad::Generator gen(0);
  for (const Layer& l : kLayers) {
    if (!only_layer.empty() && only_layer != l.name) continue;
    const normgrad::Conv2dFuncOptions options{.stride = {l.stride, l.stride}, .padding = {l.kernel / 2, l.kernel / 2}};
    const normgrad::Tensor x = normgrad::randn({batch, l.in_channels, l.size, l.size}, {}, &gen);
    const normgrad::Tensor w = normgrad::randn({l.out_channels, l.in_channels, l.kernel, l.kernel}, {}, &gen);
    const normgrad::Tensor y = k::conv2d(x, w, {}, options);
    const normgrad::Tensor dy = normgrad::randn(y.shape(), {}, &gen);
    normgrad::Tensor dx = normgrad::empty(x.shape()), dw = normgrad::empty(w.shape());
    const normgrad::cpu::ConvShape s{.batch = batch,
                                     .in_channels = l.in_channels,
                                     .out_channels = l.out_channels,
                                     .in_h = l.size,
                                     .in_w = l.size,
                                     .out_h = y.size(2),
                                     .out_w = y.size(3),
                                     .kernel_h = l.kernel,
                                     .kernel_w = l.kernel,
                                     .stride_h = l.stride,
                                     .stride_w = l.stride,
                                     .pad_h = l.kernel / 2,
                                     .pad_w = l.kernel / 2};
    namespace cpu = normgrad::cpu;
    const std::pair<const char*, std::function<void()>> passes[] = {
        {"forward",
         [&] {
           if (direct) return cpu::DirectConv2dForward(s, x.data<float>(), w.data<float>(), nullptr, y.data<float>());
           if (!im2col) return (void)k::conv2d(x, w, {}, options);
           cpu::Conv2dForwardGemm<float>(s, x.data<float>(), w.data<float>(), nullptr, y.data<float>());
         }},
        {"backward_input",
         [&] {
           if (direct) {
             return cpu::DirectConv2dBackwardInput(s, dy.data<float>(), w.data<float>(), dx.data<float>(), false);
           }
           if (!im2col) return (void)k::conv2d_backward_input(dy, w, x.shape(), options);
           cpu::Conv2dBackwardInputGemm<float>(s, dy.data<float>(), w.data<float>(), dx.data<float>(), false);
         }},
        {"backward_weight",
         [&] {
           if (direct) {
             return cpu::DirectConv2dBackwardWeight(s, dy.data<float>(), x.data<float>(), dw.data<float>());
           }
           if (!im2col) return (void)k::conv2d_backward_weight(dy, x, w.shape(), options);
           cpu::Conv2dBackwardWeightGemm<float>(s, dy.data<float>(), x.data<float>(), dw.data<float>());
         }},
    };
    for (const auto& [pass, fn] : passes) {
      if (!only_pass.empty() && only_pass != pass) continue;
      std::printf("conv,%s,%lld,%lld,%lld,%lld,%lld,%s,%.6f\n", l.name.c_str(), static_cast<long long>(l.in_channels),
                  static_cast<long long>(l.out_channels), static_cast<long long>(l.size),
                  static_cast<long long>(l.kernel), static_cast<long long>(l.stride), pass,
                  MedianMs(fn, reps, cpu_time));
      std::fflush(stdout);
    }
  }
  const int64_t n = 1024;
  const normgrad::Tensor a = normgrad::randn({n, n}, {}, &gen), b = normgrad::randn({n, n}, {}, &gen);
  std::printf("sgemm,%lld,%.6f\n", static_cast<long long>(n), MedianMs([&] { k::matmul(a, b); }, reps, cpu_time));
  return 0;
}
