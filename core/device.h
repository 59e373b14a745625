#ifndef NORMGRAD_CORE_DEVICE_H_
#define NORMGRAD_CORE_DEVICE_H_

#include <charconv>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace normgrad {

// Where a tensor's storage lives. CUDA devices carry an index; the CPU is a single device.
struct Device {
  enum class Type { kCPU, kCUDA };

  Type type = Type::kCPU;
  int index = 0;

  static Device CPU() { return {Type::kCPU, 0}; }
  static Device CUDA(int index = 0) { return {Type::kCUDA, index}; }

  bool is_cpu() const { return type == Type::kCPU; }
  bool is_cuda() const { return type == Type::kCUDA; }
  friend bool operator==(const Device&, const Device&) = default;

  std::string ToString() const {
    return is_cpu() ? std::string("cpu") : "cuda:" + std::to_string(index);
  }

  // The device that ToString() names: "cpu", "cuda:N", or "cuda" for cuda:0 (as torch.device reads them);
  // nullopt for anything else. Whether the device exists is not checked (see cuda::CheckDevice).
  static std::optional<Device> Parse(std::string_view text) {
    if (text == "cpu") return CPU();
    if (text == "cuda") return CUDA(0);
    constexpr std::string_view kPrefix = "cuda:";
    if (!text.starts_with(kPrefix)) return std::nullopt;
    // Digits without a sign or leading zeros, as ToString() writes them.
    const std::string_view digits = text.substr(kPrefix.size());
    if (digits.empty() || digits[0] < '0' || digits[0] > '9' || (digits[0] == '0' && digits.size() > 1)) {
      return std::nullopt;
    }
    int index = 0;
    const auto [ptr, error] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
    if (error != std::errc() || ptr != digits.data() + digits.size()) return std::nullopt;
    return CUDA(index);
  }
};

inline const Device kCPU = Device::CPU();

inline std::ostream& operator<<(std::ostream& os, const Device& d) { return os << d.ToString(); }

}  // namespace normgrad

#endif  // NORMGRAD_CORE_DEVICE_H_
