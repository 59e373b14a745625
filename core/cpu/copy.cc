#include "core/cpu/copy.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"

namespace normgrad::cpu {
namespace {

struct Dim {
  int64_t size, dst, src;  // size and the two strides, in elements
};

// Elements worth one ParallelFor chunk, and the longest run one work unit copies: long rows are split so
// that a single huge contiguous copy still uses every thread.
constexpr int64_t kGrainElements = 1 << 15;
constexpr int64_t kPieceElements = 1 << 15;
// A 2-d transpose-like copy is done in square tiles that stay in L1 for both arrays.
constexpr int64_t kTile = 16;
constexpr int64_t kTilePiece = 4 * kTile;  // rows of the tiled plane that one work unit copies

// Walks dst in memory order: dims sorted by decreasing dst stride, size-1 dims dropped, and neighbours
// merged where both arrays step through them as through one dim.
std::vector<Dim> Coalesce(std::span<const int64_t> shape, std::span<const int64_t> dst_strides,
                          std::span<const int64_t> src_strides) {
  std::vector<Dim> dims;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] != 1) dims.push_back({shape[d], dst_strides[d], src_strides[d]});
  }
  std::stable_sort(dims.begin(), dims.end(),
                   [](const Dim& a, const Dim& b) { return std::abs(a.dst) > std::abs(b.dst); });
  std::vector<Dim> merged;
  for (const Dim& d : dims) {
    if (!merged.empty() && merged.back().dst == d.size * d.dst && merged.back().src == d.size * d.src) {
      merged.back() = {merged.back().size * d.size, d.dst, d.src};
    } else {
      merged.push_back(d);
    }
  }
  if (merged.empty()) merged.push_back({1, 1, 1});
  return merged;
}

template <typename T>
void CopyLine(T* dst, int64_t ds, const T* src, int64_t ss, int64_t n) {
  if (ds == 1 && ss == 1) {
    std::memcpy(dst, src, n * sizeof(T));
  } else if (ss == 0) {
    const T v = *src;
    for (int64_t i = 0; i < n; ++i) dst[i * ds] = v;
  } else {
    for (int64_t i = 0; i < n; ++i) dst[i * ds] = src[i * ss];
  }
}

// A plane whose rows (nj of them) are contiguous in src and whose columns (ni) are contiguous in dst
// (the shape of x.t().contiguous()): copying it row by row would touch a new dst cache line per element.
template <typename T>
void CopyTiled(T* dst, int64_t dj, int64_t di, const T* src, int64_t si, int64_t nj, int64_t ni) {
  for (int64_t j0 = 0; j0 < nj; j0 += kTile) {
    const int64_t j1 = std::min(nj, j0 + kTile);
    for (int64_t i0 = 0; i0 < ni; i0 += kTile) {
      const int64_t i1 = std::min(ni, i0 + kTile);
      for (int64_t j = j0; j < j1; ++j) {
        for (int64_t i = i0; i < i1; ++i) dst[j * dj + i * di] = src[j + i * si];
      }
    }
  }
}

template <typename T>
void Copy(T* dst, const T* src, std::vector<Dim> dims) {
  // The tiled path applies when the innermost dst dim is not the contiguous one in src, but another is.
  bool tiled = false;
  if (dims.size() >= 2 && dims.back().src != 1) {
    for (size_t j = 0; j + 1 < dims.size(); ++j) {
      if (dims[j].src == 1 && dims[j].size >= kTile && dims.back().size >= kTile) {
        const Dim plane_rows = dims[j];
        dims.erase(dims.begin() + j);
        dims.insert(dims.end() - 1, plane_rows);
        tiled = true;
        break;
      }
    }
  }
  const size_t kernel_dims = tiled ? 2 : 1;
  const size_t outer = dims.size() - kernel_dims;
  const Dim inner = dims.back();
  // The dim that work units split: the inner line, or the rows of the tiled plane.
  const Dim& split = dims[outer];
  const int64_t piece = tiled ? kTilePiece : kPieceElements;
  const int64_t pieces_per_row = (split.size + piece - 1) / piece;
  int64_t rows = 1;
  for (size_t d = 0; d < outer; ++d) rows *= dims[d].size;
  const int64_t unit_elements = std::min(piece, split.size) * (tiled ? inner.size : 1);
  const int64_t grain = std::max<int64_t>(1, kGrainElements / std::max<int64_t>(unit_elements, 1));

  ParallelFor(0, rows * pieces_per_row, grain, [&](int64_t begin, int64_t end) {
    std::vector<int64_t> index(outer);
    int64_t row = begin / pieces_per_row, dst_off = 0, src_off = 0;
    for (size_t d = outer, rest = row; d-- > 0;) {
      index[d] = rest % dims[d].size;
      rest /= dims[d].size;
      dst_off += index[d] * dims[d].dst;
      src_off += index[d] * dims[d].src;
    }
    for (int64_t u = begin; u < end; ++u) {
      if (u / pieces_per_row != row) {
        ++row;
        for (size_t d = outer; d-- > 0;) {  // odometer step to the next row
          dst_off += dims[d].dst;
          src_off += dims[d].src;
          if (++index[d] < dims[d].size) break;
          dst_off -= index[d] * dims[d].dst;
          src_off -= index[d] * dims[d].src;
          index[d] = 0;
        }
      }
      const int64_t lo = (u % pieces_per_row) * piece, n = std::min(piece, split.size - lo);
      T* d = dst + dst_off + lo * split.dst;
      const T* s = src + src_off + lo * split.src;
      if (tiled) {
        CopyTiled(d, split.dst, inner.dst, s, inner.src, n, inner.size);
      } else {
        CopyLine(d, inner.dst, s, inner.src, n);
      }
    }
  });
}

}  // namespace

void StridedCopy(void* dst, std::span<const int64_t> dst_strides, const void* src,
                 std::span<const int64_t> src_strides, std::span<const int64_t> shape, size_t item_size) {
  for (int64_t s : shape) {
    if (s == 0) return;
  }
  std::vector<Dim> dims = Coalesce(shape, dst_strides, src_strides);
  switch (item_size) {
    case 4:
      return Copy(static_cast<uint32_t*>(dst), static_cast<const uint32_t*>(src), std::move(dims));
    case 8:
      return Copy(static_cast<uint64_t*>(dst), static_cast<const uint64_t*>(src), std::move(dims));
  }
  Fail("StridedCopy: expected an item size of 4 or 8 bytes, got ", item_size);
}

}  // namespace normgrad::cpu
