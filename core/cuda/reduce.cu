#include "core/cuda/reduce.h"

#include <limits>
#include <type_traits>

#include "core/cuda/block_reduce.h"
#include "core/cuda/device_math.h"
#include "core/cuda/launch.h"
#include "core/cuda/strided.h"

namespace normgrad::cuda {
namespace {

// Reduction ops: Load turns element r of an output's reduction into an accumulator, Combine merges two
// (associative and commutative, so any order gives a valid result), Store writes output o from the
// accumulator of `count` elements.

template <typename T>
struct SumOp {
  using Acc = std::conditional_t<std::is_integral_v<T>, int64_t, double>;
  T* out;
  bool mean;
  __device__ Acc Identity() const { return Acc(0); }
  __device__ Acc Load(T x, int64_t) const { return static_cast<Acc>(x); }
  __device__ Acc Combine(Acc a, Acc b) const { return a + b; }
  __device__ void Store(int64_t o, Acc a, int64_t count) const {
    if constexpr (std::is_floating_point_v<T>) {
      out[o] = static_cast<T>(mean ? a / static_cast<double>(count) : a);
    } else {
      out[o] = static_cast<T>(a);
    }
  }
};

template <typename T>
struct ExtremeOp {
  using Acc = T;
  T* out;
  bool is_max;
  // -inf / inf for floating types (as the CPU's), so that a row of -inf has max -inf, not -FLT_MAX.
  __device__ Acc Identity() const {
    if constexpr (std::is_floating_point_v<T>) {
      return is_max ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
    }
    return is_max ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
  }
  __device__ Acc Load(T x, int64_t) const { return x; }
  __device__ Acc Combine(Acc a, Acc b) const {
    if constexpr (std::is_floating_point_v<T>) {
      if (IsNan(a)) return a;
      if (IsNan(b)) return b;
    }
    return is_max ? (b > a ? b : a) : (b < a ? b : a);
  }
  __device__ void Store(int64_t o, Acc a, int64_t) const { out[o] = a; }
};

template <typename T>
struct VarianceOp {
  using Acc = Welford<double>;
  T* out;
  double correction;
  __device__ Acc Identity() const { return WelfordEmpty<double>(); }
  __device__ Acc Load(T x, int64_t) const { return {static_cast<double>(x), 0.0, 1}; }
  __device__ Acc Combine(Acc a, Acc b) const { return WelfordMerge(a, b); }
  __device__ void Store(int64_t o, Acc a, int64_t) const {
    const double dof = static_cast<double>(a.n) - correction;
    out[o] = static_cast<T>(a.m2 / (dof > 0 ? dof : 0.0));
  }
};

template <typename T>
struct ValueIndex {
  T value;
  int64_t index;
};

template <typename T>
__device__ __forceinline__ ValueIndex<T> ShuffleDown(const ValueIndex<T>& v, int delta) {
  return {cuda::ShuffleDown(v.value, delta), cuda::ShuffleDown(v.index, delta)};
}

// The first position of the largest (smallest) value; NaN counts as the most extreme value. An index of
// -1 marks the empty accumulator.
template <typename T>
struct ArgOp {
  using Acc = ValueIndex<T>;
  T* values;  // may be null
  int64_t* indices;
  bool is_max;
  __device__ Acc Identity() const { return {T(0), -1}; }
  __device__ Acc Load(T x, int64_t r) const { return {x, r}; }
  __device__ bool Beats(const Acc& a, const Acc& b) const {  // a strictly better than b, ignoring ties
    if constexpr (std::is_floating_point_v<T>) {
      if (IsNan(b.value)) return false;
      if (IsNan(a.value)) return true;
    }
    return is_max ? a.value > b.value : a.value < b.value;
  }
  __device__ Acc Combine(Acc a, Acc b) const {
    if (a.index < 0) return b;
    if (b.index < 0) return a;
    if (Beats(a, b)) return a;
    if (Beats(b, a)) return b;
    return a.index < b.index ? a : b;
  }
  __device__ void Store(int64_t o, Acc a, int64_t) const {
    if (values != nullptr) values[o] = a.value;
    indices[o] = a.index;
  }
};

// outer: loop over the outputs in row-major order (operand 0 the outputs, operand 1 the input);
// inner: the reduced elements of one output (byte offsets from that output's first element).
template <typename T, typename Op>
__global__ void ReduceSerialKernel(Op op, StridedPlan<2> outer, StridedPlan<1> inner) {
  for (int64_t o = GlobalThreadIndex(); o < outer.numel; o += GridStride()) {
    int64_t off[2];
    outer.Offsets(o, off);
    const char* base = outer.base[1] + off[1];
    typename Op::Acc acc = op.Identity();
    for (int64_t r = 0; r < inner.numel; ++r) {
      int64_t roff[1];
      inner.Offsets(r, roff);
      acc = op.Combine(acc, op.Load(*reinterpret_cast<const T*>(base + roff[0]), r));
    }
    op.Store(o, acc, inner.numel);
  }
}

template <typename T, typename Op>
__global__ void ReduceBlockKernel(Op op, StridedPlan<2> outer, StridedPlan<1> inner) {
  for (int64_t o = blockIdx.x; o < outer.numel; o += gridDim.x) {
    int64_t off[2];
    outer.Offsets(o, off);
    const char* base = outer.base[1] + off[1];
    typename Op::Acc acc = op.Identity();
    for (int64_t r = threadIdx.x; r < inner.numel; r += blockDim.x) {
      int64_t roff[1];
      inner.Offsets(r, roff);
      acc = op.Combine(acc, op.Load(*reinterpret_cast<const T*>(base + roff[0]), r));
    }
    acc = BlockReduce(acc, [&](const typename Op::Acc& a, const typename Op::Acc& b) { return op.Combine(a, b); },
                      op.Identity());
    if (threadIdx.x == 0) op.Store(o, acc, inner.numel);
  }
}

// Splits the input's dims into the kept ones (outer, in output order) and the reduced ones (inner), and
// launches one of the two kernels.
template <typename T, typename Op>
void Run(Op op, const Shape& shape, const Strides& strides, const void* in, const std::vector<bool>& reduce,
         const char* name) {
  Shape kept_shape, reduced_shape;
  Strides kept_strides, reduced_strides;
  for (size_t d = 0; d < shape.size(); ++d) {
    (reduce[d] ? reduced_shape : kept_shape).push_back(shape[d]);
    (reduce[d] ? reduced_strides : kept_strides).push_back(strides[d]);
  }
  // The outputs operand is a placeholder that fixes the row-major order of the outputs (it is contiguous).
  const StridedPlan<2> outer = MakeStridedPlan<2>(
      kept_shape, {cpu::Operand{nullptr, ContiguousStrides(kept_shape)}, cpu::Operand{const_cast<void*>(in), kept_strides}},
      {1, sizeof(T)}, name);
  const StridedPlan<1> inner =
      MakeStridedPlan<1>(reduced_shape, {cpu::Operand{nullptr, reduced_strides}}, {sizeof(T)}, name);
  if (outer.numel == 0) return;
  // A thread per output when each reduction is short or the outputs alone fill the device.
  const int64_t resident = int64_t{MultiprocessorCount()} * 2048;
  if (inner.numel <= 32 || outer.numel >= resident / 4) {
    Launch<ReduceSerialKernel<T, Op>>(GridSize(outer.numel), kBlockSize, op, outer, inner);
  } else {
    const unsigned int blocks = static_cast<unsigned int>(std::min<int64_t>(outer.numel, resident / 32));
    Launch<ReduceBlockKernel<T, Op>>(blocks, ReduceBlockSize(inner.numel), op, outer, inner);
  }
}

}  // namespace

void Reduce(cpu::ReduceOp op, DType dtype, const Shape& shape, const Strides& strides, const void* in,
            const std::vector<bool>& reduce, void* out) {
  VisitDType(dtype, [&]<typename T>() {
    T* o = static_cast<T*>(out);
    switch (op) {
      case cpu::ReduceOp::kSum: return Run<T>(SumOp<T>{o, false}, shape, strides, in, reduce, "cuda::Reduce");
      case cpu::ReduceOp::kMean: return Run<T>(SumOp<T>{o, true}, shape, strides, in, reduce, "cuda::Reduce");
      case cpu::ReduceOp::kMax: return Run<T>(ExtremeOp<T>{o, true}, shape, strides, in, reduce, "cuda::Reduce");
      case cpu::ReduceOp::kMin: return Run<T>(ExtremeOp<T>{o, false}, shape, strides, in, reduce, "cuda::Reduce");
    }
  });
}

void Variance(DType dtype, const Shape& shape, const Strides& strides, const void* in,
              const std::vector<bool>& reduce, double correction, void* out) {
  VisitFloatDType(dtype, "cuda::Variance", [&]<typename T>() {
    Run<T>(VarianceOp<T>{static_cast<T*>(out), correction}, shape, strides, in, reduce, "cuda::Variance");
  });
}

void ArgReduce(bool is_max, DType dtype, const Shape& shape, const Strides& strides, const void* in, int64_t dim,
               void* values, int64_t* indices) {
  std::vector<bool> reduce(shape.size(), false);
  if (dim < static_cast<int64_t>(shape.size())) reduce[dim] = true;  // a scalar reduces over nothing
  VisitDType(dtype, [&]<typename T>() {
    Run<T>(ArgOp<T>{static_cast<T*>(values), indices, is_max}, shape, strides, in, reduce, "cuda::ArgReduce");
  });
}

}  // namespace normgrad::cuda
