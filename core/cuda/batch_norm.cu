#include "core/cuda/batch_norm.h"

#include <algorithm>
#include <type_traits>

#include "core/cuda/block_reduce.h"
#include "core/cuda/device.h"
#include "core/cuda/device_math.h"
#include "core/cuda/launch.h"
#include "core/cuda/memory.h"
#include "core/error.h"

namespace normgrad::cuda {
namespace {

// Threads per block of the statistics kernels, and the fewest elements per thread worth a block.
constexpr int kStatsThreads = 256;
constexpr int kMinElementsPerThread = 4;

// Per-channel coefficients of the elementwise passes, in the data's type:
//   forward  y  = (x - center) * a + c                  (a = scale, c = shift)
//   backward dx = dy * a + (x - center) * b + c
template <typename T>
struct Coefficients {
  T center, a, b, c;
};

// The channel's constants around center = mean rounded to T (x - center is exact in T near the mean);
// `rest` = mean - center is folded into the shift in double.
template <typename T>
__device__ __forceinline__ Coefficients<T> ForwardCoefficients(double mean, double invstd, const T* weight,
                                                               const T* bias, int64_t c) {
  const T center = static_cast<T>(mean);
  const double rest = mean - static_cast<double>(center);
  const double scale = invstd * (weight != nullptr ? static_cast<double>(weight[c]) : 1.0);
  const double shift = (bias != nullptr ? static_cast<double>(bias[c]) : 0.0) - rest * scale;
  return {center, static_cast<T>(scale), T(0), static_cast<T>(shift)};
}

// Calls f(i) for the elements of channel c in [begin, end) of its N * S elements (e = n * S + s) that
// belong to this thread, i being the offset of element (n, c, s) in x. Strided by the block size, so a
// warp reads consecutive positions; (n, s) advance without a division per element.
template <typename F>
__device__ __forceinline__ void ForEachOfThread(const BatchNormShape& sh, int64_t c, int64_t begin, int64_t end,
                                                F&& f) {
  const int64_t step = blockDim.x;
  int64_t e = begin + threadIdx.x;
  if (e >= end) return;
  int64_t n = e / sh.s, s = e - n * sh.s;
  const int64_t dn = step / sh.s, ds = step - dn * sh.s;
  for (; e < end; e += step) {
    f((n * sh.c + c) * sh.s + s);
    s += ds;
    n += dn;
    if (s >= sh.s) {
      s -= sh.s;
      ++n;
    }
  }
}

// This block's share of channel blockIdx.y: slice blockIdx.x of gridDim.x.
struct Slice {
  int64_t begin, end;
};
__device__ __forceinline__ Slice BlockSlice(const BatchNormShape& sh) {
  const int64_t m = sh.n * sh.s, chunk = (m + gridDim.x - 1) / gridDim.x;
  const int64_t begin = std::min<int64_t>(m, blockIdx.x * chunk);
  return {begin, std::min<int64_t>(m, begin + chunk)};
}

// Grid (blocks per channel, C) x kStatsThreads. Each block reduces its slice; the channel's last block
// merges the slices' results, writes mean and invstd, updates the running statistics and the forward
// coefficients. partials: [C, gridDim.x]; tickets: [C], zero at launch.
template <typename T>
__global__ void BatchNormStatsKernel(BatchNormShape sh, const T* x, const T* weight, const T* bias,
                                     T* running_mean, T* running_var, double momentum, double eps,
                                     double* mean_out, double* invstd_out, Coefficients<T>* coef,
                                     Welford<double>* partials, unsigned int* tickets) {
  const int64_t c = blockIdx.y;
  const Slice slice = BlockSlice(sh);
  // Welford in T over x - shift, shift = the channel's first element: the deviations are small and x - shift
  // is exact in T near the data, so a float accumulator keeps float accuracy even for a mean of 1e4 and a
  // standard deviation of 0.1 (where Welford on x itself loses digits to the rounding of the mean).
  const T shift = x[c * sh.s];
  Welford<T> w = WelfordEmpty<T>();
  ForEachOfThread(sh, c, slice.begin, slice.end, [&](int64_t i) { w = WelfordAdd(w, x[i] - shift); });
  const auto merge = [](const Welford<double>& a, const Welford<double>& b) { return WelfordMerge(a, b); };
  Welford<double> acc{static_cast<double>(w.mean) + static_cast<double>(shift), static_cast<double>(w.m2), w.n};
  acc = BlockReduce(acc, merge, WelfordEmpty<double>());
  Welford<double>* row = partials + c * gridDim.x;
  if (!PublishAndCheckLast(acc, row + blockIdx.x, tickets + c, gridDim.x)) return;
  acc = WelfordEmpty<double>();
  for (unsigned int j = threadIdx.x; j < gridDim.x; j += blockDim.x) acc = merge(acc, LoadCoherent(row + j));
  acc = BlockReduce(acc, merge, WelfordEmpty<double>());
  if (threadIdx.x != 0) return;
  const double mean = acc.mean, var = acc.m2 / static_cast<double>(acc.n);
  const double invstd = 1.0 / ::sqrt(var + eps);
  mean_out[c] = mean;
  invstd_out[c] = invstd;
  if (running_mean != nullptr) {
    const double unbiased = acc.m2 / static_cast<double>(acc.n - 1);
    running_mean[c] = static_cast<T>(momentum * mean + (1 - momentum) * static_cast<double>(running_mean[c]));
    running_var[c] = static_cast<T>(momentum * unbiased + (1 - momentum) * static_cast<double>(running_var[c]));
  }
  coef[c] = ForwardCoefficients(mean, invstd, weight, bias, c);
}

// Eval: the coefficients from the running statistics, which are also saved for backward.
template <typename T>
__global__ void BatchNormEvalStatsKernel(int64_t channels, const T* running_mean, const T* running_var,
                                         const T* weight, const T* bias, double eps, double* mean_out,
                                         double* invstd_out, Coefficients<T>* coef) {
  for (int64_t c = GlobalThreadIndex(); c < channels; c += GridStride()) {
    const double mean = static_cast<double>(running_mean[c]);
    const double invstd = 1.0 / ::sqrt(static_cast<double>(running_var[c]) + eps);
    mean_out[c] = mean;
    invstd_out[c] = invstd;
    coef[c] = ForwardCoefficients(mean, invstd, weight, bias, c);
  }
}

// relu's forward and backward on one value, as the elementwise kernels have them: NaN stays NaN, the
// gradient stops where the output is <= 0 (and passes where it is NaN, as PyTorch's).
template <typename T>
__device__ __forceinline__ T Relu(T v) {
  return v < T(0) ? T(0) : v;
}
// dy at element i, through relu's backward when relu_out (the output of a fused batch norm + relu) is given.
template <typename T>
__device__ __forceinline__ T GradAt(const T* dy, const T* relu_out, int64_t i) {
  return relu_out != nullptr && relu_out[i] <= T(0) ? T(0) : dy[i];
}

// The two sums of the backward: sum(dy) and sum(dy * (x - center)).
struct Sums {
  double dy, dy_xc;
};
__device__ __forceinline__ Sums ShuffleDown(const Sums& v, int delta) {
  return {cuda::ShuffleDown(v.dy, delta), cuda::ShuffleDown(v.dy_xc, delta)};
}
__device__ __forceinline__ Sums LoadCoherent(const Sums* p) {
  return {cuda::LoadCoherent(&p->dy), cuda::LoadCoherent(&p->dy_xc)};
}

// Backward coefficients from the channel's sums (see BatchNormBackward): with a = invstd * weight,
//   through the statistics: b = -a * invstd^2 * mean(dy * (x - mean)), c = -a * mean(dy) - rest * b;
//   constant statistics:    b = c = 0.
template <typename T>
__device__ __forceinline__ Coefficients<T> BackwardCoefficients(double mean, double invstd, const T* weight,
                                                                int64_t c, bool through_stats, double sum_dy,
                                                                double sum_dy_xmu, int64_t count) {
  const T center = static_cast<T>(mean);
  const double rest = mean - static_cast<double>(center);
  const double a = invstd * (weight != nullptr ? static_cast<double>(weight[c]) : 1.0);
  if (!through_stats) return {center, static_cast<T>(a), T(0), T(0)};
  const double b = -a * invstd * invstd * (sum_dy_xmu / static_cast<double>(count));
  const double shift = -a * (sum_dy / static_cast<double>(count)) - rest * b;
  return {center, static_cast<T>(a), static_cast<T>(b), static_cast<T>(shift)};
}

// Grid (blocks per channel, C) x kStatsThreads, as the statistics kernel: the channel's last block turns
// the sums into dweight, dbias and the coefficients of dx.
template <typename T>
__global__ void BatchNormBackwardReduceKernel(BatchNormShape sh, const T* x, const T* dy, const T* relu_out,
                                              const T* weight, const double* mean, const double* invstd,
                                              bool through_stats, T* dweight, T* dbias, Coefficients<T>* coef,
                                              Sums* partials, unsigned int* tickets) {
  const int64_t c = blockIdx.y;
  const Slice slice = BlockSlice(sh);
  const T center = static_cast<T>(mean[c]);
  T sum_dy = 0, sum_dy_xc = 0;
  ForEachOfThread(sh, c, slice.begin, slice.end, [&](int64_t i) {
    const T g = GradAt(dy, relu_out, i);
    sum_dy += g;
    sum_dy_xc += g * (x[i] - center);
  });
  const auto add = [](const Sums& p, const Sums& q) { return Sums{p.dy + q.dy, p.dy_xc + q.dy_xc}; };
  Sums acc = BlockReduce(Sums{static_cast<double>(sum_dy), static_cast<double>(sum_dy_xc)}, add, Sums{0, 0});
  Sums* row = partials + c * gridDim.x;
  if (!PublishAndCheckLast(acc, row + blockIdx.x, tickets + c, gridDim.x)) return;
  acc = Sums{0, 0};
  for (unsigned int j = threadIdx.x; j < gridDim.x; j += blockDim.x) acc = add(acc, LoadCoherent(row + j));
  acc = BlockReduce(acc, add, Sums{0, 0});
  if (threadIdx.x != 0) return;
  // The sums were taken around the center: sum(dy * (x - mean)) = sum(dy * (x - center)) - rest * sum(dy).
  const double rest = mean[c] - static_cast<double>(center);
  const double sum_dy_xmu = acc.dy_xc - rest * acc.dy;
  if (dweight != nullptr) dweight[c] = static_cast<T>(sum_dy_xmu * invstd[c]);
  if (dbias != nullptr) dbias[c] = static_cast<T>(acc.dy);
  coef[c] = BackwardCoefficients(mean[c], invstd[c], weight, c, through_stats, acc.dy, sum_dy_xmu, sh.n * sh.s);
}

// Eval backward without weight or bias gradients: the coefficients need no sums.
template <typename T>
__global__ void BatchNormEvalBackwardCoefficientsKernel(int64_t channels, const T* weight, const double* mean,
                                                        const double* invstd, Coefficients<T>* coef) {
  for (int64_t c = GlobalThreadIndex(); c < channels; c += GridStride()) {
    coef[c] = BackwardCoefficients(mean[c], invstd[c], weight, c, false, 0.0, 0.0, 1);
  }
}

// The elementwise passes over [N, C, S], a row being one (n, c): a block takes one row at a time when S is
// at least the block size, else as many whole rows as fit (one division per thread, not per element).
// Forward: out = (in - center) * a + c; relu of that with relu, relu(that + residual) with a residual too
// (`extra`). Backward: out (when given) = g * a + (in - center) * b + c, g = dy, or dy through relu's backward
// with relu_out, g also written to `extra` when given (the gradient of the forward's residual); without `in`
// (constant statistics: b = c = 0) out = g * a + 0, which a NaN or inf in the input does not reach, as on the
// CPU (the + 0 as there too: a zero gradient gives +0, never -0).
template <typename T, bool kBackward>
__global__ void BatchNormElementwiseKernel(BatchNormShape sh, const T* in, const T* dy, const T* relu_out, bool relu,
                                           const Coefficients<T>* coef, T* out,
                                           std::conditional_t<kBackward, T*, const T*> extra) {
  const int64_t rows = sh.n * sh.c, threads = blockDim.x;
  const auto apply = [&](int64_t row, int64_t s) {
    const Coefficients<T> k = coef[row % sh.c];
    const int64_t i = row * sh.s + s;
    if constexpr (kBackward) {
      const T g = GradAt(dy, relu_out, i);
      if (extra != nullptr) extra[i] = g;
      if (out != nullptr) out[i] = in != nullptr ? Fma(g, k.a, Fma(in[i] - k.center, k.b, k.c)) : Fma(g, k.a, T(0));
    } else {
      const T y = Fma(in[i] - k.center, k.a, k.c);
      out[i] = extra != nullptr ? Relu(y + extra[i]) : relu ? Relu(y) : y;
    }
  };
  if (sh.s >= threads) {
    for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
      for (int64_t s = threadIdx.x; s < sh.s; s += threads) apply(row, s);
    }
    return;
  }
  const int64_t per_block = threads / sh.s, local = threadIdx.x / sh.s, s = threadIdx.x - local * sh.s;
  if (local >= per_block) return;
  for (int64_t row = blockIdx.x * per_block + local; row < rows; row += static_cast<int64_t>(gridDim.x) * per_block) {
    apply(row, s);
  }
}

template <typename T, bool kBackward>
void LaunchElementwise(BatchNormShape sh, const T* in, const T* dy, const T* relu_out, bool relu,
                       const Coefficients<T>* coef, T* out, std::conditional_t<kBackward, T*, const T*> extra) {
  const int64_t rows_per_block = std::max<int64_t>(1, kBlockSize / sh.s);
  const int64_t blocks = (sh.n * sh.c + rows_per_block - 1) / rows_per_block;
  Launch<BatchNormElementwiseKernel<T, kBackward>>(GridSize(blocks * kBlockSize), kBlockSize, sh, in, dy, relu_out,
                                                   relu, coef, out, extra);
}

void CheckShape(const BatchNormShape& sh, const char* op) {
  NG_CHECK(sh.n >= 0 && sh.c >= 1 && sh.c <= 65535 && sh.s >= 1, op,
           ": expected N >= 0, 1 <= C <= 65535 and S >= 1, got [", sh.n, ", ", sh.c, ", ", sh.s, "]");
}

}  // namespace

int BatchNormBlocksPerChannel(BatchNormShape sh) {
  const int64_t m = sh.n * sh.s;
  const int64_t wave = int64_t{MultiprocessorCount()} * (2048 / kStatsThreads);
  const int64_t to_fill = (wave + sh.c - 1) / sh.c;
  const int64_t by_work = (m + kStatsThreads * kMinElementsPerThread - 1) / (kStatsThreads * kMinElementsPerThread);
  return static_cast<int>(std::clamp<int64_t>(std::min(to_fill, by_work), 1, 65535));
}

void BatchNormForwardTraining(DType dtype, BatchNormShape sh, const void* x, const void* weight, const void* bias,
                              void* running_mean, void* running_var, double momentum, double eps, void* y,
                              double* mean, double* invstd, bool relu, const void* residual) {
  CheckShape(sh, "cuda::BatchNormForwardTraining");
  NG_CHECK(sh.n * sh.s > 1, "cuda::BatchNormForwardTraining: expected more than 1 value per channel, got [", sh.n,
           ", ", sh.c, ", ", sh.s, "]");
  NG_CHECK((running_mean == nullptr) == (running_var == nullptr),
           "cuda::BatchNormForwardTraining: expected running_mean and running_var both given or both absent");
  VisitFloatDType(dtype, "cuda::BatchNormForwardTraining", [&]<typename T>() {
    const int device = CurrentDevice();
    const int slices = BatchNormBlocksPerChannel(sh);
    DeviceBuffer coef(sh.c * sizeof(Coefficients<T>), device);
    DeviceBuffer partials(sh.c * slices * sizeof(Welford<double>), device);
    DeviceBuffer tickets(sh.c * sizeof(unsigned int), device);
    Zero(tickets.as<void>(), sh.c * sizeof(unsigned int), device);
    Launch<BatchNormStatsKernel<T>>(dim3(slices, sh.c), kStatsThreads, sh, static_cast<const T*>(x),
                                    static_cast<const T*>(weight), static_cast<const T*>(bias),
                                    static_cast<T*>(running_mean), static_cast<T*>(running_var), momentum, eps, mean,
                                    invstd, coef.as<Coefficients<T>>(), partials.as<Welford<double>>(),
                                    tickets.as<unsigned int>());
    LaunchElementwise<T, false>(sh, static_cast<const T*>(x), nullptr, nullptr, relu, coef.as<Coefficients<T>>(),
                                static_cast<T*>(y), static_cast<const T*>(residual));
  });
}

void BatchNormForwardEval(DType dtype, BatchNormShape sh, const void* x, const void* weight, const void* bias,
                          const void* running_mean, const void* running_var, double eps, void* y, double* mean,
                          double* invstd, bool relu, const void* residual) {
  CheckShape(sh, "cuda::BatchNormForwardEval");
  NG_CHECK(running_mean != nullptr && running_var != nullptr,
           "cuda::BatchNormForwardEval: expected running_mean and running_var");
  VisitFloatDType(dtype, "cuda::BatchNormForwardEval", [&]<typename T>() {
    DeviceBuffer coef(sh.c * sizeof(Coefficients<T>), CurrentDevice());
    Launch<BatchNormEvalStatsKernel<T>>(GridSize(sh.c), kBlockSize, sh.c, static_cast<const T*>(running_mean),
                                        static_cast<const T*>(running_var), static_cast<const T*>(weight),
                                        static_cast<const T*>(bias), eps, mean, invstd, coef.as<Coefficients<T>>());
    if (sh.n > 0) {
      LaunchElementwise<T, false>(sh, static_cast<const T*>(x), nullptr, nullptr, relu, coef.as<Coefficients<T>>(),
                                  static_cast<T*>(y), static_cast<const T*>(residual));
    }
  });
}

void BatchNormBackward(DType dtype, BatchNormShape sh, const void* x, const void* dy, const void* weight,
                       const double* mean, const double* invstd, bool through_stats, void* dx, void* dweight,
                       void* dbias, const void* relu_out, void* masked_dy) {
  CheckShape(sh, "cuda::BatchNormBackward");
  NG_CHECK(masked_dy == nullptr || relu_out != nullptr, "cuda::BatchNormBackward: expected relu_out with masked_dy");
  VisitFloatDType(dtype, "cuda::BatchNormBackward", [&]<typename T>() {
    const int device = CurrentDevice();
    DeviceBuffer coef(sh.c * sizeof(Coefficients<T>), device);
    if (through_stats || dweight != nullptr || dbias != nullptr) {
      if (sh.n == 0) {  // sums over nothing
        if (dweight != nullptr) Zero(dweight, sh.c * sizeof(T), device);
        if (dbias != nullptr) Zero(dbias, sh.c * sizeof(T), device);
        return;
      }
      const int slices = BatchNormBlocksPerChannel(sh);
      DeviceBuffer partials(sh.c * slices * sizeof(Sums), device);
      DeviceBuffer tickets(sh.c * sizeof(unsigned int), device);
      Zero(tickets.as<void>(), sh.c * sizeof(unsigned int), device);
      Launch<BatchNormBackwardReduceKernel<T>>(dim3(slices, sh.c), kStatsThreads, sh, static_cast<const T*>(x),
                                               static_cast<const T*>(dy), static_cast<const T*>(relu_out),
                                               static_cast<const T*>(weight), mean, invstd,
                                               through_stats, static_cast<T*>(dweight), static_cast<T*>(dbias),
                                               coef.as<Coefficients<T>>(), partials.as<Sums>(),
                                               tickets.as<unsigned int>());
    } else {
      Launch<BatchNormEvalBackwardCoefficientsKernel<T>>(GridSize(sh.c), kBlockSize, sh.c,
                                                         static_cast<const T*>(weight), mean, invstd,
                                                         coef.as<Coefficients<T>>());
    }
    if ((dx != nullptr || masked_dy != nullptr) && sh.n > 0) {
      LaunchElementwise<T, true>(sh, through_stats ? static_cast<const T*>(x) : nullptr, static_cast<const T*>(dy),
                                 static_cast<const T*>(relu_out), false, coef.as<Coefficients<T>>(),
                                 static_cast<T*>(dx), static_cast<T*>(masked_dy));
    }
  });
}

}  // namespace normgrad::cuda
