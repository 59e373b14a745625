#ifndef NORMGRAD_CORE_CPU_POOLING_H_
#define NORMGRAD_CORE_CPU_POOLING_H_

// Raw 2-d pooling loops over contiguous planes (PyTorch's max_pool2d, avg_pool2d, adaptive_avg_pool2d).
// Threaded over planes.
//
// Shape legend (PoolShape): input [planes, in_h, in_w], output [planes, out_h, out_w] (planes = N * C).
// Window of output (i, j): rows i * stride_h - pad_h + [0, kernel_h), cols likewise, clipped to the image.
// An average divides by the window's size within the padded image (count_include_pad, PyTorch's default:
// kernel_h * kernel_w except for a last window that ceil_mode lets run past the padding), or by its size
// within the image. Callers check the arguments (core/kernels/pooling.h).

#include <cstdint>

namespace normgrad::cpu {

struct PoolShape {
  int64_t planes = 0, in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
  bool count_include_pad = true;  // average pooling only
};

// floor((in + 2 pad - kernel) / stride) + 1, or with ceil_mode the ceiling, less one if the last window
// would then start past the image and its left padding (PyTorch's rule); below 1 when no window fits.
int64_t PoolOutputSize(int64_t in, int64_t kernel, int64_t stride, int64_t pad, bool ceil_mode);

// out = the largest value of each window (NaN if the window has one), indices = its position y * in_w + x
// within the plane (the first largest; the last NaN), as torch's max_pool2d with return_indices.
template <typename T>
void MaxPool2dForward(const PoolShape& s, const T* input, T* output, int64_t* indices);

// grad_input (overwritten) = grad_output routed to the positions in `indices`, summed in output order
// where windows share one. Only planes and sizes of `s` are used here; the CUDA twin uses the windows too.
template <typename T>
void MaxPool2dBackward(const PoolShape& s, const T* grad_output, const int64_t* indices, T* grad_input);

// out = sum of the window / its divisor (see the legend above).
template <typename T>
void AvgPool2dForward(const PoolShape& s, const T* input, T* output);

// grad_input (overwritten): each output's gradient / its window's divisor spread over its window.
template <typename T>
void AvgPool2dBackward(const PoolShape& s, const T* grad_output, T* grad_input);

// Adaptive average pooling (only planes and the sizes of `s` are used): output (i, j) averages rows
// [floor(i * in_h / out_h), ceil((i + 1) * in_h / out_h)) and the columns likewise.
template <typename T>
void AdaptiveAvgPool2dForward(const PoolShape& s, const T* input, T* output);
template <typename T>
void AdaptiveAvgPool2dBackward(const PoolShape& s, const T* grad_output, T* grad_input);

}  // namespace normgrad::cpu

#endif  // NORMGRAD_CORE_CPU_POOLING_H_
