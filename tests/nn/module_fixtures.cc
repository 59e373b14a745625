#include "tests/nn/module_fixtures.h"

#include <gtest/gtest.h>

#include <cmath>

#include "autograd/ops.h"
#include "core/kernels/elementwise.h"
#include "tests/nn/nn_testing.h"

namespace normgrad::nn::fixtures {

using Json = nlohmann::json;

const Json& ModuleFixtures() {
  static const Json fixtures = normgrad::testing::LoadFixture("module_fixtures.json");
  return fixtures;
}

Tensor TensorFromJson(const Json& t) {
  const Shape shape = t["shape"].get<Shape>();
  const std::string dtype = t["dtype"];
  if (dtype == "int64") return from_buffer(t["data"].get<std::vector<int64_t>>().data(), shape, kInt64);
  const std::vector<double> data = t["data"].get<std::vector<double>>();
  const Tensor f64 = from_buffer(data.data(), shape, kFloat64);
  return dtype == "float32" ? kernels::to_dtype(f64, kFloat32) : f64;
}

StateDict StateFromJson(const Json& state) {
  StateDict out;
  for (const auto& [key, t] : state.items()) out.emplace(key, TensorFromJson(t));
  return out;
}

Tensor Pattern(int64_t n, int64_t seed) {
  std::vector<double> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<double>((i * 7919 + seed * 104729) % 2001 - 1000) / 1000.0;
  return from_vector(v);
}

void FillPatternState(Module& module) {
  StateDict state = module.state_dict();
  int64_t k = 0;
  for (auto& [key, t] : state) {
    const int64_t n = t.numel();
    const std::vector<double> u = Pattern(n, k).to_vector<double>();
    std::vector<double> v(n);
    for (int64_t i = 0; i < n; ++i) {
      if (key.ends_with("num_batches_tracked")) {
        v[i] = static_cast<double>(k);
      } else if (t.dim() >= 2) {
        v[i] = u[i] * std::sqrt(6.0 / static_cast<double>(n / t.size(0)));
      } else if (key.ends_with("running_var")) {
        v[i] = 1.0 + 0.5 * u[i];
      } else if (key.ends_with("running_mean")) {
        v[i] = 0.2 * u[i];
      } else if (key.ends_with("weight")) {
        v[i] = 1.0 + 0.2 * u[i];
      } else {
        v[i] = 0.1 * u[i];
      }
    }
    t = reshape(from_vector(v), t.shape());  // from_vector reads an empty shape as 1-d
    ++k;
  }
  ASSERT_TRUE(module.load_state_dict(state).ok());
}

void ExpectClose(const Tensor& actual, const Tensor& expected, double rtol, double atol, const std::string& what) {
  ASSERT_TRUE(actual.defined()) << what << ": undefined";
  ASSERT_EQ(actual.shape(), expected.shape()) << what;
  const std::vector<double> a = actual.to_vector<double>(), e = expected.to_vector<double>();
  int failures = 0;
  for (size_t i = 0; i < a.size() && failures < 5; ++i) {
    if (!(std::abs(a[i] - e[i]) <= atol + rtol * std::abs(e[i]))) {
      ADD_FAILURE() << what << "[" << i << "]: got " << a[i] << ", expected " << e[i];
      ++failures;
    }
  }
}

}  // namespace normgrad::nn::fixtures
