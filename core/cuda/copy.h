#ifndef NORMGRAD_CORE_CUDA_COPY_H_
#define NORMGRAD_CORE_CUDA_COPY_H_

#include <cstddef>
#include <cstdint>
#include <span>

namespace normgrad::cuda {

// core/cpu/copy.h's StridedCopy on a CUDA device (dst and src are device pointers): dst[i...] = src[i...]
// over `shape`, strides in elements (src's may be 0), item_size 4 or 8. One grid-stride kernel.
void StridedCopy(void* dst, std::span<const int64_t> dst_strides, const void* src,
                 std::span<const int64_t> src_strides, std::span<const int64_t> shape, size_t item_size);

}  // namespace normgrad::cuda

#endif  // NORMGRAD_CORE_CUDA_COPY_H_
