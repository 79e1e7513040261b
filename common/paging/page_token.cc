#include "common/paging/page_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "absl/strings/escaping.h"
#include "common/paging/length_prefixed.h"
#include "common/status/errors.h"

namespace cxp::paging {
namespace {

constexpr char kVersion = 1;
constexpr size_t kMacSize = 32;
// Tokens longer than this are rejected before any decoding work.
constexpr size_t kMaxTokenLength = 8192;

constexpr char kInvalid[] =
    "is not valid; list again without a page_token to start from the first page";
constexpr char kExpired[] = "expired; list again without a page_token to start from the first page";

absl::Status Invalid() { return InvalidArgument("page_token", kInvalid); }

void Mac(absl::string_view key, absl::string_view data, unsigned char out[kMacSize]) {
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &length);
}

}  // namespace

std::string PageTokenCodec::RandomKey() {
  std::string key(kKeySize, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) != 1) {
    std::fprintf(stderr, "PageTokenCodec: RAND_bytes failed\n");
    std::abort();
  }
  return key;
}

PageTokenCodec::PageTokenCodec() : PageTokenCodec(RandomKey()) {}

PageTokenCodec::PageTokenCodec(std::string key, absl::Duration max_age)
    : key_(std::move(key)), max_age_(max_age) {
  if (key_.size() < kKeySize) {
    std::fprintf(stderr, "PageTokenCodec: key must be at least %zu bytes, got %zu\n", kKeySize,
                 key_.size());
    std::abort();
  }
}

std::string PageTokenCodec::Encode(const PageCursor& cursor) const {
  std::string record;
  record.reserve(1 + 10 + cursor.request_fingerprint.size() + 10 + cursor.resume_key.size() + 8 +
                 kMacSize);
  record.push_back(kVersion);
  PutBytes(record, cursor.request_fingerprint);
  PutBytes(record, cursor.resume_key);
  const uint64_t micros = static_cast<uint64_t>(absl::ToUnixMicros(cursor.create_time));
  for (int i = 7; i >= 0; --i) record.push_back(static_cast<char>((micros >> (8 * i)) & 0xff));
  unsigned char mac[kMacSize];
  Mac(key_, record, mac);
  record.append(reinterpret_cast<const char*>(mac), kMacSize);
  return absl::WebSafeBase64Escape(record);
}

absl::StatusOr<PageCursor> PageTokenCodec::Decode(absl::string_view token,
                                                  absl::string_view request_fingerprint,
                                                  absl::Time now) const {
  if (token.empty() || token.size() > kMaxTokenLength) return Invalid();
  std::string record;
  if (!absl::WebSafeBase64Unescape(token, &record)) return Invalid();
  if (record.size() < 1 + kMacSize) return Invalid();

  // Authenticate before parsing anything else.
  absl::string_view body(record.data(), record.size() - kMacSize);
  unsigned char mac[kMacSize];
  Mac(key_, body, mac);
  if (CRYPTO_memcmp(mac, record.data() + body.size(), kMacSize) != 0) return Invalid();

  if (body.front() != kVersion) return Invalid();
  body.remove_prefix(1);
  std::optional<absl::string_view> fingerprint = GetBytes(body);
  if (!fingerprint) return Invalid();
  std::optional<absl::string_view> resume_key = GetBytes(body);
  if (!resume_key) return Invalid();
  if (body.size() != 8) return Invalid();
  uint64_t micros = 0;
  for (char c : body) micros = (micros << 8) | static_cast<unsigned char>(c);

  if (*fingerprint != request_fingerprint) {
    return InvalidArgument("page_token",
                           "was issued for a different request (parent/filter must not change "
                           "between pages)");
  }
  PageCursor cursor;
  cursor.request_fingerprint = std::string(*fingerprint);
  cursor.resume_key = std::string(*resume_key);
  cursor.create_time = absl::FromUnixMicros(static_cast<int64_t>(micros));
  const absl::Duration age = now - cursor.create_time;
  if (age > max_age_ || age < -max_age_) return InvalidArgument("page_token", kExpired);
  return cursor;
}

absl::StatusOr<std::string> PageTokenCodec::ResumeKey(absl::string_view page_token,
                                                      absl::string_view request_fingerprint,
                                                      absl::Time now) const {
  if (page_token.empty()) return std::string();
  absl::StatusOr<PageCursor> cursor = Decode(page_token, request_fingerprint, now);
  if (!cursor.ok()) return cursor.status();
  return std::move(cursor->resume_key);
}

std::string PageTokenCodec::NextPageToken(absl::string_view request_fingerprint,
                                          absl::string_view last_key, absl::Time now) const {
  return Encode({.request_fingerprint = std::string(request_fingerprint),
                 .resume_key = std::string(last_key),
                 .create_time = now});
}

PageTokenCodec PageTokenCodec::WithKeyOrRandom(const std::string& key) {
  return key.empty() ? PageTokenCodec() : PageTokenCodec(key);
}

}  // namespace cxp::paging
