#include "notify_service/core/unsubscribe_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/paging/length_prefixed.h"
#include "common/status/errors.h"

namespace cxp::notify {
namespace {

using ::cxp::paging::GetBytes;
using ::cxp::paging::GetVarint;
using ::cxp::paging::PutBytes;
using ::cxp::paging::PutVarint;

namespace type = ::cxp::type::v1;

constexpr char kVersion = 1;
constexpr size_t kMacSize = 32;
constexpr char kField[] = "t";

absl::Status Malformed() {
  return InvalidArgument(kField, "is not an unsubscribe token (copy the whole link)");
}

absl::Status ValidateBaseUrl(absl::string_view url) {
  if (!absl::StartsWithIgnoreCase(url, "https://") || url.size() <= 8) {
    return InvalidArgument("unsubscribe_base_url",
                           "must be an https URL (RFC 8058 one-click unsubscribe)");
  }
  for (char c : url) {
    if (c <= 0x20 || c > 0x7e || c == '<' || c == '>' || c == '"' || c == '#') {
      return InvalidArgument("unsubscribe_base_url",
                             "must be printable ASCII without spaces, quotes, angle brackets or "
                             "a fragment");
    }
  }
  return absl::OkStatus();
}

}  // namespace

UnsubscribeClaim UnsubscribeClaimFor(const std::string& tenant,
                                     const cxp::notify::v1::Notification& notification,
                                     const std::string& address, absl::Time now) {
  UnsubscribeClaim claim;
  claim.tenant = tenant;
  if (!notification.resolved_customer().empty()) {
    claim.customer = notification.resolved_customer();
  } else if (notification.customer().has_customer()) {
    claim.customer = notification.customer().customer();
  } else {
    claim.email = address;
  }
  claim.channel = type::CHANNEL_EMAIL;
  claim.purpose = notification.purpose();
  claim.notification = notification.name();
  claim.issue_time = now;
  return claim;
}

absl::StatusOr<UnsubscribeLinks> UnsubscribeLinks::Create(std::string key, std::string base_url) {
  if (key.size() < kMinKeySize) {
    return InvalidArgument("unsubscribe key",
                           absl::StrCat("must be at least ", kMinKeySize, " bytes"));
  }
  if (absl::Status status = ValidateBaseUrl(base_url); !status.ok()) return status;
  return UnsubscribeLinks(std::move(key), std::move(base_url));
}

std::string UnsubscribeLinks::Mac(absl::string_view payload) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), mac, &length);
  return std::string(reinterpret_cast<const char*>(mac), length);
}

std::string UnsubscribeLinks::Issue(const UnsubscribeClaim& claim) const {
  std::string payload;
  payload.push_back(kVersion);
  PutBytes(payload, claim.tenant);
  PutBytes(payload, claim.customer);
  PutBytes(payload, claim.email);
  PutVarint(payload, static_cast<uint64_t>(claim.channel));
  PutVarint(payload, static_cast<uint64_t>(claim.purpose));
  PutBytes(payload, claim.notification);
  PutVarint(payload, static_cast<uint64_t>(absl::ToUnixMicros(claim.issue_time)));
  return absl::StrCat(absl::WebSafeBase64Escape(payload), ".",
                      absl::WebSafeBase64Escape(Mac(payload)));
}

std::string UnsubscribeLinks::UrlFor(const UnsubscribeClaim& claim) const {
  return absl::StrCat(base_url_, absl::StrContains(base_url_, '?') ? "&" : "?", "t=", Issue(claim));
}

absl::StatusOr<UnsubscribeClaim> UnsubscribeLinks::Verify(absl::string_view token) const {
  if (token.empty() || token.size() > kMaxTokenLength) return Malformed();
  const std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) return Malformed();
  std::string payload;
  std::string mac;
  if (!absl::WebSafeBase64Unescape(parts[0], &payload) ||
      !absl::WebSafeBase64Unescape(parts[1], &mac) || payload.empty()) {
    return Malformed();
  }
  // Authenticate before parsing anything else.
  const std::string expected = Mac(payload);
  if (mac.size() != kMacSize || expected.size() != kMacSize ||
      CRYPTO_memcmp(mac.data(), expected.data(), kMacSize) != 0) {
    return absl::PermissionDeniedError(
        "t: signature does not match (the link was changed, or is not from this service)");
  }

  absl::string_view in(payload);
  if (in.front() != kVersion) return Malformed();
  in.remove_prefix(1);
  UnsubscribeClaim claim;
  std::optional<absl::string_view> tenant = GetBytes(in);
  std::optional<absl::string_view> customer = GetBytes(in);
  std::optional<absl::string_view> email = GetBytes(in);
  std::optional<uint64_t> channel = GetVarint(in);
  std::optional<uint64_t> purpose = GetVarint(in);
  std::optional<absl::string_view> notification = GetBytes(in);
  std::optional<uint64_t> micros = GetVarint(in);
  if (!tenant || !customer || !email || !channel || !purpose || !notification || !micros ||
      !in.empty()) {
    return Malformed();
  }
  if (tenant->empty() || customer->empty() == email->empty() ||
      !type::Channel_IsValid(static_cast<int>(*channel)) ||
      !type::Purpose_IsValid(static_cast<int>(*purpose))) {
    return Malformed();
  }
  claim.tenant = std::string(*tenant);
  claim.customer = std::string(*customer);
  claim.email = std::string(*email);
  claim.channel = static_cast<type::Channel>(*channel);
  claim.purpose = static_cast<type::Purpose>(*purpose);
  claim.notification = std::string(*notification);
  claim.issue_time = absl::FromUnixMicros(static_cast<int64_t>(*micros));
  return claim;
}

}  // namespace cxp::notify
