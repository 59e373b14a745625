#ifndef NORMGRAD_TESTS_CUDA_CUDA_TEST_H_
#define NORMGRAD_TESTS_CUDA_CUDA_TEST_H_

// Shared pieces of the CPU/CUDA parity tests.

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/cuda/device.h"
#include "core/kernels/copy.h"
#include "core/kernels/device_copy.h"
#include "core/kernels/elementwise.h"
#include "core/random.h"
#include "core/tensor.h"
#include "tests/testing/error.h"
#if !defined(NORMGRAD_CUDA)
#include "core/cuda/emulation/runtime.h"
#endif

namespace normgrad::testing {

inline const Device kCuda = Device::CUDA(0);

// A test that needs cuda:0: on the emulator in a build without CUDA (switched on here), on the GPU in a
// CUDA build, skipped with the runtime's "no CUDA device: ..." where the CUDA build finds none.
class CudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
#if !defined(NORMGRAD_CUDA)
    cuda::emulation::SetEnabled(true);
#endif
    if (const absl::Status status = cuda::CheckDevice(0); !status.ok()) GTEST_SKIP() << status.message();
  }
};

// Normal draws on the CPU (seeded), for copying to the device.
inline Tensor RandomCpu(const Shape& shape, uint64_t seed, DType dtype = kFloat32, double mean = 0,
                        double std = 1) {
  Generator gen(seed);
  return normal(shape, mean, std, {.dtype = dtype}, &gen);
}

inline Tensor ToCuda(const Tensor& t) { return kernels::to(t, kCuda); }

// The values of t, on the CPU as float64, in row-major order.
inline std::vector<double> HostDoubles(const Tensor& t) {
  const Tensor h = kernels::contiguous(kernels::to_dtype(kernels::to(t, kCPU), kFloat64));
  return std::vector<double>(h.data<double>(), h.data<double>() + h.numel());
}

// |actual - expected| <= atol + rtol * |expected| elementwise (NaN matches NaN), with the first few
// mismatches reported. `actual` may live on either device.
inline void ExpectClose(const Tensor& actual, const Tensor& expected, double rtol, double atol,
                        const std::string& what) {
  ASSERT_EQ(ShapeToString(actual.shape()), ShapeToString(expected.shape())) << what;
  ASSERT_EQ(actual.dtype(), expected.dtype()) << what;
  const std::vector<double> a = HostDoubles(actual), e = HostDoubles(expected);
  int reported = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const bool ok = std::isnan(e[i]) ? std::isnan(a[i])
                                     : (a[i] == e[i] || std::abs(a[i] - e[i]) <= atol + rtol * std::abs(e[i]));
    if (!ok && reported++ < 5) ADD_FAILURE() << what << " [" << i << "]: got " << a[i] << ", expected " << e[i];
  }
  EXPECT_EQ(reported, 0) << what << ": " << reported << " of " << a.size() << " elements differ";
}

// The float32 tolerance for one or a few roundings (elementwise math).
inline constexpr double kElementwiseRtol = 2e-6;

}  // namespace normgrad::testing

#endif  // NORMGRAD_TESTS_CUDA_CUDA_TEST_H_
