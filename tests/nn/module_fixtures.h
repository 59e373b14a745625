#ifndef NORMGRAD_TESTS_NN_MODULE_FIXTURES_H_
#define NORMGRAD_TESTS_NN_MODULE_FIXTURES_H_

// Reading tests/nn/testdata/module_fixtures.json (written by tools/make_module_fixtures.py) and comparing
// against it.

#include <string>

#include "core/state_dict.h"
#include "core/tensor.h"
#include "nlohmann/json.hpp"
#include "nn/module.h"

namespace normgrad::nn::fixtures {

const nlohmann::json& ModuleFixtures();

// {"shape": [...], "dtype": "float64" | "float32" | "int64", "data": [...]} as a tensor.
Tensor TensorFromJson(const nlohmann::json& t);
StateDict StateFromJson(const nlohmann::json& state);

// The script's pattern(n, seed): ((i * 7919 + seed * 104729) mod 2001 - 1000) / 1000, float64 [n].
Tensor Pattern(int64_t n, int64_t seed);
// Fills every entry of module's state dict as the script's fill_state does.
void FillPatternState(Module& module);

// |actual - expected| <= atol + rtol |expected| elementwise, same shape; failures name `what`.
void ExpectClose(const Tensor& actual, const Tensor& expected, double rtol, double atol, const std::string& what);

}  // namespace normgrad::nn::fixtures

#endif  // NORMGRAD_TESTS_NN_MODULE_FIXTURES_H_
