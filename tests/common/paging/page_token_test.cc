#include "common/paging/page_token.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/time/time.h"
#include "common/paging/request_fingerprint.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cxp::paging {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string kKey(32, 'k');
const absl::Time kIssued = absl::FromUnixMicros(1714521600123456);

PageCursor Cursor() {
  PageCursor cursor;
  cursor.request_fingerprint = RequestFingerprint({"ListTasks", "tenants/t1", "state = QUEUED"});
  cursor.resume_key = std::string("t\x00\x01tasks\xff\xfe/42", 13);
  cursor.create_time = kIssued;
  return cursor;
}

void ExpectInvalidToken(const absl::StatusOr<PageCursor>& result) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(result.status().message()), StartsWith("page_token: is not valid"));
}

TEST(PageTokenTest, ResumeKeyAndNextPageTokenForListRpcs) {
  const PageTokenCodec codec(kKey);
  const std::string fingerprint = RequestFingerprint({"ListTemplates", "acme", ""});
  // No token: the first page.
  absl::StatusOr<std::string> first = codec.ResumeKey("", fingerprint, kIssued);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, "");
  const std::string token = codec.NextPageToken(fingerprint, "templates/b", kIssued);
  absl::StatusOr<std::string> next =
      codec.ResumeKey(token, fingerprint, kIssued + absl::Minutes(1));
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(*next, "templates/b");
  EXPECT_EQ(codec.ResumeKey(token, RequestFingerprint({"ListTemplates", "acme", "x"}), kIssued)
                .status()
                .message(),
            "page_token: was issued for a different request (parent/filter must not change "
            "between pages)");
  EXPECT_EQ(codec.ResumeKey(token, fingerprint, kIssued + absl::Hours(2)).status().code(),
            absl::StatusCode::kInvalidArgument);
  // A configured key decodes across codecs; an empty one is random.
  EXPECT_TRUE(PageTokenCodec::WithKeyOrRandom(kKey).ResumeKey(token, fingerprint, kIssued).ok());
  EXPECT_FALSE(PageTokenCodec::WithKeyOrRandom("").ResumeKey(token, fingerprint, kIssued).ok());
}

TEST(PageTokenTest, RoundTrip) {
  PageTokenCodec codec(kKey);
  const PageCursor cursor = Cursor();
  const std::string token = codec.Encode(cursor);
  // URL-safe, unpadded.
  EXPECT_EQ(
      token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
      std::string::npos)
      << token;
  absl::StatusOr<PageCursor> decoded =
      codec.Decode(token, cursor.request_fingerprint, kIssued + absl::Minutes(5));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->request_fingerprint, cursor.request_fingerprint);
  EXPECT_EQ(decoded->resume_key, cursor.resume_key);
  EXPECT_EQ(decoded->create_time, kIssued);
  // Deterministic for a fixed key and cursor.
  EXPECT_EQ(codec.Encode(cursor), token);
}

TEST(PageTokenTest, RoundTripEmptyAndLargeFields) {
  PageTokenCodec codec(kKey);
  PageCursor cursor;
  cursor.create_time = kIssued;
  absl::StatusOr<PageCursor> decoded = codec.Decode(codec.Encode(cursor), "", kIssued);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->resume_key, "");
  cursor.request_fingerprint = "fp";
  cursor.resume_key = std::string(300, 'x');  // multi-byte varint length
  decoded = codec.Decode(codec.Encode(cursor), "fp", kIssued);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->resume_key, cursor.resume_key);
}

TEST(PageTokenTest, DefaultCodecUsesRandomKey) {
  PageTokenCodec a;
  PageTokenCodec b;
  EXPECT_EQ(a.max_age(), absl::Hours(1));
  const std::string token = a.Encode(Cursor());
  EXPECT_TRUE(a.Decode(token, Cursor().request_fingerprint, kIssued).ok());
  ExpectInvalidToken(b.Decode(token, Cursor().request_fingerprint, kIssued));
  EXPECT_NE(PageTokenCodec::RandomKey(), PageTokenCodec::RandomKey());
  EXPECT_EQ(PageTokenCodec::RandomKey().size(), PageTokenCodec::kKeySize);
}

TEST(PageTokenTest, OtherKeyIsRejected) {
  const std::string token = PageTokenCodec(kKey).Encode(Cursor());
  ExpectInvalidToken(
      PageTokenCodec(std::string(32, 'j')).Decode(token, Cursor().request_fingerprint, kIssued));
}

TEST(PageTokenTest, EveryTamperedByteIsRejected) {
  PageTokenCodec codec(kKey);
  std::string raw;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(codec.Encode(Cursor()), &raw));
  for (size_t i = 0; i < raw.size(); ++i) {
    std::string tampered = raw;
    tampered[i] = static_cast<char>(tampered[i] ^ 0x01);
    ExpectInvalidToken(
        codec.Decode(absl::WebSafeBase64Escape(tampered), Cursor().request_fingerprint, kIssued));
  }
  // Truncated or extended.
  ExpectInvalidToken(codec.Decode(absl::WebSafeBase64Escape(raw.substr(0, raw.size() - 1)),
                                  Cursor().request_fingerprint, kIssued));
  ExpectInvalidToken(
      codec.Decode(absl::WebSafeBase64Escape(raw + "x"), Cursor().request_fingerprint, kIssued));
}

TEST(PageTokenTest, GarbageIsRejected) {
  PageTokenCodec codec(kKey);
  for (absl::string_view token : {"", "!!!!", "abc", "AAAA", "a b c", "%2F%2F"}) {
    ExpectInvalidToken(codec.Decode(token, "fp", kIssued));
  }
  ExpectInvalidToken(codec.Decode(std::string(10000, 'A'), "fp", kIssued));
}

// A token with a valid HMAC but an unknown version or a malformed body (only
// possible with the key, i.e. a future or buggy server) is still rejected.
TEST(PageTokenTest, UnknownVersionAndMalformedBodyAreRejected) {
  auto sign = [](std::string body) {
    unsigned char mac[32];
    unsigned int length = 0;
    HMAC(EVP_sha256(), kKey.data(), static_cast<int>(kKey.size()),
         reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &length);
    body.append(reinterpret_cast<const char*>(mac), length);
    return absl::WebSafeBase64Escape(body);
  };
  PageTokenCodec codec(kKey);
  std::string raw;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(codec.Encode(Cursor()), &raw));
  std::string body = raw.substr(0, raw.size() - 32);
  // Re-signing the same body gives the same token.
  EXPECT_EQ(sign(body), codec.Encode(Cursor()));
  std::string v2 = body;
  v2[0] = 2;
  ExpectInvalidToken(codec.Decode(sign(v2), Cursor().request_fingerprint, kIssued));
  ExpectInvalidToken(
      codec.Decode(sign(body.substr(0, body.size() - 1)), Cursor().request_fingerprint, kIssued));
  ExpectInvalidToken(codec.Decode(sign(std::string("\x01\xff", 2)), "", kIssued));
  ExpectInvalidToken(codec.Decode(sign(std::string("\x01", 1)), "", kIssued));
}

TEST(PageTokenTest, FingerprintMismatch) {
  PageTokenCodec codec(kKey);
  const std::string token = codec.Encode(Cursor());
  const std::string other = RequestFingerprint({"ListTasks", "tenants/t1", "state = ASSIGNED"});
  EXPECT_EQ(codec.Decode(token, other, kIssued).status(),
            absl::InvalidArgumentError("page_token: was issued for a different request "
                                       "(parent/filter must not change between pages)"));
}

TEST(PageTokenTest, Expiry) {
  PageTokenCodec codec(kKey);
  const std::string token = codec.Encode(Cursor());
  const std::string fp = Cursor().request_fingerprint;
  EXPECT_TRUE(codec.Decode(token, fp, kIssued).ok());
  EXPECT_TRUE(codec.Decode(token, fp, kIssued + absl::Hours(1)).ok());
  absl::StatusOr<PageCursor> expired =
      codec.Decode(token, fp, kIssued + absl::Hours(1) + absl::Microseconds(1));
  EXPECT_EQ(expired.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(expired.status().message()), StartsWith("page_token: expired"));
  // Issued implausibly far in the future (clock trouble or a forged time).
  EXPECT_THAT(std::string(codec.Decode(token, fp, kIssued - absl::Hours(2)).status().message()),
              StartsWith("page_token: expired"));
  // Small clock skew between replicas is fine.
  EXPECT_TRUE(codec.Decode(token, fp, kIssued - absl::Seconds(30)).ok());
}

TEST(PageTokenTest, CustomMaxAge) {
  PageTokenCodec codec(kKey, absl::Minutes(5));
  const std::string token = codec.Encode(Cursor());
  const std::string fp = Cursor().request_fingerprint;
  EXPECT_TRUE(codec.Decode(token, fp, kIssued + absl::Minutes(5)).ok());
  EXPECT_THAT(std::string(codec.Decode(token, fp, kIssued + absl::Minutes(6)).status().message()),
              HasSubstr("expired"));
}

TEST(PageTokenTest, DefaultCreateTimeIsAlreadyExpired) {
  PageTokenCodec codec(kKey);
  PageCursor cursor = Cursor();
  cursor.create_time = PageCursor().create_time;
  EXPECT_THAT(
      std::string(
          codec.Decode(codec.Encode(cursor), cursor.request_fingerprint).status().message()),
      StartsWith("page_token: expired"));
}

TEST(PageTokenDeathTest, ShortKeyAborts) {
  EXPECT_DEATH(PageTokenCodec(std::string(31, 'k')), "at least 32 bytes");
}

}  // namespace
}  // namespace cxp::paging
