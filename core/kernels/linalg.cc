#include "core/kernels/linalg.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "core/cpu/blas.h"
#include "core/cuda/blas.h"
#include "core/cuda/device.h"
#include "core/kernels/copy.h"
#include "core/kernels/view.h"

namespace normgrad::kernels {
namespace {

// How BLAS reads a matrix: row-major with leading dimension ld, or the transpose of one.
struct BlasMatrix {
  bool trans;
  int64_t ld;
};

// The BLAS description of the matrix in x's last two dims (r x c), when its strides have one: rows
// evenly apart with unit column stride (as stored), or the reverse (a transposed view). A size-1 dim's
// stride is irrelevant. Anything else (stride-0 rows, steps in both dims) must be copied first.
std::optional<BlasMatrix> Describe(const Tensor& x) {
  const int64_t r = x.size(-2), c = x.size(-1), sr = x.stride(-2), sc = x.stride(-1);
  if (c == 1 || sc == 1) {
    const int64_t ld = r == 1 ? std::max<int64_t>(c, 1) : sr;
    if (ld >= std::max<int64_t>(c, 1)) return BlasMatrix{false, ld};
  }
  if (r == 1 || sr == 1) {
    const int64_t ld = c == 1 ? std::max<int64_t>(r, 1) : sc;
    if (ld >= std::max<int64_t>(r, 1)) return BlasMatrix{true, ld};
  }
  return std::nullopt;
}

// The family's device switch: core/cpu/blas.h or its twin core/cuda/blas.h (the function pointer types
// check that the signatures agree).
template <typename T>
struct Backend {
  decltype(&cpu::Gemm<T>) gemm;
  decltype(&cpu::GemmBatched<T>) gemm_batched;
};

template <typename T>
const Backend<T>& On(Device device) {
  static constexpr Backend<T> kCpu{cpu::Gemm<T>, cpu::GemmBatched<T>};
  static constexpr Backend<T> kCuda{cuda::Gemm<T>, cuda::GemmBatched<T>};
  switch (device.type) {
    case Device::Type::kCPU: return kCpu;
    case Device::Type::kCUDA:
      cuda::MakeCurrent(device.index);
      return kCuda;
  }
  __builtin_unreachable();
}

Shape Concat(Shape head, std::initializer_list<int64_t> tail) {
  head.insert(head.end(), tail);
  return head;
}

// Element offsets of every matrix of x (batch dims first, row-major order over `batch`).
std::vector<int64_t> BatchOffsets(const Tensor& x, int64_t count) {
  const int64_t nb = x.dim() - 2;
  std::vector<int64_t> offsets(count), index(nb, 0);
  int64_t off = 0;
  for (int64_t i = 0; i < count; ++i) {
    offsets[i] = off;
    for (int64_t d = nb; d-- > 0;) {
      off += x.stride(d);
      if (++index[d] < x.size(d)) break;
      off -= index[d] * x.stride(d);
      index[d] = 0;
    }
  }
  return offsets;
}

// [batch..., n, k] · [batch..., k, m] -> contiguous [batch..., n, m], where a's and b's batch dims
// broadcast to `batch`.
Tensor BatchedProduct(Tensor a, Tensor b, const Shape& batch) {
  std::optional<BlasMatrix> da = Describe(a), db = Describe(b);
  if (!da) da = Describe(a = clone(a));
  if (!db) db = Describe(b = clone(b));
  const int64_t n = a.size(-2), k = a.size(-1), m = b.size(-1);
  Tensor out = empty(Concat(batch, {n, m}), {.dtype = a.dtype(), .device = a.device()});
  if (out.numel() == 0) return out;
  const Tensor ea = expand(a, Concat(batch, {n, k})), eb = expand(b, Concat(batch, {k, m}));
  const int64_t count = Numel(batch);
  // When b is one matrix for the whole batch and a's matrices are rows evenly apart, the batch is a single
  // product with count * n rows (a Linear layer on [B, T, features]).
  bool b_shared = true;
  for (int64_t d = 0; d + 2 < eb.dim(); ++d) b_shared = b_shared && (eb.stride(d) == 0 || eb.size(d) == 1);
  std::optional<Strides> rows;
  if (count > 1 && b_shared && !da->trans) {
    rows = ViewStrides(ea.shape(), ea.strides(), {count * n, k});
    if (rows && (*rows)[1] != 1 && k != 1) rows.reset();
    if (rows && (*rows)[0] < std::max<int64_t>(k, 1)) rows.reset();
  }
  VisitDType(a.dtype(), [&]<typename T>() {
    const Backend<T>& on = On<T>(out.device());
    if (rows) {
      on.gemm(false, db->trans, count * n, m, k, a.data_ptr<T>(), (*rows)[0], b.data_ptr<T>(), db->ld,
              out.data_ptr<T>(), m);
      return;
    }
    on.gemm_batched(da->trans, db->trans, n, m, k, a.data_ptr<T>(), BatchOffsets(ea, count), da->ld,
                    b.data_ptr<T>(), BatchOffsets(eb, count), db->ld, out.data_ptr<T>(), n * m, m);
  });
  return out;
}

void CheckSameDTypeAndDevice(const Tensor& a, const Tensor& b, const char* op) {
  NG_CHECK(a.dtype() == b.dtype(), op, ": expected tensors of the same dtype, got ", DTypeName(a.dtype()),
           " and ", DTypeName(b.dtype()));
  NG_CHECK(a.device() == b.device(), op, ": expected tensors on the same device, got ", a.device(), " and ",
           b.device());
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  NG_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul: expected tensors with at least 1 dim, got ",
           ShapeToString(a.shape()), " and ", ShapeToString(b.shape()));
  CheckSameDTypeAndDevice(a, b, "matmul");
  const Tensor a2 = a.dim() == 1 ? unsqueeze(a, 0) : a;
  const Tensor b2 = b.dim() == 1 ? unsqueeze(b, 1) : b;
  NG_CHECK(a2.size(-1) == b2.size(-2), "matmul: expected the inner dimensions to match, got ",
           ShapeToString(a.shape()), " and ", ShapeToString(b.shape()));
  // Batch dims align from the right, as in NumPy.
  const int64_t nb = std::max(a2.dim(), b2.dim()) - 2;
  Shape batch(nb);
  for (int64_t i = 0; i < nb; ++i) {
    const int64_t sa = i < nb - (a2.dim() - 2) ? 1 : a2.size(i - (nb - (a2.dim() - 2)));
    const int64_t sb = i < nb - (b2.dim() - 2) ? 1 : b2.size(i - (nb - (b2.dim() - 2)));
    NG_CHECK(sa == sb || sa == 1 || sb == 1, "matmul: expected broadcastable batch dims, got ",
             ShapeToString(a.shape()), " and ", ShapeToString(b.shape()));
    batch[i] = sa == 1 ? sb : sa;
  }
  const Tensor out = BatchedProduct(a2, b2, batch);
  Shape shape = batch;
  if (a.dim() > 1) shape.push_back(a2.size(-2));
  if (b.dim() > 1) shape.push_back(b2.size(-1));
  return view(out, shape);
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  NG_CHECK(a.dim() == 3 && b.dim() == 3, "bmm: expected 3-d tensors, got ", ShapeToString(a.shape()), " and ",
           ShapeToString(b.shape()));
  CheckSameDTypeAndDevice(a, b, "bmm");
  NG_CHECK(a.size(0) == b.size(0), "bmm: expected the same batch size, got ", ShapeToString(a.shape()),
           " and ", ShapeToString(b.shape()));
  NG_CHECK(a.size(2) == b.size(1), "bmm: expected the inner dimensions to match, got ",
           ShapeToString(a.shape()), " and ", ShapeToString(b.shape()));
  return BatchedProduct(a, b, {a.size(0)});
}

}  // namespace normgrad::kernels
