#include "context_service/validation/identity_normalizer.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status/status_macros.h"
#include "context_service/validation/text_rules.h"
#include "phonenumbers/phonenumber.pb.h"
#include "phonenumbers/phonenumberutil.h"

namespace cxp::context::validation {
namespace {

using cxp::type::v1::Identity;
using cxp::type::v1::IdentityKind;
using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

// Upper-cased `region` if libphonenumber knows it as a region, else empty.
std::string KnownRegion(absl::string_view region) {
  if (region.size() != 2 || !absl::ascii_isalpha(static_cast<unsigned char>(region[0])) ||
      !absl::ascii_isalpha(static_cast<unsigned char>(region[1]))) {
    return "";
  }
  std::string upper = absl::AsciiStrToUpper(region);
  // 0 means "invalid or unknown region".
  if (PhoneNumberUtil::GetInstance()->GetCountryCodeForRegion(upper) == 0) return "";
  return upper;
}

std::string UnknownRegionProblem(absl::string_view region) {
  return absl::StrCat("unknown region ", QuoteForMessage(region, 8),
                      "; use an ISO 3166-1 alpha-2 code such as \"KR\" or \"US\"");
}

// RFC 5322 atext, plus '.' (dot placement is not policed: some real
// providers issue addresses with leading, trailing or doubled dots).
bool IsEmailLocalChar(unsigned char c) {
  if (c >= 0x80) return true;  // UTF-8 (validity is checked separately)
  if (absl::ascii_isalnum(c)) return true;
  return absl::string_view("!#$%&'*+-/=?^_`{|}~.").find(static_cast<char>(c)) !=
         absl::string_view::npos;
}

// `email` is trimmed, lower-cased, valid UTF-8 without control characters.
// Returns the problem, or empty if the syntax is acceptable.
std::string EmailProblem(absl::string_view email) {
  const size_t at = email.find('@');
  if (at == absl::string_view::npos || email.find('@', at + 1) != absl::string_view::npos) {
    return "not a valid email address: must contain exactly one '@'";
  }
  const absl::string_view local = email.substr(0, at);
  const absl::string_view domain = email.substr(at + 1);
  if (local.empty()) return "not a valid email address: empty local part";
  if (local.size() > IdentityNormalizer::kMaxEmailLocalPartBytes) {
    return absl::StrCat("not a valid email address: local part longer than ",
                        IdentityNormalizer::kMaxEmailLocalPartBytes, " bytes");
  }
  for (const char c : local) {
    if (!IsEmailLocalChar(static_cast<unsigned char>(c))) {
      return "not a valid email address: local part contains a character that is not allowed";
    }
  }
  if (domain.empty()) return "not a valid email address: empty domain";
  if (domain.size() > IdentityNormalizer::kMaxEmailDomainBytes) {
    return absl::StrCat("not a valid email address: domain longer than ",
                        IdentityNormalizer::kMaxEmailDomainBytes, " bytes");
  }
  int labels = 0;
  for (const absl::string_view label : absl::StrSplit(domain, '.')) {
    ++labels;
    if (label.empty() || label.size() > 63 || !IsLowerAlnumOr(label, "-") || label.front() == '-' ||
        label.back() == '-') {
      return "not a valid email address: domain labels must be 1 to 63 characters of "
             "[a-z0-9-], not starting or ending with '-'";
    }
  }
  if (labels < 2) return "not a valid email address: domain must contain a '.'";
  return "";
}

}  // namespace

absl::StatusOr<IdentityNormalizer> IdentityNormalizer::Create(absl::string_view default_region) {
  std::string region = KnownRegion(default_region);
  if (region.empty()) return InvalidField("default_region", UnknownRegionProblem(default_region));
  return IdentityNormalizer(std::move(region));
}

absl::StatusOr<std::string> IdentityNormalizer::NormalizePhone(const Identity& identity,
                                                               absl::string_view value,
                                                               absl::string_view field_path) const {
  const bool international = !value.empty() && value.front() == '+';
  std::string region = default_region_;
  if (!international && !identity.region_code().empty()) {
    region = KnownRegion(identity.region_code());
    if (region.empty()) {
      return InvalidField(FieldPath(field_path, "region_code"),
                          UnknownRegionProblem(identity.region_code()));
    }
  }
  const std::string value_field = FieldPath(field_path, "value");
  const std::string invalid = international
                                  ? std::string("not a valid phone number")
                                  : absl::StrCat("not a valid phone number for region ", region);
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  PhoneNumber number;
  if (util.Parse(std::string(value), region, &number) != PhoneNumberUtil::NO_PARSING_ERROR) {
    return InvalidField(value_field, invalid);
  }
  if (number.has_extension() && !number.extension().empty()) {
    return InvalidField(value_field, "phone number extensions are not supported");
  }
  if (!util.IsValidNumber(number)) return InvalidField(value_field, invalid);
  std::string e164;
  util.Format(number, PhoneNumberUtil::E164, &e164);
  return e164;
}

absl::StatusOr<Identity> IdentityNormalizer::Normalize(const Identity& identity,
                                                       absl::string_view field_path) const {
  const IdentityKind kind = identity.kind();
  if (kind == cxp::type::v1::IDENTITY_KIND_UNSPECIFIED) {
    return InvalidField(FieldPath(field_path, "kind"), "must be set");
  }
  if (!cxp::type::v1::IdentityKind_IsValid(kind)) {
    return InvalidField(FieldPath(field_path, "kind"),
                        absl::StrCat("unknown IdentityKind value ", static_cast<int>(kind)));
  }
  const std::string value_field = FieldPath(field_path, "value");
  const std::string namespace_field = FieldPath(field_path, "namespace");

  Identity out;
  out.set_kind(kind);
  switch (kind) {
    case cxp::type::v1::IDENTITY_KIND_PHONE:
    case cxp::type::v1::IDENTITY_KIND_EMAIL: {
      if (!identity.namespace_().empty()) {
        return InvalidField(namespace_field, absl::StrCat("must be empty for ",
                                                          IdentityKind_Name(kind), " identities"));
      }
      const absl::string_view trimmed = absl::StripAsciiWhitespace(identity.value());
      RETURN_IF_ERROR(ValidateText(trimmed, value_field, 1, kMaxValueChars));
      if (kind == cxp::type::v1::IDENTITY_KIND_PHONE) {
        ASSIGN_OR_RETURN(std::string e164, NormalizePhone(identity, trimmed, field_path));
        out.set_value(std::move(e164));
      } else {
        std::string email = absl::AsciiStrToLower(trimmed);
        if (std::string problem = EmailProblem(email); !problem.empty()) {
          return InvalidField(value_field, problem);
        }
        out.set_value(std::move(email));
      }
      break;
    }
    default: {
      const std::string& ns = identity.namespace_();
      if (ns.empty()) {
        return InvalidField(namespace_field, absl::StrCat("must be set for ",
                                                          IdentityKind_Name(kind), " identities"));
      }
      if (ns.size() > kMaxNamespaceChars || !IsLowerAlnumOr(ns, "_.-")) {
        return InvalidField(namespace_field, absl::StrCat("must be 1 to ", kMaxNamespaceChars,
                                                          " lower-case characters of [a-z0-9_.-]"));
      }
      RETURN_IF_ERROR(ValidateText(identity.value(), value_field, 1, kMaxValueChars));
      out.set_namespace_(ns);
      out.set_value(identity.value());
      break;
    }
  }
  return out;
}

std::string IdentityKey(const Identity& normalized) {
  return absl::StrCat(static_cast<int>(normalized.kind()), "\x1f", normalized.namespace_(), "\x1f",
                      normalized.value());
}

}  // namespace cxp::context::validation
