// Modules on a CUDA device: Module::to(device) moves a ResNet's parameters, buffers and gradients in place,
// and the moved copy trains like the CPU original (outputs, gradients, running statistics).

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "autograd/ops.h"
#include "nn/checkpoint.h"
#include "nn/functional/loss.h"
#include "nn/resnet.h"
#include "tests/cuda/cuda_test.h"

namespace normgrad {
namespace {

using testing::CudaTest;
using testing::ExpectClose;
using testing::kCuda;
using testing::RandomCpu;
using testing::ToCuda;

class CudaModule : public CudaTest {};

TEST_F(CudaModule, ResNetMovedToTheDeviceTrainsLikeTheCpu) {
  Generator gen(7);
  const std::shared_ptr<nn::ResNet> cpu = nn::ResNet::Cifar(8, {}, &gen);
  const std::shared_ptr<nn::Module> moved = cpu->clone();
  const Tensor first = moved->named_parameters().begin()->second;
  moved->to(kCuda);
  EXPECT_TRUE(moved->named_parameters().begin()->second.is_same(first)) << "to(device) keeps the tensors' identity";
  for (const auto& [name, p] : moved->named_parameters()) EXPECT_EQ(p.device(), kCuda) << name;
  for (const auto& [name, b] : moved->named_buffers()) EXPECT_EQ(b.device(), kCuda) << name;

  const Tensor x = RandomCpu({4, 3, 32, 32}, 8);
  const Tensor y = from_vector<int64_t>({3, 1, 4, 1});
  const Tensor loss_cpu = nn::functional::cross_entropy(cpu->forward(x), y);
  const Tensor loss_dev = nn::functional::cross_entropy(moved->forward(ToCuda(x)), ToCuda(y));
  ExpectClose(loss_dev, loss_cpu, 1e-5, 0, "loss");
  loss_cpu.backward();
  loss_dev.backward();
  const std::vector<std::pair<std::string, Tensor>> param_list = moved->named_parameters();
  const std::map<std::string, Tensor> dev_params(param_list.begin(), param_list.end());
  for (const auto& [name, p] : cpu->named_parameters()) {
    ExpectClose(dev_params.at(name).grad(), p.grad(), 1e-3, 1e-5, "grad " + name);
  }
  const std::vector<std::pair<std::string, Tensor>> buffer_list = moved->named_buffers();
  const std::map<std::string, Tensor> dev_buffers(buffer_list.begin(), buffer_list.end());
  for (const auto& [name, b] : cpu->named_buffers()) ExpectClose(dev_buffers.at(name), b, 1e-5, 1e-6, name);

  // Back to the CPU, gradients included.
  moved->to(kCPU);
  for (const auto& [name, p] : moved->named_parameters()) {
    EXPECT_TRUE(p.device().is_cpu()) << name;
    EXPECT_TRUE(p.grad().device().is_cpu()) << name;
  }
}

// A checkpoint of a model on the device is written from host copies and loads into a model on either
// device, values and devices as expected.
TEST_F(CudaModule, CheckpointsOfDeviceModelsLoadOnEitherDevice) {
  Generator gen(9);
  const std::shared_ptr<nn::ResNet> dev = nn::ResNet::Cifar(8, {}, &gen);
  dev->to(kCuda);
  dev->forward(ToCuda(RandomCpu({4, 3, 32, 32}, 10)));  // in training mode: the running statistics change
  const std::string path = ::testing::TempDir() + "/device_model.safetensors";
  ASSERT_TRUE(Save(*dev, path).ok());
  Generator other(10);
  const std::shared_ptr<nn::ResNet> on_cpu = nn::ResNet::Cifar(8, {}, &other);
  const std::shared_ptr<nn::ResNet> on_dev = nn::Clone(on_cpu);
  on_dev->to(kCuda);
  ASSERT_TRUE(Load(*on_cpu, path).ok());
  ASSERT_TRUE(Load(*on_dev, path).ok());
  const StateDict expected = dev->state_dict(), got_cpu = on_cpu->state_dict(), got_dev = on_dev->state_dict();
  for (const auto& [name, t] : expected) {
    EXPECT_TRUE(got_cpu.at(name).device().is_cpu()) << name;
    EXPECT_EQ(got_dev.at(name).device(), kCuda) << name;
    ExpectClose(got_cpu.at(name), t, 0, 0, "cpu " + name);
    ExpectClose(got_dev.at(name), t, 0, 0, "cuda " + name);
  }
}

}  // namespace
}  // namespace normgrad
