// Signed one-click unsubscribe links: what a token carries, and that edited,
// foreign or malformed tokens are refused.
#include "notify_service/core/unsubscribe_token.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cxp::notify {
namespace {

namespace type = ::cxp::type::v1;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string kKey(32, 'k');
const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

UnsubscribeLinks Links(const std::string& key = kKey,
                       const std::string& base = "https://notify.shop.example/unsubscribe") {
  absl::StatusOr<UnsubscribeLinks> links = UnsubscribeLinks::Create(key, base);
  EXPECT_TRUE(links.ok()) << links.status();
  return *std::move(links);
}

UnsubscribeClaim KimClaim() {
  return {.tenant = "acme",
          .customer = "customers/kim",
          .email = "",
          .channel = type::CHANNEL_EMAIL,
          .purpose = type::PURPOSE_MARKETING,
          .notification = "notifications/n1",
          .issue_time = kNow};
}

TEST(UnsubscribeLinksTest, TokenRoundTripsItsClaim) {
  const UnsubscribeLinks links = Links();
  const std::string token = links.Issue(KimClaim());
  // URL-safe as is: base64url without padding, one dot.
  for (char c : token) {
    EXPECT_TRUE(absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.') << token;
  }
  absl::StatusOr<UnsubscribeClaim> claim = links.Verify(token);
  ASSERT_TRUE(claim.ok()) << claim.status();
  EXPECT_EQ(*claim, KimClaim());

  UnsubscribeClaim by_email = KimClaim();
  by_email.customer.clear();
  by_email.email = "ana@example.com";
  claim = links.Verify(links.Issue(by_email));
  ASSERT_TRUE(claim.ok()) << claim.status();
  EXPECT_EQ(*claim, by_email);
}

TEST(UnsubscribeLinksTest, UrlAddsTheTokenAsParameterT) {
  const UnsubscribeLinks links = Links();
  const std::string url = links.UrlFor(KimClaim());
  EXPECT_THAT(url, StartsWith("https://notify.shop.example/unsubscribe?t="));
  EXPECT_TRUE(links.Verify(absl::string_view(url).substr(url.find("t=") + 2)).ok());
  const UnsubscribeLinks with_query = Links(kKey, "https://shop.example/u?lang=ko");
  EXPECT_THAT(with_query.UrlFor(KimClaim()), StartsWith("https://shop.example/u?lang=ko&t="));
}

TEST(UnsubscribeLinksTest, EditedOrForeignTokensArePermissionDenied) {
  const UnsubscribeLinks links = Links();
  const std::string token = links.Issue(KimClaim());
  const std::vector<std::string> parts = absl::StrSplit(token, '.');
  ASSERT_EQ(parts.size(), 2u);

  // Someone else's customer in the payload, the old signature.
  UnsubscribeClaim other = KimClaim();
  other.customer = "customers/lee";
  const std::vector<std::string> other_parts = absl::StrSplit(links.Issue(other), '.');
  const std::string swapped = other_parts[0] + "." + parts[1];
  absl::StatusOr<UnsubscribeClaim> claim = links.Verify(swapped);
  EXPECT_EQ(claim.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(claim.status().message(), HasSubstr("t: signature"));

  // One character of the signature changed.
  std::string signature = parts[1];
  signature[0] = signature[0] == 'A' ? 'B' : 'A';
  const std::string flipped = parts[0] + "." + signature;
  EXPECT_EQ(links.Verify(flipped).status().code(), absl::StatusCode::kPermissionDenied);

  // Signed with another key.
  const UnsubscribeLinks foreign = Links(std::string(32, 'x'));
  EXPECT_EQ(foreign.Verify(token).status().code(), absl::StatusCode::kPermissionDenied);

  // A truncated signature.
  EXPECT_EQ(links.Verify(token.substr(0, token.size() - 4)).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(UnsubscribeLinksTest, MalformedTokensAreInvalidArgument) {
  const UnsubscribeLinks links = Links();
  const std::string token = links.Issue(KimClaim());
  for (const std::string& bad :
       {std::string(), std::string("abc"), std::string("."), token + ".x", "!!." + token,
        std::string(UnsubscribeLinks::kMaxTokenLength + 1, 'a')}) {
    absl::StatusOr<UnsubscribeClaim> claim = links.Verify(bad);
    EXPECT_EQ(claim.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(claim.status().message()), StartsWith("t: ")) << bad;
  }
  // Correctly signed, but naming no one.
  UnsubscribeClaim no_subject = KimClaim();
  no_subject.customer.clear();
  EXPECT_EQ(links.Verify(links.Issue(no_subject)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(UnsubscribeLinksTest, CreateChecksKeyAndBaseUrl) {
  EXPECT_EQ(UnsubscribeLinks::Create(std::string(31, 'k'), "https://x.example/u").status().code(),
            absl::StatusCode::kInvalidArgument);
  for (const char* url : {"http://x.example/u", "https://", "https://x.example/u#f",
                          "https://x.example/a b", "x.example/u"}) {
    absl::StatusOr<UnsubscribeLinks> links = UnsubscribeLinks::Create(kKey, url);
    EXPECT_EQ(links.status().code(), absl::StatusCode::kInvalidArgument) << url;
    EXPECT_THAT(links.status().message(), HasSubstr("unsubscribe_base_url")) << url;
  }
}

TEST(UnsubscribeLinksTest, ClaimForADeliveryNamesTheCustomerElseTheAddress) {
  v1::Notification notification;
  notification.set_name("notifications/n1");
  notification.set_purpose(type::PURPOSE_MARKETING);
  notification.mutable_customer()->mutable_identity()->set_kind(type::IDENTITY_KIND_EMAIL);
  notification.mutable_customer()->mutable_identity()->set_value("ana@example.com");
  UnsubscribeClaim claim = UnsubscribeClaimFor("acme", notification, "ana@example.com", kNow);
  EXPECT_EQ(claim.customer, "");
  EXPECT_EQ(claim.email, "ana@example.com");
  EXPECT_EQ(claim.tenant, "acme");
  EXPECT_EQ(claim.channel, type::CHANNEL_EMAIL);
  EXPECT_EQ(claim.purpose, type::PURPOSE_MARKETING);
  EXPECT_EQ(claim.notification, "notifications/n1");
  EXPECT_EQ(claim.issue_time, kNow);

  notification.set_resolved_customer("customers/ana");
  claim = UnsubscribeClaimFor("acme", notification, "ana@example.com", kNow);
  EXPECT_EQ(claim.customer, "customers/ana");
  EXPECT_EQ(claim.email, "");
}

}  // namespace
}  // namespace cxp::notify
