// MIME email composition (RFC 5322, RFC 2045-2047, RFC 8058) for SmtpSender:
// the bytes that go after SMTP DATA.
//
// BuildMimeMessage writes Date, From, To, Subject, Message-ID, MIME-Version,
// the RFC 8058 one-click unsubscribe pair
//
//     List-Unsubscribe: <https://...>
//     List-Unsubscribe-Post: List-Unsubscribe=One-Click
//
// when the message has an unsubscribe URL, and a body that is text/plain,
// text/html, or multipart/alternative with both (plain first: readers show
// the last part they can display). Bodies are UTF-8 in quoted-printable; a
// non-ASCII (or long) subject or display name becomes RFC 2047 "B"
// encoded-words folded onto continuation lines. Lines end in CRLF. Dot-
// stuffing is libcurl's job, not this one's.
//
// Header injection: every value that goes into a header is checked; CR or LF
// in one, a malformed address, Message-ID or URL is INVALID_ARGUMENT naming
// the field. Mail providers also want a DKIM signature covering the
// List-Unsubscribe headers (RFC 8058 §3): that is the outgoing MTA's job.
//
// Pure functions, thread-safe (GenerateMessageId and NewMimeBoundary draw
// from a thread-safe random source).

#ifndef CXP_NOTIFY_SERVICE_DELIVERY_MIME_MESSAGE_H_
#define CXP_NOTIFY_SERVICE_DELIVERY_MIME_MESSAGE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace cxp::notify::delivery {

struct EmailAddress {
  std::string address;       // "ana@example.com" (ASCII, no angle brackets)
  std::string display_name;  // UTF-8, optional: "Ana Müller"
};

struct EmailMessage {
  EmailAddress to;
  std::string subject;    // UTF-8
  std::string text_body;  // UTF-8; at least one of text_body and html_body
  std::string html_body;  // UTF-8, already escaped HTML
  // https URL; when set, the RFC 8058 one-click unsubscribe headers are
  // added. At most 978 characters: the header is one unfolded line.
  std::string list_unsubscribe_url;
  // "id@domain" without angle brackets; SmtpSender generates one when empty.
  // A caller that wants the same Message-ID on every retry passes it here.
  std::string message_id;
};

// The fields of the message that are not the caller's content.
struct MimeEnvelope {
  EmailAddress from;
  std::string message_id;  // "id@domain", no angle brackets
  absl::Time date;
  std::string boundary;  // for multipart/alternative: see NewMimeBoundary()
};

absl::StatusOr<std::string> BuildMimeMessage(const EmailMessage& message,
                                             const MimeEnvelope& envelope);

// OK for "local@domain" with printable ASCII, no spaces, no specials that
// would need quoting (<>()[],;:\") and no CR/LF; INVALID_ARGUMENT naming
// `field` otherwise.
absl::Status ValidateEmailAddress(absl::string_view field, absl::string_view address);

// "<32 hex digits>@<domain>".
std::string GenerateMessageId(absl::string_view domain);

// "=_cxp_<32 hex digits>": "=_" never occurs in quoted-printable text, so the
// boundary cannot collide with a body line.
std::string NewMimeBoundary();

// A header value for UTF-8 `text` after a header name of `name_length`
// characters ("Subject" is 7): `text` itself when it is short printable
// ASCII without "=?", otherwise RFC 2047 encoded-words
// (=?UTF-8?B?...?=), split on UTF-8 character boundaries, each at most 75
// characters, joined by CRLF SP (folding) so no line exceeds 78.
std::string EncodeHeaderText(absl::string_view text, size_t name_length);

// Quoted-printable (RFC 2045 §6.7) of UTF-8 text: LF or CRLF line ends
// become CRLF hard breaks, lines are soft-broken ("=" CRLF) at 76
// characters, '=', non-ASCII and control bytes and trailing white space are
// =XX-encoded.
std::string QuotedPrintableEncode(absl::string_view text);

}  // namespace cxp::notify::delivery

#endif  // CXP_NOTIFY_SERVICE_DELIVERY_MIME_MESSAGE_H_
