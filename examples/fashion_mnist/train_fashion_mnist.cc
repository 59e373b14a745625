// A complete training loop to copy: a small CNN with batch norm on Fashion-MNIST (Debian's package
// dataset-fashion-mnist), trained with SGD, checkpointed, reloaded and evaluated in eval mode.
//
//   bazel run //examples/fashion_mnist:train_fashion_mnist -- [epochs] [checkpoint path]
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "normgrad/normgrad.h"

namespace ng = normgrad;
namespace nn = normgrad::nn;
namespace F = normgrad::nn::functional;

std::shared_ptr<nn::Sequential> MakeModel() {
  return std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Conv2d>(nn::Conv2dOptions{.in_channels = 1, .out_channels = 32, .kernel_size = 3,
                                                     .padding = 1, .bias = false}),
      std::make_shared<nn::BatchNorm2d>(32), std::make_shared<nn::ReLU>(),
      std::make_shared<nn::MaxPool2d>(nn::Pool2dOptions{.kernel_size = 2}),  // 14 x 14
      std::make_shared<nn::Conv2d>(nn::Conv2dOptions{.in_channels = 32, .out_channels = 64, .kernel_size = 3,
                                                     .padding = 1, .bias = false}),
      std::make_shared<nn::BatchNorm2d>(64), std::make_shared<nn::ReLU>(),
      std::make_shared<nn::MaxPool2d>(nn::Pool2dOptions{.kernel_size = 2}),  // 7 x 7
      std::make_shared<nn::Flatten>(),
      std::make_shared<nn::Linear>(nn::LinearOptions{.in_features = 64 * 7 * 7, .out_features = 128}),
      std::make_shared<nn::BatchNorm1d>(128), std::make_shared<nn::ReLU>(),
      std::make_shared<nn::Linear>(nn::LinearOptions{.in_features = 128, .out_features = 10})});
}

// Accuracy in eval mode: batch norm normalizes with its running statistics, nothing is recorded.
double Evaluate(nn::Module& model, const std::shared_ptr<const ng::data::ImageDataset>& data) {
  model.eval();
  ng::data::DataLoader loader(data, {.batch_size = 500, .shuffle = false, .mean = {0.2860}, .std = {0.3530}});
  int64_t correct = 0;
  while (auto batch = loader.Next()) {
    correct += ng::NoGrad([&] { return F::count_correct(model(batch->images), batch->labels); });
  }
  return 100.0 * correct / data->size();
}

int main(int argc, char** argv) {
  const int epochs = argc > 1 ? std::atoi(argv[1]) : 2;
  const std::string path = argc > 2 ? argv[2] : "/tmp/fashion_mnist_cnn.safetensors";
  absl::StatusOr<ng::data::FashionMnist> data = ng::data::LoadFashionMnist();
  if (!data.ok()) {
    std::fprintf(stderr, "%s\n(install Debian's dataset-fashion-mnist)\n", data.status().ToString().c_str());
    return 1;
  }
  auto train = std::make_shared<const ng::data::ImageDataset>(std::move(data->train));
  auto test = std::make_shared<const ng::data::ImageDataset>(std::move(data->test));

  ng::manual_seed(0);
  auto model = MakeModel();
  ng::optim::SGD opt(ng::optim::NoDecayOnNorms(*model, 5e-4), {.lr = 0.05, .momentum = 0.9, .nesterov = true});
  ng::data::DataLoader loader(train, {.batch_size = 128, .mean = {0.2860}, .std = {0.3530}, .seed = 0});
  ng::optim::LRScheduler schedule(opt, ng::optim::CosineAnnealingLR(epochs * loader.num_batches()));

  for (int epoch = 1; epoch <= epochs; ++epoch) {
    model->train();  // batch statistics, running statistics updated
    double loss_sum = 0;
    while (auto batch = loader.Next()) {
      ng::Tensor loss = F::cross_entropy((*model)(batch->images), batch->labels);
      opt.zero_grad();
      loss.backward();
      opt.step();
      schedule.step();
      loss_sum += loss.item();
    }
    std::printf("epoch %d  train loss %.4f  test accuracy %.2f%%\n", epoch, loss_sum / loader.num_batches(),
                Evaluate(*model, test));
  }

  // Save, load into a fresh model, and check the reloaded model gives the same accuracy.
  if (absl::Status s = ng::Save(*model, path); !s.ok()) {
    std::fprintf(stderr, "saving failed: %s\n", s.ToString().c_str());
    return 1;
  }
  auto reloaded = MakeModel();
  if (absl::StatusOr<ng::Metadata> m = ng::Load(*reloaded, path); !m.ok()) {
    std::fprintf(stderr, "loading failed: %s\n", m.status().ToString().c_str());
    return 1;
  }
  std::printf("saved to %s; reloaded model: test accuracy %.2f%%\n", path.c_str(), Evaluate(*reloaded, test));
  return 0;
}
