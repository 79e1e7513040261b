// IdentityNormalizer — validates a cxp.type.v1.Identity and converts it to
// the one stored form, so that equal identities compare equal byte for byte
// (see protos/cxp/type/v1/identity.proto, the contract for every rule here):
//
//   kind         must be a known IdentityKind other than UNSPECIFIED.
//   PHONE        value trimmed of ASCII whitespace, 1..512 characters, parsed
//                with libphonenumber: a value starting with "+" is
//                international (region_code is then ignored, not even
//                checked); otherwise it is national and read with
//                region_code if set (validated, case-insensitive) else the
//                default region. Numbers libphonenumber does not consider
//                valid (IsValidNumber) are rejected, and so are numbers with
//                an extension ("ext. 123"), which E.164 cannot carry. Output:
//                E.164, e.g. "010-1234-5678" with region KR ->
//                "+821012345678". namespace must be empty.
//   EMAIL        value trimmed of ASCII whitespace and ASCII-lower-cased,
//                then checked with a pragmatic syntax: exactly one '@';
//                local part 1..64 bytes of RFC 5322 atext, '.' and UTF-8
//                (bytes >= 0x80, for internationalised addresses); domain
//                at most 253 bytes, at least two dot-separated labels of
//                1..63 [a-z0-9-] not starting or ending with '-' (IDNs in
//                their xn-- form). No quoted local parts, comments or IP
//                literals. namespace must be empty.
//   CHAT_HANDLE, SOCIAL, EXTERNAL_ID, DEVICE_ID
//                namespace required, 1..64 characters of [a-z0-9_.-]
//                (upper case is rejected, not folded); value kept byte for
//                byte: valid UTF-8, 1..512 characters, no control
//                characters.
//   region_code  input only: always cleared in the output.
//
// Character counts are Unicode code points.
//
// Errors: INVALID_ARGUMENT "<field_path>.<field>: <problem>", e.g.
// "customer.identities[2].value: not a valid phone number for region KR".
// Messages never contain the identity's value (it is personal data).
//
// Threading: immutable after Create(); Normalize() is const, thread-safe and
// cheap to call concurrently (libphonenumber's PhoneNumberUtil is a
// thread-safe singleton). Copyable.

#ifndef CXP_CONTEXT_SERVICE_VALIDATION_IDENTITY_NORMALIZER_H_
#define CXP_CONTEXT_SERVICE_VALIDATION_IDENTITY_NORMALIZER_H_

#include <cstddef>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cxp/type/v1/identity.pb.h"

namespace cxp::context::validation {

class IdentityNormalizer {
 public:
  static constexpr size_t kMaxValueChars = 512;
  static constexpr size_t kMaxNamespaceChars = 64;
  static constexpr size_t kMaxEmailLocalPartBytes = 64;
  static constexpr size_t kMaxEmailDomainBytes = 253;

  // `default_region` is the tenant's ISO 3166-1 alpha-2 region ("KR"; case
  // does not matter) used for national phone numbers without region_code.
  // INVALID_ARGUMENT "default_region: unknown region ..." if libphonenumber
  // does not know it.
  static absl::StatusOr<IdentityNormalizer> Create(absl::string_view default_region);

  // Upper-case region, e.g. "KR".
  const std::string& default_region() const { return default_region_; }

  // Returns the normalised copy of `identity` or INVALID_ARGUMENT naming
  // `field_path` + ".kind" / ".value" / ".namespace" / ".region_code".
  // `field_path` is the path of the Identity message itself, e.g.
  // "customer.identities[2]" or "interaction.identity" (empty: bare names).
  absl::StatusOr<cxp::type::v1::Identity> Normalize(const cxp::type::v1::Identity& identity,
                                                    absl::string_view field_path) const;

 private:
  explicit IdentityNormalizer(std::string default_region)
      : default_region_(std::move(default_region)) {}

  absl::StatusOr<std::string> NormalizePhone(const cxp::type::v1::Identity& identity,
                                             absl::string_view value,
                                             absl::string_view field_path) const;

  std::string default_region_;
};

// Canonical key of a NORMALISED identity (Normalize()'s output), for
// uniqueness checks and index keys:
//
//   "<kind as decimal enum number>" "\x1f" "<namespace>" "\x1f" "<value>"
//
// e.g. "1\x1f\x1f+821012345678" (PHONE) or "3\x1fkakaotalk\x1fuser_42".
// Injective on normalised identities, because neither namespace nor value can
// contain the 0x1f separator (a control character). Stable: stored keys
// depend on this format, never change it.
std::string IdentityKey(const cxp::type::v1::Identity& normalized);

}  // namespace cxp::context::validation

#endif  // CXP_CONTEXT_SERVICE_VALIDATION_IDENTITY_NORMALIZER_H_
