#include "notify_service/delivery/mime_message.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cxp::notify::delivery {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// Decodes a header value made of RFC 2047 B encoded-words (as EncodeHeaderText
// writes them) back to UTF-8: the round trip the tests check.
std::string DecodeEncodedWords(absl::string_view value) {
  std::string decoded;
  for (absl::string_view word : absl::StrSplit(value, "\r\n ")) {
    EXPECT_TRUE(absl::ConsumePrefix(&word, "=?UTF-8?B?")) << word;
    EXPECT_TRUE(absl::ConsumeSuffix(&word, "?=")) << word;
    std::string bytes;
    EXPECT_TRUE(absl::Base64Unescape(word, &bytes));
    decoded += bytes;
  }
  return decoded;
}

// True when `bytes` starts on a character and ends after a complete one.
bool IsWholeUtf8(absl::string_view bytes) {
  size_t i = 0;
  while (i < bytes.size()) {
    const unsigned char lead = static_cast<unsigned char>(bytes[i]);
    const size_t length = lead < 0x80    ? 1
                          : lead >= 0xF0 ? 4
                          : lead >= 0xE0 ? 3
                          : lead >= 0xC0 ? 2
                                         : 0;
    if (length == 0 || i + length > bytes.size()) return false;
    i += length;
  }
  return true;
}

TEST(EncodeHeaderTextTest, ShortAsciiStaysAsIs) {
  EXPECT_EQ(EncodeHeaderText("Your delivery is on its way", 7), "Your delivery is on its way");
}

TEST(EncodeHeaderTextTest, Utf8BecomesEncodedWordsThatRoundTrip) {
  const std::string subject = "배송이 출발했습니다 — Ihre Lieferung ist unterwegs ✓";
  const std::string encoded = EncodeHeaderText(subject, 7);
  EXPECT_THAT(encoded, StartsWith("=?UTF-8?B?"));
  EXPECT_EQ(DecodeEncodedWords(encoded), subject);
}

TEST(EncodeHeaderTextTest, LongTextFoldsIntoWordsWithinTheLimitsOnCharacterBoundaries) {
  std::string subject;
  for (int i = 0; i < 40; ++i) subject += "알림 ";  // 3-byte characters
  const std::string encoded = EncodeHeaderText(subject, 7);
  const std::vector<std::string> lines = absl::StrSplit(encoded, "\r\n");
  ASSERT_GT(lines.size(), 2u);
  EXPECT_LE(lines[0].size() + 9, 78u);  // "Subject: " + first word
  for (const std::string& line : lines) {
    EXPECT_LE(line.size(), 76u);
    std::string word(absl::StripLeadingAsciiWhitespace(line));
    EXPECT_LE(word.size(), 75u);
    // Every word decodes to whole UTF-8 characters on its own.
    std::string bytes;
    ASSERT_TRUE(absl::Base64Unescape(word.substr(10, word.size() - 12), &bytes));
    EXPECT_TRUE(IsWholeUtf8(bytes)) << "a word split a character: " << word;
  }
  EXPECT_EQ(DecodeEncodedWords(encoded), subject);
}

TEST(EncodeHeaderTextTest, AsciiThatLooksLikeAnEncodedWordIsEncoded) {
  const std::string encoded = EncodeHeaderText("=?UTF-8?B?x?=", 7);
  EXPECT_EQ(DecodeEncodedWords(encoded), "=?UTF-8?B?x?=");
}

TEST(QuotedPrintableTest, EncodesEqualsNonAsciiAndTrailingSpaceAndNormalizesLineEnds) {
  EXPECT_EQ(QuotedPrintableEncode("a=b"), "a=3Db");
  EXPECT_EQ(QuotedPrintableEncode("Grüße"), "Gr=C3=BC=C3=9Fe");
  EXPECT_EQ(QuotedPrintableEncode("end \nnext\r\nlast\t"), "end=20\r\nnext\r\nlast=09");
  EXPECT_EQ(QuotedPrintableEncode("tab\tinside"), "tab\tinside");
}

TEST(QuotedPrintableTest, SoftBreaksKeepLinesWithin76AndNeverSplitAnEscape) {
  const std::string text = std::string(100, 'x') + std::string(30, '=');
  const std::string encoded = QuotedPrintableEncode(text);
  std::string decoded;
  for (absl::string_view line : absl::StrSplit(encoded, "\r\n")) {
    EXPECT_LE(line.size(), 76u) << line;
    if (absl::ConsumeSuffix(&line, "=")) {
      EXPECT_FALSE(absl::EndsWith(line, "=")) << "split escape";
    }
    absl::StrAppend(&decoded, line);
  }
  // Undo the =3D escapes: the text comes back.
  EXPECT_EQ(absl::StrReplaceAll(decoded, {{"=3D", "="}}), text);
}

EmailMessage Message() {
  EmailMessage message;
  message.to = {"ana@example.com", "Ana Müller"};
  message.subject = "Ihre Lieferung kommt heute";
  message.text_body = "Hallo Ana,\nIhr Paket kommt heute.\n";
  message.html_body = "<p>Hallo Ana,</p><p>Ihr Paket kommt <b>heute</b>.</p>";
  message.list_unsubscribe_url = "https://notify.example.com/u/abc?sig=1";
  return message;
}

MimeEnvelope Envelope() {
  MimeEnvelope envelope;
  envelope.from = {"alerts@shop.example", "Shop \"Alerts\""};
  envelope.message_id = "n-123@shop.example";
  envelope.date = absl::FromUnixSeconds(1751364000);  // Tue, 01 Jul 2025 10:00:00 UTC
  envelope.boundary = "=_cxp_test";
  return envelope;
}

TEST(BuildMimeMessageTest, HeadersAndMultipartAlternativeLayout) {
  absl::StatusOr<std::string> mime = BuildMimeMessage(Message(), Envelope());
  ASSERT_TRUE(mime.ok()) << mime.status();
  const std::string& text = *mime;
  EXPECT_THAT(text, StartsWith("Date: Tue, 01 Jul 2025 10:00:00 +0000\r\n"));
  EXPECT_THAT(text, HasSubstr("\r\nFrom: \"Shop \\\"Alerts\\\"\" <alerts@shop.example>\r\n"));
  EXPECT_THAT(text, HasSubstr("\r\nTo: =?UTF-8?B?"));
  EXPECT_THAT(text, HasSubstr("\r\n <ana@example.com>\r\n"));
  EXPECT_THAT(text, HasSubstr("\r\nSubject: Ihre Lieferung kommt heute\r\n"));
  EXPECT_THAT(text, HasSubstr("\r\nMessage-ID: <n-123@shop.example>\r\n"));
  EXPECT_THAT(text, HasSubstr("\r\nMIME-Version: 1.0\r\n"));
  EXPECT_THAT(text, HasSubstr("\r\nList-Unsubscribe: <https://notify.example.com/u/abc?sig=1>\r\n"
                              "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"));
  EXPECT_THAT(text, HasSubstr("Content-Type: multipart/alternative; boundary=\"=_cxp_test\""));
  const size_t plain = text.find("--=_cxp_test\r\nContent-Type: text/plain; charset=UTF-8");
  const size_t html = text.find("--=_cxp_test\r\nContent-Type: text/html; charset=UTF-8");
  const size_t end = text.find("--=_cxp_test--\r\n");
  ASSERT_NE(plain, std::string::npos);
  ASSERT_NE(html, std::string::npos);
  ASSERT_NE(end, std::string::npos);
  EXPECT_LT(plain, html);
  EXPECT_LT(html, end);
  EXPECT_EQ(end + std::string("--=_cxp_test--\r\n").size(), text.size());
  // Only CRLF line ends.
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') {
      ASSERT_TRUE(i > 0 && text[i - 1] == '\r') << "bare LF at " << i;
    }
  }
}

TEST(BuildMimeMessageTest, SinglePartWithoutUnsubscribeHeaders) {
  EmailMessage message = Message();
  message.html_body.clear();
  message.list_unsubscribe_url.clear();
  absl::StatusOr<std::string> mime = BuildMimeMessage(message, Envelope());
  ASSERT_TRUE(mime.ok()) << mime.status();
  EXPECT_THAT(*mime, HasSubstr("\r\nContent-Type: text/plain; charset=UTF-8\r\n"
                               "Content-Transfer-Encoding: quoted-printable\r\n\r\nHallo Ana,"));
  EXPECT_THAT(*mime, Not(HasSubstr("multipart")));
  EXPECT_THAT(*mime, Not(HasSubstr("List-Unsubscribe")));
}

// A signed one-click link (notify_service/core/unsubscribe_token.h) is long
// and has no white space: it stays on one header line, unfolded, up to the
// 998-character line limit of RFC 5322.
TEST(BuildMimeMessageTest, LongUnsubscribeLinkStaysOnOneHeaderLine) {
  EmailMessage message = Message();
  const std::string prefix = "https://notify.example.com/unsubscribe?t=";
  message.list_unsubscribe_url =
      prefix + std::string(978 - prefix.size() - 44, 'A') + "." + std::string(43, 'b');
  ASSERT_EQ(message.list_unsubscribe_url.size(), 978u);
  absl::StatusOr<std::string> mime = BuildMimeMessage(message, Envelope());
  ASSERT_TRUE(mime.ok()) << mime.status();
  const std::string line = "List-Unsubscribe: <" + message.list_unsubscribe_url + ">";
  EXPECT_EQ(line.size(), 998u);
  EXPECT_THAT(*mime, HasSubstr("\r\n" + line +
                               "\r\nList-Unsubscribe-Post: "
                               "List-Unsubscribe=One-Click\r\n"));
  message.list_unsubscribe_url += "A";
  mime = BuildMimeMessage(message, Envelope());
  EXPECT_EQ(mime.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(mime.status().message(), HasSubstr("list_unsubscribe_url"));
}

TEST(BuildMimeMessageTest, RejectsHeaderInjectionAndBadFields) {
  auto code = [](const EmailMessage& message, const MimeEnvelope& envelope) {
    return BuildMimeMessage(message, envelope).status().code();
  };
  constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;
  EmailMessage message = Message();
  message.subject = "hi\r\nBcc: victim@example.com";
  EXPECT_EQ(code(message, Envelope()), kInvalid);
  message = Message();
  message.to.display_name = "Ana\nBcc: x@y.z";
  EXPECT_EQ(code(message, Envelope()), kInvalid);
  message = Message();
  message.to.address = "ana@example.com>\r\nBcc: <x@y.z";
  EXPECT_EQ(code(message, Envelope()), kInvalid);
  message = Message();
  message.to.address = "not-an-address";
  EXPECT_EQ(code(message, Envelope()), kInvalid);
  message = Message();
  message.list_unsubscribe_url = "http://insecure.example/u";
  EXPECT_EQ(code(message, Envelope()), kInvalid);
  message = Message();
  message.list_unsubscribe_url = "https://x.example/u>, <mailto:evil@example.com";
  EXPECT_EQ(code(message, Envelope()), kInvalid);
  message = Message();
  message.text_body.clear();
  message.html_body.clear();
  EXPECT_EQ(code(message, Envelope()), kInvalid);
  MimeEnvelope envelope = Envelope();
  envelope.message_id = "<id@x>";
  EXPECT_EQ(code(Message(), envelope), kInvalid);
  envelope.message_id = "no-domain";
  EXPECT_EQ(code(Message(), envelope), kInvalid);
}

TEST(GenerateMessageIdTest, UniqueAndValid) {
  const std::string first = GenerateMessageId("shop.example");
  const std::string second = GenerateMessageId("shop.example");
  EXPECT_NE(first, second);
  EXPECT_THAT(first, testing::MatchesRegex("[0-9a-f]{32}@shop\\.example"));
  EXPECT_THAT(NewMimeBoundary(), testing::MatchesRegex("=_cxp_[0-9a-f]{32}"));
}

}  // namespace
}  // namespace cxp::notify::delivery
