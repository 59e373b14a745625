#ifndef NORMGRAD_CORE_CUDA_REDUCE_H_
#define NORMGRAD_CORE_CUDA_REDUCE_H_

// The reductions of core/cpu/reduce.h on a CUDA device (in and out are device pointers), with the same
// arguments and results: sums accumulate in double (int64 for int64), the variance merges Welford
// accumulators in double, max/min propagate NaN, arg-reductions take the first extreme (NaN first).
//
// Each output is reduced by one thread when its reduction is short (or there are many outputs), else by
// one block (warp shuffles, then shared memory). Results depend on the shapes only, never on timing.

#include <cstdint>
#include <vector>

#include "core/cpu/reduce.h"

namespace normgrad::cuda {

void Reduce(cpu::ReduceOp op, DType dtype, const Shape& shape, const Strides& strides, const void* in,
            const std::vector<bool>& reduce, void* out);

void Variance(DType dtype, const Shape& shape, const Strides& strides, const void* in,
              const std::vector<bool>& reduce, double correction, void* out);

void ArgReduce(bool is_max, DType dtype, const Shape& shape, const Strides& strides, const void* in, int64_t dim,
               void* values, int64_t* indices);

}  // namespace normgrad::cuda

#endif  // NORMGRAD_CORE_CUDA_REDUCE_H_
