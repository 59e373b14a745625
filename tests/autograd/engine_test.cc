#include "autograd/engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "core/kernels/elementwise.h"

namespace normgrad {
namespace {

using ::testing::HasSubstr;

template <typename Fn>
std::string ErrorOf(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Engine, ChainRuleAndAccumulationAcrossCalls) {
  Tensor x = from_vector<double>({1, 2, 3}).set_requires_grad();
  Tensor y = sum(mul(x, x));  // dy/dx = 2x
  y.backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{2, 4, 6}));
  sum(mul(x, 3.0)).backward();  // accumulates: + 3
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{5, 7, 9}));
}

TEST(Engine, DiamondSumsBothPaths) {
  Tensor x = from_vector<double>({2}).set_requires_grad();
  Tensor a = mul(x, 3.0), b = exp(x);
  sum(add(mul(a, a), b)).backward();  // d/dx (9x^2 + e^x) = 18x + e^x
  EXPECT_NEAR(x.grad().item(), 36 + std::exp(2.0), 1e-12);
}

TEST(Engine, ExplicitGradientForNonScalar) {
  Tensor x = from_vector<double>({1, 2}).set_requires_grad();
  Tensor y = mul(x, 2.0);
  EXPECT_THAT(ErrorOf([&] { y.backward(); }), HasSubstr("expected an explicit gradient"));
  y.backward(from_vector<double>({1, 10}));
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{2, 20}));
  EXPECT_THAT(ErrorOf([&] { mul(x, 2.0).backward(from_vector<double>({1, 2, 3})); }),
              HasSubstr("expected a gradient of shape [2]"));
}

// The engine's own checks: a backward function that returns a gradient of the wrong shape or dtype, an
// explicit gradient of the wrong dtype, a gradient count that is not one per output, and a Grad input that
// does not require grad, each named in the message.
TEST(Engine, RejectsMismatchedGradients) {
  Tensor x = from_vector<double>({1, 2, 3}).set_requires_grad();
  auto recorded = [&](Tensor grad) {
    return autograd::Record("BadBackward", x.detach(), {x},
                            [grad](const autograd::BackwardContext&) -> std::vector<Tensor> { return {grad}; });
  };
  EXPECT_THAT(ErrorOf([&] { recorded(zeros({5}, {.dtype = kFloat64})).backward(ones({3}, {.dtype = kFloat64})); }),
              HasSubstr("backward: BadBackward returned a gradient of shape [5] for its input 0, expected [3]"));
  EXPECT_THAT(
      ErrorOf([&] { recorded(zeros({3})).backward(ones({3}, {.dtype = kFloat64})); }),
      HasSubstr("backward: BadBackward returned a gradient of dtype float32 for its input 0, expected float64"));
  EXPECT_THAT(ErrorOf([&] { mul(x, 2.0).backward(ones({3})); }),
              HasSubstr("backward: expected a gradient of dtype float64 for output 0, got float32"));
  const Tensor y = mul(x, 2.0), g = ones({3}, {.dtype = kFloat64});
  EXPECT_THAT(ErrorOf([&] {
                autograd::Grad({y}, {x}, {g, g});
              }),
              HasSubstr("grad: expected 1 gradients (one per output), got 2"));
  EXPECT_THAT(ErrorOf([&] { autograd::Grad({y}, {x.detach()}, {g}); }),
              HasSubstr("grad: expected inputs[0] to require grad"));
}

TEST(Engine, FreedGraphThrowsUnlessRetained) {
  Tensor x = from_vector<double>({1, 2}).set_requires_grad();
  Tensor y = sum(exp(x));
  y.backward({}, {.retain_graph = true});
  y.backward();
  EXPECT_NEAR(x.grad().at({0}), 2 * std::exp(1.0), 1e-12);
  EXPECT_THAT(ErrorOf([&] { y.backward(); }), HasSubstr("retain_graph"));
}

TEST(Engine, NoGradAndDetachRecordNothing) {
  Tensor x = from_vector<double>({1}).set_requires_grad();
  Tensor y = NoGrad([&] { return mul(x, 2.0); });
  EXPECT_FALSE(y.requires_grad());
  EXPECT_FALSE(mul(x.detach(), 2.0).requires_grad());
  EXPECT_TRUE(mul(x, 2.0).requires_grad());
  EXPECT_THAT(ErrorOf([&] { y.backward(); }), HasSubstr("to require grad"));
}

TEST(Engine, LeavesNotRequiringGradGetNothing) {
  Tensor x = from_vector<double>({1, 2}).set_requires_grad();
  Tensor c = from_vector<double>({3, 4});
  sum(mul(x, c)).backward();
  EXPECT_FALSE(c.grad().defined());
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{3, 4}));
}

TEST(Engine, GradientsDoNotAliasEachOther) {
  // add passes the same upstream gradient to both inputs; scaling one leaf's grad in place must not
  // change the other's.
  Tensor a = from_vector<double>({1}).set_requires_grad(), b = from_vector<double>({1}).set_requires_grad();
  sum(add(a, b)).backward();
  NoGrad([&] { a.grad().mul_(5.0); });
  EXPECT_EQ(b.grad().item(), 1.0);
}

TEST(Engine, SummingContributionsInPlaceTouchesNoTensorSomeoneHolds) {
  // Both inputs of add(h, h) get the caller's gradient itself; h's node sums the two contributions, and
  // x gets three more through the other uses of x. None of them may be summed into the caller's tensor,
  // nor into a tensor a node saved.
  Tensor x = from_vector<double>({1, 2}).set_requires_grad();
  Tensor h = mul(x, 2.0);
  Tensor y = add(add(h, h), mul(x, x));
  Tensor z = add(y, x);
  const Tensor gradient = from_vector<double>({1, 10});
  z.backward(gradient, {.retain_graph = true});
  EXPECT_EQ(gradient.to_vector<double>(), (std::vector<double>{1, 10}));
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{1 * (4 + 2 + 1), 10 * (4 + 4 + 1)}));
  EXPECT_EQ(x.to_vector<double>(), (std::vector<double>{1, 2}));
  // The retained graph gives the same gradients again, summed into grad().
  z.backward(gradient);
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{14, 180}));
  EXPECT_EQ(gradient.to_vector<double>(), (std::vector<double>{1, 10}));
}

TEST(Engine, HandsOverGradientsNobodyElseHolds) {
  Tensor x = from_vector<double>({1, 2}).set_requires_grad();
  std::vector<bool> seen;
  auto probe = [&seen](const Tensor& in) {
    return autograd::Record("ProbeBackward", in.detach(), {in}, [&seen](const autograd::BackwardContext& ctx) {
      seen.push_back(ctx.grad_reusable);
      return std::vector<Tensor>{ctx.grad};
    });
  };
  sum(mul(probe(x), 2.0)).backward();  // the gradient is mul's fresh result
  probe(x).backward(ones({2}, {.dtype = kFloat64}));  // the caller's gradient
  Tensor y = probe(x);
  autograd::Grad({sum(mul(y, 2.0))}, {y});  // captured for the caller; y's node does not run
  Tensor z = probe(x);
  autograd::Grad({sum(mul(z, 2.0))}, {x});
  EXPECT_EQ(seen, (std::vector<bool>{true, false, true}));
  Tensor w = probe(x);
  sum(mul(w, w)).backward({}, {.create_graph = true});  // recorded: never overwritten
  EXPECT_EQ(seen.back(), false);
  // relu and add_relu write their gradient into the one they were handed: the results stay right.
  Tensor a = from_vector<double>({-1, 2, 3}).set_requires_grad();
  sum(mul(add_relu(relu(mul(a, 3.0)), a), 2.0)).backward();
  EXPECT_EQ(a.grad().to_vector<double>(), (std::vector<double>{0, 8, 8}));
}

TEST(Engine, HandsOverPartialSumsOfSharedInputs) {
  // y = 3 h, adding its gradient into the partial sum of h's gradient when it is handed one.
  std::vector<bool> offered;
  auto triple = [&offered](const Tensor& h) {
    return autograd::Record("TripleBackward", mul(h.detach(), 3.0), {h}, [&offered](const autograd::BackwardContext& ctx) {
      const Tensor& partial = ctx.partial_sum(0);
      offered.push_back(partial.defined());
      if (!partial.defined()) return std::vector<Tensor>{mul(ctx.grad, 3.0)};
      kernels::add_(partial, mul(ctx.grad, 3.0));
      return std::vector<Tensor>{partial};
    });
  };
  Tensor x = from_vector<double>({1, 2}).set_requires_grad();
  // h feeds triple and a multiply by 5. Nodes run last-ready-first: here the multiply's gradient reaches h's
  // buffer first, a fresh tensor that triple is handed.
  Tensor h = mul(x, 2.0);
  sum(add(triple(h), mul(h, 5.0))).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{16, 16}));  // 2 (3 + 5)
  // The other order: nothing summed yet when triple runs.
  h = mul(x, 2.0);
  sum(add(mul(h, 5.0), triple(h))).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{32, 32}));
  // A partial sum the caller holds (its own gradient for the root h) is not handed over, nor one while
  // backward is recorded.
  h = mul(x, 2.0);
  const Tensor held = from_vector<double>({1, 1});
  autograd::Backward({triple(h), h}, {from_vector<double>({1, 1}), held});
  EXPECT_EQ(held.to_vector<double>(), (std::vector<double>{1, 1}));
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{40, 40}));  // + 2 (3 + 1)
  h = mul(x, 2.0);
  sum(add(triple(h), mul(h, 5.0))).backward({}, {.create_graph = true});
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{56, 56}));
  EXPECT_EQ(offered, (std::vector<bool>{true, false, false, false}));
}

TEST(Engine, InPlaceChangeOfSavedTensorIsDetected) {
  Tensor x = from_vector<double>({1, 2}).set_requires_grad();
  Tensor c = from_vector<double>({3, 4});
  Tensor y = sum(mul(x, c));
  c.add_(1.0);
  EXPECT_THAT(ErrorOf([&] { y.backward(); }), HasSubstr("modified by an in-place operation"));
}

TEST(Engine, InPlaceOnLeafRequiringGradIsRefused) {
  Tensor x = from_vector<double>({1, 2}).set_requires_grad();
  EXPECT_THROW(x.add_(1.0), Error);
  NoGrad([&] { x.add_(1.0); });  // an optimizer step
  EXPECT_EQ(x.to_vector<double>(), (std::vector<double>{2, 3}));
}

// An op's output kept for backward (exp's, relu's, softmax's, ...) is checked like a saved input.
TEST(Engine, InPlaceChangeOfAKeptOutputIsDetected) {
  Tensor x = from_vector<double>({1, 2}).set_requires_grad();
  Tensor y = exp(x);
  y.detach().mul_(2.0);  // the same memory: backward would give 2 e^x
  EXPECT_THAT(ErrorOf([&] { sum(y).backward(); }),
              HasSubstr("ExpBackward: a tensor saved for backward was modified by an in-place operation"));
}

// In-place ops are not recorded, so a source that requires grad would lose its gradient: refused.
TEST(Engine, InPlaceFromASourceRequiringGradIsRefused) {
  Tensor x = from_vector<double>({1, 2}).set_requires_grad();
  Tensor buf = zeros({2}, {.dtype = kFloat64});
  using InPlaceOp = const Tensor& (Tensor::*)(const Tensor&) const;
  for (InPlaceOp op : {&Tensor::add_, &Tensor::sub_, &Tensor::mul_, &Tensor::div_, &Tensor::copy_}) {
    EXPECT_THAT(ErrorOf([&] { (buf.*op)(x); }), HasSubstr("expected a source that does not require grad"));
  }
  EXPECT_EQ(buf.to_vector<double>(), (std::vector<double>{0, 0}));
  NoGrad([&] { buf.add_(x); });
  EXPECT_EQ(buf.to_vector<double>(), (std::vector<double>{1, 2}));
}

// The same tensor twice among Grad's inputs gets its gradient in both places, as torch.autograd.grad.
TEST(Engine, GradGivesARepeatedInputItsGradientTwice) {
  Tensor x = from_vector<double>({3}).set_requires_grad();
  for (bool leaf : {true, false}) {  // a leaf, and a tensor in the graph
    Tensor h = mul(x, 2.0);
    const Tensor& t = leaf ? x : h;
    std::vector<Tensor> g = autograd::Grad({mul(h, h)}, {t, t});
    ASSERT_TRUE(g[0].defined() && g[1].defined());
    const double expected = leaf ? 24 : 12;  // d(4x^2)/dx = 8x at x = 3; d(h^2)/dh = 2h at h = 6
    EXPECT_EQ(g[0].item(), expected);
    EXPECT_EQ(g[1].item(), expected);
  }
}

// relu's backward, also when create_graph records it: an inf gradient where the output is 0 gives 0 (a
// product with a 0/1 mask would give NaN), and a NaN output passes the gradient, as PyTorch's
// threshold_backward.
TEST(Engine, ReluBackwardSelectsAlsoWhenRecorded) {
  const double inf = std::numeric_limits<double>::infinity();
  Tensor x = from_vector<double>({-1, 2, std::nan("")}).set_requires_grad();
  for (bool create_graph : {false, true}) {
    const std::vector<Tensor> g =
        autograd::Grad({relu(x)}, {x}, {from_vector<double>({inf, 3, 4})}, {.create_graph = create_graph});
    EXPECT_EQ(g[0].to_vector<double>(), (std::vector<double>{0, 3, 4})) << create_graph;
  }
  EXPECT_THAT(ErrorOf([] { relu_backward(from_vector<float>({1}), from_vector<double>({1})); }),
              HasSubstr("relu_backward: expected grad and output of the same dtype and device, got float32 on "
                        "cpu and float64 on cpu"));
}

// Gradients at ties, as PyTorch 1.13: amax/amin share the gradient equally among the tied elements;
// max/min along a dim send it all to the index they return, the first of the ties.
TEST(Engine, ReductionGradientsAtTiesMatchPyTorch) {
  Tensor x = from_vector<double>({1, 3, 3, 2, 2, 2}, {2, 3}).set_requires_grad();
  auto grad = [&](const Tensor& y) { return autograd::Grad({sum(y)}, {x})[0].to_vector<double>(); };
  const double third = 1.0 / 3;
  EXPECT_EQ(grad(amax(x, {1})), (std::vector<double>{0, 0.5, 0.5, third, third, third}));
  EXPECT_EQ(grad(amin(x, {1})), (std::vector<double>{1, 0, 0, third, third, third}));
  EXPECT_EQ(grad(max(x, 1).values), (std::vector<double>{0, 1, 0, 1, 0, 0}));
  EXPECT_EQ(grad(min(x, 1).values), (std::vector<double>{1, 0, 0, 1, 0, 0}));
}

// clamp's gradient, as PyTorch 1.13: 1 inside [lo, hi] with both bounds included, 0 outside and at NaN;
// with lo > hi every output is hi and no input moves it.
TEST(Engine, ClampGradientAtBoundsNanAndCrossedBoundsMatchesPyTorch) {
  Tensor x = from_vector<double>({-1, 0, 0.5, 1, std::nan("")}).set_requires_grad();
  auto grad = [&](const Tensor& y) { return autograd::Grad({sum(y)}, {x})[0].to_vector<double>(); };
  EXPECT_EQ(grad(clamp(x, 0.0, 1.0)), (std::vector<double>{0, 1, 1, 1, 0}));
  const std::vector<double> crossed = clamp(x, 2.0, 1.0).to_vector<double>();
  EXPECT_EQ(std::vector<double>(crossed.begin(), crossed.end() - 1), (std::vector<double>{1, 1, 1, 1}));
  EXPECT_TRUE(std::isnan(crossed.back()));
  EXPECT_EQ(grad(clamp(x, 2.0, 1.0)), (std::vector<double>{0, 0, 0, 0, 0}));
}

TEST(Engine, SumToAndSliceScatterRejectMismatchedShapes) {
  EXPECT_THAT(ErrorOf([] {
                sum_to(zeros({2, 3}), {4});
              }),
              HasSubstr("sum_to: expected a shape that [2, 3] broadcasts from, got [4]"));
  const Tensor input = zeros({3, 4}, {.dtype = kFloat64});
  EXPECT_THAT(ErrorOf([&] {
                slice_scatter(input, zeros({3, 3}, {.dtype = kFloat64}), 1, 0, 4, 2);
              }),
              HasSubstr("slice_scatter: expected src of shape [3, 2], got [3, 3]"));
  EXPECT_THAT(ErrorOf([&] {
                slice_scatter(input, zeros({3, 2}), 1, 0, 4, 2);
              }),
              HasSubstr("slice_scatter: expected src of dtype float64, got float32"));
}

// pow's gradients where a = 0, as PyTorch 1.13 computes them (its values for these inputs):
// d/da is 0 where b = 0 and -inf at b = -1; d/db takes its limit 0 where b >= 0 and is -inf where b < 0.
TEST(Engine, PowGradientsAtZeroMatchPyTorch) {
  Tensor a = from_vector<double>({0, 0, 2, 0}).set_requires_grad();
  Tensor b = from_vector<double>({0, -1, 0, 2}).set_requires_grad();
  sum(pow(a, b)).backward();
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(a.grad().to_vector<double>(), (std::vector<double>{0, -inf, 0, 0}));
  const std::vector<double> gb = b.grad().to_vector<double>();
  EXPECT_EQ(gb[0], 0);
  EXPECT_EQ(gb[1], -inf);
  EXPECT_DOUBLE_EQ(gb[2], std::log(2.0));
  EXPECT_EQ(gb[3], 0);
}

// Grad runs only the nodes between its outputs and inputs, as torch.autograd.grad: the node behind a
// captured input neither runs (it might not support what is asked, such as create_graph) nor is freed.
TEST(Engine, GradRunsNoNodeBehindItsInputs) {
  Tensor x = from_vector<double>({1, 2}).set_requires_grad();
  int runs = 0;
  Tensor h =
      autograd::Record("CountingBackward", mul(x.detach(), 2.0), {x}, [&runs](const autograd::BackwardContext& ctx) {
        ++runs;
        return std::vector<Tensor>{mul(ctx.grad, 2.0)};
      });
  Tensor unrelated = from_vector<double>({5}).set_requires_grad();
  const Tensor loss = add(sum(mul(h, h)), sum(mul(unrelated, unrelated)));
  std::vector<Tensor> g = autograd::Grad({loss}, {h});
  EXPECT_EQ(g[0].to_vector<double>(), (std::vector<double>{4, 8}));  // 2h
  EXPECT_EQ(runs, 0);
  sum(h).backward();  // h's node was not freed
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{2, 2}));
  // A captured node with another target behind it runs.
  Tensor h2 =
      autograd::Record("CountingBackward", mul(x.detach(), 2.0), {x}, [&runs](const autograd::BackwardContext& ctx) {
        ++runs;
        return std::vector<Tensor>{mul(ctx.grad, 2.0)};
      });
  g = autograd::Grad({sum(mul(h2, h2))}, {h2, x});
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(g[1].to_vector<double>(), (std::vector<double>{8, 16}));  // 8x
}

TEST(Engine, GradComputesWithoutTouchingLeaves) {
  Tensor x = from_vector<double>({3}).set_requires_grad();
  Tensor y = mul(mul(x, x), x);  // x^3
  std::vector<Tensor> g = autograd::Grad({y}, {x}, {}, {.create_graph = true});
  EXPECT_EQ(g[0].item(), 27.0);  // 3x^2
  EXPECT_FALSE(x.grad().defined());
  std::vector<Tensor> gg = autograd::Grad({g[0]}, {x});
  EXPECT_EQ(gg[0].item(), 18.0);  // 6x
  Tensor unused = from_vector<double>({1}).set_requires_grad();
  EXPECT_THAT(ErrorOf([&] { autograd::Grad({mul(x, 2.0)}, {unused}); }), HasSubstr("allow_unused"));
}

TEST(Engine, CreateGraphGivesSecondDerivativeThroughBackward) {
  Tensor x = from_vector<double>({0.5}).set_requires_grad();
  Tensor y = sum(exp(mul(x, 2.0)));
  y.backward({}, {.create_graph = true});
  Tensor dx = x.grad();  // 2 e^{2x}, itself differentiable
  x.set_grad(Tensor());
  dx.backward();
  EXPECT_NEAR(x.grad().item(), 4 * std::exp(1.0), 1e-12);
}

// PyTorch's AccumulateGrad: without create_graph, later gradients are added into the tensor grad() already
// is, so a handle taken after the first backward sees the sums (in PyTorch, x.grad is g).
TEST(Engine, AccumulatesIntoTheExistingGradInPlace) {
  Tensor x = from_vector<double>({1, 2, 3}).set_requires_grad();
  sum(mul(x, x)).backward();
  const Tensor g = x.grad();
  sum(mul(x, 3.0)).backward();
  EXPECT_EQ(x.grad().impl(), g.impl());
  EXPECT_EQ(g.to_vector<double>(), (std::vector<double>{5, 7, 9}));
  sum(mul(x, x)).backward({}, {.retain_graph = true});
  EXPECT_EQ(g.to_vector<double>(), (std::vector<double>{7, 11, 15}));

  // A gradient the caller set is added into too, as in PyTorch.
  Tensor w = from_vector<double>({1, 2}).set_requires_grad();
  const Tensor mine = from_vector<double>({5, 5});
  w.set_grad(mine);
  sum(mul(w, 1.0)).backward();
  EXPECT_EQ(w.grad().impl(), mine.impl());
  EXPECT_EQ(mine.to_vector<double>(), (std::vector<double>{6, 6}));
}

// The first gradient a leaf gets must not be a tensor that someone else holds (here the caller's gradient,
// which add and the leaf root hand on unchanged): the next backward adds into grad() in place.
TEST(Engine, FirstGradientIsNeverATensorSomeoneElseHolds) {
  for (bool create_graph : {false, true}) {
    SCOPED_TRACE(create_graph ? "create_graph" : "plain");
    Tensor x = from_vector<double>({1, 2}).set_requires_grad();
    const Tensor c = from_vector<double>({3, 4});
    const Tensor v = from_vector<double>({1, 10});
    add(x, c).backward(v, {.create_graph = create_graph});
    EXPECT_FALSE(x.grad().storage().is_same(v.storage()));
    add(x, c).backward(v);
    EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{2, 20}));
    EXPECT_EQ(v.to_vector<double>(), (std::vector<double>{1, 10}));
    EXPECT_EQ(c.to_vector<double>(), (std::vector<double>{3, 4}));

    Tensor leaf = from_vector<double>({1, 2}).set_requires_grad();
    leaf.backward(v, {.create_graph = create_graph});  // the root is the leaf itself
    leaf.backward(v);
    EXPECT_EQ(leaf.grad().to_vector<double>(), (std::vector<double>{2, 20}));
    EXPECT_EQ(v.to_vector<double>(), (std::vector<double>{1, 10}));
  }
}

// With create_graph, grad() + new is a new, recorded tensor (PyTorch's out-of-place path): the old handle
// keeps its value, and the sum is differentiable.
TEST(Engine, CreateGraphAccumulatesOutOfPlaceAndStaysDifferentiable) {
  Tensor x = from_vector<double>({0.5}).set_requires_grad();
  sum(mul(x, x)).backward({}, {.create_graph = true});  // 2x = 1
  const Tensor first = x.grad();
  EXPECT_TRUE(first.requires_grad());
  sum(mul(mul(x, x), x)).backward({}, {.create_graph = true});  // + 3x^2 = 0.75
  EXPECT_NE(x.grad().impl(), first.impl());
  EXPECT_EQ(first.item(), 1.0);
  Tensor dx = x.grad();
  EXPECT_EQ(dx.item(), 1.75);
  x.set_grad(Tensor());
  dx.backward();  // d/dx (2x + 3x^2) = 2 + 6x
  EXPECT_EQ(x.grad().item(), 5.0);

  // A plain backward after a recorded one sums correctly (into a new tensor: grad() is part of a graph).
  Tensor y = from_vector<double>({0.5}).set_requires_grad();
  sum(mul(y, y)).backward({}, {.create_graph = true});
  sum(mul(y, 3.0)).backward();
  EXPECT_EQ(y.grad().item(), 4.0);
}

// 10,000 ops in a chain: forward, backward and teardown must not recurse per node.
TEST(Engine, LongChainDoesNotOverflowTheStack) {
  Tensor x = from_vector<double>({1}).set_requires_grad();
  {
    Tensor y = x;
    for (int i = 0; i < 10000; ++i) y = mul(y, 1.0001);
    y.backward();
    EXPECT_NEAR(x.grad().item(), std::pow(1.0001, 10000), 1e-9);
  }
  {
    Tensor y = x;
    for (int i = 0; i < 100000; ++i) y = add(y, 1.0);  // teardown only, never run backward
  }
}


TEST(Engine, ConversionsSendTheGradientBackInTheSourcesDtypeAndDevice) {
  Tensor x = from_vector<double>({1, -2, 4}).set_requires_grad();
  const Tensor y = to_dtype(x, kFloat32);
  ASSERT_EQ(y.dtype(), kFloat32);
  EXPECT_STREQ(y.grad_fn()->name(), "ToDtypeBackward");
  sum(mul(y, y)).backward();
  ASSERT_EQ(x.grad().dtype(), kFloat64);
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{2, -4, 8}));

  // No node where nothing changes or where the result is an integer.
  EXPECT_TRUE(to_dtype(x, kFloat64).is_same(x));
  EXPECT_TRUE(to(x, kCPU).is_same(x));
  const Tensor labels = to_dtype(x, kInt64);
  EXPECT_FALSE(labels.requires_grad());
  EXPECT_EQ(labels.to_vector<int64_t>(), (std::vector<int64_t>{1, -2, 4}));
}
}  // namespace
}  // namespace normgrad
