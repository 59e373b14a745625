#ifndef NORMGRAD_CORE_RANDOM_H_
#define NORMGRAD_CORE_RANDOM_H_

#include <cstdint>
#include <random>
#include <string>

#include "absl/status/status.h"
#include "core/tensor.h"

namespace normgrad {

// A seeded stream of random numbers: the same seed gives the same draws, on every platform, because
// the distributions are computed here rather than by the standard library. Its state can be saved
// and restored (checkpoints resume every random stream exactly).
class Generator {
 public:
  explicit Generator(uint64_t seed = 0x5eed) { manual_seed(seed); }

  void manual_seed(uint64_t seed);
  uint64_t seed() const { return seed_; }

  uint64_t NextBits() { return engine_(); }
  // Uniform in [0, 1) with 53 random bits.
  double NextUniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  // Standard normal (Box-Muller; the second value of each pair is kept for the next call).
  double NextNormal();
  // Uniform integer in [0, n).
  uint64_t NextBelow(uint64_t n);
  // Gamma(shape, 1) (Marsaglia & Tsang 2000; shape < 1 through shape + 1). Throws unless 0 < shape < inf.
  double NextGamma(double shape);
  // Beta(a, b) in [0, 1], from two gamma draws. Throws unless 0 < a < inf and 0 < b < inf.
  double NextBeta(double a, double b);

  // Text that set_state() turns back into this exact generator.
  std::string state() const;
  [[nodiscard]] absl::Status set_state(const std::string& state);

 private:
  std::mt19937_64 engine_;
  uint64_t seed_ = 0;
  bool has_spare_normal_ = false;
  double spare_normal_ = 0;
};

// The generator used when none is passed.
Generator& DefaultGenerator();
// Seeds the default generator.
void manual_seed(uint64_t seed);

// Draws, filled in row-major order from `gen` (the default generator when null).
// uniform: values in [low, high).
Tensor rand(const Shape& shape, TensorOptions options = {}, Generator* gen = nullptr);
Tensor uniform(const Shape& shape, double low, double high, TensorOptions options = {}, Generator* gen = nullptr);
// normal: mean + std * N(0, 1).
Tensor randn(const Shape& shape, TensorOptions options = {}, Generator* gen = nullptr);
Tensor normal(const Shape& shape, double mean, double std, TensorOptions options = {}, Generator* gen = nullptr);
// bernoulli: 1 with probability p, else 0. Throws unless 0 <= p <= 1.
Tensor bernoulli(const Shape& shape, double p, TensorOptions options = {}, Generator* gen = nullptr);
// A random permutation of 0..n-1 (int64).
Tensor randperm(int64_t n, Generator* gen = nullptr);

}  // namespace normgrad

#endif  // NORMGRAD_CORE_RANDOM_H_
