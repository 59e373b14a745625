#ifndef NORMGRAD_DATA_GZIP_H_
#define NORMGRAD_DATA_GZIP_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace normgrad::data {

// gzip decompression, written here so that reading the data sets (Fashion-MNIST's .gz IDX files, the
// CIFAR-10 .tar.gz archive) needs neither a compression library beyond the project's fixed dependencies
// nor an external program whose absence or version would show up as an obscure failure at run time.
// Decompression is all that is needed, and an inflater is small; the tests check it against the output
// of the gzip program (stored, fixed-Huffman and dynamic-Huffman blocks) and against corrupt input.

// CRC-32 (ISO 3309, the one gzip and zip use) of `bytes`, continuing from `crc` (0 to start).
uint32_t Crc32(std::string_view bytes, uint32_t crc = 0);

// Decompresses a raw DEFLATE stream (RFC 1951) that starts at the beginning of `compressed`; the stream
// may be followed by other bytes. `*consumed` (when given) receives the number of bytes the stream took,
// rounded up to whole bytes. DataLoss on malformed or truncated input (invalid block type, code lengths
// that do not form a prefix code, a distance reaching before the start of the output, ...).
absl::StatusOr<std::string> Inflate(std::string_view compressed, size_t* consumed = nullptr);

// Decompresses gzip data (RFC 1952): one member, or several concatenated as `gzip` itself accepts. Each
// member's header is checked (magic, method 8 = deflate, reserved flags, header CRC when present) and its
// trailer's CRC-32 and length are compared with what was inflated. DataLoss says what went wrong.
absl::StatusOr<std::string> Gunzip(std::string_view compressed);

// Reads and decompresses a gzip file; errors name the file.
absl::StatusOr<std::string> ReadGzipFile(const std::string& path);

}  // namespace normgrad::data

#endif  // NORMGRAD_DATA_GZIP_H_
