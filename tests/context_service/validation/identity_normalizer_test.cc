#include "context_service/validation/identity_normalizer.h"

#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/context_service/validation/status_matchers.h"

namespace cxp::context::validation {
namespace {

using cxp::type::v1::Identity;
using cxp::type::v1::IdentityKind;
using testing_util::IsInvalid;

constexpr absl::string_view kPath = "customer.identities[2]";

Identity Make(IdentityKind kind, absl::string_view value, absl::string_view ns = "",
              absl::string_view region = "") {
  Identity identity;
  identity.set_kind(kind);
  identity.set_value(std::string(value));
  identity.set_namespace_(std::string(ns));
  identity.set_region_code(std::string(region));
  return identity;
}

Identity Phone(absl::string_view value, absl::string_view region = "") {
  return Make(cxp::type::v1::IDENTITY_KIND_PHONE, value, "", region);
}

Identity Email(absl::string_view value) { return Make(cxp::type::v1::IDENTITY_KIND_EMAIL, value); }

std::string Repeat(absl::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out.append(s.data(), s.size());
  return out;
}

class IdentityNormalizerTest : public ::testing::Test {
 protected:
  IdentityNormalizer normalizer_ = *IdentityNormalizer::Create("KR");

  std::string NormalizedValue(const Identity& identity) {
    absl::StatusOr<Identity> out = normalizer_.Normalize(identity, kPath);
    EXPECT_TRUE(out.ok()) << out.status();
    return out.ok() ? out->value() : "<error>";
  }
};

TEST(IdentityNormalizerCreateTest, AcceptsKnownRegionsCaseInsensitively) {
  absl::StatusOr<IdentityNormalizer> kr = IdentityNormalizer::Create("KR");
  ASSERT_TRUE(kr.ok()) << kr.status();
  EXPECT_EQ(kr->default_region(), "KR");
  absl::StatusOr<IdentityNormalizer> us = IdentityNormalizer::Create("us");
  ASSERT_TRUE(us.ok()) << us.status();
  EXPECT_EQ(us->default_region(), "US");
}

TEST(IdentityNormalizerCreateTest, RejectsUnknownRegions) {
  EXPECT_TRUE(IsInvalid(IdentityNormalizer::Create("XX"),
                        "default_region: unknown region \"XX\"; use an ISO 3166-1 alpha-2 code "
                        "such as \"KR\" or \"US\""));
  EXPECT_FALSE(IdentityNormalizer::Create("").ok());
  EXPECT_FALSE(IdentityNormalizer::Create("KOR").ok());
  EXPECT_FALSE(IdentityNormalizer::Create("001").ok());
  EXPECT_FALSE(IdentityNormalizer::Create("ZZ").ok());
}

TEST_F(IdentityNormalizerTest, KoreanMobileNationalFormat) {
  EXPECT_EQ(NormalizedValue(Phone("010-1234-5678")), "+821012345678");
  EXPECT_EQ(NormalizedValue(Phone("01012345678")), "+821012345678");
  EXPECT_EQ(NormalizedValue(Phone("  010 1234 5678\t")), "+821012345678");
}

TEST_F(IdentityNormalizerTest, KoreanSeoulLandline) {
  EXPECT_EQ(NormalizedValue(Phone("02-123-4567")), "+8221234567");
  EXPECT_EQ(NormalizedValue(Phone("02-1234-5678")), "+82212345678");
}

TEST_F(IdentityNormalizerTest, KoreanInternationalFormat) {
  EXPECT_EQ(NormalizedValue(Phone("+82 10 1234 5678")), "+821012345678");
  EXPECT_EQ(NormalizedValue(Phone("+82-10-1234-5678")), "+821012345678");
  EXPECT_EQ(NormalizedValue(Phone("+821012345678")), "+821012345678");
}

TEST_F(IdentityNormalizerTest, UsNumberWithRegionCode) {
  EXPECT_EQ(NormalizedValue(Phone("(650) 253-0000", "US")), "+16502530000");
  EXPECT_EQ(NormalizedValue(Phone("650-253-0000", "us")), "+16502530000");
  // International values ignore the default region.
  EXPECT_EQ(NormalizedValue(Phone("+1 650-253-0000")), "+16502530000");
}

TEST_F(IdentityNormalizerTest, RegionCodeIsIgnoredForInternationalValues) {
  EXPECT_EQ(NormalizedValue(Phone("+82 10 1234 5678", "XX")), "+821012345678");
  EXPECT_EQ(NormalizedValue(Phone("+82 10 1234 5678", "US")), "+821012345678");
}

TEST_F(IdentityNormalizerTest, NationalNumberIsReadWithRegionCodeNotDefault) {
  // A valid US number is not a valid Korean one.
  EXPECT_TRUE(IsInvalid(normalizer_.Normalize(Phone("650-253-0000"), kPath),
                        "customer.identities[2].value: not a valid phone number for region KR"));
  EXPECT_TRUE(IsInvalid(normalizer_.Normalize(Phone("010-1234-5678", "US"), kPath),
                        "customer.identities[2].value: not a valid phone number for region US"));
}

TEST_F(IdentityNormalizerTest, RejectsInvalidPhoneNumbers) {
  const std::string kr = "customer.identities[2].value: not a valid phone number for region KR";
  EXPECT_TRUE(IsInvalid(normalizer_.Normalize(Phone("010-1234"), kPath), kr));
  EXPECT_TRUE(IsInvalid(normalizer_.Normalize(Phone("12"), kPath), kr));
  EXPECT_TRUE(IsInvalid(normalizer_.Normalize(Phone("hello"), kPath), kr));
  EXPECT_TRUE(IsInvalid(normalizer_.Normalize(Phone("+82 99"), kPath),
                        "customer.identities[2].value: not a valid phone number"));
  EXPECT_TRUE(IsInvalid(normalizer_.Normalize(Phone("+999 1234 5678"), kPath),
                        "customer.identities[2].value: not a valid phone number"));
}

TEST_F(IdentityNormalizerTest, RejectsPhoneExtensions) {
  EXPECT_TRUE(IsInvalid(normalizer_.Normalize(Phone("+1 650-253-0000 ext. 123"), kPath),
                        "customer.identities[2].value: phone number extensions are not supported"));
}

TEST_F(IdentityNormalizerTest, RejectsUnknownRegionCode) {
  EXPECT_TRUE(IsInvalid(normalizer_.Normalize(Phone("010-1234-5678", "XX"), kPath),
                        "customer.identities[2].region_code: unknown region \"XX\"; use an ISO "
                        "3166-1 alpha-2 code such as \"KR\" or \"US\""));
  EXPECT_FALSE(normalizer_.Normalize(Phone("010-1234-5678", "KOR"), kPath).ok());
}

TEST_F(IdentityNormalizerTest, PhoneValueLengthAndNamespace) {
  EXPECT_TRUE(IsInvalid(normalizer_.Normalize(Phone(""), kPath),
                        "customer.identities[2].value: must not be empty"));
  EXPECT_TRUE(IsInvalid(normalizer_.Normalize(Phone("   "), kPath),
                        "customer.identities[2].value: must not be empty"));
  EXPECT_TRUE(IsInvalid(normalizer_.Normalize(Phone(Repeat("1", 513)), kPath),
                        "customer.identities[2].value: must be at most 512 characters (got 513)"));
  Identity with_ns = Phone("010-1234-5678");
  with_ns.set_namespace_("kakaotalk");
  EXPECT_TRUE(IsInvalid(normalizer_.Normalize(with_ns, kPath),
                        "customer.identities[2].namespace: must be empty for "
                        "IDENTITY_KIND_PHONE identities"));
}

TEST_F(IdentityNormalizerTest, PhoneOutputClearsRegionCode) {
  absl::StatusOr<Identity> out = normalizer_.Normalize(Phone("(650) 253-0000", "US"), kPath);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->kind(), cxp::type::v1::IDENTITY_KIND_PHONE);
  EXPECT_EQ(out->value(), "+16502530000");
  EXPECT_EQ(out->region_code(), "");
  EXPECT_EQ(out->namespace_(), "");
}

TEST_F(IdentityNormalizerTest, EmailIsTrimmedAndLowerCased) {
  EXPECT_EQ(NormalizedValue(Email("  Alice.Kim@Example.COM \n")), "alice.kim@example.com");
  EXPECT_EQ(NormalizedValue(Email("BOB+tag@mail.example.co.kr")), "bob+tag@mail.example.co.kr");
  EXPECT_EQ(NormalizedValue(Email("o'neil_x-1@xn--3e0b707e.kr")), "o'neil_x-1@xn--3e0b707e.kr");
}

TEST_F(IdentityNormalizerTest, EmailAcceptsUtf8LocalPart) {
  EXPECT_EQ(NormalizedValue(Email("김민준@Example.kr")), "김민준@example.kr");
}

TEST_F(IdentityNormalizerTest, EmailRegionCodeIsClearedAndNamespaceRejected) {
  Identity email = Email("a@example.com");
  email.set_region_code("KR");
  absl::StatusOr<Identity> out = normalizer_.Normalize(email, kPath);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->region_code(), "");
  email.set_namespace_("gmail");
  EXPECT_TRUE(IsInvalid(normalizer_.Normalize(email, kPath),
                        "customer.identities[2].namespace: must be empty for "
                        "IDENTITY_KIND_EMAIL identities"));
}

TEST_F(IdentityNormalizerTest, RejectsMalformedEmails) {
  const std::string p = "customer.identities[2].value: not a valid email address: ";
  const std::string labels =
      p + "domain labels must be 1 to 63 characters of [a-z0-9-], not starting or ending with '-'";
  EXPECT_TRUE(
      IsInvalid(normalizer_.Normalize(Email("alice"), kPath), p + "must contain exactly one '@'"));
  EXPECT_TRUE(IsInvalid(normalizer_.Normalize(Email("a@b@example.com"), kPath),
                        p + "must contain exactly one '@'"));
  EXPECT_TRUE(
      IsInvalid(normalizer_.Normalize(Email("@example.com"), kPath), p + "empty local part"));
  EXPECT_TRUE(IsInvalid(normalizer_.Normalize(Email("alice@"), kPath), p + "empty domain"));
  EXPECT_TRUE(IsInvalid(normalizer_.Normalize(Email("alice@localhost"), kPath),
                        p + "domain must contain a '.'"));
  EXPECT_TRUE(IsInvalid(normalizer_.Normalize(Email("alice@-example.com"), kPath), labels));
  EXPECT_TRUE(IsInvalid(normalizer_.Normalize(Email("alice@example-.com"), kPath), labels));
  EXPECT_TRUE(IsInvalid(normalizer_.Normalize(Email("alice@exa_mple.com"), kPath), labels));
  EXPECT_TRUE(IsInvalid(normalizer_.Normalize(Email("alice@example..com"), kPath), labels));
  EXPECT_TRUE(IsInvalid(normalizer_.Normalize(Email("alice@example.com."), kPath), labels));
  EXPECT_TRUE(
      IsInvalid(normalizer_.Normalize(Email("alice@" + Repeat("a", 64) + ".com"), kPath), labels));
  EXPECT_TRUE(IsInvalid(normalizer_.Normalize(Email("al ice@example.com"), kPath),
                        p + "local part contains a character that is not allowed"));
  EXPECT_TRUE(IsInvalid(normalizer_.Normalize(Email("\"al\"@example.com"), kPath),
                        p + "local part contains a character that is not allowed"));
  EXPECT_TRUE(IsInvalid(normalizer_.Normalize(Email(Repeat("a", 65) + "@example.com"), kPath),
                        p + "local part longer than 64 bytes"));
  EXPECT_TRUE(
      IsInvalid(normalizer_.Normalize(Email("alice@" + Repeat("abcdefghi.", 26) + "com"), kPath),
                p + "domain longer than 253 bytes"));
  EXPECT_TRUE(IsInvalid(normalizer_.Normalize(Email("al\x01ice@example.com"), kPath),
                        "customer.identities[2].value: must not contain control characters"));
  EXPECT_TRUE(IsInvalid(normalizer_.Normalize(Email("al\xC0\xAF@example.com"), kPath),
                        "customer.identities[2].value: must be valid UTF-8"));
  EXPECT_TRUE(IsInvalid(normalizer_.Normalize(Email("  "), kPath),
                        "customer.identities[2].value: must not be empty"));
}

TEST_F(IdentityNormalizerTest, EmailLocalPartOf64BytesIsAccepted) {
  const std::string email = Repeat("a", 64) + "@example.com";
  EXPECT_EQ(NormalizedValue(Email(email)), email);
}

TEST_F(IdentityNormalizerTest, NamespacedKindsKeepValueByteForByte) {
  for (IdentityKind kind :
       {cxp::type::v1::IDENTITY_KIND_CHAT_HANDLE, cxp::type::v1::IDENTITY_KIND_SOCIAL,
        cxp::type::v1::IDENTITY_KIND_EXTERNAL_ID, cxp::type::v1::IDENTITY_KIND_DEVICE_ID}) {
    Identity in = Make(kind, " User_42 ", "kakao.talk_v2-x", "KR");
    absl::StatusOr<Identity> out = normalizer_.Normalize(in, kPath);
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(out->kind(), kind);
    EXPECT_EQ(out->value(), " User_42 ");
    EXPECT_EQ(out->namespace_(), "kakao.talk_v2-x");
    EXPECT_EQ(out->region_code(), "");
  }
}

TEST_F(IdentityNormalizerTest, NamespacedValueLimitsInCodePoints) {
  const IdentityKind kind = cxp::type::v1::IDENTITY_KIND_EXTERNAL_ID;
  EXPECT_EQ(NormalizedValue(Make(kind, Repeat("가", 512), "salesforce")), Repeat("가", 512));
  EXPECT_TRUE(IsInvalid(normalizer_.Normalize(Make(kind, Repeat("가", 513), "salesforce"), kPath),
                        "customer.identities[2].value: must be at most 512 characters (got 513)"));
  EXPECT_TRUE(IsInvalid(normalizer_.Normalize(Make(kind, "", "salesforce"), kPath),
                        "customer.identities[2].value: must not be empty"));
  EXPECT_TRUE(IsInvalid(normalizer_.Normalize(Make(kind, "a\nb", "salesforce"), kPath),
                        "customer.identities[2].value: must not contain control characters"));
  EXPECT_TRUE(IsInvalid(normalizer_.Normalize(Make(kind, "a\xFF", "salesforce"), kPath),
                        "customer.identities[2].value: must be valid UTF-8"));
}

TEST_F(IdentityNormalizerTest, NamespaceRules) {
  const IdentityKind kind = cxp::type::v1::IDENTITY_KIND_CHAT_HANDLE;
  const std::string charset =
      "customer.identities[2].namespace: must be 1 to 64 lower-case characters of [a-z0-9_.-]";
  EXPECT_TRUE(IsInvalid(normalizer_.Normalize(Make(kind, "u1", ""), kPath),
                        "customer.identities[2].namespace: must be set for "
                        "IDENTITY_KIND_CHAT_HANDLE identities"));
  EXPECT_TRUE(IsInvalid(normalizer_.Normalize(Make(kind, "u1", "KakaoTalk"), kPath), charset));
  EXPECT_TRUE(IsInvalid(normalizer_.Normalize(Make(kind, "u1", "kakao talk"), kPath), charset));
  EXPECT_TRUE(IsInvalid(normalizer_.Normalize(Make(kind, "u1", Repeat("a", 65)), kPath), charset));
  EXPECT_EQ(NormalizedValue(Make(kind, "u1", Repeat("a", 64))), "u1");
}

TEST_F(IdentityNormalizerTest, KindMustBeSetAndKnown) {
  EXPECT_TRUE(
      IsInvalid(normalizer_.Normalize(Make(cxp::type::v1::IDENTITY_KIND_UNSPECIFIED, "x"), kPath),
                "customer.identities[2].kind: must be set"));
  EXPECT_TRUE(IsInvalid(normalizer_.Normalize(Make(static_cast<IdentityKind>(99), "x"), kPath),
                        "customer.identities[2].kind: unknown IdentityKind value 99"));
}

TEST_F(IdentityNormalizerTest, EmptyFieldPathGivesBareNames) {
  EXPECT_TRUE(IsInvalid(normalizer_.Normalize(Phone("010-1234"), ""),
                        "value: not a valid phone number for region KR"));
}

TEST(IdentityKeyTest, FormatIsKindNamespaceValue) {
  EXPECT_EQ(IdentityKey(Phone("+821012345678")), std::string("1\x1f\x1f+821012345678"));
  EXPECT_EQ(IdentityKey(Make(cxp::type::v1::IDENTITY_KIND_CHAT_HANDLE, "user_42", "kakaotalk")),
            std::string("3\x1f"
                        "kakaotalk\x1fuser_42"));
}

TEST_F(IdentityNormalizerTest, EquivalentInputsShareAKey) {
  absl::StatusOr<Identity> a = normalizer_.Normalize(Phone("010-1234-5678"), kPath);
  absl::StatusOr<Identity> b = normalizer_.Normalize(Phone("+82 10 1234 5678", "US"), kPath);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(IdentityKey(*a), IdentityKey(*b));
  const IdentityKind chat = cxp::type::v1::IDENTITY_KIND_CHAT_HANDLE;
  EXPECT_NE(IdentityKey(Make(chat, "u1", "line")), IdentityKey(Make(chat, "u1", "kakaotalk")));
  EXPECT_NE(IdentityKey(Make(chat, "u1", "line")),
            IdentityKey(Make(cxp::type::v1::IDENTITY_KIND_SOCIAL, "u1", "line")));
}

TEST_F(IdentityNormalizerTest, ConcurrentNormalizeIsSafe) {
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([this, t, &failures] {
      for (int i = 0; i < 500; ++i) {
        absl::StatusOr<Identity> kr = normalizer_.Normalize(Phone("010-1234-5678"), kPath);
        absl::StatusOr<Identity> us = normalizer_.Normalize(Phone("650 253 0000", "US"), kPath);
        absl::StatusOr<Identity> bad = normalizer_.Normalize(Phone("010-12"), kPath);
        if (!kr.ok() || kr->value() != "+821012345678" || !us.ok() ||
            us->value() != "+16502530000" || bad.ok()) {
          ++failures[t];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int f : failures) EXPECT_EQ(f, 0);
}

}  // namespace
}  // namespace cxp::context::validation
