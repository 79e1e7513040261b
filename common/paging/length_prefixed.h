// Length-prefixed fields for small signed tokens (page tokens, unsubscribe
// links): unsigned LEB128 varints, and byte strings as a varint length then
// the bytes. Readers consume from the front of `in` and return nullopt on
// truncated or oversized input, leaving `in` unspecified.
//
// Header-only, pure functions: thread-safe.

#ifndef CXP_COMMON_PAGING_LENGTH_PREFIXED_H_
#define CXP_COMMON_PAGING_LENGTH_PREFIXED_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace cxp::paging {

inline void PutVarint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

inline void PutBytes(std::string& out, absl::string_view bytes) {
  PutVarint(out, bytes.size());
  out.append(bytes.data(), bytes.size());
}

inline std::optional<uint64_t> GetVarint(absl::string_view& in) {
  uint64_t value = 0;
  for (int shift = 0; shift < 64 && !in.empty(); shift += 7) {
    const auto byte = static_cast<unsigned char>(in.front());
    in.remove_prefix(1);
    value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return value;
  }
  return std::nullopt;
}

// The bytes are a view into `in`'s buffer.
inline std::optional<absl::string_view> GetBytes(absl::string_view& in) {
  std::optional<uint64_t> size = GetVarint(in);
  if (!size || *size > in.size()) return std::nullopt;
  absl::string_view bytes = in.substr(0, *size);
  in.remove_prefix(*size);
  return bytes;
}

}  // namespace cxp::paging

#endif  // CXP_COMMON_PAGING_LENGTH_PREFIXED_H_
