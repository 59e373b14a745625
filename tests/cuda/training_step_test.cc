// A ResNet training step on both devices: conv -> batch norm -> relu, a residual block, global average
// pooling, a linear classifier, cross-entropy, backward through autograd, and SGD with Nesterov momentum
// and weight decay, twice. The CUDA run must follow the CPU run: loss, every gradient, the updated
// parameters and the batch-norm running statistics.

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "core/kernels/copy.h"
#include "core/kernels/elementwise.h"
#include "nn/functional/conv.h"
#include "nn/functional/loss.h"
#include "nn/functional/normalization.h"
#include "nn/functional/pooling.h"
#include "optim/sgd.h"
#include "tests/cuda/cuda_test.h"

namespace normgrad {
namespace {

namespace F = nn::functional;
using testing::CudaTest;
using testing::ExpectClose;
using testing::RandomCpu;

struct Model {
  std::map<std::string, Tensor> params, buffers;

  // Kaiming-like random weights, the same on both devices.
  static Model Make(Device device) {
    Model m;
    auto param = [&](const std::string& name, const Shape& shape, uint64_t seed, double mean, double std) {
      m.params[name] = kernels::to(RandomCpu(shape, seed, kFloat32, mean, std), device).set_requires_grad();
    };
    param("conv1", {16, 3, 3, 3}, 1, 0, 0.27);
    param("bn1.weight", {16}, 2, 1, 0.1);
    param("bn1.bias", {16}, 3, 0, 0.1);
    param("conv2", {16, 16, 3, 3}, 4, 0, 0.12);
    param("bn2.weight", {16}, 5, 1, 0.1);
    param("bn2.bias", {16}, 6, 0, 0.1);
    param("fc.weight", {10, 16}, 7, 0, 0.25);
    param("fc.bias", {10}, 8, 0, 0.1);
    for (const char* bn : {"bn1", "bn2"}) {
      m.buffers[std::string(bn) + ".running_mean"] = zeros({16}, {.device = device});
      m.buffers[std::string(bn) + ".running_var"] = ones({16}, {.device = device});
    }
    return m;
  }

  Tensor BatchNorm(const Tensor& x, const std::string& name) {
    return F::batch_norm(x, buffers[name + ".running_mean"], buffers[name + ".running_var"], params[name + ".weight"],
                         params[name + ".bias"], /*training=*/true, 0.1, 1e-5);
  }

  Tensor Loss(const Tensor& x, const Tensor& y) {
    const Conv2dFuncOptions same{.padding = {1, 1}};
    const Tensor h = relu(BatchNorm(F::conv2d(x, params["conv1"], {}, same), "bn1"));
    const Tensor r = relu(BatchNorm(F::conv2d(h, params["conv2"], {}, same), "bn2") + h);
    const Tensor pooled = F::flatten(F::adaptive_avg_pool2d(r, {1, 1}));
    return F::cross_entropy(F::linear(pooled, params["fc.weight"], params["fc.bias"]), y);
  }

  std::vector<Tensor> Parameters() {
    std::vector<Tensor> out;
    for (auto& [name, p] : params) out.push_back(p);
    return out;
  }
};

class CudaTrainingStep : public CudaTest {};

TEST_F(CudaTrainingStep, FollowsTheCpu) {
  const Tensor x = RandomCpu({8, 3, 16, 16}, 20);
  const Tensor y = from_vector<int64_t>({0, 1, 2, 3, 4, 5, 6, 9});
  Model cpu = Model::Make(kCPU), dev = Model::Make(testing::kCuda);
  const optim::SGDOptions options{.lr = 0.1, .momentum = 0.9, .weight_decay = 5e-4, .nesterov = true};
  optim::SGD sgd_cpu(cpu.Parameters(), options), sgd_dev(dev.Parameters(), options);
  for (int step = 0; step < 2; ++step) {
    const std::string when = "step " + std::to_string(step);
    sgd_cpu.zero_grad();
    sgd_dev.zero_grad();
    const Tensor loss_cpu = cpu.Loss(x, y), loss_dev = dev.Loss(testing::ToCuda(x), testing::ToCuda(y));
    EXPECT_EQ(loss_dev.device(), testing::kCuda);
    ExpectClose(loss_dev, loss_cpu, 1e-5, 0, when + " loss");
    loss_cpu.backward();
    loss_dev.backward();
    for (auto& [name, p] : cpu.params) {
      ASSERT_TRUE(dev.params[name].grad().defined()) << name;
      EXPECT_EQ(dev.params[name].grad().device(), testing::kCuda) << name;
      ExpectClose(dev.params[name].grad(), p.grad(), 1e-3, 1e-5, when + " grad " + name);
    }
    sgd_cpu.step();
    sgd_dev.step();
    for (auto& [name, p] : cpu.params) ExpectClose(dev.params[name], p, 1e-4, 1e-6, when + " " + name);
    for (auto& [name, b] : cpu.buffers) ExpectClose(dev.buffers[name], b, 1e-4, 1e-6, when + " " + name);
  }
}

}  // namespace
}  // namespace normgrad
