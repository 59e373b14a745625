#ifndef NORMGRAD_CORE_CPU_REDUCE_H_
#define NORMGRAD_CORE_CPU_REDUCE_H_

// Raw reduction kernels over a strided input.
//
// Shape legend: the input has `shape` and element `strides` (any, stride 0 included); `reduce[d]` marks
// the reduced dims. The output is contiguous and holds one value per combination of the kept dims, in
// row-major order of the kept dims (numel = product of the kept sizes).
//
// Sums accumulate in double (int64 for int64 inputs) over blocks of 8 interleaved lanes, so a float32
// sum of 10^8 values is exact to float32 rounding. The order of accumulation depends on the shapes
// only, never on the number of threads: the same call gives the same bits on any machine.

#include <cstdint>
#include <vector>

#include "core/dtype.h"
#include "core/shape.h"

namespace normgrad::cpu {

enum class ReduceOp {
  kSum,
  kMean,  // sum / count; NaN for an empty reduction (floating types only)
  kMax,   // NaN if any value is NaN; the caller rejects empty reductions
  kMin,
};

void Reduce(ReduceOp op, DType dtype, const Shape& shape, const Strides& strides, const void* in,
            const std::vector<bool>& reduce, void* out);

// sum((x - mean)^2) / max(0, count - correction), two passes with double accumulators (never
// E[x^2] - E[x]^2, which cancels catastrophically). Floating types only.
void Variance(DType dtype, const Shape& shape, const Strides& strides, const void* in,
              const std::vector<bool>& reduce, double correction, void* out);

// Along the single dim `dim`: the position of the largest (is_max) or smallest value, the first one
// on ties, and NaN beats every number (as in PyTorch). `values` (dtype, may be null) gets the value,
// `indices` the position. The caller rejects a dim of size 0.
void ArgReduce(bool is_max, DType dtype, const Shape& shape, const Strides& strides, const void* in,
               int64_t dim, void* values, int64_t* indices);

}  // namespace normgrad::cpu

#endif  // NORMGRAD_CORE_CPU_REDUCE_H_
