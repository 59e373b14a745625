// Gradient-check cases for nn/functional/normalization.h: every function in training and in eval mode,
// with and without affine parameters and running statistics, ranks 2 to 5. Double backward is exact
// (the create_graph path recomputes the statistics with differentiable ops), so every case checks the
// second order too.
#include "core/random.h"
#include "nn/functional/normalization.h"
#include "tests/autograd/op_list.h"

namespace normgrad::testing {
namespace {

namespace F = nn::functional;
using V = const std::vector<Tensor>&;

Generator& Gen() {
  static Generator gen(2025);
  return gen;
}

// float64 leaves that require grad; means and scales away from 0 so the statistics are well spread.
Tensor N(const Shape& shape, double mean = 0, double std = 1) {
  return normal(shape, mean, std, {.dtype = kFloat64, .requires_grad = true}, &Gen());
}
// Buffers: running statistics (no gradient).
Tensor Buffer(const Shape& shape, double mean, double std) {
  return normal(shape, mean, std, {.dtype = kFloat64}, &Gen());
}
Tensor Variances(int64_t c) { return uniform({c}, 0.5, 2, {.dtype = kFloat64}, &Gen()); }

std::vector<OpCase> NormalizationOpCases() {
  const Tensor rm3 = Buffer({3}, 0.2, 0.5), rv3 = Variances(3), rm2 = Buffer({2}, -0.3, 0.5), rv2 = Variances(2);
  return {
      {"batch_norm_train_2d_affine",
       [](V x) { return F::batch_norm(x[0], {}, {}, x[1], x[2], /*training=*/true); },
       {N({4, 3}, 1, 2), N({3}, 1), N({3})}},
      {"batch_norm_train_3d_running_stats",
       [rm = Buffer({3}, 0, 1), rv = Variances(3)](V x) {
         return F::batch_norm(x[0], rm, rv, {}, {}, /*training=*/true, 0.3, 1e-3);
       },
       {N({3, 3, 5})}},
      {"batch_norm_train_4d_options",
       [](V x) {
         return F::batch_norm(x[0], {}, {}, {.weight = x[1], .bias = x[2], .training = true, .eps = 1e-2});
       },
       {N({2, 3, 2, 3}), N({3}, 1), N({3})}},
      {"batch_norm_train_5d_weight_only",
       [](V x) { return F::batch_norm(x[0], {}, {}, x[1], {}, /*training=*/true); },
       {N({2, 2, 2, 2, 2}, -1, 3), N({2}, 1)}},
      {"batch_norm_eval_3d_affine",
       [rm3, rv3](V x) { return F::batch_norm(x[0], rm3, rv3, x[1], x[2], /*training=*/false); },
       {N({2, 3, 4}), N({3}, 1), N({3})}},
      {"batch_norm_eval_2d",
       [rm2, rv2](V x) { return F::batch_norm(x[0], rm2, rv2, {}, {}, /*training=*/false, 0.1, 0.1); },
       {N({5, 2})}},
      // batch norm + relu as one op: runs long enough for the run-by-run kernels ([2, 2, 4, 8]) and short
      // ones by columns; the bias keeps the normalized values away from the relu's kink.
      {"batch_norm_relu_train_4d_affine",
       [](V x) { return F::batch_norm_relu(x[0], {}, {}, x[1], x[2], /*training=*/true); },
       {N({2, 2, 4, 8}), N({2}, 1), N({2}, 0.3)}},
      {"batch_norm_relu_train_2d_running_stats",
       [rm = Buffer({3}, 0, 1), rv = Variances(3)](V x) {
         return F::batch_norm_relu(x[0], rm, rv, x[1], {}, /*training=*/true, 0.3, 1e-3);
       },
       {N({5, 3}, 1, 2), N({3}, 1)}},
      {"batch_norm_relu_eval_3d_affine",
       [rm3, rv3](V x) { return F::batch_norm_relu(x[0], rm3, rv3, x[1], x[2], /*training=*/false); },
       {N({2, 3, 4}), N({3}, 1), N({3})}},
      // batch norm + residual add + relu as one op (the end of a ResNet block), runs and columns.
      {"batch_norm_add_relu_train_4d_affine",
       [](V x) { return F::batch_norm_add_relu(x[0], x[3], {}, {}, x[1], x[2], /*training=*/true); },
       {N({2, 2, 4, 8}), N({2}, 1), N({2}, 0.3), N({2, 2, 4, 8})}},
      {"batch_norm_add_relu_train_3d",
       [](V x) { return F::batch_norm_add_relu(x[0], x[1], {}, {}, {}, {}, /*training=*/true); },
       {N({3, 3, 5}), N({3, 3, 5}, 0.5)}},
      {"batch_norm_add_relu_eval_4d_affine",
       [rm3, rv3](V x) { return F::batch_norm_add_relu(x[0], x[3], rm3, rv3, x[1], x[2], /*training=*/false); },
       {N({2, 3, 2, 2}), N({3}, 1), N({3}), N({2, 3, 2, 2})}},
      {"instance_norm_affine",
       [](V x) { return F::instance_norm(x[0], {}, {}, x[1], x[2]); },
       {N({2, 3, 4}), N({3}, 1), N({3})}},
      {"instance_norm_4d_running_stats",
       [rm = Buffer({2}, 0, 1), rv = Variances(2)](V x) { return F::instance_norm(x[0], rm, rv, {}, {}, true, 0.5); },
       {N({2, 2, 2, 3}, 2, 1)}},
      {"instance_norm_eval_affine",
       [rm3, rv3](V x) { return F::instance_norm(x[0], rm3, rv3, x[1], x[2], /*use_input_stats=*/false); },
       {N({2, 3, 2, 2}), N({3}, 1), N({3})}},
      {"group_norm_affine",
       [](V x) { return F::group_norm(x[0], 2, x[1], x[2]); },
       {N({2, 4, 3}), N({4}, 1), N({4})}},
      {"group_norm_2d_one_group",
       [](V x) { return F::group_norm(x[0], 1, {}, {}, 1e-3); },
       {N({3, 4}, 1, 2)}},
      {"group_norm_5d_bias_only",
       [](V x) { return F::group_norm(x[0], 3, {}, x[1]); },
       {N({2, 6, 1, 2, 2}), N({6})}},
      {"layer_norm_affine",
       [](V x) { return F::layer_norm(x[0], {4}, x[1], x[2]); },
       {N({3, 4}), N({4}, 1), N({4})}},
      {"layer_norm_two_dims",
       [](V x) { return F::layer_norm(x[0], {2, 3}, x[1], x[2], 1e-3); },
       {N({2, 2, 3}, 5, 2), N({2, 3}, 1), N({2, 3})}},
      {"layer_norm_plain",
       [](V x) { return F::layer_norm(x[0], {5}); },
       {N({2, 2, 5})}},
      {"rms_norm_weighted",
       [](V x) { return F::rms_norm(x[0], {2, 3}, x[1], 1e-3); },
       {N({2, 2, 3}, 0.5, 2), N({2, 3}, 1)}},
      {"rms_norm_default_eps",
       [](V x) { return F::rms_norm(x[0], {4}); },
       {N({3, 4})}},
  };
}

const bool kRegistered = RegisterOpCases(NormalizationOpCases);

}  // namespace
}  // namespace normgrad::testing
