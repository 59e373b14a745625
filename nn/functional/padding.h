#ifndef NORMGRAD_NN_FUNCTIONAL_PADDING_H_
#define NORMGRAD_NN_FUNCTIONAL_PADDING_H_

// Padding a tensor's trailing dims (torch.nn.functional.pad), with a constant or with the input's own
// values: its mirror image, its edge, or its other end.

#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace normgrad::nn::functional {

// What fills the padding, as PyTorch's `mode`: for the row [1, 2, 3] padded by (2, 2)
//   kConstant   value value | 1 2 3 | value value
//   kReflect    3 2 | 1 2 3 | 2 1   (the mirror image about the edge, the edge itself not repeated)
//   kReplicate  1 1 | 1 2 3 | 3 3   (the edge value)
//   kCircular   2 3 | 1 2 3 | 1 2   (the other end, as if the dim wrapped around)
enum class PadMode { kConstant, kReflect, kReplicate, kCircular };

// "constant", "reflect", "replicate", "circular"
const char* PadModeName(PadMode mode);

// `input` padded on its last pad.size() / 2 dims, torch.nn.functional.pad's order: `pad` holds a (before,
// after) pair per dim, the last dim first: {left, right} pads the last dim, {left, right, top, bottom} the
// last two. A negative size removes that many elements from that side instead, as in PyTorch: constant and
// circular padding crop first and pad what is left; reflect and replicate pad the whole dim, then crop.
// Differentiable (built from views and cat, so on any device and to any order).
//   kConstant: any number of the input's dims, filled with `value`.
//   the others: the last 1, 2 or 3 dims of an input with 1 or 2 dims more ([C, W] or [N, C, W] for one
//              pair, [C, H, W] or [N, C, H, W] for two, ...). Reflect needs each size below the dim's size,
//              circular at most the size of what it wraps, replicate a dim that is not empty; reflect and
//              replicate must leave at least one element.
// Errors name the argument and the values, e.g. "pad: expected an even number of padding sizes (a
// (before, after) pair per dim, the last dim first), got 3"; "pad: expected reflect padding smaller than
// the padded dim, got padding (3, 0) for dim 2 of size 3 (input [1, 2, 3])".
Tensor pad(const Tensor& input, const std::vector<int64_t>& pad, PadMode mode = PadMode::kConstant,
           double value = 0);

}  // namespace normgrad::nn::functional

#endif  // NORMGRAD_NN_FUNCTIONAL_PADDING_H_
