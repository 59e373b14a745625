#include "nn/functional/padding.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "autograd/ops.h"
#include "core/error.h"

namespace normgrad::nn::functional {
namespace {

// `x` padded on `dim` by (before, after) >= 0 of its own values, as `mode` (not kConstant) takes them.
Tensor PadWithOwnValues(const Tensor& x, int64_t dim, int64_t before, int64_t after, PadMode mode) {
  const int64_t size = x.size(dim);
  auto edge = [&](int64_t index, int64_t count) {  // the element at `index`, repeated count times
    Shape shape = x.shape();
    shape[dim] = count;
    return expand(narrow(x, dim, index, 1), shape);
  };
  std::vector<Tensor> parts;
  if (mode == PadMode::kReflect) {
    for (int64_t i = before; i >= 1; --i) parts.push_back(narrow(x, dim, i, 1));
    parts.push_back(x);
    for (int64_t i = 1; i <= after; ++i) parts.push_back(narrow(x, dim, size - 1 - i, 1));
  } else if (mode == PadMode::kReplicate) {
    if (before > 0) parts.push_back(edge(0, before));
    parts.push_back(x);
    if (after > 0) parts.push_back(edge(size - 1, after));
  } else {  // circular
    if (before > 0) parts.push_back(narrow(x, dim, size - before, before));
    parts.push_back(x);
    if (after > 0) parts.push_back(narrow(x, dim, 0, after));
  }
  return parts.size() == 1 ? x : cat(parts, dim);
}

// `x` with (before, after) elements of `value` added on `dim`, or removed where negative.
Tensor PadWithConstant(const Tensor& x, int64_t dim, int64_t before, int64_t after, double value) {
  const int64_t cut_before = std::max<int64_t>(-before, 0), cut_after = std::max<int64_t>(-after, 0);
  Tensor kept = x;
  if (cut_before > 0 || cut_after > 0) kept = narrow(x, dim, cut_before, x.size(dim) - cut_before - cut_after);
  auto fill = [&](int64_t count) {
    Shape shape = x.shape();
    shape[dim] = count;
    return full(shape, value, {.dtype = x.dtype(), .device = x.device()});
  };
  std::vector<Tensor> parts;
  if (before > 0) parts.push_back(fill(before));
  parts.push_back(kept);
  if (after > 0) parts.push_back(fill(after));
  return parts.size() == 1 ? kept : cat(parts, dim);
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
  // Every pair is checked before anything is built.
  for (int64_t i = 0; i < pairs; ++i) {
    const int64_t dim = rank - 1 - i, size = input.size(dim), before = pad[2 * i], after = pad[2 * i + 1];
    const std::string where = absl::StrCat("padding (", before, ", ", after, ") for dim ", dim, " of size ", size,
                                           " (input ", ShapeToString(input.shape()), ")");
    if (mode == PadMode::kConstant) {
      NG_CHECK(size + before + after >= 0, "pad: expected negative padding to remove at most the dim's elements, ",
               "got ", where);
      continue;
    }
    NG_CHECK(before >= 0 && after >= 0, "pad: expected padding sizes >= 0 in ", name,
             " mode (negative sizes crop in constant mode only), got ", where);
    if (mode == PadMode::kReflect) {
      NG_CHECK(before < size && after < size, "pad: expected reflect padding smaller than the padded dim, got ",
               where);
    } else if (mode == PadMode::kReplicate) {
      NG_CHECK(size > 0, "pad: expected a non-empty dim to replicate, got ", where);
    } else {
      NG_CHECK(before <= size && after <= size,
               "pad: expected circular padding at most the padded dim's size (wrapping around once), got ", where);
    }
  }
  Tensor out = input;
  for (int64_t i = 0; i < pairs; ++i) {
    const int64_t dim = rank - 1 - i, before = pad[2 * i], after = pad[2 * i + 1];
    if (before == 0 && after == 0) continue;
    out = mode == PadMode::kConstant ? PadWithConstant(out, dim, before, after, value)
                                     : PadWithOwnValues(out, dim, before, after, mode);
  }
  return out;
}

}  // namespace normgrad::nn::functional
