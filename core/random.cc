#include "core/random.h"

#include <cmath>
#include <numbers>
#include <sstream>

namespace normgrad {

void Generator::manual_seed(uint64_t seed) {
  seed_ = seed;
  engine_.seed(seed);
  has_spare_normal_ = false;
}

double Generator::NextNormal() {
  if (has_spare_normal_) {
    has_spare_normal_ = false;
    return spare_normal_;
  }
  const double u1 = 1.0 - NextUniform();  // (0, 1]: log is finite
  const double u2 = NextUniform();
  const double r = std::sqrt(-2.0 * std::log(u1));
  spare_normal_ = r * std::sin(2 * std::numbers::pi * u2);
  has_spare_normal_ = true;
  return r * std::cos(2 * std::numbers::pi * u2);
}

uint64_t Generator::NextBelow(uint64_t n) {
  // Rejection sampling keeps every value equally likely.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x;
  do {
    x = engine_();
  } while (x >= limit);
  return x % n;
}

double Generator::NextGamma(double shape) {
  NG_CHECK(shape > 0 && std::isfinite(shape), "Generator::NextGamma: expected a finite shape > 0, got ", shape);
  if (shape < 1) {
    // The method needs shape >= 1: Gamma(shape) = Gamma(shape + 1) U^(1 / shape).
    const double u = 1.0 - NextUniform();  // (0, 1]
    return NextGamma(shape + 1) * std::pow(u, 1 / shape);
  }
  // A transformed normal x, accepted with the squeeze first (cheap) and the exact test second.
  const double d = shape - 1.0 / 3, c = 1 / std::sqrt(9 * d);
  while (true) {
    double x, v;
    do {
      x = NextNormal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const double u = NextUniform();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (std::log(u) < 0.5 * x * x + d * (1 - v + std::log(v))) return d * v;
  }
}

double Generator::NextBeta(double a, double b) {
  NG_CHECK(a > 0 && b > 0 && std::isfinite(a) && std::isfinite(b),
           "Generator::NextBeta: expected finite a > 0 and b > 0, got ", a, " and ", b);
  const double x = NextGamma(a), y = NextGamma(b);
  // Both draws underflow to 0 only for tiny a and b, where Beta(a, b) is 1 with probability a / (a + b)
  // and 0 otherwise.
  if (x == 0 && y == 0) return NextUniform() < a / (a + b) ? 1.0 : 0.0;
  return 1 / (1 + y / x);  // x / (x + y), without x + y overflowing for shapes near the largest double
}

std::string Generator::state() const {
  std::ostringstream os;
  os.precision(17);
  os << seed_ << ' ' << has_spare_normal_ << ' ' << std::hexfloat << spare_normal_ << ' ' << engine_;
  return os.str();
}

absl::Status Generator::set_state(const std::string& state) {
  std::istringstream is(state);
  Generator g;
  std::string spare;
  is >> g.seed_ >> g.has_spare_normal_ >> spare >> g.engine_;
  if (is.fail()) return absl::InvalidArgumentError("Generator::set_state: the state text is malformed");
  g.spare_normal_ = std::strtod(spare.c_str(), nullptr);
  *this = g;
  return absl::OkStatus();
}

Generator& DefaultGenerator() {
  static Generator gen;
  return gen;
}

void manual_seed(uint64_t seed) { DefaultGenerator().manual_seed(seed); }

namespace {

template <typename Draw>
Tensor Fill(const Shape& shape, TensorOptions options, Generator* gen, std::string_view op, Draw draw) {
  const bool requires_grad = options.requires_grad;
  options.requires_grad = false;
  Tensor t = empty(shape, options);
  Generator& g = gen ? *gen : DefaultGenerator();
  VisitDType(t.dtype(), [&]<typename T>() {
    T* p = t.data<T>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<T>(draw(g));
  });
  if (requires_grad) {
    NG_CHECK(IsFloating(t.dtype()), op, ": requires_grad needs a floating dtype");
    t.set_requires_grad(true);
  }
  return t;
}

}  // namespace

Tensor uniform(const Shape& shape, double low, double high, TensorOptions options, Generator* gen) {
  NG_CHECK(low <= high, "uniform: expected low <= high, got ", low, " and ", high);
  // [low, high) in the tensor's dtype, as torch.rand never returns 1: a draw that rounds to high (in
  // float32 about once in 2^25 draws of rand) is drawn again, unless low rounds to high as well.
  const bool single = options.dtype == kFloat32;
  const auto rounded = [&](double v) { return single ? static_cast<double>(static_cast<float>(v)) : v; };
  const bool one_value = rounded(low) == rounded(high);
  return Fill(shape, options, gen, "uniform", [&](Generator& g) {
    for (;;) {
      const double v = low + (high - low) * g.NextUniform();
      if (one_value || rounded(v) < rounded(high)) return v;
    }
  });
}

Tensor rand(const Shape& shape, TensorOptions options, Generator* gen) {
  return uniform(shape, 0.0, 1.0, options, gen);
}

Tensor normal(const Shape& shape, double mean, double std, TensorOptions options, Generator* gen) {
  NG_CHECK(std >= 0, "normal: expected std >= 0, got ", std);
  return Fill(shape, options, gen, "normal", [&](Generator& g) { return mean + std * g.NextNormal(); });
}

Tensor randn(const Shape& shape, TensorOptions options, Generator* gen) {
  return normal(shape, 0.0, 1.0, options, gen);
}

Tensor bernoulli(const Shape& shape, double p, TensorOptions options, Generator* gen) {
  NG_CHECK(p >= 0 && p <= 1, "bernoulli: expected p in [0, 1], got ", p);
  return Fill(shape, options, gen, "bernoulli", [&](Generator& g) { return g.NextUniform() < p ? 1.0 : 0.0; });
}

Tensor randperm(int64_t n, Generator* gen) {
  NG_CHECK(n >= 0, "randperm: expected n >= 0, got ", n);
  Tensor t = arange(n);
  int64_t* p = t.data<int64_t>();
  Generator& g = gen ? *gen : DefaultGenerator();
  for (int64_t i = n - 1; i > 0; --i) std::swap(p[i], p[g.NextBelow(i + 1)]);  // Fisher-Yates
  return t;
}

}  // namespace normgrad
