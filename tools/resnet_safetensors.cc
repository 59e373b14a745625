// A CIFAR ResNet in and out of safetensors files, for tools/safetensors_roundtrip.py:
//
//   resnet_safetensors save DEPTH SEED MODEL.safetensors
//       builds ResNet-DEPTH with weights drawn from SEED, runs one training-mode forward pass on a random
//       batch (so that the running statistics are not their initial values) and saves the model.
//   resnet_safetensors logits DEPTH MODEL.safetensors INPUT.safetensors OUTPUT.safetensors
//       loads MODEL (strictly: PyTorch's keys and shapes), runs an eval-mode forward pass on INPUT's tensor
//       "x" ([N, 3, 32, 32] float32) and writes the logits to OUTPUT as tensor "logits".
#include <cstdlib>
#include <iostream>
#include <string>

#include "autograd/grad_mode.h"
#include "core/random.h"
#include "nn/checkpoint.h"
#include "nn/resnet.h"

namespace ng = normgrad;

namespace {

int Fail(const std::string& message) {
  std::cerr << "resnet_safetensors: " << message << "\n";
  return 1;
}

int Save(int depth, uint64_t seed, const std::string& path) {
  ng::Generator gen(seed);
  const auto model = ng::nn::ResNet::Cifar(depth, {}, &gen);
  model->train();
  ng::NoGrad([&] { return (*model)(ng::randn({8, 3, 32, 32}, {}, &gen)); });
  if (const absl::Status s = ng::Save(*model, path); !s.ok()) return Fail(s.ToString());
  return 0;
}

int Logits(int depth, const std::string& model_path, const std::string& input_path, const std::string& output_path) {
  const auto model = ng::nn::ResNet::Cifar(depth);
  if (const auto loaded = ng::Load(*model, model_path); !loaded.ok()) return Fail(loaded.status().ToString());
  const auto input = ng::ReadSafetensors(input_path);
  if (!input.ok()) return Fail(input.status().ToString());
  const auto x = input->tensors.find("x");
  if (x == input->tensors.end()) return Fail(input_path + " has no tensor \"x\"");
  model->eval();
  const ng::Tensor logits = ng::NoGrad([&] { return (*model)(x->second); });
  if (const absl::Status s = ng::WriteSafetensors(output_path, {{"logits", logits}}); !s.ok()) {
    return Fail(s.ToString());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  try {
    if (command == "save" && argc == 5) return Save(std::atoi(argv[2]), std::strtoull(argv[3], nullptr, 10), argv[4]);
    if (command == "logits" && argc == 6) return Logits(std::atoi(argv[2]), argv[3], argv[4], argv[5]);
  } catch (const ng::Error& e) {
    return Fail(e.what());
  }
  return Fail("usage: resnet_safetensors save DEPTH SEED MODEL | logits DEPTH MODEL INPUT OUTPUT");
}
