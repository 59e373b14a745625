#include "tests/autograd/op_list.h"

namespace normgrad::testing {
namespace {

std::vector<OpCaseFamily>& Families() {
  static auto* families = new std::vector<OpCaseFamily>();
  return *families;
}

}  // namespace

bool RegisterOpCases(OpCaseFamily family) {
  Families().push_back(family);
  return true;
}

std::vector<OpCase> AllOpCases() {
  std::vector<OpCase> all;
  for (OpCaseFamily family : Families()) {
    for (OpCase& c : family()) all.push_back(std::move(c));
  }
  return all;
}

}  // namespace normgrad::testing
