// Fits y = sin(3x) on [-1, 1] with a two-layer tanh network, written directly on tensors and autograd:
// the forward pass builds the graph, backward() fills every parameter's grad(), and a plain SGD step
// updates the parameters with recording off. Prints the loss as it falls.
//
//   bazel run //examples/fit_curve -- --steps=2000 --hidden=64
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "core/random.h"

ABSL_FLAG(int, steps, 2000, "SGD steps");
ABSL_FLAG(int, hidden, 64, "hidden units");
ABSL_FLAG(double, lr, 0.1, "learning rate");
ABSL_FLAG(uint64_t, seed, 0, "random seed (the same seed gives the same run)");

namespace ng = normgrad;

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Fits sin(3x) with a two-layer network trained by autograd and SGD.");
  absl::ParseCommandLine(argc, argv);
  ng::manual_seed(absl::GetFlag(FLAGS_seed));
  const int64_t hidden = absl::GetFlag(FLAGS_hidden);
  const double lr = absl::GetFlag(FLAGS_lr);

  // 256 points on [-1, 1) and their targets.
  std::vector<float> xs, ys;
  for (int i = 0; i < 256; ++i) {
    xs.push_back(-1.0f + i / 128.0f);
    ys.push_back(std::sin(3.0f * xs.back()));
  }
  const ng::Tensor x = ng::from_vector(xs, {256, 1}), y = ng::from_vector(ys, {256, 1});

  // Parameters: leaves that require grad, initialized as PyTorch's Linear does (uniform +-1/sqrt(fan_in)).
  ng::Tensor w1 = ng::uniform({1, hidden}, -1, 1, {.requires_grad = true});
  ng::Tensor b1 = ng::uniform({hidden}, -1, 1, {.requires_grad = true});
  const double bound = 1 / std::sqrt(static_cast<double>(hidden));
  ng::Tensor w2 = ng::uniform({hidden, 1}, -bound, bound, {.requires_grad = true});
  ng::Tensor b2 = ng::uniform({1}, -bound, bound, {.requires_grad = true});
  std::vector<ng::Tensor> params = {w1, b1, w2, b2};

  for (int step = 0; step <= absl::GetFlag(FLAGS_steps); ++step) {
    const ng::Tensor h = ng::tanh(ng::matmul(x, w1) + b1);
    const ng::Tensor prediction = ng::matmul(h, w2) + b2;
    const ng::Tensor diff = prediction - y;
    const ng::Tensor loss = ng::mean(diff * diff);
    for (ng::Tensor& p : params) p.set_grad(ng::Tensor());
    loss.backward();
    ng::NoGrad([&] {
      for (ng::Tensor& p : params) p.sub_(p.grad() * lr);
    });
    if (step % std::max(1, absl::GetFlag(FLAGS_steps) / 10) == 0) {
      std::printf("step %5d  mse %.6f\n", step, loss.item<double>());
    }
  }
  return 0;
}
