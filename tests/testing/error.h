#ifndef NORMGRAD_TESTS_TESTING_ERROR_H_
#define NORMGRAD_TESTS_TESTING_ERROR_H_

// Error checks shared by the tests. Inside namespace normgrad, `testing::` names this namespace; GoogleTest's
// own is `::testing::`.

#include <gtest/gtest.h>

#include <string>

#include "core/error.h"

namespace normgrad::testing {

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

#endif  // NORMGRAD_TESTS_TESTING_ERROR_H_
