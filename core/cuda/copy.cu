#include "core/cuda/copy.h"

#include "core/cuda/launch.h"
#include "core/cuda/strided.h"

namespace normgrad::cuda {
namespace {

// Moves items as raw bits (U is a 4- or 8-byte unsigned integer), so any dtype of that size is copied.
template <typename U>
__global__ void StridedCopyKernel(StridedPlan<2> plan) {
  for (int64_t i = GlobalThreadIndex(); i < plan.numel; i += GridStride()) {
    int64_t off[2];
    plan.Offsets(i, off);
    *reinterpret_cast<U*>(plan.base[0] + off[0]) = *reinterpret_cast<const U*>(plan.base[1] + off[1]);
  }
}

template <typename U>
void Run(void* dst, std::span<const int64_t> dst_strides, const void* src, std::span<const int64_t> src_strides,
         std::span<const int64_t> shape) {
  const Shape s(shape.begin(), shape.end());
  const auto plan = MakeStridedPlan<2>(
      s, {cpu::Operand{dst, Strides(dst_strides.begin(), dst_strides.end())},
          cpu::Operand{const_cast<void*>(src), Strides(src_strides.begin(), src_strides.end())}},
      {sizeof(U), sizeof(U)}, "cuda::StridedCopy");
  if (plan.numel > 0) Launch<StridedCopyKernel<U>>(GridSize(plan.numel), kBlockSize, plan);
}

}  // namespace

void StridedCopy(void* dst, std::span<const int64_t> dst_strides, const void* src,
                 std::span<const int64_t> src_strides, std::span<const int64_t> shape, size_t item_size) {
  NG_CHECK(item_size == 4 || item_size == 8, "cuda::StridedCopy: expected items of 4 or 8 bytes, got ", item_size);
  if (item_size == 4) {
    Run<uint32_t>(dst, dst_strides, src, src_strides, shape);
  } else {
    Run<uint64_t>(dst, dst_strides, src, src_strides, shape);
  }
}

}  // namespace normgrad::cuda
