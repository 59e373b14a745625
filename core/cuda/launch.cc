#include "core/cuda/launch.h"

#include <algorithm>
#include <string_view>

#include "core/cuda/device.h"
#include "core/error.h"

namespace normgrad::cuda {

int MultiprocessorCount() { return Properties(CurrentDevice()).multiprocessors; }

unsigned int GridSize(int64_t n, int block) {
  const DeviceProperties& p = Properties(CurrentDevice());
  const int64_t resident = int64_t{p.multiprocessors} * std::max(1, p.max_threads_per_multiprocessor / block);
  return static_cast<unsigned int>(std::clamp<int64_t>((n + block - 1) / block, 1, resident));
}

namespace detail {

std::string ParseKernelName(const char* pretty_function) {
  // g++: "const char* normgrad::cuda::KernelName() [with auto Kernel = ns::Foo<float>; ...]"
  std::string_view s(pretty_function);
  if (const size_t at = s.find("Kernel = "); at != std::string_view::npos) s.remove_prefix(at + 9);
  s = s.substr(0, s.find_first_of(";]"));
  s = s.substr(0, s.find('<'));
  if (const size_t colon = s.rfind("::"); colon != std::string_view::npos) s.remove_prefix(colon + 2);
  while (!s.empty() && (s.front() == '&' || s.front() == ' ')) s.remove_prefix(1);
  return std::string(s);
}

void CheckLaunchShape(const char* kernel, dim3 grid, dim3 block) {
  const int64_t threads = int64_t{block.x} * block.y * block.z;
  NG_CHECK(threads >= 1 && threads <= 1024 && block.z <= 64, "Launch ", kernel,
           ": expected 1 to 1024 threads per block (z at most 64), got (", block.x, ", ", block.y, ", ",
           block.z, ")");
  NG_CHECK(grid.x >= 1 && grid.x <= 0x7fffffffu && grid.y >= 1 && grid.y <= 65535 && grid.z >= 1 &&
               grid.z <= 65535,
           "Launch ", kernel, ": expected a grid of 1 to 2^31 - 1 by 1 to 65535 by 1 to 65535 blocks, got (",
           grid.x, ", ", grid.y, ", ", grid.z, ")");
}

}  // namespace detail
}  // namespace normgrad::cuda
