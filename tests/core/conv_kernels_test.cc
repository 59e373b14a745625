// The raw convolution loops (im2col + GEMM for every dtype, the direct and Winograd float32 kernels for
// both instruction sets) against a naive float64 reference over many geometries.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <iostream>
#include <limits>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "core/cpu/conv.h"
#include "core/cpu/conv_direct.h"
#include "core/cpu/conv_winograd.h"
#include "core/parallel.h"
#include "core/random.h"

namespace normgrad::cpu {
namespace {

struct Geometry {
  std::string name;
  int64_t batch, in_c, out_c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, groups;
};

void PrintTo(const Geometry& g, std::ostream* os) { *os << g.name; }

ConvShape ToShape(const Geometry& g) {
  ConvShape s{g.batch, g.in_c, g.out_c, g.groups, g.h, g.w, 0, 0, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw};
  s.out_h = ConvOutputSize(g.h, g.kh, g.sh, g.ph, g.dh);
  s.out_w = ConvOutputSize(g.w, g.kw, g.sw, g.pw, g.dw);
  return s;
}

std::vector<double> Random(int64_t n, uint64_t seed) {
  Generator gen(seed);
  std::vector<double> v(n);
  for (double& x : v) x = gen.NextNormal();
  return v;
}

template <typename T>
std::vector<T> Cast(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

// Index of input element (n, c, y, x) read by output (n, o, i, j) through tap (p, q), or -1 for padding.
int64_t InputIndex(const ConvShape& s, int64_t n, int64_t c, int64_t i, int64_t j, int64_t p, int64_t q) {
  const int64_t y = i * s.stride_h - s.pad_h + p * s.dilation_h, x = j * s.stride_w - s.pad_w + q * s.dilation_w;
  if (y < 0 || y >= s.in_h || x < 0 || x >= s.in_w) return -1;
  return ((n * s.in_channels + c) * s.in_h + y) * s.in_w + x;
}

// Runs fn(output index, input index, weight index) over every multiply of the convolution.
template <typename Fn>
void ForEachTerm(const ConvShape& s, Fn&& fn) {
  const int64_t cg = s.in_channels / s.groups, og = s.out_channels / s.groups;
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t o = 0; o < s.out_channels; ++o) {
      for (int64_t i = 0; i < s.out_h; ++i) {
        for (int64_t j = 0; j < s.out_w; ++j) {
          const int64_t out = ((n * s.out_channels + o) * s.out_h + i) * s.out_w + j;
          for (int64_t c = 0; c < cg; ++c) {
            for (int64_t p = 0; p < s.kernel_h; ++p) {
              for (int64_t q = 0; q < s.kernel_w; ++q) {
                const int64_t in = InputIndex(s, n, (o / og) * cg + c, i, j, p, q);
                if (in >= 0) fn(out, in, ((o * cg + c) * s.kernel_h + p) * s.kernel_w + q);
              }
            }
          }
        }
      }
    }
  }
}

// Both instruction sets where the CPU has AVX-512, else AVX2 alone.
std::vector<VectorIsa> TestedIsas() {
  if (BestVectorIsa() == VectorIsa::kAvx512) return {VectorIsa::kAvx2, VectorIsa::kAvx512};
  return {VectorIsa::kAvx2};
}

std::string IsaName(VectorIsa isa) { return isa == VectorIsa::kAvx512 ? "avx512" : "avx2"; }

struct Reference {
  std::vector<double> x, w, b, dy;  // inputs
  std::vector<double> y, dx, dw;    // results
};

Reference MakeReference(const ConvShape& s) {
  Reference r;
  const int64_t out_numel = s.batch * s.out_channels * s.out_h * s.out_w;
  r.x = Random(s.batch * s.in_channels * s.in_h * s.in_w, 1);
  r.w = Random(s.out_channels * (s.in_channels / s.groups) * s.kernel_h * s.kernel_w, 2);
  r.b = Random(s.out_channels, 3);
  r.dy = Random(out_numel, 4);
  r.y.assign(out_numel, 0);
  for (int64_t e = 0; e < out_numel; ++e) r.y[e] = r.b[(e / (s.out_h * s.out_w)) % s.out_channels];
  r.dx.assign(r.x.size(), 0);
  r.dw.assign(r.w.size(), 0);
  ForEachTerm(s, [&](int64_t out, int64_t in, int64_t wi) {
    r.y[out] += r.w[wi] * r.x[in];
    r.dx[in] += r.w[wi] * r.dy[out];
    r.dw[wi] += r.x[in] * r.dy[out];
  });
  return r;
}

template <typename T>
void ExpectClose(const std::vector<T>& actual, const std::vector<double>& expected, double tol,
                 const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  double scale = 1;
  for (double e : expected) scale = std::max(scale, std::abs(e));
  int failures = 0;
  for (size_t i = 0; i < actual.size() && failures < 5; ++i) {
    if (std::abs(actual[i] - expected[i]) > tol * scale) {
      ADD_FAILURE() << what << ": element " << i << " is " << actual[i] << ", expected " << expected[i];
      ++failures;
    }
  }
}

// Computes the three passes with `forward`, `backward_input` (overwriting and accumulating), `backward_weight`
// and compares.
template <typename T, typename F, typename BI, typename BW>
void CheckPasses(const ConvShape& s, const Reference& r, double tol, const std::string& what, F forward,
                 BI backward_input, BW backward_weight) {
  const std::vector<T> x = Cast<T>(r.x), w = Cast<T>(r.w), b = Cast<T>(r.b), dy = Cast<T>(r.dy);
  std::vector<T> y(r.y.size(), T(-7)), dx(r.dx.size(), T(-7)), dw(r.dw.size(), T(-7));
  forward(s, x.data(), w.data(), b.data(), y.data());
  ExpectClose(y, r.y, tol, what + " forward");
  backward_input(s, dy.data(), w.data(), dx.data(), false);
  ExpectClose(dx, r.dx, tol, what + " backward-input");
  // Accumulating adds to what grad_input holds (here the input itself), every element once.
  std::vector<T> sum = Cast<T>(r.x);
  std::vector<double> expected_sum = r.dx;
  for (size_t i = 0; i < expected_sum.size(); ++i) expected_sum[i] += r.x[i];
  backward_input(s, dy.data(), w.data(), sum.data(), true);
  ExpectClose(sum, expected_sum, tol, what + " backward-input accumulating");
  backward_weight(s, dy.data(), x.data(), dw.data());
  ExpectClose(dw, r.dw, tol, what + " backward-weight");
}

class ConvKernels : public ::testing::TestWithParam<Geometry> {};

TEST_P(ConvKernels, MatchNaiveReference) {
  const ConvShape s = ToShape(GetParam());
  ASSERT_GE(s.out_h, 1);
  ASSERT_GE(s.out_w, 1);
  const Reference r = MakeReference(s);
  for (int threads : {1, 2, 5}) {
    SetNumThreads(threads);
    const std::string t = " (" + std::to_string(threads) + " threads)";
    CheckPasses<double>(s, r, 1e-12, "gemm float64" + t, Conv2dForwardGemm<double>, Conv2dBackwardInputGemm<double>,
                        Conv2dBackwardWeightGemm<double>);
    CheckPasses<float>(s, r, 1e-5, "gemm float32" + t, Conv2dForwardGemm<float>, Conv2dBackwardInputGemm<float>,
                       Conv2dBackwardWeightGemm<float>);
    CheckPasses<double>(s, r, 1e-12, "dispatch float64" + t, Conv2dForward<double>, Conv2dBackwardInput<double>,
                        Conv2dBackwardWeight<double>);
    CheckPasses<float>(s, r, 1e-5, "dispatch float32" + t, Conv2dForward<float>, Conv2dBackwardInput<float>,
                       Conv2dBackwardWeight<float>);
    if (s.groups != 1) continue;
    for (VectorIsa isa : TestedIsas()) {
      const std::string name = "direct " + IsaName(isa) + t;
      CheckPasses<float>(
          s, r, 1e-5, name,
          [&](const ConvShape& s, const float* x, const float* w, const float* b, float* y) {
            DirectConv2dForward(s, x, w, b, y, isa);
          },
          [&](const ConvShape& s, const float* dy, const float* w, float* dx, bool accumulate) {
            DirectConv2dBackwardInput(s, dy, w, dx, accumulate, isa);
          },
          [&](const ConvShape& s, const float* dy, const float* x, float* dw) {
            DirectConv2dBackwardWeight(s, dy, x, dw, isa);
          });
      if (!WinogradApplies(s, isa)) continue;
      CheckPasses<float>(
          s, r, 1e-5, "winograd " + IsaName(isa) + t,
          [&](const ConvShape& s, const float* x, const float* w, const float* b, float* y) {
            WinogradConv2dForward(s, x, w, b, y, isa);
          },
          [&](const ConvShape& s, const float* dy, const float* w, float* dx, bool accumulate) {
            WinogradConv2dBackwardInput(s, dy, w, dx, accumulate, isa);
          },
          [&](const ConvShape& s, const float* dy, const float* x, float* dw) {
            WinogradConv2dBackwardWeight(s, dy, x, dw, isa);
          });
    }
  }
  SetNumThreads(2);
}

// name, batch, in_c, out_c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, groups
INSTANTIATE_TEST_SUITE_P(
    Geometries, ConvKernels,
    ::testing::Values(Geometry{"resnet_3x3", 3, 16, 16, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1},
                      Geometry{"resnet_stem", 2, 3, 16, 12, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1},
                      Geometry{"stride2_3x3", 2, 8, 16, 9, 10, 3, 3, 2, 2, 1, 1, 1, 1, 1},
                      Geometry{"stride2_1x1", 3, 8, 16, 8, 8, 1, 1, 2, 2, 0, 0, 1, 1, 1},
                      Geometry{"pointwise", 2, 5, 7, 6, 9, 1, 1, 1, 1, 0, 0, 1, 1, 1},
                      Geometry{"pointwise_large", 1, 4, 9, 10, 10, 1, 1, 1, 1, 0, 0, 1, 1, 1},
                      Geometry{"rect_kernel_pad", 2, 3, 5, 7, 11, 2, 4, 1, 1, 2, 1, 1, 1, 1},
                      Geometry{"stride3_dilated", 2, 4, 3, 13, 12, 3, 2, 3, 2, 2, 0, 2, 3, 1},
                      Geometry{"dilated", 1, 3, 20, 9, 9, 3, 3, 1, 1, 2, 2, 2, 2, 1},
                      Geometry{"big_padding", 2, 2, 3, 4, 5, 1, 3, 1, 2, 3, 2, 1, 1, 1},
                      Geometry{"kernel_equals_padded_input", 2, 3, 4, 3, 4, 5, 6, 1, 1, 1, 1, 1, 1, 1},
                      Geometry{"one_pixel", 4, 6, 10, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1},
                      Geometry{"wide_rows", 2, 2, 17, 3, 70, 3, 3, 1, 1, 1, 1, 1, 1, 1},
                      // Five column pieces, fewer channels than pieces, images > threads.
                      Geometry{"pipelined", 5, 3, 9, 20, 25, 3, 3, 1, 1, 1, 1, 1, 1, 1},
                      // The lane-wise weight gradient on both instruction sets (one
                      // vector of output channels, 276 columns: a tail of 4).
                      Geometry{"lane_gradient", 3, 4, 6, 12, 23, 3, 3, 1, 1, 1, 1, 1, 1, 1},
                      Geometry{"wide_stride2", 2, 3, 5, 5, 67, 3, 3, 1, 2, 1, 1, 1, 1, 1},
                      Geometry{"resnet_down", 2, 4, 8, 6, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1},
                      Geometry{"stride_h2", 2, 3, 4, 7, 6, 3, 3, 2, 1, 1, 1, 1, 1, 1},
                      Geometry{"stride2_mid_width", 2, 4, 8, 9, 20, 3, 3, 2, 2, 1, 1, 1, 1, 1},
                      Geometry{"stride2_width16", 2, 8, 16, 16, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1},
                      Geometry{"stride_w3", 1, 2, 3, 5, 40, 2, 3, 1, 3, 0, 1, 1, 1, 1},
                      // Winograd on both instruction sets: partial tiles, every
                      // padding up to 2, images grouped into blocks and one large
                      // image cut into runs of tile rows, in and out channels unequal.
                      Geometry{"winograd_partial_tiles", 3, 16, 32, 10, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1},
                      Geometry{"winograd_pads", 2, 32, 16, 11, 13, 3, 3, 1, 1, 0, 2, 1, 1, 1},
                      Geometry{"winograd_pad2", 3, 16, 16, 5, 6, 3, 3, 1, 1, 2, 1, 1, 1, 1},
                      Geometry{"winograd_many_images", 20, 16, 16, 4, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1},
                      Geometry{"winograd_tile_rows", 1, 16, 48, 30, 22, 3, 3, 1, 1, 1, 1, 1, 1, 1},
                      // 8 x 8 images in blocks of 3 at two threads: the last block
                      // holds one.
                      Geometry{"winograd_last_block_short", 7, 16, 16, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1},
                      Geometry{"winograd_tiny_output", 2, 16, 16, 3, 5, 3, 3, 1, 1, 0, 0, 1, 1, 1},
                      // AVX2 only (multiples of 8): one and three vectors of output
                      // channels in its GEMM tiles.
                      Geometry{"winograd_avx2_widths", 2, 8, 24, 9, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1},
                      Geometry{"winograd_avx2_narrow", 2, 24, 8, 6, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1},
                      // No rows, but padding makes an output: no Winograd, zeros in.
                      Geometry{"empty_rows_padded", 2, 16, 16, 0, 5, 3, 3, 1, 1, 2, 2, 1, 1, 1},
                      Geometry{"groups", 2, 6, 4, 7, 7, 3, 3, 2, 1, 1, 0, 1, 2, 2},
                      Geometry{"depthwise", 2, 4, 8, 6, 6, 3, 3, 1, 1, 1, 1, 1, 1, 4}),
    [](const ::testing::TestParamInfo<Geometry>& info) { return info.param.name; });

// Expects forward(s, x, w, y, isa) and backward_input(s, dy, w, dx, isa), adding into dx, to give each
// image of a batch of geometry g the same bits as that image alone, on both instruction sets.
template <typename Forward, typename BackwardInput>
void ExpectImagesAloneMatchTheBatch(const Geometry& g, Forward forward, BackwardInput backward_input) {
  const ConvShape s = ToShape(g);
  ConvShape one = s;
  one.batch = 1;
  const int64_t in_size = s.in_channels * s.in_h * s.in_w, out_size = s.out_channels * s.out_h * s.out_w;
  const std::vector<float> x = Cast<float>(Random(s.batch * in_size, 1));
  const std::vector<float> w = Cast<float>(Random(s.out_channels * s.in_channels * s.kernel_h * s.kernel_w, 2));
  const std::vector<float> dy = Cast<float>(Random(s.batch * out_size, 3));
  const std::vector<float> partial = Cast<float>(Random(s.batch * in_size, 4));
  SetNumThreads(2);
  for (VectorIsa isa : TestedIsas()) {
    std::vector<float> y(s.batch * out_size), dx = partial;
    forward(s, x.data(), w.data(), y.data(), isa);
    backward_input(s, dy.data(), w.data(), dx.data(), isa);
    for (int64_t n = 0; n < s.batch; ++n) {
      std::vector<float> y1(out_size), dx1(partial.begin() + n * in_size, partial.begin() + (n + 1) * in_size);
      forward(one, x.data() + n * in_size, w.data(), y1.data(), isa);
      backward_input(one, dy.data() + n * out_size, w.data(), dx1.data(), isa);
      EXPECT_EQ(y1, std::vector<float>(y.begin() + n * out_size, y.begin() + (n + 1) * out_size)) << "image " << n;
      EXPECT_EQ(dx1, std::vector<float>(dx.begin() + n * in_size, dx.begin() + (n + 1) * in_size)) << "image " << n;
    }
  }
}

// The direct kernels cut a batch's products into column pieces (and build the next image's slices between
// them), while an image alone splits its product over threads by rows instead. Neither changes a bit of
// the result: each image of a batch equals that image convolved alone, forward and backward-input, also
// when the product adds into an existing gradient.
TEST(DirectConvKernels, GiveAnImageTheSameBitsAloneOrInABatch) {
  // 448 columns: the whole product ends in an overlapping AVX-512 tile, its last piece (160 columns) does
  // not; more than 8 channels on both sides, so that an image alone splits its rows over the threads.
  ExpectImagesAloneMatchTheBatch(
      {"pieces", 5, 9, 10, 16, 28, 3, 3, 1, 1, 1, 1, 1, 1, 1},
      [](const ConvShape& s, const float* x, const float* w, float* y, VectorIsa isa) {
        DirectConv2dForward(s, x, w, nullptr, y, isa);
      },
      [](const ConvShape& s, const float* dy, const float* w, float* dx, VectorIsa isa) {
        DirectConv2dBackwardInput(s, dy, w, dx, /*accumulate=*/true, isa);
      });
}

// Winograd blocks hold whole images in a batch but runs of tile rows of an image alone (so that both
// threads get work); the bits do not change.
TEST(WinogradConvKernels, GiveAnImageTheSameBitsAloneOrInABatch) {
  const Geometry g{"blocks", 5, 16, 32, 23, 18, 3, 3, 1, 1, 1, 1, 1, 1, 1};
  ASSERT_TRUE(WinogradApplies(ToShape(g), VectorIsa::kAvx2));
  ExpectImagesAloneMatchTheBatch(
      g,
      [](const ConvShape& s, const float* x, const float* w, float* y, VectorIsa isa) {
        WinogradConv2dForward(s, x, w, nullptr, y, isa);
      },
      [](const ConvShape& s, const float* dy, const float* w, float* dx, VectorIsa isa) {
        WinogradConv2dBackwardInput(s, dy, w, dx, /*accumulate=*/true, isa);
      });
}

TEST(WinogradConvKernels, TakeOnly3x3Stride1LayersWithWholeVectorsOfChannels) {
  const ConvShape resnet = ToShape({"resnet", 2, 16, 32, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1});
  EXPECT_TRUE(WinogradApplies(resnet, VectorIsa::kAvx2));
  auto with = [&](auto change) {
    ConvShape s = resnet;
    change(s);
    s.out_h = ConvOutputSize(s.in_h, s.kernel_h, s.stride_h, s.pad_h, s.dilation_h);
    s.out_w = ConvOutputSize(s.in_w, s.kernel_w, s.stride_w, s.pad_w, s.dilation_w);
    return WinogradApplies(s, VectorIsa::kAvx2) || WinogradApplies(s, VectorIsa::kAvx512);
  };
  EXPECT_FALSE(with([](ConvShape& s) { s.stride_w = 2; }));
  EXPECT_FALSE(with([](ConvShape& s) { s.dilation_h = 2; }));
  EXPECT_FALSE(with([](ConvShape& s) { s.pad_w = 3; }));
  EXPECT_FALSE(with([](ConvShape& s) { s.kernel_h = 5; }));
  EXPECT_FALSE(with([](ConvShape& s) { s.groups = 2; }));
  EXPECT_FALSE(with([](ConvShape& s) { s.in_channels = 12; }));
  EXPECT_FALSE(with([](ConvShape& s) { s.out_channels = 128; }));
  EXPECT_FALSE(with([](ConvShape& s) { s.batch = 0; }));
  EXPECT_FALSE(with([](ConvShape& s) {  // an output from padding alone
    s.in_h = 0;
    s.pad_h = 2;
  }));
  // Multiples of 8 but not 16 run the AVX2 kernels on every CPU.
  ConvShape eights = resnet;
  eights.in_channels = 8;
  EXPECT_EQ(WinogradIsa(eights), VectorIsa::kAvx2);
  EXPECT_EQ(WinogradIsa(resnet), BestVectorIsa());
}

// The weight gradient's sums depend on the thread count only: the same call gives the same bits again.
TEST(WinogradConvKernels, WeightGradientRepeatsItsBits) {
  const ConvShape s = ToShape({"repeat", 9, 16, 32, 12, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1});
  const std::vector<float> x = Cast<float>(Random(s.batch * s.in_channels * s.in_h * s.in_w, 1));
  const std::vector<float> dy = Cast<float>(Random(s.batch * s.out_channels * s.out_h * s.out_w, 2));
  for (int threads : {1, 2, 3}) {
    SetNumThreads(threads);
    std::vector<float> first(s.out_channels * s.in_channels * 9), again(first.size());
    WinogradConv2dBackwardWeight(s, dy.data(), x.data(), first.data());
    WinogradConv2dBackwardWeight(s, dy.data(), x.data(), again.data());
    EXPECT_EQ(first, again) << threads << " threads";
  }
  SetNumThreads(2);
}

// Expects winograd to equal direct where direct is not finite (the same infinity, or NaN) and to be
// finite and close where it is (Winograd's error at these unit-normal layers stays below 1e-3); with
// reaches_output, direct to have some non-finite value.
void ExpectNonFiniteWhereDirectIs(const std::vector<float>& winograd, const std::vector<float>& direct,
                                  bool reaches_output, const std::string& what) {
  int64_t non_finite = 0;
  for (size_t i = 0; i < direct.size(); ++i) {
    if (std::isfinite(direct[i])) {
      ASSERT_TRUE(std::isfinite(winograd[i])) << what << ", element " << i << ": " << winograd[i];
      EXPECT_NEAR(winograd[i], direct[i], 1e-3 + 1e-4 * std::abs(direct[i])) << what << ", element " << i;
    } else {
      ++non_finite;
      EXPECT_TRUE(std::isnan(direct[i]) ? std::isnan(winograd[i]) : winograd[i] == direct[i])
          << what << ", element " << i << ": " << winograd[i] << " against " << direct[i];
    }
  }
  EXPECT_TRUE(non_finite > 0 || !reaches_output) << what << ": the case should reach the output";
}

// An infinity or NaN in the data or the weights, or a value whose transforms overflow (3e37 times the
// factor 25 that a pixel at tile position (2, 2) meets, while the direct kernels' products stay finite):
// Winograd's tiles would spread them, so those blocks are computed again by the direct kernels. Every
// pass, both instruction sets, whole-image blocks (two images in the block that fails) and tile-row blocks
// (only one of the image's two blocks fails), and a weight that makes every block fail.
TEST(WinogradConvKernels, LeaveNonFiniteValuesWhereTheDirectKernelsPutThem) {
  SetNumThreads(2);
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  for (const Geometry& g : {Geometry{"images", 5, 16, 16, 10, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1},
                            Geometry{"tile_rows", 1, 16, 32, 30, 22, 3, 3, 1, 1, 1, 1, 1, 1, 1}}) {
    const ConvShape s = ToShape(g);
    ASSERT_TRUE(WinogradApplies(s, VectorIsa::kAvx2));
    const std::vector<float> b = Cast<float>(Random(s.out_channels, 3));
    const std::vector<float> partial = Cast<float>(Random(s.batch * s.in_channels * s.in_h * s.in_w, 5));
    for (const auto& [name, value] :
         {std::pair<std::string, float>{"inf", -inf}, {"nan", nan}, {"3e37", 3e37f}, {"nan weight", nan}}) {
      std::vector<float> x = Cast<float>(Random(s.batch * s.in_channels * s.in_h * s.in_w, 1));
      std::vector<float> dy = Cast<float>(Random(s.batch * s.out_channels * s.out_h * s.out_w, 4));
      std::vector<float> w = Cast<float>(Random(s.out_channels * s.in_channels * 9, 2));
      if (name == "nan weight") {
        w[(7 * s.in_channels + 3) * 9 + 4] = value;
      } else {
        // Input: image 1, row 1 (position 2 of the first tile row, with padding 1), column 5 (position 2 of
        // the second tile column). grad_output: the last image, row out_h - 4 and column 6, positions 3 of
        // their tiles: the two never meet in one product of the weight gradient.
        x[((std::min<int64_t>(1, s.batch - 1) * s.in_channels + 3) * s.in_h + 1) * s.in_w + 5] = value;
        dy[(((s.batch - 1) * s.out_channels + 7) * s.out_h + s.out_h - 4) * s.out_w + 6] = value;
      }
      const bool reaches_output = !std::isfinite(value);
      for (VectorIsa isa : TestedIsas()) {
        const std::string what = g.name + ", " + name + ", " + IsaName(isa);
        std::vector<float> y_direct(s.batch * s.out_channels * s.out_h * s.out_w), y(y_direct.size());
        DirectConv2dForward(s, x.data(), w.data(), b.data(), y_direct.data(), isa);
        WinogradConv2dForward(s, x.data(), w.data(), b.data(), y.data(), isa);
        ExpectNonFiniteWhereDirectIs(y, y_direct, reaches_output, what + ", forward");
        std::vector<float> dx_direct = partial, dx = partial;
        DirectConv2dBackwardInput(s, dy.data(), w.data(), dx_direct.data(), /*accumulate=*/true, isa);
        WinogradConv2dBackwardInput(s, dy.data(), w.data(), dx.data(), /*accumulate=*/true, isa);
        ExpectNonFiniteWhereDirectIs(dx, dx_direct, reaches_output, what + ", backward-input");
        std::vector<float> dw_direct(w.size()), dw(w.size());
        DirectConv2dBackwardWeight(s, dy.data(), x.data(), dw_direct.data(), isa);
        WinogradConv2dBackwardWeight(s, dy.data(), x.data(), dw.data(), isa);
        ExpectNonFiniteWhereDirectIs(dw, dw_direct, reaches_output && name != "nan weight", what + ", backward-weight");
      }
    }
  }
}

// The largest error relative to the output's scale (as ExpectClose measures it).
double RelativeError(const std::vector<float>& actual, const std::vector<double>& expected) {
  double scale = 1, error = 0;
  for (double e : expected) scale = std::max(scale, std::abs(e));
  for (size_t i = 0; i < actual.size(); ++i) error = std::max(error, std::abs(actual[i] - expected[i]));
  return error / scale;
}

// Winograd's transforms round more than the direct kernels' plain sums. At a CIFAR ResNet's 3 x 3 layers
// (16, 32 and 64 channels at 32 x 32, 16 x 16 and 8 x 8, batch 16), its float32 error stays within 16
// times the direct kernels' (measured: 5 to 9 times forward and backward-input, 2 to 6 times
// backward-weight; 2e-6 to 6e-6 of the result's scale), and below the 1e-5 of the result's scale that
// every float32 path meets.
TEST(WinogradConvKernels, ErrorStaysNearTheDirectKernels) {
  SetNumThreads(2);
  for (const auto& [channels, size] : {std::pair<int64_t, int64_t>{16, 32}, {32, 16}, {64, 8}}) {
    const ConvShape s = ToShape({"resnet", 16, channels, channels, size, size, 3, 3, 1, 1, 1, 1, 1, 1, 1});
    const Reference r = MakeReference(s);
    const std::vector<float> x = Cast<float>(r.x), w = Cast<float>(r.w), b = Cast<float>(r.b), dy = Cast<float>(r.dy);
    std::vector<float> y(r.y.size()), dx(r.dx.size()), dw(r.dw.size());
    DirectConv2dForward(s, x.data(), w.data(), b.data(), y.data());
    const double direct_forward = RelativeError(y, r.y);
    DirectConv2dBackwardInput(s, dy.data(), w.data(), dx.data(), false);
    const double direct_input = RelativeError(dx, r.dx);
    WinogradConv2dForward(s, x.data(), w.data(), b.data(), y.data());
    const double winograd_forward = RelativeError(y, r.y);
    WinogradConv2dBackwardInput(s, dy.data(), w.data(), dx.data(), false);
    const double winograd_input = RelativeError(dx, r.dx);
    DirectConv2dBackwardWeight(s, dy.data(), x.data(), dw.data());
    const double direct_weight = RelativeError(dw, r.dw);
    WinogradConv2dBackwardWeight(s, dy.data(), x.data(), dw.data());
    const double winograd_weight = RelativeError(dw, r.dw);
    std::ostringstream what;
    what << channels << " channels, forward / backward-input / backward-weight: direct " << direct_forward << " / "
         << direct_input << " / " << direct_weight << ", winograd " << winograd_forward << " / " << winograd_input
         << " / " << winograd_weight;
    std::cout << what.str() << "\n";
    EXPECT_LT(winograd_forward, 1e-5) << what.str();
    EXPECT_LT(winograd_input, 1e-5) << what.str();
    EXPECT_LT(winograd_forward, 16 * direct_forward) << what.str();
    EXPECT_LT(winograd_input, 16 * direct_input) << what.str();
    EXPECT_LT(winograd_weight, 1e-5) << what.str();
    EXPECT_LT(winograd_weight, 16 * direct_weight) << what.str();
  }
}

TEST(ConvOutputSize, FloorsAndReportsMisfits) {
  EXPECT_EQ(ConvOutputSize(32, 3, 1, 1, 1), 32);
  EXPECT_EQ(ConvOutputSize(32, 3, 2, 1, 1), 16);
  EXPECT_EQ(ConvOutputSize(7, 3, 2, 0, 2), 2);
  EXPECT_EQ(ConvOutputSize(3, 5, 1, 1, 1), 1);
  EXPECT_LT(ConvOutputSize(3, 5, 1, 0, 1), 1);
  EXPECT_LT(ConvOutputSize(3, 5, 2, 0, 1), 1);
}

}  // namespace
}  // namespace normgrad::cpu
