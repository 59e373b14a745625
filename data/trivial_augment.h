#ifndef NORMGRAD_DATA_TRIVIAL_AUGMENT_H_
#define NORMGRAD_DATA_TRIVIAL_AUGMENT_H_

#include <cstdint>

#include "core/random.h"

namespace normgrad::data {

// TrivialAugment Wide (Müller & Hutter 2021): each image gets one operation drawn uniformly from these 14,
// at a magnitude drawn uniformly from 31 bins, negated by a fair coin for the signed ones. The operations,
// magnitudes and rounding are torchvision's (TrivialAugmentWide on uint8 tensors, nearest-pixel sampling,
// black where a geometric operation brings in pixels from outside the image).
enum class AugmentOp {
  kIdentity,
  kShearX,        // output (x, y) = source (x + m (y + 1/2), y): lower rows slide further; m in [0, 0.99]
  kShearY,        // output (x, y) = source (x, y + m (x + 1/2)); m in [0, 0.99]
  kTranslateX,    // shift right by trunc(m) pixels; m in [0, 32]
  kTranslateY,    // shift down by trunc(m) pixels; m in [0, 32]
  kRotate,        // m degrees counter-clockwise about the image centre; m in [0, 135]
  kBrightness,    // blend with black at factor 1 + m; m in [0, 0.99]
  kColor,         // blend with the grey image (saturation) at 1 + m
  kContrast,      // blend with the grey image's mean at 1 + m
  kSharpness,     // blend with a 3 x 3 smoothed image (the border unchanged) at 1 + m
  kPosterize,     // keep the top m bits of each value; m in {8, 7, ..., 2}
  kSolarize,      // v >= m becomes 255 - v; m in [0, 255]
  kAutoContrast,  // stretch each channel's range to [0, 255]
  kEqualize,      // equalize each channel's histogram
};
inline constexpr int kNumAugmentOps = 14;
inline constexpr int kNumMagnitudeBins = 31;

// torchvision's name of the operation ("ShearX", ...); throws normgrad::Error for one outside the enum.
const char* AugmentOpName(AugmentOp op);
// Whether TrivialAugment negates the magnitude half of the time, and whether it draws one at all.
bool AugmentOpIsSigned(AugmentOp op);
bool AugmentOpHasMagnitude(AugmentOp op);
// The magnitude of `bin` in [0, kNumMagnitudeBins), before the sign (0 for the operations without one):
// torchvision's float32 values, to within the last bit (which its vectorized linspace rounds its own way).
double AugmentMagnitude(AugmentOp op, int bin);

// The geometry of an image of bytes stored channels first, [C, H, W] with C = 1 or 3, as ImageDataset's.
struct ImageSize {
  int64_t channels = 0;
  int64_t height = 0;
  int64_t width = 0;
  int64_t bytes() const { return channels * height * width; }
};

// dst = op(src) at `magnitude` (signed). dst and src hold size.bytes() values each and do not overlap.
// Geometric operations may differ from torchvision's by a pixel where the source position falls half-way
// between two pixels (torchvision computes it in float32, this in double). Throws normgrad::Error for an
// operation outside the enum, a channel count other than 1 or 3, an empty image, or a magnitude the
// operation is not defined for: a blend magnitude outside [-1, 1e6] (a factor 1 + m below 0, or so large
// that float32 would overflow: every factor above saturates alike), posterize bits outside [0, 8], a
// solarize threshold above 255 or NaN, a geometric one not finite.
void ApplyAugmentOp(AugmentOp op, double magnitude, const uint8_t* src, uint8_t* dst, const ImageSize& size);

// One TrivialAugment Wide draw from `gen` applied to src into dst: the operation, then (where it has one)
// the magnitude's bin, then (where it is signed) the sign, each uniformly.
void TrivialAugment(Generator& gen, const uint8_t* src, uint8_t* dst, const ImageSize& size);

}  // namespace normgrad::data

#endif  // NORMGRAD_DATA_TRIVIAL_AUGMENT_H_
