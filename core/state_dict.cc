#include "core/state_dict.h"

namespace normgrad {

StateDict AddPrefix(const StateDict& state, std::string_view prefix) {
  StateDict out;
  for (const auto& [key, value] : state) out.emplace(std::string(prefix) + key, value);
  return out;
}

StateDict StripPrefix(const StateDict& state, std::string_view prefix) {
  StateDict out;
  for (auto it = state.lower_bound(std::string(prefix)); it != state.end() && it->first.starts_with(prefix); ++it) {
    out.emplace(it->first.substr(prefix.size()), it->second);
  }
  return out;
}

}  // namespace normgrad
