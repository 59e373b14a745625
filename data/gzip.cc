#include "data/gzip.h"

#include <algorithm>
#include <array>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/error.h"
#include "core/file_io.h"

namespace normgrad::data {
namespace {

constexpr int kMaxBits = 15;  // the longest DEFLATE code

// Lengths 3..258 and distances 1..32768: base value and extra bits for each code (RFC 1951, 3.2.5).
constexpr uint16_t kLengthBase[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                      31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
constexpr uint8_t kLengthExtra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                      2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
constexpr uint16_t kDistBase[30] = {1,    2,    3,    4,    5,    7,     9,     13,    17,  25,
                                    33,   49,   65,   97,   129,  193,   257,   385,   513, 769,
                                    1025, 1537, 2049, 3073, 4097, 6145,  8193,  12289, 16385, 24577};
constexpr uint8_t kDistExtra[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6,
                                    6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
// The order in which a dynamic block lists the code-length code's lengths.
constexpr uint8_t kCodeLengthOrder[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};

absl::Status Corrupt(const std::string& what) { return absl::DataLossError(absl::StrCat("inflate: ", what)); }

// Reads the stream's bits least-significant first, as DEFLATE packs them.
class BitReader {
 public:
  explicit BitReader(std::string_view in) : in_(in) {}

  // Makes at least `n` (<= 57) bits available when the input has them; past the end, zeros are
  // shifted in and `overrun()` tells whether any of them were consumed.
  void Fill(int n) {
    while (count_ < n) {
      const uint64_t byte = pos_ < in_.size() ? static_cast<uint8_t>(in_[pos_]) : 0;
      ++pos_;
      bits_ |= byte << count_;
      count_ += 8;
    }
  }
  uint32_t Peek(int n) {
    Fill(n);
    return static_cast<uint32_t>(bits_ & ((uint64_t{1} << n) - 1));
  }
  void Skip(int n) {
    bits_ >>= n;
    count_ -= n;
  }
  uint32_t Read(int n) {
    const uint32_t v = Peek(n);
    Skip(n);
    return v;
  }
  // Drops the bits up to the next byte boundary (stored blocks start there).
  void AlignToByte() { Skip(count_ % 8); }
  // Continues reading at byte `pos` with nothing buffered (after a stored block's bytes were copied).
  void SeekToByte(size_t pos) {
    pos_ = pos;
    bits_ = 0;
    count_ = 0;
  }
  // Bytes consumed so far, counting a partly used byte as consumed.
  size_t consumed() const { return pos_ - count_ / 8; }
  bool overrun() const { return consumed() > in_.size(); }

 private:
  std::string_view in_;
  size_t pos_ = 0;  // next byte to load into bits_
  uint64_t bits_ = 0;
  int count_ = 0;   // valid bits in bits_
};

// A canonical Huffman code decoded with one table lookup: entry i, for i the next `bits` input bits,
// holds the symbol whose (bit-reversed) code is a prefix of i, and that code's length (0: no code).
class Huffman {
 public:
  // Builds the code from per-symbol lengths (0 = unused). Over-subscribed lengths are an error; an
  // incomplete code is accepted (a lone distance code is legal) and its missing codes fail when read.
  absl::Status Build(const uint8_t* lengths, int num_symbols) {
    int count[kMaxBits + 1] = {};
    for (int s = 0; s < num_symbols; ++s) ++count[lengths[s]];
    count[0] = 0;
    bits_ = 0;
    int left = 1;  // codes still available at the current length
    for (int len = 1; len <= kMaxBits; ++len) {
      left = 2 * left - count[len];
      if (left < 0) return Corrupt("over-subscribed Huffman code lengths");
      if (count[len]) bits_ = len;
    }
    table_.assign(size_t{1} << bits_, 0);
    // First canonical code of each length, then each symbol's code in symbol order.
    int next[kMaxBits + 2] = {};
    for (int len = 1, code = 0; len <= kMaxBits; ++len) {
      code = (code + count[len - 1]) << 1;
      next[len] = code;
    }
    for (int s = 0; s < num_symbols; ++s) {
      const int len = lengths[s];
      if (!len) continue;
      const uint32_t code = next[len]++;
      uint32_t reversed = 0;
      for (int b = 0; b < len; ++b) reversed |= ((code >> b) & 1) << (len - 1 - b);
      for (uint32_t i = reversed; i < table_.size(); i += uint32_t{1} << len) {
        table_[i] = static_cast<uint32_t>(s) << 4 | static_cast<uint32_t>(len);
      }
    }
    return absl::OkStatus();
  }

  // The next symbol, or -1 for a bit pattern that is no code.
  int Decode(BitReader& in) const {
    if (bits_ == 0) return -1;
    const uint32_t entry = table_[in.Peek(bits_)];
    const int len = entry & 15;
    if (!len) return -1;
    in.Skip(len);
    return static_cast<int>(entry >> 4);
  }

 private:
  std::vector<uint32_t> table_;
  int bits_ = 0;
};

absl::Status BuildFixedCodes(Huffman& lit, Huffman& dist) {
  uint8_t lengths[288];
  std::fill(lengths, lengths + 144, 8);
  std::fill(lengths + 144, lengths + 256, 9);
  std::fill(lengths + 256, lengths + 280, 7);
  std::fill(lengths + 280, lengths + 288, 8);
  NG_RETURN_IF_ERROR(lit.Build(lengths, 288));
  std::fill(lengths, lengths + 30, 5);
  return dist.Build(lengths, 30);
}

absl::Status ReadDynamicCodes(BitReader& in, Huffman& lit, Huffman& dist) {
  const int num_lit = static_cast<int>(in.Read(5)) + 257;
  const int num_dist = static_cast<int>(in.Read(5)) + 1;
  const int num_code_lengths = static_cast<int>(in.Read(4)) + 4;
  if (num_lit > 286 || num_dist > 30) return Corrupt("too many literal/length or distance codes");
  uint8_t lengths[286 + 30] = {};
  for (int i = 0; i < num_code_lengths; ++i) lengths[kCodeLengthOrder[i]] = static_cast<uint8_t>(in.Read(3));
  Huffman code_lengths;
  NG_RETURN_IF_ERROR(code_lengths.Build(lengths, 19));
  std::fill(lengths, lengths + 19, 0);
  for (int i = 0; i < num_lit + num_dist;) {
    const int sym = code_lengths.Decode(in);
    if (sym < 0) return Corrupt("invalid code-length code");
    if (sym < 16) {
      lengths[i++] = static_cast<uint8_t>(sym);
      continue;
    }
    uint8_t value = 0;
    int repeat;
    if (sym == 16) {
      if (i == 0) return Corrupt("repeat of a code length with no previous length");
      value = lengths[i - 1];
      repeat = 3 + static_cast<int>(in.Read(2));
    } else if (sym == 17) {
      repeat = 3 + static_cast<int>(in.Read(3));
    } else {
      repeat = 11 + static_cast<int>(in.Read(7));
    }
    if (i + repeat > num_lit + num_dist) return Corrupt("code lengths run past the declared count");
    std::fill(lengths + i, lengths + i + repeat, value);
    i += repeat;
  }
  if (in.overrun()) return Corrupt("truncated stream");
  if (lengths[256] == 0) return Corrupt("no end-of-block code");
  NG_RETURN_IF_ERROR(lit.Build(lengths, num_lit));
  return dist.Build(lengths + num_lit, num_dist);
}

// Decodes one block's symbols, appending to `out`; copies reach back no further than `start`, where this
// stream's output begins (an earlier gzip member's output is not part of its window).
absl::Status InflateCodes(BitReader& in, const Huffman& lit, const Huffman& dist, std::string& out, size_t start) {
  while (true) {
    const int sym = lit.Decode(in);
    if (sym < 0 || in.overrun()) return Corrupt(sym < 0 ? "invalid literal/length code" : "truncated stream");
    if (sym < 256) {
      out.push_back(static_cast<char>(sym));
      continue;
    }
    if (sym == 256) return absl::OkStatus();
    if (sym > 285) return Corrupt("invalid length symbol");
    const size_t length = kLengthBase[sym - 257] + in.Read(kLengthExtra[sym - 257]);
    const int dsym = dist.Decode(in);
    if (dsym < 0 || dsym > 29) return Corrupt("invalid distance code");
    const size_t distance = kDistBase[dsym] + in.Read(kDistExtra[dsym]);
    if (in.overrun()) return Corrupt("truncated stream");
    if (distance > out.size() - start) return Corrupt("distance reaches before the start of the output");
    // Byte by byte: the copy may overlap what it writes (distance < length repeats a pattern).
    const size_t from = out.size() - distance;
    for (size_t k = 0; k < length; ++k) out.push_back(out[from + k]);
  }
}

uint32_t ReadLE32(std::string_view s, size_t at) {
  return uint32_t{static_cast<uint8_t>(s[at])} | uint32_t{static_cast<uint8_t>(s[at + 1])} << 8 |
         uint32_t{static_cast<uint8_t>(s[at + 2])} << 16 | uint32_t{static_cast<uint8_t>(s[at + 3])} << 24;
}

// Inflates into `out` (appending), so that concatenated gzip members share one buffer.
absl::Status InflateInto(std::string_view compressed, std::string& out, size_t* consumed) {
  BitReader in(compressed);
  Huffman lit, dist;
  const size_t start = out.size();
  bool last = false;
  while (!last) {
    last = in.Read(1);
    const uint32_t type = in.Read(2);
    if (in.overrun()) return Corrupt("truncated stream");
    if (type == 0) {
      in.AlignToByte();
      const size_t at = in.consumed();
      if (at + 4 > compressed.size()) return Corrupt("truncated stored block");
      const uint32_t len = static_cast<uint8_t>(compressed[at]) | static_cast<uint8_t>(compressed[at + 1]) << 8;
      const uint32_t nlen = static_cast<uint8_t>(compressed[at + 2]) | static_cast<uint8_t>(compressed[at + 3]) << 8;
      if ((len ^ 0xffff) != nlen) return Corrupt("stored block length does not match its complement");
      if (at + 4 + len > compressed.size()) return Corrupt("truncated stored block");
      out.append(compressed.substr(at + 4, len));
      in.SeekToByte(at + 4 + len);
    } else if (type == 1) {
      NG_RETURN_IF_ERROR(BuildFixedCodes(lit, dist));
      NG_RETURN_IF_ERROR(InflateCodes(in, lit, dist, out, start));
    } else if (type == 2) {
      NG_RETURN_IF_ERROR(ReadDynamicCodes(in, lit, dist));
      NG_RETURN_IF_ERROR(InflateCodes(in, lit, dist, out, start));
    } else {
      return Corrupt("invalid block type 3");
    }
  }
  if (consumed) *consumed = in.consumed();
  return absl::OkStatus();
}

}  // namespace

uint32_t Crc32(std::string_view bytes, uint32_t crc) {
  static const std::array<uint32_t, 256> kTable = [] {
    std::array<uint32_t, 256> t;
    for (uint32_t n = 0; n < 256; ++n) {
      uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
      t[n] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (char ch : bytes) crc = kTable[(crc ^ static_cast<uint8_t>(ch)) & 0xff] ^ (crc >> 8);
  return ~crc;
}

absl::StatusOr<std::string> Inflate(std::string_view compressed, size_t* consumed) {
  std::string out;
  NG_RETURN_IF_ERROR(InflateInto(compressed, out, consumed));
  return out;
}

absl::StatusOr<std::string> Gunzip(std::string_view compressed) {
  auto bad = [](const std::string& what) { return absl::DataLossError(absl::StrCat("gzip: ", what)); };
  std::string out;
  // The last member's trailer holds its length mod 2^32: with one member (the usual case), reserving it
  // saves the buffer's doublings.
  if (compressed.size() >= 18) out.reserve(std::min<uint32_t>(ReadLE32(compressed, compressed.size() - 4), 1u << 30));
  size_t at = 0;
  do {
    std::string_view member = compressed.substr(at);
    if (member.size() < 18) return bad("truncated header or trailer (not a gzip file?)");
    if (static_cast<uint8_t>(member[0]) != 0x1f || static_cast<uint8_t>(member[1]) != 0x8b) {
      return bad("not gzip data (wrong magic bytes)");
    }
    if (member[2] != 8) return bad("unknown compression method (expected 8, deflate)");
    const uint8_t flags = static_cast<uint8_t>(member[3]);
    if (flags & 0xe0) return bad("reserved header flags are set");
    size_t pos = 10;
    auto need = [&](size_t n) { return pos + n <= member.size(); };
    if (flags & 4) {  // FEXTRA: a 2-byte length, then that many bytes
      if (!need(2)) return bad("truncated header");
      pos += 2 + (static_cast<uint8_t>(member[pos]) | static_cast<uint8_t>(member[pos + 1]) << 8);
    }
    for (uint8_t zero_terminated : {uint8_t{8}, uint8_t{16}}) {  // FNAME, FCOMMENT
      if (!(flags & zero_terminated)) continue;
      const size_t end = member.find('\0', pos);
      if (end == std::string_view::npos) return bad("truncated header");
      pos = end + 1;
    }
    if (flags & 2) {  // FHCRC: the low 16 bits of the header's CRC-32
      if (!need(2)) return bad("truncated header");
      const uint32_t stored = static_cast<uint8_t>(member[pos]) | static_cast<uint8_t>(member[pos + 1]) << 8;
      const uint32_t actual = Crc32(member.substr(0, pos)) & 0xffff;
      if (actual != stored) {
        return bad(absl::StrCat("header CRC mismatch: the header says 0x", absl::Hex(stored, absl::kZeroPad4),
                                ", its bytes give 0x", absl::Hex(actual, absl::kZeroPad4)));
      }
      pos += 2;
    }
    if (!need(0)) return bad("truncated header");
    const size_t start = out.size();
    size_t used = 0;
    if (absl::Status s = InflateInto(member.substr(pos), out, &used); !s.ok()) {
      return absl::DataLossError(absl::StrCat("gzip: ", s.message()));
    }
    pos += used;
    if (!need(8)) return bad("truncated trailer");
    const std::string_view inflated = std::string_view(out).substr(start);
    if (const uint32_t crc = Crc32(inflated); crc != ReadLE32(member, pos)) {
      return bad(absl::StrCat("CRC-32 mismatch (corrupt data): the trailer says 0x",
                              absl::Hex(ReadLE32(member, pos), absl::kZeroPad8), ", the data gives 0x",
                              absl::Hex(crc, absl::kZeroPad8)));
    }
    if (const uint32_t size = static_cast<uint32_t>(inflated.size()); size != ReadLE32(member, pos + 4)) {
      return bad(absl::StrCat("length mismatch: the trailer says ", ReadLE32(member, pos + 4),
                              " bytes (modulo 2^32), the data has ", size));
    }
    at += pos + 8;
  } while (at < compressed.size());
  return out;
}

absl::StatusOr<std::string> ReadGzipFile(const std::string& path) {
  NG_ASSIGN_OR_RETURN(std::string compressed, ReadFile(path));
  absl::StatusOr<std::string> out = Gunzip(compressed);
  if (!out.ok()) return absl::DataLossError(absl::StrCat(path, ": ", out.status().message()));
  return out;
}

}  // namespace normgrad::data
