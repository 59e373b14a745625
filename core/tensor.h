#ifndef NORMGRAD_CORE_TENSOR_H_
#define NORMGRAD_CORE_TENSOR_H_

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/shape.h"
#include "core/storage.h"

namespace normgrad {

namespace autograd {
class Node;
}  // namespace autograd

struct TensorImpl;

// Options for creating a tensor: ng::zeros({2, 3}, {.dtype = kFloat64, .requires_grad = true}).
struct TensorOptions {
  DType dtype = kFloat32;
  Device device = kCPU;
  bool requires_grad = false;
};

struct BackwardOptions {
  // Keep the graph's saved tensors so that backward can run through it again.
  bool retain_graph = false;
  // Record the backward pass itself, for higher-order gradients (implies retain_graph).
  bool create_graph = false;
};

// An n-dimensional strided view over a shared Storage, plus its autograd state.
//
// Tensor is a handle: copies share the same data and autograd state, like torch.Tensor in Python.
// Element (i0, ..., ik) lives at storage element offset + sum(i_d * stride_d). Views (reshape, permute,
// narrow, expand, ...) share storage; ops are free functions in namespace normgrad (see autograd/ops.h),
// recorded in the autograd graph when an input requires grad and grad mode is on.
class Tensor {
 public:
  Tensor() = default;  // an undefined tensor: defined() is false, every other accessor throws

  // A tensor over `storage` (no copy). Throws if the view does not fit in the storage.
  static Tensor FromStorage(Storage storage, Shape shape, Strides strides, int64_t offset, DType dtype);

  bool defined() const { return impl_ != nullptr; }

  // ---- metadata
  const Shape& shape() const;
  int64_t dim() const { return static_cast<int64_t>(shape().size()); }
  int64_t size(int64_t dim) const;  // negative dims count from the end
  const Strides& strides() const;
  int64_t stride(int64_t dim) const;
  int64_t storage_offset() const;
  int64_t numel() const;
  DType dtype() const;
  Device device() const;
  const Storage& storage() const;
  bool is_contiguous() const;
  // True when both handles refer to the same tensor (not merely equal values).
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }

  // ---- data
  // Pointer to element (0, ..., 0). Throws unless T matches dtype() and the tensor is on the CPU.
  template <typename T>
  T* data() const;
  void* raw_data() const;
  // Address of element (0, ..., 0) in the memory of the tensor's device (a device pointer for a CUDA
  // tensor, for kernels to pass on; never dereferenced on the host).
  void* data_ptr() const;
  // The same as a T*; throws unless T matches dtype().
  template <typename T>
  T* data_ptr() const;
  // The value of a one-element tensor, converted to T. This and at() and to_vector() read a CUDA tensor
  // through a copy to the CPU.
  template <typename T = double>
  T item() const;
  // The element at `index` (one entry per dim), converted to T.
  template <typename T = double>
  T at(std::span<const int64_t> index) const;
  template <typename T = double>
  T at(std::initializer_list<int64_t> index) const {
    return at<T>(std::span<const int64_t>(index.begin(), index.size()));
  }
  // Every element in row-major order, converted to T.
  template <typename T>
  std::vector<T> to_vector() const;

  // ---- autograd
  bool requires_grad() const;
  // Marks a leaf as needing gradients. Throws for non-leaves and for int64 tensors.
  Tensor& set_requires_grad(bool requires_grad = true);
  // The accumulated gradient of a leaf; undefined until a backward pass reaches it.
  Tensor grad() const;
  void set_grad(const Tensor& grad) const;
  // A leaf was created by the user, not by an op recorded in the graph.
  bool is_leaf() const;
  const std::shared_ptr<autograd::Node>& grad_fn() const;
  // The same data, cut from the graph: no grad_fn, requires_grad false.
  Tensor detach() const;

  // Accumulates d(this)/d(leaf) * gradient into every leaf's grad(). `gradient` may be omitted for a
  // one-element tensor (it is then 1). Throws if this tensor does not require grad, if the gradient's
  // shape differs, or if the graph was freed by an earlier backward without retain_graph.
  // Defined with the engine in autograd/engine.cc.
  void backward(const Tensor& gradient = Tensor(), BackwardOptions options = {}) const;

  // ---- in-place writes (defined with the ops in autograd/ops/elementwise.cc, which documents them):
  // this = this (op) src; they return *this and bump the storage version.
  const Tensor& add_(const Tensor& src) const;
  const Tensor& sub_(const Tensor& src) const;
  const Tensor& mul_(const Tensor& src) const;
  const Tensor& div_(const Tensor& src) const;
  const Tensor& add_(double s) const;
  const Tensor& sub_(double s) const;
  const Tensor& mul_(double s) const;
  const Tensor& div_(double s) const;
  const Tensor& fill_(double value) const;
  const Tensor& zero_() const;
  const Tensor& copy_(const Tensor& src) const;

  // ---- printing
  // PyTorch-like: tensor([[1.0000, 2.0000]], dtype=float64, requires_grad=true)
  std::string ToString() const;

  // ---- internals, for ops and kernels
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}
  // A view of the same storage with other geometry and no autograd state.
  Tensor AliasWithGeometry(Shape shape, Strides strides, int64_t offset) const;
  // Records an in-place write (for the saved-tensor checks in backward).
  void BumpVersion() const;
  void set_grad_fn(std::shared_ptr<autograd::Node> node) const;

 private:
  const TensorImpl& checked_impl() const;
  std::shared_ptr<TensorImpl> impl_;
};

struct TensorImpl {
  Storage storage;
  Shape shape;
  Strides strides;
  int64_t offset = 0;
  DType dtype = kFloat32;

  bool requires_grad = false;
  std::shared_ptr<autograd::Node> grad_fn;  // null for leaves
  Tensor grad;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// ---- creation (no graph; pass requires_grad in the options to make a leaf that needs gradients)
// Uninitialized contents.
Tensor empty(const Shape& shape, TensorOptions options = {});
Tensor zeros(const Shape& shape, TensorOptions options = {});
Tensor ones(const Shape& shape, TensorOptions options = {});
Tensor full(const Shape& shape, double value, TensorOptions options = {});
// Values start, start + step, ... below end (above end for a negative step).
Tensor arange(double start, double end, double step = 1, TensorOptions options = {});
Tensor arange(int64_t end, TensorOptions options = {.dtype = kInt64});
// A copy of `values` with `shape` (1-d when omitted or empty); the dtype is T's (options.dtype is ignored).
// For a rank-0 tensor use full({}, value).
template <typename T>
Tensor from_vector(const std::vector<T>& values, Shape shape = {}, TensorOptions options = {});
// Copies numel(shape) elements of `dtype` from `data`.
Tensor from_buffer(const void* data, const Shape& shape, DType dtype, TensorOptions options = {});
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor full_like(const Tensor& t, double value);

// ---------------------------------------------------------------------------------------------------
// Template definitions.

namespace detail {
[[noreturn]] void FailDataType(DType actual, DType requested);
// t copied to the CPU (kernels::to; defined with it in core/kernels/device_copy.cc).
Tensor ToCpu(const Tensor& t);
int64_t ElementOffset(const Tensor& t, std::span<const int64_t> index);
}  // namespace detail

template <typename T>
T* Tensor::data() const {
  if (checked_impl().dtype != DTypeOf<T>()) detail::FailDataType(impl_->dtype, DTypeOf<T>());
  return static_cast<T*>(raw_data());
}

template <typename T>
T* Tensor::data_ptr() const {
  if (checked_impl().dtype != DTypeOf<T>()) detail::FailDataType(impl_->dtype, DTypeOf<T>());
  return static_cast<T*>(data_ptr());
}

template <typename T>
T Tensor::at(std::span<const int64_t> index) const {
  if (!device().is_cpu()) return detail::ToCpu(*this).at<T>(index);
  const int64_t off = detail::ElementOffset(*this, index);
  return VisitDType(dtype(), [&]<typename S>() {
    return static_cast<T>(static_cast<const S*>(storage().data())[off]);
  });
}

template <typename T>
T Tensor::item() const {
  NG_CHECK(numel() == 1, "item: expected a tensor with one element, got shape ", ShapeToString(shape()));
  std::vector<int64_t> zero(dim(), 0);
  return at<T>(zero);
}

template <typename T>
std::vector<T> Tensor::to_vector() const {
  if (!device().is_cpu()) return detail::ToCpu(*this).to_vector<T>();
  std::vector<T> out;
  out.reserve(numel());
  if (numel() == 0) return out;
  std::vector<int64_t> index(dim(), 0);
  VisitDType(dtype(), [&]<typename S>() {
    const S* base = static_cast<const S*>(storage().data());
    for (int64_t n = 0; n < numel(); ++n) {
      out.push_back(static_cast<T>(base[detail::ElementOffset(*this, index)]));
      for (int64_t d = dim() - 1; d >= 0; --d) {
        if (++index[d] < shape()[d]) break;
        index[d] = 0;
      }
    }
  });
  return out;
}

template <typename T>
Tensor from_vector(const std::vector<T>& values, Shape shape, TensorOptions options) {
  if (shape.empty()) shape = {static_cast<int64_t>(values.size())};
  NG_CHECK(Numel(shape) == static_cast<int64_t>(values.size()), "from_vector: expected ", Numel(shape),
           " values for shape ", ShapeToString(shape), ", got ", values.size());
  options.dtype = DTypeOf<T>();
  return from_buffer(values.data(), shape, options.dtype, options);
}

}  // namespace normgrad

#endif  // NORMGRAD_CORE_TENSOR_H_
