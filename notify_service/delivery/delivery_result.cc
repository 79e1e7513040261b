#include "notify_service/delivery/delivery_result.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace cxp::notify::delivery {
namespace {

constexpr size_t kMaxBodyExcerpt = 200;

// The first `kMaxBodyExcerpt` bytes of `body`, trimmed, with control
// characters (CR, LF, tabs...) turned into spaces so a detail stays one line.
std::string BodyExcerpt(absl::string_view body) {
  body = absl::StripAsciiWhitespace(body);
  const bool cut = body.size() > kMaxBodyExcerpt;
  std::string excerpt(body.substr(0, kMaxBodyExcerpt));
  for (char& c : excerpt) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  if (cut) excerpt += "...";
  return excerpt;
}

}  // namespace

absl::string_view DeliveryOutcomeName(DeliveryOutcome outcome) {
  switch (outcome) {
    case DeliveryOutcome::kDelivered:
      return "delivered";
    case DeliveryOutcome::kTransientFailure:
      return "transient failure";
    case DeliveryOutcome::kPermanentFailure:
      return "permanent failure";
  }
  return "unknown";
}

DeliveryResult DeliveryResult::Delivered(std::string provider_message_id, std::string detail) {
  DeliveryResult result;
  result.outcome = DeliveryOutcome::kDelivered;
  result.provider_message_id = std::move(provider_message_id);
  result.detail = std::move(detail);
  return result;
}

DeliveryResult DeliveryResult::Transient(std::string detail,
                                         std::optional<absl::Duration> retry_after) {
  DeliveryResult result;
  result.outcome = DeliveryOutcome::kTransientFailure;
  result.detail = std::move(detail);
  if (retry_after.has_value()) result.retry_after = std::max(*retry_after, absl::ZeroDuration());
  return result;
}

DeliveryResult DeliveryResult::Permanent(std::string detail) {
  DeliveryResult result;
  result.outcome = DeliveryOutcome::kPermanentFailure;
  result.detail = std::move(detail);
  return result;
}

std::string DeliveryResult::DebugString() const {
  std::string text(DeliveryOutcomeName(outcome));
  if (delivered() && !provider_message_id.empty()) {
    absl::StrAppend(&text, " (id ", provider_message_id, ")");
  }
  absl::StrAppend(&text, ": ", detail);
  if (retry_after.has_value()) {
    absl::StrAppend(&text, " (retry after ", absl::FormatDuration(*retry_after), ")");
  }
  return text;
}

std::optional<DeliveryOutcome> SmtpReplyFailure(int reply_code) {
  if (reply_code >= 200 && reply_code < 400) return std::nullopt;
  if (reply_code >= 500 && reply_code < 600) return DeliveryOutcome::kPermanentFailure;
  return DeliveryOutcome::kTransientFailure;
}

DeliveryOutcome HttpStatusOutcome(int status) {
  if (status >= 200 && status < 300) return DeliveryOutcome::kDelivered;
  if (status == 408 || status == 429 || (status >= 500 && status < 600)) {
    return DeliveryOutcome::kTransientFailure;
  }
  return DeliveryOutcome::kPermanentFailure;
}

DeliveryResult HttpFailure(int status, std::optional<absl::Duration> retry_after,
                           absl::string_view response_body) {
  std::string detail = absl::StrCat("HTTP ", status);
  const std::string excerpt = BodyExcerpt(response_body);
  if (!excerpt.empty()) absl::StrAppend(&detail, ": ", excerpt);
  switch (HttpStatusOutcome(status)) {
    case DeliveryOutcome::kTransientFailure:
      return DeliveryResult::Transient(std::move(detail), retry_after);
    case DeliveryOutcome::kDelivered:  // not a failure: the caller's mistake
    case DeliveryOutcome::kPermanentFailure:
      break;
  }
  if (status >= 300 && status < 400) absl::StrAppend(&detail, " (redirects are not followed)");
  return DeliveryResult::Permanent(std::move(detail));
}

std::optional<absl::Duration> ParseRetryAfter(absl::string_view value, absl::Time now) {
  value = absl::StripAsciiWhitespace(value);
  if (value.empty()) return std::nullopt;
  if (absl::ascii_isdigit(static_cast<unsigned char>(value.front()))) {
    int64_t seconds = 0;
    if (!absl::SimpleAtoi(value, &seconds) || seconds < 0) return std::nullopt;
    return absl::Seconds(seconds);
  }
  // IMF-fixdate, then the two obsolete forms a recipient must accept.
  static constexpr const char* kFormats[] = {
      "%a, %d %b %Y %H:%M:%S GMT",  // Sun, 06 Nov 1994 08:49:37 GMT
      "%A, %d-%b-%y %H:%M:%S GMT",  // Sunday, 06-Nov-94 08:49:37 GMT
      "%a %b %e %H:%M:%S %Y",       // Sun Nov  6 08:49:37 1994
  };
  for (const char* format : kFormats) {
    absl::Time when;
    std::string error;
    if (absl::ParseTime(format, value, absl::UTCTimeZone(), &when, &error)) {
      return std::max(when - now, absl::ZeroDuration());
    }
  }
  return std::nullopt;
}

std::string FormatTimeout(absl::Duration timeout) {
  if (timeout < absl::Seconds(1)) {
    return absl::StrCat(absl::ToInt64Milliseconds(timeout), "ms");
  }
  return absl::StrCat(absl::ToDoubleSeconds(timeout), "s");
}

}  // namespace cxp::notify::delivery
