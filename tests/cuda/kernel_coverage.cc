// Linked into //tests/cuda:kernel_coverage_test with every parity test: after they have run on the
// emulator, lists each __global__ kernel of core/cuda/*.cu with whether it ran, and fails for any that did
// not. (A CUDA build has no emulator to ask; there the check reports itself skipped.)

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#if !defined(NORMGRAD_CUDA)
#include "core/cuda/emulation/execution.h"
#endif

namespace normgrad {
namespace {

// (file, kernel) for every `__global__ void Name(` in the .cu files under `dir`, sorted.
std::vector<std::pair<std::string, std::string>> KernelsIn(const std::filesystem::path& dir) {
  std::vector<std::pair<std::string, std::string>> kernels;
  const std::regex global(R"(__global__\s+void\s+(\w+)\s*\()");
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".cu") continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    const std::string source = text.str();
    for (std::sregex_iterator it(source.begin(), source.end(), global), end; it != end; ++it) {
      kernels.emplace_back(entry.path().filename().string(), (*it)[1].str());
    }
  }
  std::sort(kernels.begin(), kernels.end());
  return kernels;
}

class KernelCoverage : public ::testing::Environment {
 public:
  void TearDown() override {
#if defined(NORMGRAD_CUDA)
    std::cout << "kernel coverage: skipped (a CUDA build runs kernels on the GPU, not the emulator)\n";
#else
    const auto kernels = KernelsIn("core/cuda");
    ASSERT_FALSE(kernels.empty()) << "no kernels found under core/cuda (is //core:cuda_sources in data?)";
    const std::vector<std::string> launched = cuda::emulation::LaunchedKernels();
    const std::set<std::string> ran(launched.begin(), launched.end());
    std::vector<std::string> missing;
    std::cout << "kernel coverage on the emulator:\n";
    for (const auto& [file, kernel] : kernels) {
      const bool hit = ran.count(kernel) > 0;
      std::cout << "  " << (hit ? "ran     " : "NOT RUN ") << file << "  " << kernel << "\n";
      if (!hit) missing.push_back(file + ": " + kernel);
    }
    std::cout << kernels.size() - missing.size() << " of " << kernels.size()
              << " CUDA kernels ran on the emulator\n";
    for (const std::string& m : missing) ADD_FAILURE() << "kernel never launched by the parity tests: " << m;
#endif
  }
};

[[maybe_unused]] ::testing::Environment* const kCoverage = ::testing::AddGlobalTestEnvironment(new KernelCoverage);

}  // namespace
}  // namespace normgrad
