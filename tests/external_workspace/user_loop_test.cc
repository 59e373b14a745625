// A user's program in another workspace: one include, a tiny model with batch norm, a training loop,
// a checkpoint saved and loaded, and eval mode. Exits non-zero (failing the test) when something is off.
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "normgrad/normgrad.h"

namespace ng = normgrad;
namespace nn = normgrad::nn;

int main() {
  ng::manual_seed(0);
  const ng::Tensor x = ng::randn({64, 3}) * 2.0 + 5.0;  // off-centre inputs: batch norm earns its keep
  const ng::Tensor y = ng::matmul(x, ng::from_vector<float>({1.5f, -2.0f, 0.5f}, {3, 1}));
  auto model = std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::BatchNorm1d>(3), std::make_shared<nn::Linear>(nn::LinearOptions{3, 1})});
  ng::optim::SGD opt(model->parameters(), {.lr = 0.02, .momentum = 0.9});
  double first = 0, last = 0;
  for (int step = 0; step < 200; ++step) {
    const ng::Tensor loss = ng::nn::functional::mse_loss((*model)(x), y);
    opt.zero_grad();
    loss.backward();
    opt.step();
    (step == 0 ? first : last) = loss.item();
  }
  model->eval();
  const ng::Tensor before = ng::NoGrad([&] { return (*model)(x); });
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(dir ? dir : "/tmp") + "/user_model.safetensors";
  auto reloaded = model->clone();
  if (!ng::Save(*model, path).ok() || !ng::Load(*reloaded, path).ok()) return 1;
  reloaded->eval();
  const double diff = ng::amax(ng::abs(ng::NoGrad([&] { return (*reloaded)(x); }) - before)).item();
  std::printf("loss %.4f -> %.6f; reloaded eval output differs by %g\n", first, last, diff);
  return last < 1e-2 * first && diff == 0 ? 0 : 1;
}
