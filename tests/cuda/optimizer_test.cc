// CPU/CUDA parity of the fused optimizer updates (core/kernels/optimizer_step.h): SGD with momentum,
// dampening, Nesterov, weight decay and maximize, Adam and AdamW (with AMSGrad and maximize), over several
// steps; and optim::SGD / optim::Adam stepping parameters that live on the device.

#include <gtest/gtest.h>

#include <string>

#include "autograd/grad_mode.h"
#include "core/kernels/copy.h"
#include "core/kernels/optimizer_step.h"
#include "autograd/ops.h"
#include "nn/linear.h"
#include "optim/adam.h"
#include "optim/clip_grad.h"
#include "optim/sgd.h"
#include "tests/cuda/cuda_test.h"

namespace normgrad {
namespace {

using testing::CudaTest;
using testing::ExpectClose;
using testing::RandomCpu;
using testing::ToCuda;

class CudaOptimizerStep : public CudaTest {};

// Runs `steps` updates of `update` on copies of p (and three zeroed state slots) on the CPU and on the device.
template <typename T, typename Update>
void ExpectSameSteps(int steps, const std::string& what, Update&& update) {
  const int64_t n = 1001;
  const Tensor p0 = RandomCpu({n}, 1, DTypeOf<T>());
  Tensor p[2] = {kernels::clone(p0), ToCuda(p0)};
  auto state = [n] {
    return std::vector<Tensor>{zeros({n}, {.dtype = DTypeOf<T>()}),
                               zeros({n}, {.dtype = DTypeOf<T>(), .device = testing::kCuda})};
  };
  std::vector<Tensor> s1 = state(), s2 = state(), s3 = state();
  for (int step = 1; step <= steps; ++step) {
    const Tensor g = RandomCpu({n}, 100 + step, DTypeOf<T>());
    for (int d = 0; d < 2; ++d) {
      const Tensor gd = d == 0 ? g : ToCuda(g);
      update(kernels::OptimizerStepOn<T>(p[d].device()), p[d].template data_ptr<T>(), gd.template data_ptr<T>(),
             s1[d].template data_ptr<T>(), s2[d].template data_ptr<T>(), s3[d].template data_ptr<T>(), n, step);
    }
  }
  const double rtol = DTypeOf<T>() == kFloat32 ? 1e-6 : 1e-14;
  ExpectClose(p[1], p[0], rtol, rtol, what + " parameters");
  ExpectClose(s1[1], s1[0], rtol, rtol, what + " state");
  ExpectClose(s3[1], s3[0], rtol, rtol, what + " third state slot");
}

TEST_F(CudaOptimizerStep, SgdMatchesTheCpu) {
  struct Case {
    double momentum, dampening, weight_decay;
    bool nesterov, maximize;
  };
  for (const Case& c : std::vector<Case>{{0, 0, 0, false, false},
                                         {0.9, 0, 5e-4, true, false},
                                         {0.9, 0.1, 0, false, false},
                                         {0, 0, 1e-2, false, false},
                                         {0.9, 0, 5e-4, true, true}}) {
    const std::string what = "sgd momentum " + std::to_string(c.momentum) + " nesterov " + std::to_string(c.nesterov) +
                             " maximize " + std::to_string(c.maximize);
    auto update = [&]<typename T>(const kernels::OptimizerStepBackend<T>& on, T* p, const T* g, T* buf, T*, T*,
                                  int64_t n, int step) {
      on.sgd(p, g, buf, n, 0.1, c.momentum, c.dampening, c.weight_decay, c.nesterov, c.maximize, step == 1);
    };
    ExpectSameSteps<float>(3, what + " float32", update);
    ExpectSameSteps<double>(3, what + " float64", update);
  }
}

TEST_F(CudaOptimizerStep, AdamMatchesTheCpu) {
  for (bool decoupled : {false, true}) {
    for (bool amsgrad_and_maximize : {false, true}) {
      const std::string what = std::string(decoupled ? "adamw" : "adam") + (amsgrad_and_maximize ? " amsgrad maximize" : "");
      auto update = [&]<typename T>(const kernels::OptimizerStepBackend<T>& on, T* p, const T* g, T* m, T* v, T* max_v,
                                    int64_t n, int step) {
        on.adam(p, g, m, v, amsgrad_and_maximize ? max_v : nullptr, n, 1e-3, 0.9, 0.999, 1e-8, 1e-2, decoupled,
                amsgrad_and_maximize, step);
      };
      ExpectSameSteps<float>(4, what + " float32", update);
      ExpectSameSteps<double>(4, what + " float64", update);
    }
  }
}

TEST_F(CudaOptimizerStep, OptimizersStepDeviceParameters) {
  const Tensor w0 = RandomCpu({7, 5}, 3), g = RandomCpu({7, 5}, 4);
  Tensor cpu = kernels::clone(w0).set_requires_grad(), dev = ToCuda(w0).set_requires_grad();
  Tensor cpu_adam = kernels::clone(w0).set_requires_grad(), dev_adam = ToCuda(w0).set_requires_grad();
  optim::SGD sgd_cpu({cpu}, {.lr = 0.1, .momentum = 0.9, .nesterov = true});
  optim::SGD sgd_dev({dev}, {.lr = 0.1, .momentum = 0.9, .nesterov = true});
  optim::Adam adam_cpu({cpu_adam}, {.lr = 0.01});
  optim::Adam adam_dev({dev_adam}, {.lr = 0.01});
  for (int step = 0; step < 3; ++step) {
    cpu.set_grad(g);
    dev.set_grad(ToCuda(g));
    cpu_adam.set_grad(g);
    dev_adam.set_grad(ToCuda(g));
    sgd_cpu.step();
    sgd_dev.step();
    adam_cpu.step();
    adam_dev.step();
  }
  EXPECT_EQ(dev.device(), testing::kCuda);
  ExpectClose(dev, cpu, 1e-6, 1e-6, "optim::SGD");
  ExpectClose(dev_adam, cpu_adam, 1e-6, 1e-6, "optim::Adam");
}

// Momentum buffers follow their parameter: to the device when the model moves after some steps, and from
// a CPU state dict (a checkpoint) onto the device's parameters; the steps then go on as on the CPU.
TEST_F(CudaOptimizerStep, StateFollowsTheParametersDevice) {
  Generator gen(5);
  const auto cpu = std::make_shared<nn::Linear>(nn::LinearOptions{.in_features = 4, .out_features = 3}, &gen);
  const std::shared_ptr<nn::Linear> moved = nn::Clone(cpu), restored = nn::Clone(cpu);
  const optim::SGDOptions options{.lr = 0.1, .momentum = 0.9, .nesterov = true};
  optim::SGD sgd_cpu(cpu->parameters(), options), sgd_moved(moved->parameters(), options);
  const Tensor x = RandomCpu({5, 4}, 6);
  auto step = [&](nn::Linear& model, optim::SGD& sgd) {
    sgd.zero_grad();
    sum(model.forward(kernels::to(x, model.parameters()[0].device()))).backward();
    sgd.step();
  };
  step(*cpu, sgd_cpu);
  step(*moved, sgd_moved);
  moved->to(testing::kCuda);  // its momentum buffers are still on the CPU
  restored->to(testing::kCuda);
  optim::SGD sgd_restored(restored->parameters(), options);
  ASSERT_TRUE(restored->load_state_dict(cpu->state_dict()).ok());
  ASSERT_TRUE(sgd_restored.load_state_dict(sgd_cpu.state_dict()).ok());
  EXPECT_EQ(sgd_restored.state_dict().at("state.0.momentum_buffer").device(), testing::kCuda);
  for (int i = 0; i < 2; ++i) {
    step(*cpu, sgd_cpu);
    step(*moved, sgd_moved);
    step(*restored, sgd_restored);
  }
  EXPECT_EQ(sgd_moved.state_dict().at("state.0.momentum_buffer").device(), testing::kCuda);
  for (size_t i = 0; i < cpu->parameters().size(); ++i) {
    ExpectClose(moved->parameters()[i], cpu->parameters()[i], 1e-6, 1e-6, "SGD after the model moved");
    ExpectClose(restored->parameters()[i], cpu->parameters()[i], 1e-6, 1e-6, "SGD restored onto the device");
  }
}

TEST_F(CudaOptimizerStep, GradientClippingMatchesTheCpu) {
  for (double norm_type : {2.0, 1.0, optim::kInfNorm}) {
    Tensor a = RandomCpu({5, 3}, 5).set_requires_grad(), b = RandomCpu({7}, 6).set_requires_grad();
    Tensor ad = ToCuda(a).set_requires_grad(), bd = ToCuda(b).set_requires_grad();
    a.set_grad(RandomCpu({5, 3}, 7));
    b.set_grad(RandomCpu({7}, 8));
    ad.set_grad(ToCuda(a.grad()));
    bd.set_grad(ToCuda(b.grad()));
    const double total = optim::ClipGradNorm({a, b}, 0.5, norm_type);
    EXPECT_NEAR(optim::ClipGradNorm({ad, bd}, 0.5, norm_type), total, 1e-6 * total) << norm_type;
    ExpectClose(ad.grad(), a.grad(), 1e-6, 1e-7, "clipped gradient");
    ExpectClose(bd.grad(), b.grad(), 1e-6, 1e-7, "clipped gradient");
  }
}

}  // namespace
}  // namespace normgrad
