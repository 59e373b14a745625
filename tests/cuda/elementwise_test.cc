// CPU/CUDA parity of the elementwise family (core/kernels/elementwise.h on tensors of either device):
// every unary, binary, scalar, clamp, where, fill, conversion and in-place op, over broadcast and strided
// operands of odd sizes.

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "core/kernels/copy.h"
#include "core/kernels/elementwise.h"
#include "core/kernels/view.h"
#include "tests/cuda/cuda_test.h"

namespace normgrad {
namespace {

using testing::CudaTest;
using testing::ExpectClose;
using testing::ExpectError;
using testing::kElementwiseRtol;
using testing::RandomCpu;
using testing::ToCuda;

class CudaElementwise : public CudaTest {};

struct UnaryCase {
  std::string name;
  std::function<Tensor(const Tensor&)> op;
  bool positive_input;  // log, sqrt, rsqrt
  bool float_only;
};

TEST_F(CudaElementwise, UnaryOpsMatchTheCpu) {
  const std::vector<UnaryCase> cases = {
      {"neg", [](const Tensor& x) { return kernels::neg(x); }, false, false},
      {"abs", [](const Tensor& x) { return kernels::abs(x); }, false, false},
      {"relu", [](const Tensor& x) { return kernels::relu(x); }, false, false},
      {"exp", [](const Tensor& x) { return kernels::exp(x); }, false, true},
      {"log", [](const Tensor& x) { return kernels::log(x); }, true, true},
      {"sqrt", [](const Tensor& x) { return kernels::sqrt(x); }, true, true},
      {"rsqrt", [](const Tensor& x) { return kernels::rsqrt(x); }, true, true},
      {"sigmoid", [](const Tensor& x) { return kernels::sigmoid(x); }, false, true},
      {"tanh", [](const Tensor& x) { return kernels::tanh(x); }, false, true},
      {"erf", [](const Tensor& x) { return kernels::erf(x); }, false, true},
  };
  for (const UnaryCase& c : cases) {
    for (DType dtype : {kFloat32, kFloat64, kInt64}) {
      if (c.float_only && dtype == kInt64) continue;
      Tensor x = RandomCpu({37, 19}, 11, kFloat64, 0, dtype == kInt64 ? 50 : 3);
      if (c.positive_input) x = kernels::add(kernels::abs(x), 0.1);
      x = kernels::to_dtype(x, dtype);
      const std::string what = c.name + " " + DTypeName(dtype);
      ExpectClose(c.op(ToCuda(x)), c.op(x), kElementwiseRtol, 0, what);
      // A transposed (strided) input.
      const Tensor xt = kernels::transpose(x, 0, 1);
      ExpectClose(c.op(kernels::transpose(ToCuda(x), 0, 1)), c.op(xt), kElementwiseRtol, 0, what + " strided");
    }
  }
}

TEST_F(CudaElementwise, ReluKeepsNan) {
  const Tensor x = from_vector<float>({-1, std::nanf(""), 2});
  ExpectClose(kernels::relu(ToCuda(x)), kernels::relu(x), 0, 0, "relu nan");
}

// relu's backward selects: an inf or NaN gradient where the output is 0 gives 0, and a NaN output passes
// the gradient, as on the CPU.
TEST_F(CudaElementwise, ReluBackwardSelectsLikeTheCpu) {
  const float inf = std::numeric_limits<float>::infinity();
  const Tensor grad = from_vector<float>({inf, std::nanf(""), -inf, -2, 2, std::nanf(""), 5});
  const Tensor output = from_vector<float>({0, 0, 0, 0, 3, 1, std::nanf("")});
  const std::vector<double> expected = {0, 0, 0, 0, 2, std::nan(""), 5};
  const Tensor cpu = kernels::relu_backward(grad, output);
  ExpectClose(kernels::relu_backward(ToCuda(grad), ToCuda(output)), cpu, 0, 0, "relu_backward");
  const Tensor in_place = ToCuda(grad);
  kernels::relu_backward_(in_place, ToCuda(output));
  ExpectClose(in_place, cpu, 0, 0, "relu_backward_");
  const std::vector<double> got = testing::HostDoubles(cpu);
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_TRUE(got[i] == expected[i] || (std::isnan(got[i]) && std::isnan(expected[i]))) << i;
  }
  // A mismatch is named as relu_backward's, as on the CPU, not as the select's that computes it.
  ExpectError([&] { kernels::relu_backward(ToCuda(grad), ToCuda(zeros({7}, {.dtype = kFloat64}))); },
              "relu_backward: expected tensors of the same dtype, got float32 and float64");
  ExpectError([&] { kernels::relu_backward(ToCuda(grad), output); },
              "relu_backward: expected tensors on the same device");
  ExpectError([&] { kernels::relu_backward(ToCuda(grad), ToCuda(zeros({3}))); },
              "relu_backward: expected broadcastable shapes, got [7] and [3]");
  ExpectError([&] { kernels::relu_backward_(in_place, ToCuda(zeros({7}, {.dtype = kFloat64}))); },
              "relu_backward_: expected tensors of the same dtype, got float32 and float64");
}

struct BinaryCase {
  std::string name;
  std::function<Tensor(const Tensor&, const Tensor&)> op;
  bool float_only;
};

TEST_F(CudaElementwise, BinaryOpsBroadcastLikeTheCpu) {
  const std::vector<BinaryCase> cases = {
      {"add", [](const Tensor& a, const Tensor& b) { return kernels::add(a, b); }, false},
      {"sub", [](const Tensor& a, const Tensor& b) { return kernels::sub(a, b); }, false},
      {"mul", [](const Tensor& a, const Tensor& b) { return kernels::mul(a, b); }, false},
      {"div", [](const Tensor& a, const Tensor& b) { return kernels::div(a, b); }, true},
      {"pow", [](const Tensor& a, const Tensor& b) { return kernels::pow(kernels::abs(a), b); }, true},
      {"eq", [](const Tensor& a, const Tensor& b) { return kernels::eq(a, b); }, false},
      {"ne", [](const Tensor& a, const Tensor& b) { return kernels::ne(a, b); }, false},
      {"lt", [](const Tensor& a, const Tensor& b) { return kernels::lt(a, b); }, false},
      {"le", [](const Tensor& a, const Tensor& b) { return kernels::le(a, b); }, false},
      {"gt", [](const Tensor& a, const Tensor& b) { return kernels::gt(a, b); }, false},
      {"ge", [](const Tensor& a, const Tensor& b) { return kernels::ge(a, b); }, false},
  };
  // [7, 1, 5] with [3, 1]: both sides broadcast; values rounded so that comparisons see ties.
  for (const BinaryCase& c : cases) {
    for (DType dtype : {kFloat32, kFloat64, kInt64}) {
      if (c.float_only && dtype == kInt64) continue;
      const Tensor a = kernels::to_dtype(kernels::mul(RandomCpu({7, 1, 5}, 1, kFloat64, 0, 3), 1.0), dtype);
      const Tensor b = kernels::to_dtype(kernels::add(RandomCpu({3, 1}, 2, kFloat64, 0, 3), 0.5), dtype);
      const Tensor ar = kernels::to_dtype(kernels::to_dtype(a, kInt64), dtype);
      const std::string what = c.name + " " + DTypeName(dtype);
      ExpectClose(c.op(ToCuda(a), ToCuda(b)), c.op(a, b), kElementwiseRtol, 0, what);
      ExpectClose(c.op(ToCuda(ar), ToCuda(ar)), c.op(ar, ar), kElementwiseRtol, 0, what + " ties");
    }
  }
}

TEST_F(CudaElementwise, LargeContiguousOpsLoopOverTheGrid) {
  // More elements than one grid holds (132 multiprocessors x 2048 threads), odd count.
  const Tensor a = RandomCpu({300007}, 3), b = RandomCpu({300007}, 4);
  ExpectClose(kernels::add(ToCuda(a), ToCuda(b)), kernels::add(a, b), 0, 0, "add 300007");
}

TEST_F(CudaElementwise, ScalarOpsMatchTheCpuInBothOrders) {
  const Tensor x = kernels::add(kernels::abs(RandomCpu({13, 11}, 5, kFloat64)), 0.25);
  const Tensor xd = ToCuda(x);
  for (double s : {2.0, 3.0, 1.0, 0.0, 0.5, -0.5, -1.0, -2.0, 1.7}) {
    ExpectClose(kernels::pow(xd, s), kernels::pow(x, s), 1e-15, 0, "pow " + std::to_string(s));
  }
  ExpectClose(kernels::add(xd, 1.5), kernels::add(x, 1.5), 0, 0, "add s");
  ExpectClose(kernels::sub(xd, 1.5), kernels::sub(x, 1.5), 0, 0, "sub s");
  ExpectClose(kernels::sub(1.5, xd), kernels::sub(1.5, x), 0, 0, "s sub");
  ExpectClose(kernels::mul(xd, -3.0), kernels::mul(x, -3.0), 0, 0, "mul s");
  ExpectClose(kernels::div(xd, 7.0), kernels::div(x, 7.0), 0, 0, "div s");
  ExpectClose(kernels::div(7.0, xd), kernels::div(7.0, x), 0, 0, "s div");
  ExpectClose(kernels::gt(xd, 1.0), kernels::gt(x, 1.0), 0, 0, "gt s");
  const Tensor i = from_vector<int64_t>({-3, 0, 4, 9});
  ExpectClose(kernels::mul(ToCuda(i), 3.0), kernels::mul(i, 3.0), 0, 0, "int64 mul s");
  ExpectClose(kernels::sub(2.0, ToCuda(i)), kernels::sub(2.0, i), 0, 0, "int64 s sub");
}

TEST_F(CudaElementwise, ClampWhereFillAndConversionsMatchTheCpu) {
  const Tensor x = RandomCpu({9, 8}, 6);
  const Tensor xd = ToCuda(x);
  ExpectClose(kernels::clamp(xd, -0.5, 0.5), kernels::clamp(x, -0.5, 0.5), 0, 0, "clamp");
  ExpectClose(kernels::clamp(xd, -0.5, std::nullopt), kernels::clamp(x, -0.5, std::nullopt), 0, 0, "clamp lo");
  ExpectClose(kernels::clamp(xd, std::nullopt, 0.1), kernels::clamp(x, std::nullopt, 0.1), 0, 0, "clamp hi");
  ExpectClose(kernels::clamp(xd, 1.0, -1.0), kernels::clamp(x, 1.0, -1.0), 0, 0, "clamp lo > hi");
  for (DType cond_dtype : {kFloat32, kFloat64, kInt64}) {
    const Tensor cond = kernels::to_dtype(kernels::gt(RandomCpu({9, 1}, 7), 0.0), cond_dtype);
    const Tensor other = RandomCpu({8}, 8);
    ExpectClose(kernels::where(ToCuda(cond), xd, ToCuda(other)), kernels::where(cond, x, other), 0, 0,
                std::string("where ") + DTypeName(cond_dtype));
  }
  for (DType from : {kFloat32, kFloat64, kInt64}) {
    for (DType to : {kFloat32, kFloat64, kInt64}) {
      const Tensor src = kernels::to_dtype(kernels::mul(x, 10.0), from);
      ExpectClose(kernels::to_dtype(ToCuda(src), to), kernels::to_dtype(src, to), 0, 0,
                  std::string("convert ") + DTypeName(from) + " -> " + DTypeName(to));
    }
  }
  const Tensor filled = ToCuda(zeros({5, 6}, {.dtype = kInt64}));
  kernels::fill_(kernels::narrow(filled, 1, 2, 3), 9);
  const Tensor expected = zeros({5, 6}, {.dtype = kInt64});
  kernels::fill_(kernels::narrow(expected, 1, 2, 3), 9);
  ExpectClose(filled, expected, 0, 0, "fill_ of a strided view");
}

TEST_F(CudaElementwise, InPlaceOpsOnViewsMatchTheCpu) {
  const Tensor base = RandomCpu({6, 10}, 9), src = RandomCpu({10}, 10);
  const Tensor cpu = kernels::clone(base), dev = ToCuda(base);
  // A strided destination and a broadcast source.
  for (Tensor t : {cpu, dev}) {
    const Tensor dst = kernels::slice(t, 1, 1, 10, 2);
    const Tensor s = kernels::slice(t.device().is_cpu() ? src : ToCuda(src), 0, 0, 5);
    kernels::add_(dst, s);
    kernels::mul_(dst, 0.5);
    kernels::sub_(dst, 1.0);
    kernels::div_(dst, s);
    kernels::sub_(dst, s);
    kernels::mul_(dst, s);
    kernels::add_(dst, 2.0);
    kernels::div_(dst, 3.0);
  }
  ExpectClose(dev, cpu, kElementwiseRtol, 0, "in-place chain");
  // copy_ from an overlapping view of the same storage reads the source as it was.
  for (Tensor t : {cpu, dev}) kernels::copy_(kernels::narrow(t, 0, 1, 5), kernels::narrow(t, 0, 0, 5));
  ExpectClose(dev, cpu, 0, 0, "overlapping copy_");
}

}  // namespace
}  // namespace normgrad
