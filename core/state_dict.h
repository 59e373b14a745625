#ifndef NORMGRAD_CORE_STATE_DICT_H_
#define NORMGRAD_CORE_STATE_DICT_H_

#include <map>
#include <string>
#include <string_view>

#include "core/tensor.h"

namespace normgrad {

// Named tensors, the form every saved state takes (scalars are rank-0 tensors): a module's parameters and
// buffers ("layer1.0.bn1.running_mean"), an optimizer's or a schedule's state. Keys are ordered, so that
// one checkpoint can hold a model, its optimizer and its schedule under different prefixes ("model.",
// "optimizer.", "scheduler.") and be written byte for byte the same every time.
using StateDict = std::map<std::string, Tensor>;

// `state` with `prefix` put before every key: AddPrefix(model.state_dict(), "model.").
StateDict AddPrefix(const StateDict& state, std::string_view prefix);

// The entries of `state` whose key starts with `prefix`, with the prefix removed:
// model.load_state_dict(StripPrefix(checkpoint, "model.")).
StateDict StripPrefix(const StateDict& state, std::string_view prefix);

}  // namespace normgrad

#endif  // NORMGRAD_CORE_STATE_DICT_H_
