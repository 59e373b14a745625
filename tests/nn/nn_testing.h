#ifndef NORMGRAD_TESTS_NN_NN_TESTING_H_
#define NORMGRAD_TESTS_NN_NN_TESTING_H_

// The shared test helpers (tests/testing), and the nn tests' fixture folder.

#include <string>

#include "tests/testing/error.h"
#include "tests/testing/fixtures.h"

namespace normgrad::testing {

// tests/nn/testdata/<file>, parsed (tests run from the workspace root).
inline json LoadFixture(const std::string& file) { return LoadJson("tests/nn/testdata/" + file); }

}  // namespace normgrad::testing

#endif  // NORMGRAD_TESTS_NN_NN_TESTING_H_
