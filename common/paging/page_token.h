// PageTokenCodec — opaque AIP-158 page tokens: where the next page resumes,
// bound to the request that produced it, tamper-proof and time-limited.
//
// A token is URL-safe base64 (no padding) of a small versioned binary record
//   version (1 byte) | fingerprint (varint length + bytes)
//   | resume key (varint length + bytes) | create time (8-byte unix micros)
//   | HMAC-SHA256 of everything before (32 bytes)
// keyed with the codec's secret key.
//
// Confidentiality: tokens are signed, not encrypted. A client that decodes
// one can read the resume key — a store key of the collection it is listing
// (tenant id, resource ids it can already see in responses). Never put
// secrets or other tenants' data in a resume key. Stores should still check
// that a resume key lies inside the listed parent's key range.
//
// Keys: PageTokenCodec(key) takes a persisted secret of at least kKeySize
// (32) bytes, so tokens stay valid across restarts and replicas sharing the
// key. PageTokenCodec() makes a random key: tokens it issues stop decoding
// when the process restarts (clients get INVALID_ARGUMENT and list again).
// Passing a shorter key is a programming error and aborts.
//
// Errors (all INVALID_ARGUMENT naming `page_token`, nothing else):
//   - not base64, truncated, unknown version, wrong HMAC (modified, or issued
//     under another key): "page_token: is not valid; ..."
//   - issued for another request fingerprint: "page_token: was issued for a
//     different request (parent/filter must not change between pages)"
//   - older than max_age (default 1 hour), or created more than max_age in
//     the future: "page_token: expired; ..."
// An empty token is not a token: callers check page_token().empty() (first
// page) before decoding; Decode("") is an error.
//
// Threading: immutable after construction; Encode/Decode are const and safe
// to call concurrently.

#ifndef CXP_COMMON_PAGING_PAGE_TOKEN_H_
#define CXP_COMMON_PAGING_PAGE_TOKEN_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace cxp::paging {

struct PageCursor {
  // RequestFingerprint(...) of the request the page belongs to.
  std::string request_fingerprint;
  // Raw bytes where the next page starts (e.g. the last store key returned,
  // or the next one to read; the store decides and documents which).
  std::string resume_key;
  // When the token was issued, normally absl::Now(). Decode rejects tokens
  // older than the codec's max_age, so leaving the default (the Unix epoch)
  // yields tokens that are already expired.
  absl::Time create_time = absl::UnixEpoch();
};

class PageTokenCodec {
 public:
  static constexpr size_t kKeySize = 32;
  static constexpr absl::Duration kDefaultMaxAge = absl::Hours(1);

  // A fresh random key (tokens do not survive a restart).
  PageTokenCodec();
  explicit PageTokenCodec(std::string key, absl::Duration max_age = kDefaultMaxAge);

  // kKeySize cryptographically random bytes, e.g. to persist as a key.
  static std::string RandomKey();

  std::string Encode(const PageCursor& cursor) const;

  // Verifies and decodes `token`, checking that it was issued for
  // `request_fingerprint` and is not older than max_age at `now`.
  absl::StatusOr<PageCursor> Decode(absl::string_view token, absl::string_view request_fingerprint,
                                    absl::Time now = absl::Now()) const;

  // What a List RPC needs (a service core's paging in two calls):
  // The resume key `page_token` carries, or "" when the token is empty (the
  // first page); errors as Decode.
  absl::StatusOr<std::string> ResumeKey(absl::string_view page_token,
                                        absl::string_view request_fingerprint,
                                        absl::Time now) const;
  // The token of the page after `last_key`, issued at `now`.
  std::string NextPageToken(absl::string_view request_fingerprint, absl::string_view last_key,
                            absl::Time now) const;
  // PageTokenCodec(key) for a configured key, else one with a random key.
  static PageTokenCodec WithKeyOrRandom(const std::string& key);

  absl::Duration max_age() const { return max_age_; }

 private:
  std::string key_;
  absl::Duration max_age_;
};

}  // namespace cxp::paging

#endif  // CXP_COMMON_PAGING_PAGE_TOKEN_H_
