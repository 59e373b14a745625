#ifndef NORMGRAD_EXAMPLES_CIFAR10_TTA_H_
#define NORMGRAD_EXAMPLES_CIFAR10_TTA_H_

// Test-time augmentation: the views of an evaluation batch whose logits the evaluation averages.

#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace normgrad::cifar10 {

// The batch `images` (float32 [N, C, H, W], normalized, on the CPU) left-right mirrored.
Tensor MirrorImages(const Tensor& images);

// The batch moved by (dy, dx): view[n, c, y, x] = images[n, c, y + dy, x + dx], and fill[c] where that
// pixel lies outside the image (the training crops' padding: a black pixel, normalized).
Tensor ShiftImages(const Tensor& images, int64_t dy, int64_t dx, const std::vector<float>& fill);

// Which views of each image an evaluation averages.
struct TtaOptions {
  bool flip = false;       // each view followed by its mirror image
  int64_t shift = 0;       // > 0: also the image moved this many pixels up, down, left and right
  bool diagonals = false;  // with shift: and moved diagonally, both ways at once (a 3 x 3 grid)
};

// The views: the batch itself; with shift > 0 also the batch moved `shift` pixels up, down, left and right
// (training crops of 4-pixel padding nearest the centre), with diagonals also up-left, up-right, down-left
// and down-right; with flip, each of those followed by its mirror image: 1, 2, 5, 9, 10 or 18 views. The
// set is mirror-symmetric: an image and its mirror image get the same views.
std::vector<Tensor> TtaViews(const Tensor& images, const TtaOptions& options, const std::vector<float>& fill);

}  // namespace normgrad::cifar10

#endif  // NORMGRAD_EXAMPLES_CIFAR10_TTA_H_
