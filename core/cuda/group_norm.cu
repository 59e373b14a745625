#include "core/cuda/group_norm.h"

#include <cstdint>
#include <limits>

#include "core/cuda/block_reduce.h"
#include "core/cuda/device_math.h"
#include "core/cuda/launch.h"
#include "core/error.h"

namespace normgrad::cuda {
namespace {

constexpr int kThreads = 256;

// A statistic's normalization in T: xhat = (x - center) * r + r0, center = the mean rounded to T and
// r0 = -(mean - center) * invstd, the rounding of the mean folded in (as on the CPU).
template <typename T>
struct Normalizer {
  T center, r, r0;
};

template <typename T>
__device__ __forceinline__ Normalizer<T> MakeNormalizer(double mean, double invstd) {
  const T center = static_cast<T>(mean);
  return {center, static_cast<T>(invstd), static_cast<T>(-(mean - static_cast<double>(center)) * invstd)};
}

template <typename T>
__device__ __forceinline__ T Affine(T xhat, const T* weight, const T* bias, int64_t c) {
  if (weight != nullptr && bias != nullptr) return Fma(xhat, weight[c], bias[c]);
  if (weight != nullptr) return xhat * weight[c];
  if (bias != nullptr) return xhat + bias[c];
  return xhat;
}

// One block per statistic i: Welford over its K * S elements, then y over the same elements.
template <typename T>
__global__ void GroupNormForwardKernel(GroupNormShape sh, const T* x, const T* weight, const T* bias, double eps,
                                       double nan, T* y, double* mean_out, double* var_out, double* invstd_out) {
  const int64_t i = blockIdx.x, len = sh.k * sh.s;
  const T* xi = x + i * len;
  // Deviations from the first element: small near the data, so a float accumulator keeps float accuracy.
  const T shift = len > 0 ? xi[0] : T(0);
  Welford<T> w = WelfordEmpty<T>();
  for (int64_t e = threadIdx.x; e < len; e += blockDim.x) w = WelfordAdd(w, xi[e] - shift);
  Welford<double> acc{static_cast<double>(w.mean) + static_cast<double>(shift), static_cast<double>(w.m2), w.n};
  const auto merge = [](const Welford<double>& a, const Welford<double>& b) { return WelfordMerge(a, b); };
  acc = BlockReduce(acc, merge, WelfordEmpty<double>());
  __shared__ SharedArray<Normalizer<T>, 1> normalizer;
  if (threadIdx.x == 0) {
    const double mean = acc.n > 0 ? acc.mean : nan;
    const double var = acc.n > 0 ? acc.m2 / static_cast<double>(acc.n) : nan;
    const double invstd = 1.0 / ::sqrt(var + eps);
    mean_out[i] = mean;
    var_out[i] = var;
    invstd_out[i] = invstd;
    *normalizer.get() = MakeNormalizer<T>(mean, invstd);
  }
  __syncthreads();
  const Normalizer<T> nz = *normalizer.get();
  const int64_t c0 = (i % sh.g) * sh.k;
  T* yi = y + i * len;
  for (int64_t e = threadIdx.x; e < len; e += blockDim.x) {
    yi[e] = Affine(Fma(xi[e] - nz.center, nz.r, nz.r0), weight, bias, c0 + e / sh.s);
  }
}

// The two sums of a statistic's backward: sum(g) and sum(g * (x - center)), g = dy * weight.
struct Sums {
  double g, g_xc;
};
__device__ __forceinline__ Sums ShuffleDown(const Sums& v, int delta) {
  return {cuda::ShuffleDown(v.g, delta), cuda::ShuffleDown(v.g_xc, delta)};
}

// dx = g * r + (x - center) * beta + gamma, the statistic's coefficients in T.
template <typename T>
struct GradCoefficients {
  T r, beta, gamma;
};

// One block per statistic i: the sums, then dx over the same elements.
template <typename T>
__global__ void GroupNormBackwardKernel(GroupNormShape sh, const T* x, const T* dy, const T* weight,
                                        const double* mean, const double* invstd, T* dx) {
  const int64_t i = blockIdx.x, len = sh.k * sh.s, c0 = (i % sh.g) * sh.k;
  const T* xi = x + i * len;
  const T* dyi = dy + i * len;
  const T center = static_cast<T>(mean[i]);
  const auto grad = [&](int64_t e) { return weight != nullptr ? dyi[e] * weight[c0 + e / sh.s] : dyi[e]; };
  T sum_g = 0, sum_g_xc = 0;
  for (int64_t e = threadIdx.x; e < len; e += blockDim.x) {
    const T g = grad(e);
    sum_g += g;
    sum_g_xc = Fma(g, xi[e] - center, sum_g_xc);
  }
  const auto add = [](const Sums& a, const Sums& b) { return Sums{a.g + b.g, a.g_xc + b.g_xc}; };
  const Sums acc = BlockReduce(Sums{static_cast<double>(sum_g), static_cast<double>(sum_g_xc)}, add, Sums{0, 0});
  __shared__ SharedArray<GradCoefficients<T>, 1> coefficients;
  if (threadIdx.x == 0) {
    // sum(g * (x - mean)) = sum(g * (x - center)) - rest * sum(g), rest = mean - center.
    const double rest = mean[i] - static_cast<double>(center), r = invstd[i], count = static_cast<double>(len);
    const double beta = -r * r * r * (acc.g_xc - rest * acc.g) / count;
    const double gamma = -r * acc.g / count - rest * beta;
    *coefficients.get() = {static_cast<T>(r), static_cast<T>(beta), static_cast<T>(gamma)};
  }
  __syncthreads();
  const GradCoefficients<T> k = *coefficients.get();
  T* dxi = dx + i * len;
  for (int64_t e = threadIdx.x; e < len; e += blockDim.x) dxi[e] = Fma(grad(e), k.r, Fma(xi[e] - center, k.beta, k.gamma));
}

// One block per channel c: dweight[c] = sum(dy * xhat) and dbias[c] = sum(dy) over samples and positions.
template <typename T>
__global__ void GroupNormParamGradKernel(GroupNormShape sh, const T* x, const T* dy, const double* mean,
                                         const double* invstd, T* dweight, T* dbias) {
  const int64_t c = blockIdx.x, channels = sh.g * sh.k, group = c / sh.k, m = sh.n * sh.s;
  T sum_dy_xhat = 0, sum_dy = 0;
  for (int64_t e = threadIdx.x; e < m; e += blockDim.x) {
    const int64_t n = e / sh.s, i = (n * channels + c) * sh.s + (e - n * sh.s), stat = n * sh.g + group;
    const Normalizer<T> nz = MakeNormalizer<T>(mean[stat], invstd[stat]);
    sum_dy_xhat = Fma(dy[i], Fma(x[i] - nz.center, nz.r, nz.r0), sum_dy_xhat);
    sum_dy += dy[i];
  }
  const auto add = [](const Sums& a, const Sums& b) { return Sums{a.g + b.g, a.g_xc + b.g_xc}; };
  const Sums acc = BlockReduce(Sums{static_cast<double>(sum_dy), static_cast<double>(sum_dy_xhat)}, add, Sums{0, 0});
  if (threadIdx.x != 0) return;
  if (dweight != nullptr) dweight[c] = static_cast<T>(acc.g_xc);
  if (dbias != nullptr) dbias[c] = static_cast<T>(acc.g);
}

void CheckShape(const GroupNormShape& sh, const char* op) {
  NG_CHECK(sh.n >= 0 && sh.g >= 1 && sh.k >= 1 && sh.s >= 0, op,
           ": expected N >= 0, G >= 1, K >= 1 and S >= 0, got [", sh.n, ", ", sh.g, ", ", sh.k, ", ", sh.s, "]");
  // One block per statistic and per channel.
  constexpr int64_t kMaxBlocks = std::numeric_limits<int32_t>::max();
  NG_CHECK(sh.n * sh.g <= kMaxBlocks && sh.g * sh.k <= kMaxBlocks, op, ": expected at most ", kMaxBlocks,
           " statistics and channels, got ", sh.n * sh.g, " and ", sh.g * sh.k);
}

}  // namespace

void GroupNormForward(DType dtype, GroupNormShape sh, const void* x, const void* weight, const void* bias,
                      double eps, void* y, double* mean, double* var, double* invstd) {
  CheckShape(sh, "cuda::GroupNormForward");
  if (sh.n == 0) return;
  VisitFloatDType(dtype, "cuda::GroupNormForward", [&]<typename T>() {
    Launch<GroupNormForwardKernel<T>>(dim3(sh.n * sh.g), kThreads, sh, static_cast<const T*>(x),
                                      static_cast<const T*>(weight), static_cast<const T*>(bias), eps,
                                      std::numeric_limits<double>::quiet_NaN(), static_cast<T*>(y), mean, var, invstd);
  });
}

void GroupNormBackward(DType dtype, GroupNormShape sh, const void* x, const void* dy, const void* weight,
                       const double* mean, const double* invstd, void* dx, void* dweight, void* dbias) {
  CheckShape(sh, "cuda::GroupNormBackward");
  VisitFloatDType(dtype, "cuda::GroupNormBackward", [&]<typename T>() {
    if (dx != nullptr && sh.n > 0) {
      Launch<GroupNormBackwardKernel<T>>(dim3(sh.n * sh.g), kThreads, sh, static_cast<const T*>(x),
                                         static_cast<const T*>(dy), static_cast<const T*>(weight), mean, invstd,
                                         static_cast<T*>(dx));
    }
    if (dweight != nullptr || dbias != nullptr) {
      Launch<GroupNormParamGradKernel<T>>(dim3(sh.g * sh.k), kThreads, sh, static_cast<const T*>(x),
                                          static_cast<const T*>(dy), mean, invstd, static_cast<T*>(dweight),
                                          static_cast<T*>(dbias));
    }
  });
}

}  // namespace normgrad::cuda
