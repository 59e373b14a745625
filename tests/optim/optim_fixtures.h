#ifndef NORMGRAD_TESTS_OPTIM_OPTIM_FIXTURES_H_
#define NORMGRAD_TESTS_OPTIM_OPTIM_FIXTURES_H_

// The PyTorch reference values of tests/optim (tools/make_optim_fixtures.py writes them).

#include <fstream>

#include <nlohmann/json.hpp>

namespace normgrad::optim {

inline const nlohmann::json& OptimFixtures() {
  static const nlohmann::json fixtures = [] {
    std::ifstream in("tests/optim/testdata/optim_fixtures.json");
    return nlohmann::json::parse(in);
  }();
  return fixtures;
}

}  // namespace normgrad::optim

#endif  // NORMGRAD_TESTS_OPTIM_OPTIM_FIXTURES_H_
