#ifndef NORMGRAD_TESTS_NN_NN_TESTING_H_
#define NORMGRAD_TESTS_NN_NN_TESTING_H_

// Helpers shared by the nn tests: PyTorch fixtures (written by tools/make_conv_fixtures.py) and error checks.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "core/tensor.h"

namespace normgrad::testing {

using json = nlohmann::json;

// tests/nn/testdata/<file>, parsed (tests run from the workspace root).
json LoadFixture(const std::string& file);

// The fixture's dtype names: "float32", "float64".
DType DTypeFromName(const std::string& name);

// A tensor of `dtype` holding the fixture input `values` (shape `shape`). Inputs were drawn in float32 and
// stored to 9 digits: each value is rounded to float32 first, so that float64 tensors hold exactly the
// values PyTorch used.
Tensor FixtureInput(const json& values, const json& shape, DType dtype, bool requires_grad = false);

// actual has `shape` and |actual - expected| <= tol * max(1, |expected|) elementwise.
void ExpectTensorNear(const Tensor& actual, const json& expected, const json& shape, double tol,
                      const std::string& what);

// Tolerance for comparing a dtype's results with PyTorch's.
inline double Tolerance(DType dtype) { return dtype == kFloat32 ? 2e-5 : 1e-10; }

// fn() throws normgrad::Error whose message contains `message`.
template <typename Fn>
void ExpectError(Fn&& fn, const std::string& message) {
  try {
    fn();
    ADD_FAILURE() << "expected an error containing: " << message;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
  }
}

}  // namespace normgrad::testing

#endif  // NORMGRAD_TESTS_NN_NN_TESTING_H_
