#ifndef NORMGRAD_CORE_CPU_COPY_H_
#define NORMGRAD_CORE_CPU_COPY_H_

#include <cstddef>
#include <cstdint>
#include <span>

namespace normgrad::cpu {

// dst[i0, ..., ik] = src[i0, ..., ik] for every index of `shape`, where element (i0, ..., ik) of an array
// lives at base + sum(i_d * stride_d) * item_size bytes. Strides are in elements and may be zero in src
// (a broadcast read) but must not make two dst elements overlap. item_size is 4 or 8.
//
// Dims are reordered so that dst is walked in memory order, adjacent dims are merged where both arrays
// allow it, contiguous runs are copied with memcpy, and large copies are split over ParallelFor.
//
// Shapes: shape, dst_strides, src_strides all of the same length (the rank; 0 copies one element).
void StridedCopy(void* dst, std::span<const int64_t> dst_strides, const void* src,
                 std::span<const int64_t> src_strides, std::span<const int64_t> shape, size_t item_size);

}  // namespace normgrad::cpu

#endif  // NORMGRAD_CORE_CPU_COPY_H_
