// Times normgrad on a CUDA device and prints CSV lines:
//   device,peak_gb_per_s,multiprocessors
//   batch_norm,<shape>,<pass>,median_ms,bytes     pass: forward_train or backward_train; bytes: the least
//                                                 traffic the pass needs (forward reads x and writes y;
//                                                 backward reads x and dy and writes dx), so bytes / time
//                                                 is the bandwidth it achieves, to set against the peak
//   resnet20_step,<batch>,median_ms               one training step of a ResNet-20 (CIFAR, 32 x 32):
//                                                 forward, backward, SGD with momentum, float32
// bench/gpu_bench.py runs this and puts PyTorch's numbers next to it where PyTorch has CUDA.
//
// Without a usable device it prints "no CUDA device: <why>" and exits 0 (as on machines without a GPU).
// Usage: gpu_bench [--reps=N] [--batch=N] [--emulate]
//   --emulate: in a build without CUDA, run on the host emulator (use a small --batch): checks the program,
//   its numbers mean nothing.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "bench/harness.h"
#include "core/cuda/device.h"
#include "core/kernels/device_copy.h"
#include "core/kernels/normalization.h"
#include "core/random.h"
#include "nn/functional/conv.h"
#include "nn/functional/loss.h"
#include "nn/functional/normalization.h"
#include "nn/functional/pooling.h"
#include "optim/sgd.h"
#if !defined(NORMGRAD_CUDA)
#include "core/cuda/emulation/runtime.h"
#endif

namespace {

namespace ng = normgrad;
namespace F = normgrad::nn::functional;
using ng::Shape;
using ng::Tensor;

const ng::Device kCuda = ng::Device::CUDA(0);

// Median milliseconds per call of fn: each sample queues `inner` calls and waits for the device, so that
// the wait does not dominate short kernels. Warm-up: at least 3 samples and 50 ms.
double MedianMs(const std::function<void()>& fn, int reps, int inner) {
  return normgrad::bench::Sample(
             [&] {
               const auto t0 = std::chrono::steady_clock::now();
               for (int i = 0; i < inner; ++i) fn();
               ng::cuda::Synchronize(0);
               return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / inner;
             },
             reps)
      .median_ms;
}

Tensor Randn(const Shape& shape, double std, ng::Generator& gen) {
  return ng::kernels::to(ng::normal(shape, 0, std, {}, &gen), kCuda);
}

void BenchBatchNorm(int batch, int reps) {
  ng::Generator gen(1);
  for (const Shape& shape : std::vector<Shape>{{batch, 16, 32, 32}, {batch, 32, 16, 16}, {batch, 64, 8, 8}}) {
    const int64_t c = shape[1];
    const Tensor x = Randn(shape, 1, gen), dy = Randn(shape, 1, gen);
    const Tensor w = ng::ones({c}, {.device = kCuda}), b = ng::zeros({c}, {.device = kCuda});
    const Tensor rm = ng::zeros({c}, {.device = kCuda}), rv = ng::ones({c}, {.device = kCuda});
    const double bytes = static_cast<double>(x.numel()) * sizeof(float);
    ng::kernels::NormForwardResult fwd;
    const double forward = MedianMs(
        [&] { fwd = ng::kernels::batch_norm_forward(x, rm, rv, w, b, true, 0.1, 1e-5); }, reps, 20);
    std::printf("batch_norm,%s,forward_train,%.5f,%.0f\n", normgrad::bench::ShapeName(shape).c_str(), forward,
                2 * bytes);
    const double backward = MedianMs(
        [&] { ng::kernels::batch_norm_backward(dy, x, w, fwd.save_mean, fwd.save_invstd, true); }, reps, 20);
    std::printf("batch_norm,%s,backward_train,%.5f,%.0f\n", normgrad::bench::ShapeName(shape).c_str(), backward,
                3 * bytes);
  }
}

// ResNet-20 for CIFAR-10: a 3x3 convolution to 16 channels, three stages of three basic blocks (16, 32, 64
// channels; the first block of the second and third stages halves the resolution, its shortcut a strided
// 1x1 convolution with batch norm), global average pooling and a linear classifier. Batch norm after every
// convolution, in training mode.
class ResNet20 {
 public:
  explicit ResNet20(ng::Generator& gen) {
    stem_ = Conv(3, 16, 3, gen);
    int64_t in = 16;
    for (int64_t out : {16, 32, 64}) {
      for (int b = 0; b < 3; ++b) {
        Block block;
        block.stride = out != in ? 2 : 1;
        block.conv1 = Conv(in, out, 3, gen);
        block.conv2 = Conv(out, out, 3, gen);
        if (out != in) block.shortcut = Conv(in, out, 1, gen);
        blocks_.push_back(block);
        in = out;
      }
    }
    fc_weight_ = Param(Randn({10, 64}, 1 / std::sqrt(64.0), gen));
    fc_bias_ = Param(ng::zeros({10}, {.device = kCuda}));
  }

  const std::vector<Tensor>& parameters() const { return params_; }

  Tensor Forward(const Tensor& x) {
    Tensor h = ng::relu(Apply(stem_, x, 1, 1));
    for (Block& block : blocks_) {
      const Tensor out = Apply(block.conv2, ng::relu(Apply(block.conv1, h, block.stride, 1)), 1, 1);
      h = ng::relu(out + (block.shortcut.weight.defined() ? Apply(block.shortcut, h, block.stride, 0) : h));
    }
    return F::linear(F::flatten(F::adaptive_avg_pool2d(h, {1, 1})), fc_weight_, fc_bias_);
  }

 private:
  struct ConvBn {
    Tensor weight, gamma, beta, running_mean, running_var;
  };
  struct Block {
    int64_t stride = 1;
    ConvBn conv1, conv2, shortcut;
  };

  Tensor Param(Tensor t) {
    t.set_requires_grad();
    params_.push_back(t);
    return t;
  }

  ConvBn Conv(int64_t in, int64_t out, int64_t k, ng::Generator& gen) {
    ConvBn c;
    c.weight = Param(Randn({out, in, k, k}, std::sqrt(2.0 / static_cast<double>(in * k * k)), gen));
    c.gamma = Param(ng::ones({out}, {.device = kCuda}));
    c.beta = Param(ng::zeros({out}, {.device = kCuda}));
    c.running_mean = ng::zeros({out}, {.device = kCuda});
    c.running_var = ng::ones({out}, {.device = kCuda});
    return c;
  }

  Tensor Apply(const ConvBn& c, const Tensor& x, int64_t stride, int64_t pad) {
    const Tensor y = F::conv2d(x, c.weight, {}, {.stride = {stride, stride}, .padding = {pad, pad}});
    return F::batch_norm(y, c.running_mean, c.running_var, c.gamma, c.beta, /*training=*/true, 0.1, 1e-5);
  }

  ConvBn stem_;
  std::vector<Block> blocks_;
  Tensor fc_weight_, fc_bias_;
  std::vector<Tensor> params_;
};

void BenchResNet20(int batch, int reps) {
  ng::Generator gen(2);
  ResNet20 model(gen);
  ng::optim::SGD sgd(model.parameters(), {.lr = 0.1, .momentum = 0.9, .weight_decay = 5e-4, .nesterov = true});
  const Tensor x = Randn({batch, 3, 32, 32}, 1, gen);
  std::vector<int64_t> labels(batch);
  for (int i = 0; i < batch; ++i) labels[i] = static_cast<int64_t>(gen.NextBelow(10));
  const Tensor y = ng::from_vector(labels, {batch}, {.device = kCuda});
  const double ms = MedianMs(
      [&] {
        sgd.zero_grad();
        const Tensor loss = F::cross_entropy(model.Forward(x), y);
        loss.backward();
        sgd.step();
      },
      reps, 1);
  std::printf("resnet20_step,%d,%.4f\n", batch, ms);
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 21, batch = 128;
  bool emulate = false;
  if (!ng::bench::Options("gpu_bench").Int("reps", &reps, 1).Int("batch", &batch, 2).Switch("emulate", &emulate).Parse(argc, argv)) {
    return 2;
  }
#if !defined(NORMGRAD_CUDA)
  ng::cuda::emulation::SetEnabled(emulate);
#else
  if (emulate) std::fprintf(stderr, "gpu_bench: --emulate has no effect in a CUDA build\n");
#endif
  if (const absl::Status status = ng::cuda::CheckDevice(0); !status.ok()) {
    const std::string why(status.message());
    std::printf("%s%s\n", why.rfind("no CUDA device", 0) == 0 ? "" : "no CUDA device: ", why.c_str());
    return 0;
  }
  const ng::cuda::DeviceProperties& p = ng::cuda::Properties(0);
  std::printf("device,%.1f,%d\n", p.memory_bandwidth_gb_per_s, p.multiprocessors);
  BenchBatchNorm(batch, reps);
  BenchResNet20(batch, reps);
  return 0;
}
