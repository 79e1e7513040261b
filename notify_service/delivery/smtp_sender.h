// SmtpSender — delivers an email to one recipient over SMTP with libcurl.
//
// Connection: smtp://host:port, upgraded with STARTTLS per `starttls`
// (kNone: never; kOpportunistic: when the server offers it; kRequired: fail
// when it does not), or smtps:// from the first byte with `implicit_tls`
// (port 465). Certificates are verified (against `ca_file` when set, else the
// system store). With a username, AUTH uses the best mechanism the server
// offers; with kNone or kOpportunistic the password may cross the network in
// clear text: use kRequired or implicit TLS outside tests.
//
// The message is composed by BuildMimeMessage (mime_message.h): UTF-8
// subject as RFC 2047 encoded-words, text and/or HTML in quoted-printable
// (multipart/alternative when both), Date, Message-ID and the RFC 8058
// one-click List-Unsubscribe headers when the message has an unsubscribe URL.
//
// Results:
//   delivered: provider_message_id is the Message-ID header (without angle
//     brackets): the message's own id, which is what bounces and receipts
//     refer to. The server's queue id is not parsed out (its format is each
//     MTA's own); the detail quotes the server's final reply, queue id
//     included when there is one: "SMTP 250 2.0.0 Ok: queued as 4F1C2".
//   any SMTP reply 4xx (greeting, EHLO, AUTH, MAIL, RCPT or end of DATA):
//     transient, "SMTP 451 4.7.1 try later"; 5xx permanent, "SMTP 550 5.1.1
//     no such user" (a rejected login, 535, is permanent too: retrying the
//     same credentials will not help).
//   no reply: connection refused, timeouts, TLS failures, STARTTLS required
//     but not offered: transient (the server, not the message).
//   a message that cannot be composed (CR/LF in a header, a bad address):
//     permanent "invalid message: ...".
//
// Threading: thread-safe; Send blocks the calling thread for at most
// total_timeout (one libcurl easy transfer on a fresh handle: one connection
// per message, which suits email volumes). Run it on the dispatcher's
// bounded worker pool.

#ifndef CXP_NOTIFY_SERVICE_DELIVERY_SMTP_SENDER_H_
#define CXP_NOTIFY_SERVICE_DELIVERY_SMTP_SENDER_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "notify_service/delivery/delivery_result.h"
#include "notify_service/delivery/mime_message.h"

namespace cxp::notify::delivery {

enum class StartTls {
  kNone,
  kOpportunistic,
  kRequired,
};

struct SmtpConfig {
  std::string host;
  int port = 587;
  bool implicit_tls = false;  // smtps://, usually port 465; starttls is then moot
  StartTls starttls = StartTls::kRequired;
  std::string username;  // empty: no AUTH
  std::string password;
  EmailAddress from;
  std::string ehlo_name;  // the name sent in EHLO; empty: libcurl's default
  std::string ca_file;    // PEM bundle of trusted CAs; empty: the system's
  absl::Duration connect_timeout = absl::Seconds(10);
  absl::Duration total_timeout = absl::Seconds(60);
};

class SmtpSender {
 public:
  using Clock = std::function<absl::Time()>;

  // INVALID_ARGUMENT naming the field ("smtp.port: ...") for an empty or
  // malformed host, a port outside 1-65535, a bad from address, a password
  // without a username, CR/LF in a credential or non-positive timeouts.
  // `clock` (default absl::Now) gives the Date header.
  static absl::StatusOr<SmtpSender> Create(SmtpConfig config, Clock clock = nullptr);

  DeliveryResult Send(const EmailMessage& message) const;

 private:
  SmtpSender(SmtpConfig config, Clock clock)
      : config_(std::move(config)), clock_(std::move(clock)) {}

  SmtpConfig config_;
  Clock clock_;
};

}  // namespace cxp::notify::delivery

#endif  // CXP_NOTIFY_SERVICE_DELIVERY_SMTP_SENDER_H_
