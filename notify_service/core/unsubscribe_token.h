// Unsubscribe links — the signed one-click unsubscribe link (RFC 8058) in a
// marketing email: who opts out of what, so that nobody can unsubscribe
// someone else by editing a link.
//
//   link  = <base_url> "?t=" token        ("&t=" when base_url has a query)
//   token = base64url(payload) "." base64url(HMAC-SHA256(key, payload))
//           (URL-safe alphabet, no padding: nothing to percent-encode)
//   payload = version (1) | tenant | customer | email | channel | purpose
//             | notification | issue time (unix micros)
//           strings as varint length + bytes, numbers as varints.
//
// Signed, not encrypted: whoever holds the link (the recipient, their mail
// provider) can read the tenant id, customer name or email address and
// notification name; nothing else goes in.
// Tokens do not expire: an unsubscribe link must keep working in old mail
// (CAN-SPAM asks for at least 30 days), and all one can do is deny
// marketing on one channel to the customer it names.
// The key: at least 32 bytes, kept in the store (StoredSecret) so links
// stay valid across restarts; replicas must share it.
//
// Errors of Verify (the field is "t", the query parameter):
//   INVALID_ARGUMENT  empty, too long, not two base64url parts, truncated,
//                     unknown version, bad fields
//   PERMISSION_DENIED the signature does not match: modified, or signed
//                     with another key (compared in constant time)
//
// Threading: immutable after Create; const methods are safe concurrently.

#ifndef CXP_NOTIFY_SERVICE_CORE_UNSUBSCRIBE_TOKEN_H_
#define CXP_NOTIFY_SERVICE_CORE_UNSUBSCRIBE_TOKEN_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cxp/notify/v1/notification.pb.h"
#include "cxp/type/v1/channel.pb.h"
#include "cxp/type/v1/purpose.pb.h"

namespace cxp::notify {

// What a link unsubscribes. Exactly one of customer and email is set.
struct UnsubscribeClaim {
  std::string tenant;
  std::string customer;  // "customers/<id>"
  std::string email;     // the address, when the recipient had no customer
  cxp::type::v1::Channel channel = cxp::type::v1::CHANNEL_EMAIL;
  cxp::type::v1::Purpose purpose = cxp::type::v1::PURPOSE_MARKETING;
  std::string notification;  // "notifications/<id>": for the audit trail
  absl::Time issue_time;

  friend bool operator==(const UnsubscribeClaim&, const UnsubscribeClaim&) = default;
};

// The claim of a marketing email of `notification` (as claimed by the
// dispatcher) to `address`: its resolved customer, else the customer it
// was sent to by name, else the email address itself.
UnsubscribeClaim UnsubscribeClaimFor(const std::string& tenant,
                                     const cxp::notify::v1::Notification& notification,
                                     const std::string& address, absl::Time now);

class UnsubscribeLinks {
 public:
  static constexpr size_t kMinKeySize = 32;
  static constexpr size_t kMaxTokenLength = 4096;

  // INVALID_ARGUMENT for a key under kMinKeySize bytes, or a base_url that
  // is not an https URL of printable ASCII without spaces, quotes, angle
  // brackets or a fragment (RFC 8058 requires HTTPS).
  static absl::StatusOr<UnsubscribeLinks> Create(std::string key, std::string base_url);

  std::string Issue(const UnsubscribeClaim& claim) const;
  std::string UrlFor(const UnsubscribeClaim& claim) const;
  absl::StatusOr<UnsubscribeClaim> Verify(absl::string_view token) const;

  const std::string& base_url() const { return base_url_; }

 private:
  UnsubscribeLinks(std::string key, std::string base_url)
      : key_(std::move(key)), base_url_(std::move(base_url)) {}

  std::string Mac(absl::string_view payload) const;

  std::string key_;
  std::string base_url_;
};

}  // namespace cxp::notify

#endif  // CXP_NOTIFY_SERVICE_CORE_UNSUBSCRIBE_TOKEN_H_
