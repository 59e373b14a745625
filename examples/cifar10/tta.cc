#include "examples/cifar10/tta.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "core/error.h"

namespace normgrad::cifar10 {

Tensor MirrorImages(const Tensor& images) {
  Tensor mirrored = empty(images.shape());
  const int64_t width = images.size(3), rows = images.numel() / width;
  const float* in = images.data<float>();
  float* out = mirrored.data<float>();
  for (int64_t r = 0; r < rows; ++r) std::reverse_copy(in + r * width, in + (r + 1) * width, out + r * width);
  return mirrored;
}

Tensor ShiftImages(const Tensor& images, int64_t dy, int64_t dx, const std::vector<float>& fill) {
  const int64_t n = images.size(0), channels = images.size(1), h = images.size(2), w = images.size(3);
  NG_CHECK(static_cast<int64_t>(fill.size()) == channels, "ShiftImages: expected a fill value per channel (",
           channels, "), got ", fill.size());
  Tensor shifted = empty(images.shape());
  const float* in = images.data<float>();
  float* out = shifted.data<float>();
  // The columns [x0, x1) of each output row that come from the image.
  const int64_t x0 = std::clamp<int64_t>(-dx, 0, w), x1 = std::clamp<int64_t>(w - dx, x0, w);
  for (int64_t plane = 0; plane < n * channels; ++plane) {
    const float f = fill[plane % channels];
    for (int64_t y = 0; y < h; ++y) {
      float* row = out + (plane * h + y) * w;
      const int64_t sy = y + dy;
      if (sy < 0 || sy >= h) {
        std::fill(row, row + w, f);
        continue;
      }
      const float* src = in + (plane * h + sy) * w;
      std::fill(row, row + x0, f);
      std::copy(src + x0 + dx, src + x1 + dx, row + x0);
      std::fill(row + x1, row + w, f);
    }
  }
  return shifted;
}

std::vector<Tensor> TtaViews(const Tensor& images, const TtaOptions& options, const std::vector<float>& fill) {
  const int64_t s = options.shift;
  NG_CHECK(s >= 0, "TtaViews: expected a shift >= 0, got ", s);
  NG_CHECK(s > 0 || !options.diagonals, "TtaViews: expected a shift > 0 with diagonals, got ", s);
  std::vector<Tensor> views;
  auto add = [&](const Tensor& view) {
    views.push_back(view);
    if (options.flip) views.push_back(MirrorImages(view));
  };
  add(images);
  std::vector<std::pair<int64_t, int64_t>> offsets;  // (dy, dx)
  if (s > 0) offsets = {{s, 0}, {-s, 0}, {0, s}, {0, -s}};
  if (options.diagonals) offsets.insert(offsets.end(), {{s, s}, {s, -s}, {-s, s}, {-s, -s}});
  for (const auto& [dy, dx] : offsets) add(ShiftImages(images, dy, dx, fill));
  return views;
}

}  // namespace normgrad::cifar10
