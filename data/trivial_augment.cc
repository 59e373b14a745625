#include "data/trivial_augment.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <vector>

#include "core/error.h"

namespace normgrad::data {
namespace {

constexpr double kDegree = std::numbers::pi / 180;
constexpr int64_t kMaxBlendMagnitude = 1'000'000;

void CheckOp(const char* function, AugmentOp op) {
  NG_CHECK(static_cast<int>(op) >= 0 && static_cast<int>(op) < kNumAugmentOps, function,
           ": expected an operation in [0, ", kNumAugmentOps, "), got ", static_cast<int>(op));
}

uint8_t ToByte(float v) { return static_cast<uint8_t>(std::clamp(v, 0.0f, 255.0f)); }  // truncates, as .to(uint8)

// dst = factor * src + (1 - factor) * other(e), clamped and truncated to a byte, e the element index. In
// float32 as torchvision, each product rounded before the sum (data/ is compiled with -ffp-contract=off,
// so that no FMA skips that rounding).
template <typename Other>
void Blend(const uint8_t* src, uint8_t* dst, int64_t n, double factor, Other other) {
  const float a = static_cast<float>(factor), b = static_cast<float>(1.0 - factor);
  for (int64_t e = 0; e < n; ++e) dst[e] = ToByte(a * src[e] + b * other(e));
}

// torchvision's rgb_to_grayscale of one pixel: 0.2989 r + 0.587 g + 0.114 b in float32, truncated.
uint8_t Grey(uint8_t r, uint8_t g, uint8_t b) { return static_cast<uint8_t>(0.2989f * r + 0.587f * g + 0.114f * b); }

// The grey image of [C, H, W] pixels: itself for one channel.
std::vector<uint8_t> GreyImage(const uint8_t* src, const ImageSize& size) {
  const int64_t plane = size.height * size.width;
  if (size.channels == 1) return std::vector<uint8_t>(src, src + plane);
  std::vector<uint8_t> grey(plane);
  for (int64_t p = 0; p < plane; ++p) grey[p] = Grey(src[p], src[plane + p], src[2 * plane + p]);
  return grey;
}

// The inverse of the affine map torchvision's _get_inverse_affine_matrix builds (scale 1): the source
// position, relative to the image centre, of each output position. Angles in degrees; centre and translate
// in pixels relative to the image centre.
std::array<double, 6> InverseAffine(double cx, double cy, double angle, double tx, double ty, double shear_x,
                                    double shear_y) {
  const double rot = angle * kDegree, sx = shear_x * kDegree, sy = shear_y * kDegree;
  const double a = std::cos(rot - sy) / std::cos(sy);
  const double b = -std::cos(rot - sy) * std::tan(sx) / std::cos(sy) - std::sin(rot);
  const double c = std::sin(rot - sy) / std::cos(sy);
  const double d = -std::sin(rot - sy) * std::tan(sx) / std::cos(sy) + std::cos(rot);
  std::array<double, 6> m = {d, -b, 0.0, -c, a, 0.0};
  m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty) + cx;
  m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty) + cy;
  return m;
}

// Each output pixel takes the source pixel nearest (ties to even, as grid_sample's nearest mode) to where
// `m` sends its centre, or black outside the image.
void Warp(const std::array<double, 6>& m, const uint8_t* src, uint8_t* dst, const ImageSize& size) {
  const int64_t h = size.height, w = size.width;
  const double half_w = 0.5 * static_cast<double>(w), half_h = 0.5 * static_cast<double>(h);
  for (int64_t y = 0; y < h; ++y) {
    const double v = static_cast<double>(y) - half_h + 0.5;
    for (int64_t x = 0; x < w; ++x) {
      const double u = static_cast<double>(x) - half_w + 0.5;
      const double sx = std::nearbyint(m[0] * u + m[1] * v + m[2] + half_w - 0.5);
      const double sy = std::nearbyint(m[3] * u + m[4] * v + m[5] + half_h - 0.5);
      const bool inside = sx >= 0 && sx < static_cast<double>(w) && sy >= 0 && sy < static_cast<double>(h);
      const int64_t from = inside ? static_cast<int64_t>(sy) * w + static_cast<int64_t>(sx) : 0;
      for (int64_t c = 0; c < size.channels; ++c) dst[(c * h + y) * w + x] = inside ? src[c * h * w + from] : 0;
    }
  }
}

// The 3 x 3 smoothing of torchvision's sharpness (weights 1, centre 5, over 13), rounded; the border rows
// and columns keep their values.
std::vector<uint8_t> Smoothed(const uint8_t* src, const ImageSize& size) {
  const int64_t h = size.height, w = size.width;
  std::vector<uint8_t> out(src, src + size.bytes());
  for (int64_t c = 0; c < size.channels; ++c) {
    const uint8_t* p = src + c * h * w;
    for (int64_t y = 1; y + 1 < h; ++y) {
      for (int64_t x = 1; x + 1 < w; ++x) {
        int sum = 4 * p[y * w + x];
        for (int64_t dy = -1; dy <= 1; ++dy) {
          for (int64_t dx = -1; dx <= 1; ++dx) sum += p[(y + dy) * w + x + dx];
        }
        // sum / 13 is never within 1/26 of a half, so float32 convolution rounds it the same way.
        out[c * h * w + y * w + x] = static_cast<uint8_t>(std::lround(sum / 13.0));
      }
    }
  }
  return out;
}

// torchvision's equalize of one channel: a lookup table that spreads the cumulative histogram evenly,
// leaving the channel as it is when all but its brightest value hold fewer than 255 pixels.
void EqualizeChannel(const uint8_t* src, uint8_t* dst, int64_t n) {
  std::array<int64_t, 256> hist{};
  for (int64_t e = 0; e < n; ++e) ++hist[src[e]];
  int64_t last_nonzero = 255;
  while (last_nonzero > 0 && hist[last_nonzero] == 0) --last_nonzero;
  const int64_t step = (n - hist[last_nonzero]) / 255;
  if (step == 0) {
    std::copy(src, src + n, dst);
    return;
  }
  std::array<uint8_t, 256> lut{};
  int64_t cumulative = 0;
  for (int v = 0; v < 256; ++v) {
    lut[v] = static_cast<uint8_t>(std::min<int64_t>((cumulative + step / 2) / step, 255));
    cumulative += hist[v];
  }
  for (int64_t e = 0; e < n; ++e) dst[e] = lut[src[e]];
}

// Magnitudes the operations are defined for (TrivialAugment's ranges lie within them).
void CheckMagnitude(AugmentOp op, double magnitude) {
  const char* name = AugmentOpName(op);
  switch (op) {
    case AugmentOp::kBrightness:
    case AugmentOp::kColor:
    case AugmentOp::kContrast:
    case AugmentOp::kSharpness:
      // Above the bound every factor saturates the same bytes; far above it the float32 blend would overflow.
      NG_CHECK(magnitude >= -1 && magnitude <= kMaxBlendMagnitude, "ApplyAugmentOp: expected a ", name,
               " magnitude in [-1, ", kMaxBlendMagnitude, "] (a blend factor 1 + m >= 0), got ", magnitude);
      return;
    case AugmentOp::kPosterize:
      NG_CHECK(magnitude >= 0 && magnitude <= 8,
               "ApplyAugmentOp: expected a Posterize magnitude (bits) in [0, 8], got ", magnitude);
      return;
    case AugmentOp::kSolarize:
      NG_CHECK(magnitude <= 255, "ApplyAugmentOp: expected a Solarize magnitude (threshold) <= 255, got ", magnitude);
      return;
    default:
      NG_CHECK(std::isfinite(magnitude), "ApplyAugmentOp: expected a finite ", name, " magnitude, got ", magnitude);
  }
}

}  // namespace

const char* AugmentOpName(AugmentOp op) {
  CheckOp("AugmentOpName", op);
  static constexpr const char* kNames[kNumAugmentOps] = {
      "Identity", "ShearX",   "ShearY",    "TranslateX", "TranslateY", "Rotate",       "Brightness",
      "Color",    "Contrast", "Sharpness", "Posterize",  "Solarize",   "AutoContrast", "Equalize"};
  return kNames[static_cast<int>(op)];
}

bool AugmentOpIsSigned(AugmentOp op) { return op >= AugmentOp::kShearX && op <= AugmentOp::kSharpness; }

bool AugmentOpHasMagnitude(AugmentOp op) {
  return op != AugmentOp::kIdentity && op != AugmentOp::kAutoContrast && op != AugmentOp::kEqualize;
}

double AugmentMagnitude(AugmentOp op, int bin) {
  NG_CHECK(bin >= 0 && bin < kNumMagnitudeBins, "AugmentMagnitude: expected a bin in [0, ", kNumMagnitudeBins,
           "), got ", bin);
  const double t = static_cast<double>(bin) / (kNumMagnitudeBins - 1);  // 0 to 1, evenly
  switch (op) {
    case AugmentOp::kShearX:
    case AugmentOp::kShearY:
    case AugmentOp::kBrightness:
    case AugmentOp::kColor:
    case AugmentOp::kContrast:
    case AugmentOp::kSharpness:
      return static_cast<float>(0.99 * t);  // torchvision's magnitudes are float32
    case AugmentOp::kTranslateX:
    case AugmentOp::kTranslateY:
      return static_cast<float>(32 * t);
    case AugmentOp::kRotate:
      return static_cast<float>(135 * t);
    case AugmentOp::kPosterize:
      return 8 - std::round(6 * t);  // 8 bits down to 2, in even steps
    case AugmentOp::kSolarize:
      return static_cast<float>(255 * (1 - t));
    default:
      return 0;
  }
}

void ApplyAugmentOp(AugmentOp op, double magnitude, const uint8_t* src, uint8_t* dst, const ImageSize& size) {
  NG_CHECK((size.channels == 1 || size.channels == 3) && size.height >= 1 && size.width >= 1,
           "ApplyAugmentOp: expected an image of 1 or 3 channels and at least 1 x 1 pixels, got ", size.channels, " x ",
           size.height, " x ", size.width);
  CheckOp("ApplyAugmentOp", op);
  if (AugmentOpHasMagnitude(op)) CheckMagnitude(op, magnitude);
  const int64_t n = size.bytes(), plane = size.height * size.width;
  // Centres and translations are relative to the image centre; the shears' centre is the top-left corner.
  const double corner_x = -0.5 * static_cast<double>(size.width), corner_y = -0.5 * static_cast<double>(size.height);
  switch (op) {
    case AugmentOp::kIdentity:
      std::copy(src, src + n, dst);
      return;
    case AugmentOp::kShearX:
    case AugmentOp::kShearY: {
      const double angle = std::atan(magnitude) / kDegree;
      const bool x = op == AugmentOp::kShearX;
      return Warp(InverseAffine(corner_x, corner_y, 0, 0, 0, x ? angle : 0, x ? 0 : angle), src, dst, size);
    }
    case AugmentOp::kTranslateX:
    case AugmentOp::kTranslateY: {
      const double shift = std::trunc(magnitude);
      const bool x = op == AugmentOp::kTranslateX;
      return Warp(InverseAffine(0, 0, 0, x ? shift : 0, x ? 0 : shift, 0, 0), src, dst, size);
    }
    case AugmentOp::kRotate:
      // torchvision's rotate turns the other way from its affine's angle.
      return Warp(InverseAffine(0, 0, -magnitude, 0, 0, 0, 0), src, dst, size);
    case AugmentOp::kBrightness:
      return Blend(src, dst, n, 1 + magnitude, [](int64_t) { return 0.0f; });
    case AugmentOp::kColor: {
      if (size.channels == 1) return std::copy(src, src + n, dst), void();  // no colour to change
      const std::vector<uint8_t> grey = GreyImage(src, size);
      return Blend(src, dst, n, 1 + magnitude, [&](int64_t e) { return static_cast<float>(grey[e % plane]); });
    }
    case AugmentOp::kContrast: {
      const std::vector<uint8_t> grey = GreyImage(src, size);
      int64_t sum = 0;  // exact in float32 too, for images up to 65793 pixels
      for (uint8_t v : grey) sum += v;
      const float mean = static_cast<float>(sum) / static_cast<float>(plane);
      return Blend(src, dst, n, 1 + magnitude, [mean](int64_t) { return mean; });
    }
    case AugmentOp::kSharpness: {
      if (size.height <= 2 || size.width <= 2) return std::copy(src, src + n, dst), void();  // no interior
      const std::vector<uint8_t> smooth = Smoothed(src, size);
      return Blend(src, dst, n, 1 + magnitude, [&](int64_t e) { return static_cast<float>(smooth[e]); });
    }
    case AugmentOp::kPosterize: {
      const uint8_t mask = static_cast<uint8_t>(0xFF << (8 - static_cast<int>(magnitude)));
      for (int64_t e = 0; e < n; ++e) dst[e] = src[e] & mask;
      return;
    }
    case AugmentOp::kSolarize: {
      const float threshold = static_cast<float>(std::max(magnitude, -1.0));  // any threshold <= 0 inverts all
      for (int64_t e = 0; e < n; ++e) dst[e] = static_cast<float>(src[e]) >= threshold ? 255 - src[e] : src[e];
      return;
    }
    case AugmentOp::kAutoContrast:
      for (int64_t c = 0; c < size.channels; ++c) {
        const uint8_t* p = src + c * plane;
        const auto [lo, hi] = std::minmax_element(p, p + plane);
        // torchvision's 255 / (max - min) is Python's reflected division: a reciprocal, then a product.
        float low = *lo, scale = (1.0f / static_cast<float>(*hi - *lo)) * 255.0f;
        if (*hi == *lo) low = 0, scale = 1;  // a flat channel stays as it is
        for (int64_t e = 0; e < plane; ++e) dst[c * plane + e] = ToByte((static_cast<float>(p[e]) - low) * scale);
      }
      return;
    case AugmentOp::kEqualize:
      for (int64_t c = 0; c < size.channels; ++c) EqualizeChannel(src + c * plane, dst + c * plane, plane);
      return;
  }
}

void TrivialAugment(Generator& gen, const uint8_t* src, uint8_t* dst, const ImageSize& size) {
  const auto op = static_cast<AugmentOp>(gen.NextBelow(kNumAugmentOps));
  double magnitude = 0;
  if (AugmentOpHasMagnitude(op)) magnitude = AugmentMagnitude(op, static_cast<int>(gen.NextBelow(kNumMagnitudeBins)));
  if (AugmentOpIsSigned(op) && gen.NextBelow(2) == 1) magnitude = -magnitude;
  ApplyAugmentOp(op, magnitude, src, dst, size);
}

}  // namespace normgrad::data
