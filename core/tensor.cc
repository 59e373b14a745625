#include "core/tensor.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iomanip>
#include <limits>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "core/kernels/device_copy.h"
#include "core/kernels/elementwise.h"

namespace normgrad {

namespace detail {

void FailDataType(DType actual, DType requested) {
  Fail("data: expected dtype ", DTypeName(requested), ", got a tensor of dtype ", DTypeName(actual));
}

int64_t ElementOffset(const Tensor& t, std::span<const int64_t> index) {
  NG_CHECK(static_cast<int64_t>(index.size()) == t.dim(), "at: expected ", t.dim(), " indices for shape ",
           ShapeToString(t.shape()), ", got ", index.size());
  int64_t off = t.storage_offset();
  for (int64_t d = 0; d < t.dim(); ++d) {
    NG_CHECK(index[d] >= 0 && index[d] < t.shape()[d], "at: expected index ", index[d], " of dim ", d,
             " in [0, ", t.shape()[d], ")");
    off += index[d] * t.strides()[d];
  }
  return off;
}

}  // namespace detail

Tensor Tensor::FromStorage(Storage storage, Shape shape, Strides strides, int64_t offset, DType dtype) {
  NG_CHECK(shape.size() == strides.size(), "Tensor: expected one stride per dim, got shape ",
           ShapeToString(shape), " and strides ", ShapeToString(strides));
  Numel(shape);  // throws for 2^63 elements or more, whatever the strides
  // The last element the view reaches (empty views reach none), in int64 without overflowing.
  bool empty = false, overflow = false;
  int64_t last = offset;
  for (size_t d = 0; d < shape.size(); ++d) {
    NG_CHECK(shape[d] >= 0, "Tensor: expected non-negative sizes, got ", ShapeToString(shape));
    empty = empty || shape[d] == 0;
  }
  for (size_t d = 0; d < shape.size() && !empty; ++d) {
    int64_t reach;
    overflow = overflow || __builtin_mul_overflow(shape[d] - 1, strides[d], &reach) ||
               __builtin_add_overflow(last, reach, &last);
  }
  const int64_t capacity = static_cast<int64_t>(storage.nbytes() / ItemSize(dtype));
  NG_CHECK(offset >= 0 && (empty || (!overflow && last < capacity)), "Tensor: view of shape ", ShapeToString(shape),
           " at offset ", offset, " does not fit in a storage of ", storage.nbytes(), " bytes");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::move(storage);
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->offset = offset;
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

const TensorImpl& Tensor::checked_impl() const {
  NG_CHECK(impl_ != nullptr, "Tensor: this tensor is undefined (default-constructed or an absent gradient)");
  return *impl_;
}

const Shape& Tensor::shape() const { return checked_impl().shape; }
const Strides& Tensor::strides() const { return checked_impl().strides; }
int64_t Tensor::storage_offset() const { return checked_impl().offset; }
DType Tensor::dtype() const { return checked_impl().dtype; }
Device Tensor::device() const { return checked_impl().storage.device(); }
const Storage& Tensor::storage() const { return checked_impl().storage; }
int64_t Tensor::numel() const { return Numel(shape()); }
int64_t Tensor::size(int64_t d) const { return shape()[NormalizeDim(d, dim(), "size")]; }
int64_t Tensor::stride(int64_t d) const { return strides()[NormalizeDim(d, dim(), "stride")]; }

bool Tensor::is_contiguous() const {
  const TensorImpl& t = checked_impl();
  int64_t expected = 1;
  for (size_t i = t.shape.size(); i-- > 0;) {
    if (t.shape[i] == 1) continue;
    if (t.strides[i] != expected) return false;
    expected *= t.shape[i];
  }
  return true;
}

void* Tensor::raw_data() const {
  const TensorImpl& t = checked_impl();
  NG_CHECK(t.storage.device().is_cpu(), "data: expected a CPU tensor, got one on ",
           t.storage.device().ToString(), "; copy it with to(kCPU) first");
  return static_cast<char*>(t.storage.data()) + t.offset * ItemSize(t.dtype);
}

void* Tensor::data_ptr() const {
  const TensorImpl& t = checked_impl();
  return static_cast<char*>(t.storage.data()) + t.offset * ItemSize(t.dtype);
}

bool Tensor::requires_grad() const { return checked_impl().requires_grad; }

Tensor& Tensor::set_requires_grad(bool requires_grad) {
  const TensorImpl& t = checked_impl();
  NG_CHECK(t.grad_fn == nullptr, "set_requires_grad: expected a leaf tensor, got the output of ",
           "an op; call detach() first to make a new leaf");
  NG_CHECK(!requires_grad || IsFloating(t.dtype),
           "set_requires_grad: expected a floating-point tensor, got dtype ", DTypeName(t.dtype));
  impl_->requires_grad = requires_grad;
  return *this;
}

Tensor Tensor::grad() const { return checked_impl().grad; }

void Tensor::set_grad(const Tensor& grad) const {
  const TensorImpl& t = checked_impl();
  NG_CHECK(!grad.defined() || grad.shape() == t.shape, "set_grad: expected a gradient of shape ",
           ShapeToString(t.shape), ", got ", ShapeToString(grad.shape()));
  NG_CHECK(!grad.defined() || grad.dtype() == t.dtype, "set_grad: expected a gradient of dtype ",
           DTypeName(t.dtype), ", got ", DTypeName(grad.dtype()));
  impl_->grad = grad;
}

bool Tensor::is_leaf() const { return checked_impl().grad_fn == nullptr; }

const std::shared_ptr<autograd::Node>& Tensor::grad_fn() const { return checked_impl().grad_fn; }

void Tensor::set_grad_fn(std::shared_ptr<autograd::Node> node) const {
  checked_impl();
  impl_->requires_grad = node != nullptr;
  impl_->grad_fn = std::move(node);
}

Tensor Tensor::detach() const {
  const TensorImpl& t = checked_impl();
  return FromStorage(t.storage, t.shape, t.strides, t.offset, t.dtype);
}

Tensor Tensor::AliasWithGeometry(Shape shape, Strides strides, int64_t offset) const {
  return FromStorage(checked_impl().storage, std::move(shape), std::move(strides), offset, impl_->dtype);
}

void Tensor::BumpVersion() const { checked_impl().storage.bump_version(); }

// ---- printing

namespace {

constexpr int64_t kEdgeItems = 3;     // elements shown at each end of a long dim
constexpr int64_t kSummarize = 1000;  // tensors larger than this are summarized with "..."

std::string FormatElement(double v, DType dtype, bool fixed) {
  if (dtype == kInt64) return absl::StrCat(static_cast<int64_t>(v));
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  std::ostringstream os;
  if (fixed) {
    os << std::fixed << std::setprecision(4) << v;
  } else {
    os << std::scientific << std::setprecision(4) << v;
  }
  return os.str();
}

void FormatDim(const Tensor& t, std::vector<int64_t>& index, int64_t d, bool summarize, bool fixed, int width,
               std::string& out) {
  const int64_t n = t.shape()[d];
  out += "[";
  for (int64_t i = 0; i < n; ++i) {
    if (summarize && n > 2 * kEdgeItems && i == kEdgeItems) {
      out += d + 1 == t.dim() ? "..., " : absl::StrCat("...,\n", std::string(8 + d, ' '));
      i = n - kEdgeItems;
    }
    index[d] = i;
    if (d + 1 == t.dim()) {
      std::string e = FormatElement(t.at<double>(index), t.dtype(), fixed);
      out += std::string(std::max<int>(0, width - static_cast<int>(e.size())), ' ') + e;
    } else {
      FormatDim(t, index, d + 1, summarize, fixed, width, out);
    }
    if (i + 1 < n) out += d + 1 == t.dim() ? ", " : absl::StrCat(",", std::string(t.dim() - d - 1, '\n'),
                                                                 std::string(8 + d, ' '));
  }
  out += "]";
}

}  // namespace

std::string Tensor::ToString() const {
  if (!defined()) return "tensor(undefined)";
  if (!device().is_cpu()) {
    // The values as printed from a CPU copy, then this tensor's device and autograd state.
    std::string out = detail::ToCpu(*this).ToString();
    out.pop_back();
    absl::StrAppend(&out, ", device=", device().ToString());
    if (grad_fn() != nullptr) {
      out += ", grad_fn";
    } else if (requires_grad()) {
      out += ", requires_grad=true";
    }
    return out + ")";
  }
  std::string out = "tensor(";
  const bool summarize = numel() > kSummarize;
  // Fixed notation unless the magnitudes call for exponents, as PyTorch does.
  double max_abs = 0;
  bool fixed = true;
  const std::vector<double> values = summarize ? std::vector<double>{} : to_vector<double>();
  for (double v : values) {
    if (std::isfinite(v)) max_abs = std::max(max_abs, std::abs(v));
    if (std::isfinite(v) && v != 0 && (std::abs(v) < 1e-4 || std::abs(v) >= 1e8)) fixed = false;
  }
  int width = 0;
  for (double v : values) width = std::max<int>(width, FormatElement(v, dtype(), fixed).size());
  if (dim() == 0) {
    out += FormatElement(item<double>(), dtype(), fixed);
  } else {
    std::vector<int64_t> index(dim(), 0);
    FormatDim(*this, index, 0, summarize, fixed, width, out);
  }
  if (summarize || dtype() != kFloat32) absl::StrAppend(&out, ", shape=", ShapeToString(shape()));
  if (dtype() != kFloat32) absl::StrAppend(&out, ", dtype=", DTypeName(dtype()));
  if (!device().is_cpu()) absl::StrAppend(&out, ", device=", device().ToString());
  if (grad_fn() != nullptr) {
    out += ", grad_fn";
  } else if (requires_grad()) {
    out += ", requires_grad=true";
  }
  return out + ")";
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.ToString(); }

// ---- creation

Tensor empty(const Shape& shape, TensorOptions options) {
  for (int64_t s : shape) NG_CHECK(s >= 0, "empty: expected non-negative sizes, got ", ShapeToString(shape));
  const int64_t numel = Numel(shape), item = static_cast<int64_t>(ItemSize(options.dtype));
  NG_CHECK(numel <= std::numeric_limits<int64_t>::max() / item, "empty: expected fewer than 2^63 bytes, got ",
           ShapeToString(shape), " of ", options.dtype);
  Storage storage = Storage::Allocate(numel * item, options.device);
  Tensor t = Tensor::FromStorage(std::move(storage), shape, ContiguousStrides(shape), 0, options.dtype);
  if (options.requires_grad) t.set_requires_grad(true);
  return t;
}

Tensor full(const Shape& shape, double value, TensorOptions options) {
  const bool requires_grad = options.requires_grad;
  options.requires_grad = false;
  Tensor t = empty(shape, options);
  if (t.device().is_cpu()) {
    VisitDType(t.dtype(), [&]<typename T>() { std::fill_n(t.data<T>(), t.numel(), static_cast<T>(value)); });
  } else {
    kernels::fill_(t, value);
  }
  if (requires_grad) t.set_requires_grad(true);
  return t;
}

Tensor zeros(const Shape& shape, TensorOptions options) { return full(shape, 0.0, options); }
Tensor ones(const Shape& shape, TensorOptions options) { return full(shape, 1.0, options); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), {.dtype = t.dtype(), .device = t.device()}); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), {.dtype = t.dtype(), .device = t.device()}); }
Tensor full_like(const Tensor& t, double value) {
  return full(t.shape(), value, {.dtype = t.dtype(), .device = t.device()});
}

Tensor arange(double start, double end, double step, TensorOptions options) {
  NG_CHECK(step != 0 && std::isfinite(step), "arange: expected a finite non-zero step, got ", step);
  NG_CHECK(std::isfinite(start) && std::isfinite(end), "arange: expected finite bounds, got ", start, " and ",
           end);
  const int64_t n = std::max<int64_t>(0, static_cast<int64_t>(std::ceil((end - start) / step)));
  const bool requires_grad = options.requires_grad;
  const Device device = options.device;
  options.requires_grad = false;
  options.device = kCPU;
  Tensor t = empty({n}, options);
  VisitDType(t.dtype(), [&]<typename T>() {
    T* p = t.data<T>();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(start + static_cast<double>(i) * step);
  });
  t = kernels::to(t, device);
  if (requires_grad) t.set_requires_grad(true);
  return t;
}

Tensor arange(int64_t end, TensorOptions options) { return arange(0.0, static_cast<double>(end), 1.0, options); }

Tensor from_buffer(const void* data, const Shape& shape, DType dtype, TensorOptions options) {
  const bool requires_grad = options.requires_grad;
  const Device device = options.device;
  options.requires_grad = false;
  options.dtype = dtype;
  options.device = kCPU;
  Tensor t = empty(shape, options);
  if (t.numel() > 0) std::memcpy(t.raw_data(), data, t.numel() * ItemSize(dtype));
  t = kernels::to(t, device);
  if (requires_grad) t.set_requires_grad(true);
  return t;
}

}  // namespace normgrad
