// CUDA group, instance and layer norm (core/cuda/group_norm.h) against the CPU kernels in float32:
// statistics over many elements per block and offset data (mean 1e4, spread 0.1), running statistics of
// instance norm updated on the device, eval-mode instance norm, and weights absent or present. The float64
// op list's parity test (op_list_test.cc) covers the differentiable functions on both devices.

#include <gtest/gtest.h>

#include <string>

#include "core/kernels/normalization.h"
#include "tests/cuda/cuda_test.h"

namespace normgrad {
namespace {

using testing::CudaTest;
using testing::ExpectClose;
using testing::RandomCpu;
using testing::ToCuda;

class CudaGroupNorm : public CudaTest {};

// The forward's output and statistics, and the backward's gradients, of the CPU and the device.
void ExpectSameNorm(const kernels::NormForwardResult& dev, const kernels::NormForwardResult& cpu,
                    const kernels::NormBackwardResult& gdev, const kernels::NormBackwardResult& gcpu,
                    const std::string& what) {
  ExpectClose(dev.output, cpu.output, 1e-4, 1e-4, what + " output");
  ExpectClose(dev.save_mean, cpu.save_mean, 0, 1e-6, what + " mean");  // float sums: about 1e-8 apart
  ExpectClose(dev.save_invstd, cpu.save_invstd, 1e-5, 0, what + " invstd");
  ExpectClose(gdev.grad_input, gcpu.grad_input, 1e-3, 1e-3, what + " grad_input");
  if (gcpu.grad_weight.defined()) ExpectClose(gdev.grad_weight, gcpu.grad_weight, 1e-3, 1e-3, what + " grad_weight");
  if (gcpu.grad_bias.defined()) ExpectClose(gdev.grad_bias, gcpu.grad_bias, 1e-4, 1e-3, what + " grad_bias");
}

TEST_F(CudaGroupNorm, GroupAndLayerNormMatchTheCpu) {
  for (double offset : {0.0, 1e4}) {
    const double spread = offset == 0 ? 1.0 : 0.1;
    const Tensor x = RandomCpu({3, 6, 37, 29}, 1, kFloat32, offset, spread), dy = RandomCpu({3, 6, 37, 29}, 2);
    const Tensor w = RandomCpu({6}, 3), b = RandomCpu({6}, 4);
    const std::string what = "offset " + std::to_string(offset);
    for (int64_t groups : {1, 2, 6}) {
      const auto cpu = kernels::group_norm_forward(x, groups, w, b, 1e-5);
      const auto dev = kernels::group_norm_forward(ToCuda(x), groups, ToCuda(w), ToCuda(b), 1e-5);
      ASSERT_EQ(dev.output.device(), testing::kCuda);
      ExpectSameNorm(dev, cpu,
                     kernels::group_norm_backward(ToCuda(dy), ToCuda(x), groups, ToCuda(w), dev.save_mean, dev.save_invstd),
                     kernels::group_norm_backward(dy, x, groups, w, cpu.save_mean, cpu.save_invstd),
                     what + " group_norm groups " + std::to_string(groups));
    }
    const Shape normalized = {37, 29};
    const Tensor lw = RandomCpu(normalized, 5), lb = RandomCpu(normalized, 6);
    for (bool affine : {false, true}) {
      const Tensor cw = affine ? lw : Tensor(), cb = affine ? lb : Tensor();
      const Tensor dw = affine ? ToCuda(lw) : Tensor(), db = affine ? ToCuda(lb) : Tensor();
      const auto cpu = kernels::layer_norm_forward(x, normalized, cw, cb, 1e-5);
      const auto dev = kernels::layer_norm_forward(ToCuda(x), normalized, dw, db, 1e-5);
      ExpectSameNorm(dev, cpu, kernels::layer_norm_backward(ToCuda(dy), ToCuda(x), normalized, dw, dev.save_mean, dev.save_invstd),
                     kernels::layer_norm_backward(dy, x, normalized, cw, cpu.save_mean, cpu.save_invstd),
                     what + (affine ? " layer_norm affine" : " layer_norm plain"));
    }
  }
}

TEST_F(CudaGroupNorm, InstanceNormUpdatesRunningStatisticsOnTheDevice) {
  const Tensor x = RandomCpu({4, 5, 9, 11}, 7, kFloat32, 2, 3), dy = RandomCpu({4, 5, 9, 11}, 8);
  const Tensor w = RandomCpu({5}, 9), b = RandomCpu({5}, 10);
  const Tensor rm = RandomCpu({5}, 11), rv = RandomCpu({5}, 12, kFloat32, 2, 0.5);
  const Tensor rm_dev = ToCuda(rm), rv_dev = ToCuda(rv);
  for (bool use_input_stats : {true, false}) {
    const auto cpu = kernels::instance_norm_forward(x, rm, rv, w, b, use_input_stats, 0.3, 1e-5);
    const auto dev = kernels::instance_norm_forward(ToCuda(x), rm_dev, rv_dev, ToCuda(w), ToCuda(b), use_input_stats,
                                                    0.3, 1e-5);
    const std::string what = use_input_stats ? "instance stats" : "running stats";
    ExpectClose(rm_dev, rm, 1e-6, 1e-6, what + " running_mean");
    ExpectClose(rv_dev, rv, 1e-6, 1e-6, what + " running_var");
    EXPECT_EQ(rm_dev.device(), testing::kCuda);
    ExpectSameNorm(dev, cpu,
                   kernels::instance_norm_backward(ToCuda(dy), ToCuda(x), ToCuda(w), dev.save_mean, dev.save_invstd,
                                                   use_input_stats),
                   kernels::instance_norm_backward(dy, x, w, cpu.save_mean, cpu.save_invstd, use_input_stats), what);
  }
}

TEST_F(CudaGroupNorm, TensorKernelsCheckDevices) {
  testing::ExpectError([] { kernels::layer_norm_forward(ToCuda(ones({4, 3})), {3}, ones({3}), Tensor(), 1e-5); },
                       "layer_norm: expected weight on the input's device (cuda:0), got cpu");
  testing::ExpectError(
      [] { kernels::instance_norm_forward(ToCuda(ones({2, 3, 4})), zeros({3}), ones({3}), Tensor(), Tensor(), true, 0.1, 1e-5); },
      "instance_norm: expected running_mean on the input's device (cuda:0), got cpu");
}

}  // namespace
}  // namespace normgrad
