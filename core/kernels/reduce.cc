#include "core/kernels/reduce.h"

#include "absl/strings/str_join.h"
#include "core/cpu/reduce.h"
#include "core/cuda/device.h"
#include "core/cuda/reduce.h"
#include "core/kernels/elementwise.h"

namespace normgrad::kernels {
namespace {

// The family's device switch: the raw kernels of core/cpu/reduce.h or their twins in core/cuda/reduce.h
// (the function pointer types check that the signatures agree).
struct Backend {
  decltype(&cpu::Reduce) reduce;
  decltype(&cpu::Variance) variance;
  decltype(&cpu::ArgReduce) arg_reduce;
};

const Backend& On(Device device) {
  static constexpr Backend kCpu{cpu::Reduce, cpu::Variance, cpu::ArgReduce};
  static constexpr Backend kCuda{cuda::Reduce, cuda::Variance, cuda::ArgReduce};
  switch (device.type) {
    case Device::Type::kCPU: return kCpu;
    case Device::Type::kCUDA:
      cuda::MakeCurrent(device.index);
      return kCuda;
  }
  __builtin_unreachable();
}

std::string MaskToString(const std::vector<bool>& mask) {
  std::vector<int64_t> dims;
  for (size_t d = 0; d < mask.size(); ++d) {
    if (mask[d]) dims.push_back(static_cast<int64_t>(d));
  }
  return absl::StrJoin(dims, ", ");
}

void CheckNonEmpty(const char* op, const Tensor& x, const std::vector<bool>& mask) {
  for (int64_t d = 0; d < x.dim(); ++d) {
    NG_CHECK(!mask[d] || x.size(d) > 0, op, ": expected a non-empty reduction, got shape ",
             ShapeToString(x.shape()), " reduced over dim ", MaskToString(mask));
  }
}

Tensor Reduce(cpu::ReduceOp rop, const char* op, const Tensor& x, const std::vector<int64_t>& dims,
              bool keepdim) {
  const std::vector<bool> mask = ReduceMask(dims, x.dim(), op);
  Tensor out = empty(ReducedShape(x.shape(), mask, keepdim), {.dtype = x.dtype(), .device = x.device()});
  On(x.device()).reduce(rop, x.dtype(), x.shape(), x.strides(), x.data_ptr(), mask, out.data_ptr());
  return out;
}

ValuesIndices MaxMin(bool is_max, const char* op, const Tensor& x, int64_t dim, bool keepdim, bool values) {
  const std::vector<bool> mask = ReduceMask({dim}, x.dim(), op);
  CheckNonEmpty(op, x, mask);
  const Shape shape = ReducedShape(x.shape(), mask, keepdim);
  ValuesIndices r;
  if (values) r.values = empty(shape, {.dtype = x.dtype(), .device = x.device()});
  r.indices = empty(shape, {.dtype = kInt64, .device = x.device()});
  On(x.device()).arg_reduce(is_max, x.dtype(), x.shape(), x.strides(), x.data_ptr(), NormalizeDim(dim, x.dim(), op),
                            values ? r.values.data_ptr() : nullptr, static_cast<int64_t*>(r.indices.data_ptr()));
  return r;
}

Tensor FlatArg(bool is_max, const char* op, const Tensor& x) {
  NG_CHECK(x.numel() > 0, op, ": expected a non-empty tensor, got shape ", ShapeToString(x.shape()));
  Tensor flat = x;
  if (!x.is_contiguous()) {
    flat = empty(x.shape(), {.dtype = x.dtype(), .device = x.device()});
    copy_(flat, x);
  }
  Tensor out = empty({}, {.dtype = kInt64, .device = x.device()});
  On(x.device()).arg_reduce(is_max, x.dtype(), {x.numel()}, {1}, flat.data_ptr(), 0, nullptr,
                            static_cast<int64_t*>(out.data_ptr()));
  return out;
}

}  // namespace

std::vector<bool> ReduceMask(const std::vector<int64_t>& dims, int64_t rank, const char* op) {
  std::vector<bool> mask(rank, dims.empty());
  for (int64_t d : dims) {
    const int64_t n = NormalizeDim(d, rank, op);
    if (rank == 0) continue;  // dim 0 / -1 of a scalar names the scalar itself
    NG_CHECK(!mask[n], op, ": expected distinct dims, got dim ", n, " twice");
    mask[n] = true;
  }
  return mask;
}

Shape ReducedShape(const Shape& shape, const std::vector<bool>& mask, bool keepdim) {
  Shape out;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (!mask[d]) {
      out.push_back(shape[d]);
    } else if (keepdim) {
      out.push_back(1);
    }
  }
  return out;
}

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return Reduce(cpu::ReduceOp::kSum, "sum", x, dims, keepdim);
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  NG_CHECK(IsFloating(x.dtype()), "mean: expected a floating-point tensor (float32 or float64), got ",
           DTypeName(x.dtype()));
  return Reduce(cpu::ReduceOp::kMean, "mean", x, dims, keepdim);
}

Tensor var(const Tensor& x, const std::vector<int64_t>& dims, double correction, bool keepdim) {
  NG_CHECK(IsFloating(x.dtype()), "var: expected a floating-point tensor (float32 or float64), got ",
           DTypeName(x.dtype()));
  NG_CHECK(correction >= 0, "var: expected a non-negative correction, got ", correction);
  const std::vector<bool> mask = ReduceMask(dims, x.dim(), "var");
  Tensor out = empty(ReducedShape(x.shape(), mask, keepdim), {.dtype = x.dtype(), .device = x.device()});
  On(x.device()).variance(x.dtype(), x.shape(), x.strides(), x.data_ptr(), mask, correction, out.data_ptr());
  return out;
}

Tensor amax(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  CheckNonEmpty("amax", x, ReduceMask(dims, x.dim(), "amax"));
  return Reduce(cpu::ReduceOp::kMax, "amax", x, dims, keepdim);
}

Tensor amin(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  CheckNonEmpty("amin", x, ReduceMask(dims, x.dim(), "amin"));
  return Reduce(cpu::ReduceOp::kMin, "amin", x, dims, keepdim);
}

ValuesIndices max(const Tensor& x, int64_t dim, bool keepdim) { return MaxMin(true, "max", x, dim, keepdim, true); }
ValuesIndices min(const Tensor& x, int64_t dim, bool keepdim) {
  return MaxMin(false, "min", x, dim, keepdim, true);
}

Tensor argmax(const Tensor& x) { return FlatArg(true, "argmax", x); }
Tensor argmin(const Tensor& x) { return FlatArg(false, "argmin", x); }
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
  return MaxMin(true, "argmax", x, dim, keepdim, false).indices;
}
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim) {
  return MaxMin(false, "argmin", x, dim, keepdim, false).indices;
}

}  // namespace normgrad::kernels
