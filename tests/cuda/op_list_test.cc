// CPU/CUDA parity over the one list of differentiable ops (tests/autograd/op_list.h): every case runs its
// forward and backward (a seeded upstream gradient) on float64 inputs on the CPU and on copies on the
// device, and the outputs and input gradients must agree. Skipped by name, with the reason: the cases
// whose function holds CPU tensors of its own (class targets, running statistics), which a copy of the
// inputs cannot move; those ops' CUDA kernels are checked in softmax_test.cc, batch_norm_test.cc and
// group_norm_test.cc.

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "autograd/engine.h"
#include "core/kernels/device_copy.h"
#include "tests/autograd/op_list.h"
#include "tests/cuda/cuda_test.h"

namespace normgrad::testing {
namespace {

// Why a case cannot run on the device, by the prefix of its name; empty when it can.
std::string WhyNotOnCuda(const std::string& name) {
  for (const char* prefix : {"cross_entropy", "nll_loss", "batch_norm_train_3d_running_stats", "batch_norm_eval",
                             "batch_norm_relu_train_2d_running_stats", "batch_norm_relu_eval", "batch_norm_add_relu_eval",
                             "instance_norm_4d_running_stats", "instance_norm_eval"}) {
    if (name.rfind(prefix, 0) == 0) return "the case's function holds CPU tensors (targets or running statistics)";
  }
  return "";
}

// The same tensors on `device`, leaves that required grad requiring it again.
std::vector<Tensor> On(const std::vector<Tensor>& inputs, Device device) {
  std::vector<Tensor> out;
  for (const Tensor& t : inputs) {
    Tensor moved = kernels::to(t, device).detach();
    if (t.requires_grad()) moved.set_requires_grad();
    out.push_back(moved);
  }
  return out;
}

class OpListParity : public CudaTest, public ::testing::WithParamInterface<OpCase> {};

TEST_P(OpListParity, MatchesTheCpu) {
  const OpCase& c = GetParam();
  if (const std::string why = WhyNotOnCuda(c.name); !why.empty()) GTEST_SKIP() << c.name << ": " << why;
  const std::vector<Tensor> cpu_inputs = On(c.inputs, kCPU), dev_inputs = On(c.inputs, kCuda);
  const Tensor y_cpu = c.fn(cpu_inputs), y_dev = c.fn(dev_inputs);
  ASSERT_EQ(y_dev.device(), kCuda) << c.name;
  ExpectClose(y_dev, y_cpu, 1e-10, 1e-12, c.name + " output");
  if (!y_cpu.requires_grad()) return;
  const Tensor g = RandomCpu(y_cpu.shape(), 99, y_cpu.dtype());
  y_cpu.backward(g);
  y_dev.backward(ToCuda(g));
  for (size_t i = 0; i < cpu_inputs.size(); ++i) {
    if (!cpu_inputs[i].requires_grad()) continue;
    const std::string what = c.name + " grad of input " + std::to_string(i);
    ASSERT_TRUE(dev_inputs[i].grad().defined()) << what;
    EXPECT_EQ(dev_inputs[i].grad().device(), kCuda) << what;
    ExpectClose(dev_inputs[i].grad(), cpu_inputs[i].grad(), 1e-10, 1e-12, what);
  }
}

std::string CaseName(const ::testing::TestParamInfo<OpCase>& info) {
  std::string name = info.param.name;
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name + "_" + std::to_string(info.index);
}

INSTANTIATE_TEST_SUITE_P(AllOps, OpListParity, ::testing::ValuesIn(AllOpCases()), CaseName);

}  // namespace
}  // namespace normgrad::testing
