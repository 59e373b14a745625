#ifndef NORMGRAD_TESTS_TESTING_FIXTURES_H_
#define NORMGRAD_TESTS_TESTING_FIXTURES_H_

// PyTorch fixtures (JSON written by the tools/make_*_fixtures.py scripts) and comparisons against them.

#include <nlohmann/json.hpp>
#include <string>

#include "core/tensor.h"

namespace normgrad::testing {

using json = nlohmann::json;

// The JSON file at `path`, relative to the workspace root (where tests run), parsed; a file that cannot be
// opened fails the test (and the parse throws).
json LoadJson(const std::string& path);

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

}  // namespace normgrad::testing

#endif  // NORMGRAD_TESTS_TESTING_FIXTURES_H_
