#ifndef NORMGRAD_DATA_MD5_H_
#define NORMGRAD_DATA_MD5_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace normgrad::data {

// MD5 (RFC 1321), for checking downloaded archives against their published digest. Not for security:
// MD5 is broken against deliberate collisions; it guards against truncated or corrupted downloads only.
//
//   Md5 md5;
//   md5.Update(chunk1); md5.Update(chunk2);
//   std::string hex = md5.HexDigest();   // 32 lowercase hex digits
class Md5 {
 public:
  Md5();
  void Update(const void* data, size_t size);
  void Update(std::string_view bytes) { Update(bytes.data(), bytes.size()); }
  // The 16-byte digest of everything passed to Update. Finishes the computation: call once.
  std::array<uint8_t, 16> Digest();
  std::string HexDigest();

 private:
  void Transform(const uint8_t block[64]);
  uint32_t state_[4];
  uint64_t length_ = 0;  // bytes seen so far
  uint8_t buffer_[64];   // a partial block
};

// The MD5 of a whole file as 32 lowercase hex digits, read in chunks. NotFound when the file cannot be
// opened; DataLoss on a read error.
absl::StatusOr<std::string> Md5OfFile(const std::string& path);

}  // namespace normgrad::data

#endif  // NORMGRAD_DATA_MD5_H_
