// A user's program in another workspace: one include, a tiny training loop, a check that it learned.
// Exits non-zero (failing the test) when the loss does not fall.
#include <cstdio>

#include "normgrad/normgrad.h"

namespace ng = normgrad;

int main() {
  ng::manual_seed(0);
  const ng::Tensor x = ng::randn({64, 3});
  const ng::Tensor y = ng::matmul(x, ng::from_vector<float>({1.5f, -2.0f, 0.5f}, {3, 1})) + 0.25;
  ng::Tensor w = ng::zeros({3, 1}, {.requires_grad = true}), b = ng::zeros({1}, {.requires_grad = true});
  ng::optim::SGD opt({w, b}, {.lr = 0.1, .momentum = 0.9});
  double first = 0, last = 0;
  for (int step = 0; step < 100; ++step) {
    const ng::Tensor loss = ng::mean(ng::pow(ng::matmul(x, w) + b - y, 2.0));
    opt.zero_grad();
    loss.backward();
    opt.step();
    (step == 0 ? first : last) = loss.item();
  }
  std::printf("loss %.6f -> %.6f\n", first, last);
  return last < 1e-3 * first ? 0 : 1;
}
