// HandoffTokenCodec — the secret tokens of channel handoffs
// (CreateHandoff / RedeemHandoff).
//
// A token names a stored handoff and proves the server issued it for that
// tenant: "h1" + handoff id + "." + base64url(HMAC-SHA256(key, tenant,
// handoff id)) truncated to 128 bits — 41 URL-safe characters. The handoff
// itself (customer, expiry, whether redeemed) stays in the store, so a
// token carries no personal data, and guessing ids gets nowhere without the
// key. A token of another tenant fails the MAC like a forged one; both are
// reported as unknown, so nothing tells an attacker which it was.
//
// Errors: Verify() answers INVALID_ARGUMENT for a token that is not of this
// shape and NOT_FOUND for one whose MAC does not match.
// Threading: immutable after construction; thread-safe.

#ifndef CXP_CONTEXT_SERVICE_CORE_HANDOFF_TOKEN_H_
#define CXP_CONTEXT_SERVICE_CORE_HANDOFF_TOKEN_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cxp::context {

class HandoffTokenCodec {
 public:
  static constexpr size_t kMinKeyBytes = 32;

  // `key` must have at least kMinKeyBytes bytes (the caller checks).
  explicit HandoffTokenCodec(std::string key) : key_(std::move(key)) {}

  std::string Mint(absl::string_view tenant, absl::string_view handoff_id) const;
  // The handoff id the token names, if this server issued it for `tenant`.
  absl::StatusOr<std::string> Verify(absl::string_view tenant, absl::string_view token) const;

 private:
  std::string Mac(absl::string_view tenant, absl::string_view handoff_id) const;
  std::string key_;
};

}  // namespace cxp::context

#endif  // CXP_CONTEXT_SERVICE_CORE_HANDOFF_TOKEN_H_
