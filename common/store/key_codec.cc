#include "common/store/key_codec.h"

#include <utility>

namespace cxp::store {
namespace {

constexpr char kEscapeByte = '\x00';
constexpr char kEscapedNul = '\xff';   // 00 FF: a NUL inside the string
constexpr char kTerminator = '\x01';   // 00 01: end of string; sorts below 00 FF
constexpr uint64_t kInt64SignBit = uint64_t{1} << 63;

void AppendEscaped(std::string_view value, std::string* out) {
  for (char c : value) {
    out->push_back(c);
    if (c == kEscapeByte) out->push_back(kEscapedNul);
  }
}

void AppendString(std::string_view value, std::string* out) {
  AppendEscaped(value, out);
  out->push_back(kEscapeByte);
  out->push_back(kTerminator);
}

void AppendBigEndian64(uint64_t value, std::string* out) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

absl::Status Malformed(std::string_view component, size_t offset, std::string_view problem) {
  std::string message = "malformed key: ";
  message.append(component).append(" at offset ").append(std::to_string(offset));
  message.append(": ").append(problem);
  return absl::InvalidArgumentError(message);
}

}  // namespace

KeyBuilder::KeyBuilder(std::string_view tenant) { AppendString(tenant, &key_); }

KeyBuilder& KeyBuilder::AddString(std::string_view value) {
  AppendString(value, &key_);
  return *this;
}

KeyBuilder& KeyBuilder::AddStringPrefix(std::string_view value) {
  AppendEscaped(value, &key_);
  return *this;
}

KeyBuilder& KeyBuilder::AddUint64(uint64_t value) {
  AppendBigEndian64(value, &key_);
  return *this;
}

KeyBuilder& KeyBuilder::AddInt64(int64_t value) {
  AppendBigEndian64(static_cast<uint64_t>(value) ^ kInt64SignBit, &key_);
  return *this;
}

KeyBuilder& KeyBuilder::AddUint64Descending(uint64_t value) {
  AppendBigEndian64(~value, &key_);
  return *this;
}

KeyBuilder& KeyBuilder::AddInt64Descending(int64_t value) {
  AppendBigEndian64(~(static_cast<uint64_t>(value) ^ kInt64SignBit), &key_);
  return *this;
}

KeyBuilder& KeyBuilder::AddFixedBytes(std::string_view bytes) {
  key_.append(bytes);
  return *this;
}

std::string TenantPrefix(std::string_view tenant) { return KeyBuilder(tenant).key(); }

std::string PrefixSuccessor(std::string_view prefix) {
  std::string successor(prefix);
  while (!successor.empty() && static_cast<unsigned char>(successor.back()) == 0xff) {
    successor.pop_back();
  }
  if (!successor.empty()) {
    successor.back() = static_cast<char>(static_cast<unsigned char>(successor.back()) + 1);
  }
  return successor;
}

absl::StatusOr<std::string> KeyReader::ReadString() {
  std::string value;
  size_t pos = offset_;
  while (pos < key_.size()) {
    char c = key_[pos++];
    if (c != kEscapeByte) {
      value.push_back(c);
      continue;
    }
    if (pos == key_.size()) return Malformed("string", offset_, "truncated escape");
    char next = key_[pos++];
    if (next == kTerminator) {
      offset_ = pos;
      return value;
    }
    if (next != kEscapedNul) return Malformed("string", offset_, "invalid escape");
    value.push_back(kEscapeByte);
  }
  return Malformed("string", offset_, "missing terminator");
}

absl::StatusOr<uint64_t> KeyReader::ReadBigEndian64(std::string_view component) {
  if (key_.size() - offset_ < 8) return Malformed(component, offset_, "needs 8 bytes");
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) {
    value = (value << 8) | static_cast<unsigned char>(key_[offset_ + i]);
  }
  offset_ += 8;
  return value;
}

absl::StatusOr<uint64_t> KeyReader::ReadUint64() { return ReadBigEndian64("uint64"); }

absl::StatusOr<int64_t> KeyReader::ReadInt64() {
  absl::StatusOr<uint64_t> raw = ReadBigEndian64("int64");
  if (!raw.ok()) return std::move(raw).status();
  return static_cast<int64_t>(*raw ^ kInt64SignBit);
}

absl::StatusOr<uint64_t> KeyReader::ReadUint64Descending() {
  absl::StatusOr<uint64_t> raw = ReadBigEndian64("uint64 descending");
  if (!raw.ok()) return std::move(raw).status();
  return ~*raw;
}

absl::StatusOr<int64_t> KeyReader::ReadInt64Descending() {
  absl::StatusOr<uint64_t> raw = ReadBigEndian64("int64 descending");
  if (!raw.ok()) return std::move(raw).status();
  return static_cast<int64_t>(~*raw ^ kInt64SignBit);
}

absl::StatusOr<std::string_view> KeyReader::ReadFixedBytes(size_t size) {
  if (key_.size() - offset_ < size) {
    return Malformed("fixed bytes", offset_, "needs " + std::to_string(size) + " bytes");
  }
  std::string_view bytes = key_.substr(offset_, size);
  offset_ += size;
  return bytes;
}

absl::Status KeyReader::ExpectEnd() const {
  if (done()) return absl::OkStatus();
  return Malformed("end", offset_, std::to_string(key_.size() - offset_) + " trailing bytes");
}

}  // namespace cxp::store
