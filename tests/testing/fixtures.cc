#include "tests/testing/fixtures.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <vector>

namespace normgrad::testing {

json LoadJson(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  return json::parse(in);
}

DType DTypeFromName(const std::string& name) { return name == "float32" ? kFloat32 : kFloat64; }

Tensor FixtureInput(const json& values, const json& shape, DType dtype, bool requires_grad) {
  std::vector<double> v;
  for (double x : values.get<std::vector<double>>()) v.push_back(static_cast<float>(x));
  const std::vector<float> f(v.begin(), v.end());
  // from_buffer, not from_vector: a shape [] means a rank-0 tensor here.
  Tensor t = dtype == kFloat32 ? from_buffer(f.data(), shape.get<Shape>(), kFloat32)
                                : from_buffer(v.data(), shape.get<Shape>(), kFloat64);
  if (requires_grad) t.set_requires_grad(true);
  return t;
}

void ExpectTensorNear(const Tensor& actual, const json& expected, const json& shape, double tol,
                      const std::string& what) {
  ASSERT_TRUE(actual.defined()) << what << ": undefined tensor";
  ASSERT_EQ(actual.shape(), shape.get<Shape>()) << what;
  const std::vector<double> a = actual.to_vector<double>(), e = expected.get<std::vector<double>>();
  ASSERT_EQ(a.size(), e.size()) << what;
  int failures = 0;
  for (size_t i = 0; i < a.size() && failures < 5; ++i) {
    if (!(std::abs(a[i] - e[i]) <= tol * std::max(1.0, std::abs(e[i])))) {
      ADD_FAILURE() << what << ": element " << i << " is " << a[i] << ", expected " << e[i];
      ++failures;
    }
  }
}

}  // namespace normgrad::testing
