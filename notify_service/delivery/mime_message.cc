#include "notify_service/delivery/mime_message.h"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"

namespace cxp::notify::delivery {
namespace {

constexpr absl::string_view kCrlf = "\r\n";
// Longest line RFC 5322 recommends (excluding CRLF), and RFC 2047's limit
// for one encoded-word.
constexpr size_t kMaxHeaderLine = 78;
constexpr size_t kMaxEncodedWord = 75;
constexpr size_t kMaxQuotedPrintableLine = 76;
constexpr size_t kMaxUnsubscribeUrl = 998 - sizeof("List-Unsubscribe: <>") + 1;

std::string RandomHex128() {
  static absl::Mutex mutex(absl::kConstInit);
  static absl::BitGen* generator = new absl::BitGen();
  absl::MutexLock lock(&mutex);
  return absl::StrFormat("%016x%016x", absl::Uniform<uint64_t>(*generator),
                         absl::Uniform<uint64_t>(*generator));
}

bool IsPrintableAscii(absl::string_view text) {
  for (char c : text) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

absl::Status RejectLineBreaks(absl::string_view field, absl::string_view value) {
  if (absl::StrContains(value, '\r') || absl::StrContains(value, '\n')) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": must not contain CR or LF"));
  }
  return absl::OkStatus();
}

// Length of the longest prefix of `text` of at most `max_bytes` bytes that
// does not end inside a UTF-8 multi-byte sequence (at least one character).
size_t Utf8PrefixLength(absl::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text.size();
  size_t length = max_bytes;
  while (length > 0 && (static_cast<unsigned char>(text[length]) & 0xC0) == 0x80) --length;
  if (length == 0) {  // one character longer than max_bytes (or not UTF-8)
    length = 1;
    while (length < text.size() && (static_cast<unsigned char>(text[length]) & 0xC0) == 0x80) {
      ++length;
    }
  }
  return length;
}

// "Name" <address>, =?UTF-8?B?...?= <address>, or address alone.
std::string FormatMailbox(const EmailAddress& mailbox, size_t name_length) {
  if (mailbox.display_name.empty()) return mailbox.address;
  const std::string& name = mailbox.display_name;
  if (IsPrintableAscii(name) && !absl::StrContains(name, "=?") &&
      name_length + name.size() + mailbox.address.size() + 8 <= kMaxHeaderLine) {
    std::string quoted = "\"";
    for (char c : name) {
      if (c == '"' || c == '\\') quoted += '\\';
      quoted += c;
    }
    return absl::StrCat(quoted, "\" <", mailbox.address, ">");
  }
  return absl::StrCat(EncodeHeaderText(name, name_length), kCrlf, " <", mailbox.address, ">");
}

absl::Status ValidateMessageId(absl::string_view id) {
  if (id.empty() || !IsPrintableAscii(id) || absl::StrContains(id, ' ') ||
      absl::StrContains(id, '<') || absl::StrContains(id, '>')) {
    return absl::InvalidArgumentError(
        "message_id: must be printable ASCII without spaces or angle brackets");
  }
  const std::vector<absl::string_view> parts = absl::StrSplit(id, '@');
  if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) {
    return absl::InvalidArgumentError("message_id: must look like \"id@domain\"");
  }
  return absl::OkStatus();
}

absl::Status ValidateUnsubscribeUrl(absl::string_view url) {
  if (!absl::StartsWithIgnoreCase(url, "https://") || url.size() <= 8) {
    return absl::InvalidArgumentError(
        "list_unsubscribe_url: must be an https URL (RFC 8058 one-click)");
  }
  // "List-Unsubscribe: <" url ">" must fit one line: RFC 5322 allows 998
  // characters, and a URL cannot be folded (no white space to fold at).
  if (url.size() > kMaxUnsubscribeUrl) {
    return absl::InvalidArgumentError(
        absl::StrCat("list_unsubscribe_url: must be at most ", kMaxUnsubscribeUrl, " characters"));
  }
  for (char c : url) {
    if (c <= 0x20 || c > 0x7e || c == '<' || c == '>' || c == '"') {
      return absl::InvalidArgumentError(
          "list_unsubscribe_url: must be printable ASCII without spaces, quotes or angle "
          "brackets (percent-encode them)");
    }
  }
  return absl::OkStatus();
}

void AppendHeader(std::string& out, absl::string_view name, absl::string_view value) {
  absl::StrAppend(&out, name, ": ", value, kCrlf);
}

void AppendTextPart(std::string& out, absl::string_view subtype, absl::string_view body) {
  absl::StrAppend(&out, "Content-Type: text/", subtype, "; charset=UTF-8", kCrlf,
                  "Content-Transfer-Encoding: quoted-printable", kCrlf, kCrlf,
                  QuotedPrintableEncode(body), kCrlf);
}

}  // namespace

absl::Status ValidateEmailAddress(absl::string_view field, absl::string_view address) {
  const std::vector<absl::string_view> parts = absl::StrSplit(address, '@');
  bool valid = parts.size() == 2 && !parts[0].empty() && !parts[1].empty() &&
               address.size() <= 254 && IsPrintableAscii(address);
  for (char c : address) {
    if (!valid) break;
    valid = c != ' ' && !absl::StrContains("<>()[],;:\\\"", c);
  }
  if (!valid) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": \"",
                                                   absl::CHexEscape(address.substr(0, 100)),
                                                   "\" is not an email address like local@domain"));
  }
  return absl::OkStatus();
}

std::string GenerateMessageId(absl::string_view domain) {
  return absl::StrCat(RandomHex128(), "@", domain);
}

std::string NewMimeBoundary() { return absl::StrCat("=_cxp_", RandomHex128()); }

std::string EncodeHeaderText(absl::string_view text, size_t name_length) {
  // name ": " value must fit on the first line.
  if (IsPrintableAscii(text) && !absl::StrContains(text, "=?") &&
      name_length + 2 + text.size() <= kMaxHeaderLine) {
    return std::string(text);
  }
  constexpr absl::string_view kPrefix = "=?UTF-8?B?";
  constexpr absl::string_view kSuffix = "?=";
  // Every word fits both the first line (name ": " word) and RFC 2047's 75;
  // 3 bytes of text take 4 base64 characters.
  const size_t room =
      std::min(kMaxEncodedWord, kMaxHeaderLine - 2 - std::min(name_length, size_t{50}));
  const size_t max_chunk_bytes = (room - kPrefix.size() - kSuffix.size()) / 4 * 3;
  std::string encoded;
  while (!text.empty()) {
    const size_t length = Utf8PrefixLength(text, max_chunk_bytes);
    if (!encoded.empty()) absl::StrAppend(&encoded, kCrlf, " ");
    absl::StrAppend(&encoded, kPrefix, absl::Base64Escape(text.substr(0, length)), kSuffix);
    text.remove_prefix(length);
  }
  return encoded;
}

std::string QuotedPrintableEncode(absl::string_view text) {
  std::string out;
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  for (size_t index = 0; index < lines.size(); ++index) {
    absl::string_view line = lines[index];
    if (absl::EndsWith(line, "\r")) line.remove_suffix(1);
    if (index > 0) absl::StrAppend(&out, kCrlf);
    size_t column = 0;
    for (size_t i = 0; i < line.size(); ++i) {
      const unsigned char c = static_cast<unsigned char>(line[i]);
      const bool last = i + 1 == line.size();
      const bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last);
      const std::string token =
          literal ? std::string(1, static_cast<char>(c)) : absl::StrFormat("=%02X", c);
      // Keep room for the "=" of a soft break unless this ends the line.
      const size_t limit = last ? kMaxQuotedPrintableLine : kMaxQuotedPrintableLine - 1;
      if (column + token.size() > limit) {
        absl::StrAppend(&out, "=", kCrlf);
        column = 0;
      }
      out += token;
      column += token.size();
    }
  }
  return out;
}

absl::StatusOr<std::string> BuildMimeMessage(const EmailMessage& message,
                                             const MimeEnvelope& envelope) {
  if (absl::Status status = ValidateEmailAddress("from.address", envelope.from.address);
      !status.ok()) {
    return status;
  }
  if (absl::Status status = ValidateEmailAddress("to.address", message.to.address); !status.ok()) {
    return status;
  }
  for (const auto& [field, value] : {std::pair<absl::string_view, absl::string_view>{
                                         "from.display_name", envelope.from.display_name},
                                     {"to.display_name", message.to.display_name},
                                     {"subject", message.subject}}) {
    if (absl::Status status = RejectLineBreaks(field, value); !status.ok()) return status;
  }
  if (absl::Status status = ValidateMessageId(envelope.message_id); !status.ok()) return status;
  if (!message.list_unsubscribe_url.empty()) {
    if (absl::Status status = ValidateUnsubscribeUrl(message.list_unsubscribe_url); !status.ok()) {
      return status;
    }
  }
  if (message.text_body.empty() && message.html_body.empty()) {
    return absl::InvalidArgumentError("body: needs text_body, html_body or both");
  }
  const bool multipart = !message.text_body.empty() && !message.html_body.empty();
  if (multipart &&
      (envelope.boundary.empty() || envelope.boundary.size() > 70 ||
       !IsPrintableAscii(envelope.boundary) || absl::StrContains(envelope.boundary, '"'))) {
    return absl::InvalidArgumentError("boundary: must be 1-70 printable ASCII characters");
  }

  std::string out;
  AppendHeader(out, "Date",
               absl::FormatTime("%a, %d %b %Y %H:%M:%S +0000", envelope.date, absl::UTCTimeZone()));
  AppendHeader(out, "From", FormatMailbox(envelope.from, 4));
  AppendHeader(out, "To", FormatMailbox(message.to, 2));
  AppendHeader(out, "Subject", EncodeHeaderText(message.subject, 7));
  AppendHeader(out, "Message-ID", absl::StrCat("<", envelope.message_id, ">"));
  AppendHeader(out, "MIME-Version", "1.0");
  if (!message.list_unsubscribe_url.empty()) {
    AppendHeader(out, "List-Unsubscribe", absl::StrCat("<", message.list_unsubscribe_url, ">"));
    AppendHeader(out, "List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
  }
  if (!multipart) {
    AppendTextPart(out, message.text_body.empty() ? "html" : "plain",
                   message.text_body.empty() ? message.html_body : message.text_body);
    return out;
  }
  absl::StrAppend(&out, "Content-Type: multipart/alternative; boundary=\"", envelope.boundary, "\"",
                  kCrlf, kCrlf);
  absl::StrAppend(&out, "This is a multi-part message in MIME format.", kCrlf, kCrlf);
  absl::StrAppend(&out, "--", envelope.boundary, kCrlf);
  AppendTextPart(out, "plain", message.text_body);
  absl::StrAppend(&out, "--", envelope.boundary, kCrlf);
  AppendTextPart(out, "html", message.html_body);
  absl::StrAppend(&out, "--", envelope.boundary, "--", kCrlf);
  return out;
}

}  // namespace cxp::notify::delivery
