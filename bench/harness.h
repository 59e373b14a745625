#ifndef NORMGRAD_BENCH_HARNESS_H_
#define NORMGRAD_BENCH_HARNESS_H_

// What the benchmark programs share: timing with a warm-up (median and fastest of the samples), and their
// command lines (--name=value options and --switches, checked, with a usage line on a mistake).

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace normgrad::bench {

struct Timing {
  double median_ms, min_ms;
};

// A shape as the benchmarks' CSV lines name it: "128x16x32x32".
inline std::string ShapeName(const std::vector<int64_t>& shape) {
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += 'x';
    s += std::to_string(shape[i]);
  }
  return s;
}

inline double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// `reps` samples of sample_ms() (each returns the milliseconds it measured), after a warm-up of at least 3
// samples and 50 ms (page faults, library buffers, the clock ramping up).
inline Timing Sample(const std::function<double()>& sample_ms, int reps) {
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 3 || std::chrono::steady_clock::now() - start < std::chrono::milliseconds(50); ++i) sample_ms();
  std::vector<double> ms;
  for (int r = 0; r < reps; ++r) ms.push_back(sample_ms());
  return {Median(ms), *std::min_element(ms.begin(), ms.end())};
}

// Wall time of fn, as Sample.
inline Timing Time(const std::function<void()>& fn, int reps) {
  return Sample(
      [&] {
        const auto t0 = std::chrono::steady_clock::now();
        fn();
        return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      },
      reps);
}

// A program's options: Options("conv_bench").Int("threads", &threads, 1).Switch("im2col", &im2col).Parse(argc, argv)
// reads --threads=N and --im2col, and on anything else, or a number below its minimum, prints the usage
// line and why, and returns false (the program then exits with status 2).
class Options {
 public:
  explicit Options(std::string program) : program_(std::move(program)) {}

  Options& Int(const char* name, int* value, int min) {
    return Add(name, "=N", [=](const std::string& text) {
      char* end = nullptr;
      const long v = std::strtol(text.c_str(), &end, 10);
      if (text.empty() || *end != '\0' || v < min || v > std::numeric_limits<int>::max()) return false;
      *value = static_cast<int>(v);
      return true;
    });
  }
  Options& Double(const char* name, double* value, double min) {
    return Add(name, "=X", [=](const std::string& text) {
      char* end = nullptr;
      const double v = std::strtod(text.c_str(), &end);
      if (text.empty() || *end != '\0' || !(v >= min)) return false;
      *value = v;
      return true;
    });
  }
  Options& String(const char* name, std::string* value) {
    return Add(name, "=TEXT", [=](const std::string& text) {
      *value = text;
      return true;
    });
  }
  Options& Switch(const char* name, bool* value) {
    switches_.push_back({name, value});
    usage_ += std::string(" [--") + name + "]";
    return *this;
  }

  bool Parse(int argc, char** argv) const {
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      if (!Accept(arg)) {
        std::fprintf(stderr, "%s: bad option %s\nusage: %s%s\n", program_.c_str(), arg.c_str(), program_.c_str(),
                     usage_.c_str());
        return false;
      }
    }
    return true;
  }

 private:
  struct Valued {
    std::string name;
    std::function<bool(const std::string&)> set;
  };
  struct Flag {
    std::string name;
    bool* value;
  };

  Options& Add(const char* name, const char* shape, std::function<bool(const std::string&)> set) {
    valued_.push_back({name, std::move(set)});
    usage_ += std::string(" [--") + name + shape + "]";
    return *this;
  }

  bool Accept(const std::string& arg) const {
    for (const Flag& f : switches_) {
      if (arg == "--" + f.name) return *f.value = true;
    }
    for (const Valued& v : valued_) {
      const std::string prefix = "--" + v.name + "=";
      if (arg.rfind(prefix, 0) == 0) return v.set(arg.substr(prefix.size()));
    }
    return false;
  }

  std::string program_, usage_;
  std::vector<Valued> valued_;
  std::vector<Flag> switches_;
};

}  // namespace normgrad::bench

#endif  // NORMGRAD_BENCH_HARNESS_H_
