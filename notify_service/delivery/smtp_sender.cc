#include "notify_service/delivery/smtp_sender.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "notify_service/delivery/curl_util.h"

namespace cxp::notify::delivery {
namespace {

bool HasLineBreak(absl::string_view text) {
  return absl::StrContains(text, '\r') || absl::StrContains(text, '\n');
}

absl::Status ValidateConfig(const SmtpConfig& config) {
  bool host_ok = !config.host.empty();
  for (char c : config.host) {
    host_ok = host_ok && c > 0x20 && c < 0x7f && !absl::StrContains("/@?#\\", c);
  }
  if (!host_ok) return absl::InvalidArgumentError("smtp.host: must be a host name or address");
  if (config.port < 1 || config.port > 65535) {
    return absl::InvalidArgumentError("smtp.port: must be 1-65535");
  }
  if (absl::Status status = ValidateEmailAddress("smtp.from.address", config.from.address);
      !status.ok()) {
    return status;
  }
  if (HasLineBreak(config.from.display_name)) {
    return absl::InvalidArgumentError("smtp.from.display_name: must not contain CR or LF");
  }
  if (config.username.empty() && !config.password.empty()) {
    return absl::InvalidArgumentError("smtp.username: must be set with a password");
  }
  if (HasLineBreak(config.username) || HasLineBreak(config.password)) {
    return absl::InvalidArgumentError("smtp credentials: must not contain CR or LF");
  }
  for (char c : config.ehlo_name) {
    if (c <= 0x20 || c >= 0x7f || c == '/' || c == '?' || c == '#') {
      return absl::InvalidArgumentError("smtp.ehlo_name: must be a host name");
    }
  }
  if (config.connect_timeout <= absl::ZeroDuration() ||
      config.total_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("smtp timeouts: must be positive");
  }
  return absl::OkStatus();
}

// The upload: the MIME message, read by libcurl in chunks.
struct UploadSource {
  absl::string_view remaining;
};

size_t ReadUpload(char* buffer, size_t size, size_t count, void* user_data) {
  auto* source = static_cast<UploadSource*>(user_data);
  const size_t bytes = std::min(size * count, source->remaining.size());
  std::memcpy(buffer, source->remaining.data(), bytes);
  source->remaining.remove_prefix(bytes);
  return bytes;
}

// libcurl passes every SMTP server reply line to the header callback,
// including the 221 of the QUIT it may send after a failed command: keep the
// recent replies, each a list of lines ("250-..." continues a reply, "250 "
// ends it).
struct ReplyLog {
  std::vector<std::vector<std::string>> replies;
  bool last_reply_complete = true;
};

size_t CollectReplyLine(char* data, size_t size, size_t count, void* user_data) {
  auto* log = static_cast<ReplyLog*>(user_data);
  const size_t bytes = size * count;
  std::string line(absl::StripTrailingAsciiWhitespace(absl::string_view(data, bytes)));
  if (log->last_reply_complete) {
    if (log->replies.size() == 16) log->replies.erase(log->replies.begin());
    log->replies.emplace_back();
  }
  std::vector<std::string>& reply = log->replies.back();
  if (reply.size() < 20) reply.push_back(line);
  log->last_reply_complete = line.size() < 4 || line[3] != '-';
  return bytes;
}

// "451 4.7.1 try later" for the latest reply with `code` (the latest reply
// of all when `code` is 0): "250-a", "250 b" -> "250 a b".
std::string ReplyText(const ReplyLog& log, long code) {
  const std::string wanted = code > 0 ? absl::StrCat(code) : "";
  const std::vector<std::string>* chosen = nullptr;
  for (auto it = log.replies.rbegin(); it != log.replies.rend() && chosen == nullptr; ++it) {
    if (!it->empty() && (wanted.empty() || absl::StartsWith(it->front(), wanted))) chosen = &*it;
  }
  if (chosen == nullptr) return wanted;
  std::vector<absl::string_view> texts;
  for (const std::string& line : *chosen) {
    if (line.size() > 4) texts.push_back(absl::string_view(line).substr(4));
  }
  std::string text = absl::StrCat(chosen->front().substr(0, 3), " ", absl::StrJoin(texts, " "));
  absl::StripTrailingAsciiWhitespace(&text);
  if (text.size() > 300) text = absl::StrCat(text.substr(0, 300), "...");
  return text;
}

}  // namespace

absl::StatusOr<SmtpSender> SmtpSender::Create(SmtpConfig config, Clock clock) {
  if (absl::Status status = ValidateConfig(config); !status.ok()) return status;
  internal::EnsureCurlGlobalInit();
  return SmtpSender(std::move(config), clock ? std::move(clock) : Clock(absl::Now));
}

DeliveryResult SmtpSender::Send(const EmailMessage& message) const {
  const absl::string_view from_domain =
      absl::string_view(config_.from.address).substr(config_.from.address.find('@') + 1);
  MimeEnvelope envelope;
  envelope.from = config_.from;
  envelope.message_id =
      message.message_id.empty() ? GenerateMessageId(from_domain) : message.message_id;
  envelope.date = clock_();
  envelope.boundary = NewMimeBoundary();
  absl::StatusOr<std::string> mime = BuildMimeMessage(message, envelope);
  if (!mime.ok()) {
    return DeliveryResult::Permanent(absl::StrCat("invalid message: ", mime.status().message()));
  }

  internal::CurlEasyPtr handle(curl_easy_init());
  if (handle == nullptr) return DeliveryResult::Transient("curl_easy_init failed");
  CURL* curl = handle.get();
  const std::string url = absl::StrCat(config_.implicit_tls ? "smtps://" : "smtp://", config_.host,
                                       ":", config_.port, "/", config_.ehlo_name);
  const std::string mail_from = absl::StrCat("<", config_.from.address, ">");
  internal::CurlSlistPtr recipients(
      curl_slist_append(nullptr, absl::StrCat("<", message.to.address, ">").c_str()));
  UploadSource upload{*mime};
  ReplyLog replies;
  char error_buffer[CURL_ERROR_SIZE] = {};

  internal::SetCommonOptions(curl, config_.connect_timeout, config_.total_timeout, "smtp,smtps");
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  if (!config_.implicit_tls) {
    const long use_ssl = config_.starttls == StartTls::kRequired        ? CURLUSESSL_ALL
                         : config_.starttls == StartTls::kOpportunistic ? CURLUSESSL_TRY
                                                                        : CURLUSESSL_NONE;
    curl_easy_setopt(curl, CURLOPT_USE_SSL, use_ssl);
  }
  if (!config_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, config_.ca_file.c_str());
  if (!config_.username.empty()) {
    curl_easy_setopt(curl, CURLOPT_USERNAME, config_.username.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, config_.password.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_MAIL_FROM, mail_from.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, recipients.get());
  curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, ReadUpload);
  curl_easy_setopt(curl, CURLOPT_READDATA, &upload);
  curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(mime->size()));
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, CollectReplyLine);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &replies);

  const CURLcode code = curl_easy_perform(curl);
  long reply_code = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply_code);
  if (code == CURLE_OK) {
    return DeliveryResult::Delivered(envelope.message_id,
                                     absl::StrCat("SMTP ", ReplyText(replies, reply_code)));
  }
  if (reply_code >= 400) {
    std::string detail = absl::StrCat("SMTP ", ReplyText(replies, reply_code));
    if (SmtpReplyFailure(static_cast<int>(reply_code)) == DeliveryOutcome::kPermanentFailure) {
      return DeliveryResult::Permanent(std::move(detail));
    }
    return DeliveryResult::Transient(std::move(detail));
  }
  if (code == CURLE_USE_SSL_FAILED) {
    return DeliveryResult::Transient("STARTTLS required but the server does not offer it");
  }
  return internal::TransferFailure(
      internal::TransferStatus(code, curl, error_buffer, config_.total_timeout));
}

}  // namespace cxp::notify::delivery
