#include "nn/functional/padding.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "autograd/ops.h"
#include "core/error.h"

namespace normgrad::nn::functional {
namespace {

// `x` without its first `cut_before` and last `cut_after` elements along `dim`.
Tensor Crop(const Tensor& x, int64_t dim, int64_t cut_before, int64_t cut_after) {
  if (cut_before == 0 && cut_after == 0) return x;
  return narrow(x, dim, cut_before, x.size(dim) - cut_before - cut_after);
}

// `x` with `add_before` and `add_after` (>= 0, not both 0) elements added along `dim`, as `mode` fills them.
Tensor Extend(const Tensor& x, int64_t dim, int64_t add_before, int64_t add_after, PadMode mode, double value) {
  const int64_t size = x.size(dim);
  auto sized = [&](int64_t count) {
    Shape shape = x.shape();
    shape[dim] = count;
    return shape;
  };
  std::vector<Tensor> parts;
  auto add = [&](int64_t count, bool before) {
    if (count == 0) return;
    switch (mode) {
      case PadMode::kConstant:
        parts.push_back(full(sized(count), value, {.dtype = x.dtype(), .device = x.device()}));
        break;
      case PadMode::kReflect:  // the mirror image about the edge element, which is not repeated
        for (int64_t i = 1; i <= count; ++i) {
          parts.push_back(narrow(x, dim, before ? count + 1 - i : size - 1 - i, 1));
        }
        break;
      case PadMode::kReplicate:
        parts.push_back(expand(narrow(x, dim, before ? 0 : size - 1, 1), sized(count)));
        break;
      case PadMode::kCircular:
        parts.push_back(before ? narrow(x, dim, size - count, count) : narrow(x, dim, 0, count));
        break;
    }
  };
  add(add_before, true);
  parts.push_back(x);
  add(add_after, false);
  return cat(parts, dim);
}

}  // namespace

const char* PadModeName(PadMode mode) {
  switch (mode) {
    case PadMode::kConstant: return "constant";
    case PadMode::kReflect: return "reflect";
    case PadMode::kReplicate: return "replicate";
    case PadMode::kCircular: return "circular";
  }
  return "unknown";
}

Tensor pad(const Tensor& input, const std::vector<int64_t>& pad, PadMode mode, double value) {
  NG_CHECK(input.defined(), "pad: expected an input tensor, got an undefined one");
  const int64_t pairs = static_cast<int64_t>(pad.size()) / 2, rank = input.dim();
  const char* name = PadModeName(mode);
  NG_CHECK(pad.size() % 2 == 0, "pad: expected an even number of padding sizes (a (before, after) pair per dim, ",
           "the last dim first), got ", pad.size());
  NG_CHECK(pairs <= rank, "pad: expected at most ", 2 * rank, " padding sizes (a pair for each of the input's ",
           rank, " dims), got ", pad.size(), " for an input of shape ", ShapeToString(input.shape()));
  if (mode != PadMode::kConstant) {
    NG_CHECK(value == 0, "pad: expected no fill value in ", name, " mode (value is for constant padding), got ",
             value);
    NG_CHECK(pairs >= 1 && pairs <= 3 && (rank == pairs + 1 || rank == pairs + 2), "pad: ", name,
             " padding pads the last 1, 2 or 3 dims of an input with 1 or 2 dims more (a pair of sizes for [C, W] ",
             "or [N, C, W], two for [C, H, W] or [N, C, H, W], three for [C, D, H, W] or [N, C, D, H, W]), got ",
             pad.size(), " padding sizes for an input of shape ", ShapeToString(input.shape()));
  }
  // Every pair is checked before anything is built. A negative size crops, as in PyTorch: constant and
  // circular padding crop first and pad what is left, reflect and replicate pad the whole dim and crop after.
  for (int64_t i = 0; i < pairs; ++i) {
    const int64_t dim = rank - 1 - i, size = input.size(dim), before = pad[2 * i], after = pad[2 * i + 1];
    const int64_t cut = std::max<int64_t>(-before, 0) + std::max<int64_t>(-after, 0);
    const std::string where = absl::StrCat("padding (", before, ", ", after, ") for dim ", dim, " of size ", size,
                                           " (input ", ShapeToString(input.shape()), ")");
    NG_CHECK(cut <= size, "pad: expected negative padding to remove at most the dim's elements, got ", where);
    switch (mode) {
      case PadMode::kConstant:
        break;
      case PadMode::kReflect:
        NG_CHECK(before < size && after < size, "pad: expected reflect padding smaller than the padded dim, got ",
                 where);
        NG_CHECK(size + before + after > 0, "pad: expected reflect padding that leaves at least 1 element, got ",
                 where);
        break;
      case PadMode::kReplicate:
        NG_CHECK(size > 0, "pad: expected a non-empty dim to replicate, got ", where);
        NG_CHECK(size + before + after > 0, "pad: expected replicate padding that leaves at least 1 element, got ",
                 where);
        break;
      case PadMode::kCircular:
        NG_CHECK(before <= size - cut && after <= size - cut,
                 "pad: expected circular padding at most the size of the dim it wraps (once, after the negative ",
                 "sizes' cropping), got ", where);
        break;
    }
  }
  Tensor out = input;
  for (int64_t i = 0; i < pairs; ++i) {
    const int64_t dim = rank - 1 - i, before = pad[2 * i], after = pad[2 * i + 1];
    const int64_t add_before = std::max<int64_t>(before, 0), add_after = std::max<int64_t>(after, 0);
    const int64_t cut_before = std::max<int64_t>(-before, 0), cut_after = std::max<int64_t>(-after, 0);
    const bool crop_first = mode == PadMode::kConstant || mode == PadMode::kCircular;
    if (crop_first) out = Crop(out, dim, cut_before, cut_after);
    if (add_before > 0 || add_after > 0) out = Extend(out, dim, add_before, add_after, mode, value);
    if (!crop_first) out = Crop(out, dim, cut_before, cut_after);
  }
  return out;
}

}  // namespace normgrad::nn::functional
