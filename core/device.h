#ifndef NORMGRAD_CORE_DEVICE_H_
#define NORMGRAD_CORE_DEVICE_H_

#include <ostream>
#include <string>

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
};

inline const Device kCPU = Device::CPU();

inline std::ostream& operator<<(std::ostream& os, const Device& d) { return os << d.ToString(); }

}  // namespace normgrad

#endif  // NORMGRAD_CORE_DEVICE_H_
