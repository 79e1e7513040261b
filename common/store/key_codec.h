// Order-preserving encoding of RocksDB keys as tuples of typed components.
//
// Contract:
//   * Every key starts with the tenant id, encoded as a string component, so
//     one tenant's keys never share a prefix with another tenant's keys
//     ("a" -> 61 00 01, "ab" -> 61 62 00 01) and a tenant's whole key space is
//     the range [TenantPrefix(t), PrefixSuccessor(TenantPrefix(t))).
//   * Components carry no type tags: the reader must decode the same sequence
//     of component types the builder appended (the key layout is fixed per
//     column family / key kind by its owner).
//   * For keys built with the same layout, bytewise order of encoded keys (the
//     RocksDB default comparator) equals lexicographic order of the tuples.
//
// Encodings:
//   string          bytes with 00 escaped as 00 FF, terminated by 00 01
//                   (FoundationDB tuple-layer style; a string never encodes
//                   as a prefix of a different string's encoding).
//   uint64          8 bytes big-endian.
//   int64           8 bytes big-endian with the sign bit flipped (negative
//                   values sort first).
//   *Descending     the ascending encoding with every bit inverted, so larger
//                   values sort first (newest-first timelines).
//   fixed bytes     copied verbatim; the reader must know the length.
//
// Threading: KeyBuilder and KeyReader are plain values, not synchronised.
// Errors: KeyReader returns INVALID_ARGUMENT naming the component and offset
// for malformed input. Keys read back from the store that fail to decode
// indicate a bug or corruption; callers should report DATA_LOSS/INTERNAL.
#ifndef CXP_COMMON_STORE_KEY_CODEC_H_
#define CXP_COMMON_STORE_KEY_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace cxp::store {

class KeyBuilder {
 public:
  // Starts a key scoped to `tenant` (the first component).
  explicit KeyBuilder(std::string_view tenant);

  KeyBuilder& AddString(std::string_view value);
  // Escaped like AddString but without the terminator: the result is a prefix
  // of the encoding of every string that starts with `value`. Only useful as
  // the last component of a scan prefix ("display names starting with 'bo'").
  KeyBuilder& AddStringPrefix(std::string_view value);
  KeyBuilder& AddUint64(uint64_t value);
  KeyBuilder& AddInt64(int64_t value);
  KeyBuilder& AddUint64Descending(uint64_t value);
  KeyBuilder& AddInt64Descending(int64_t value);
  // Appended verbatim (e.g. a fixed-size id or a one-byte key-kind tag).
  KeyBuilder& AddFixedBytes(std::string_view bytes);

  const std::string& key() const& { return key_; }
  std::string key() && { return std::move(key_); }

 private:
  std::string key_;
};

// Encoding of `tenant` alone: the prefix every key of that tenant starts with.
std::string TenantPrefix(std::string_view tenant);

// Smallest key greater than every key that starts with `prefix`, for use as an
// exclusive iterate upper bound. Returns "" when no such key exists (prefix is
// empty or all 0xFF), which callers treat as "no upper bound".
std::string PrefixSuccessor(std::string_view prefix);

// Decodes components in the order they were appended. Views `key`; the
// underlying bytes must outlive the reader.
class KeyReader {
 public:
  explicit KeyReader(std::string_view key) : key_(key) {}

  // The first ReadString() of a key returns its tenant.
  absl::StatusOr<std::string> ReadString();
  absl::StatusOr<uint64_t> ReadUint64();
  absl::StatusOr<int64_t> ReadInt64();
  absl::StatusOr<uint64_t> ReadUint64Descending();
  absl::StatusOr<int64_t> ReadInt64Descending();
  absl::StatusOr<std::string_view> ReadFixedBytes(size_t size);

  // OK iff every byte has been consumed; guards against layout mismatches.
  absl::Status ExpectEnd() const;

  bool done() const { return offset_ == key_.size(); }
  std::string_view remaining() const { return key_.substr(offset_); }

 private:
  absl::StatusOr<uint64_t> ReadBigEndian64(std::string_view component);

  std::string_view key_;
  size_t offset_ = 0;
};

}  // namespace cxp::store

#endif  // CXP_COMMON_STORE_KEY_CODEC_H_
