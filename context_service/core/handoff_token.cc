#include "context_service/core/handoff_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace cxp::context {
namespace {

constexpr absl::string_view kPrefix = "h1";
constexpr size_t kIdLength = 16;
constexpr size_t kMacBytes = 16;
constexpr size_t kMacChars = 22;  // base64url of 16 bytes, unpadded

bool IsIdChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

}  // namespace

std::string HandoffTokenCodec::Mac(absl::string_view tenant, absl::string_view handoff_id) const {
  // Length-prefixed parts: no tenant/id split can collide with another.
  const std::string data =
      absl::StrCat("cxp-handoff-v1|", tenant.size(), "|", tenant, "|", handoff_id);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &length);
  return std::string(reinterpret_cast<const char*>(digest), kMacBytes);
}

std::string HandoffTokenCodec::Mint(absl::string_view tenant, absl::string_view handoff_id) const {
  std::string mac;
  absl::WebSafeBase64Escape(Mac(tenant, handoff_id), &mac);
  return absl::StrCat(kPrefix, handoff_id, ".", mac);
}

absl::StatusOr<std::string> HandoffTokenCodec::Verify(absl::string_view tenant,
                                                      absl::string_view token) const {
  const auto malformed = [] {
    return absl::InvalidArgumentError("token: not a handoff token (copy it whole, as created)");
  };
  absl::string_view rest = token;
  if (!absl::ConsumePrefix(&rest, kPrefix) || rest.size() != kIdLength + 1 + kMacChars ||
      rest[kIdLength] != '.') {
    return malformed();
  }
  const absl::string_view id = rest.substr(0, kIdLength);
  for (char c : id) {
    if (!IsIdChar(c)) return malformed();
  }
  const absl::string_view encoded_mac = rest.substr(kIdLength + 1);
  std::string mac;
  if (!absl::WebSafeBase64Unescape(encoded_mac, &mac) || mac.size() != kMacBytes) {
    return malformed();
  }
  const std::string expected = Mac(tenant, id);
  // The last base64 character carries unused bits: only the canonical
  // spelling is the token, so a handoff has exactly one.
  std::string canonical;
  absl::WebSafeBase64Escape(mac, &canonical);
  if (CRYPTO_memcmp(mac.data(), expected.data(), kMacBytes) != 0 || canonical != encoded_mac) {
    return absl::NotFoundError("token: no such handoff");
  }
  return std::string(id);
}

}  // namespace cxp::context
