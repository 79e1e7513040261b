#include "notify_service/core/inbound_keywords.h"

#include <algorithm>
#include <cstdint>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "common/validation/text_rules.h"
#include "google/protobuf/util/time_util.h"

namespace cxp::notify {
namespace {

namespace v1 = ::cxp::notify::v1;
namespace ctx = ::cxp::context::v1;
namespace type = ::cxp::type::v1;
using cxp::validation::InvalidField;
using google::protobuf::util::TimeUtil;

constexpr absl::string_view kOptOutKeywords[] = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL",
                                                 "END",  "QUIT",    "수신거부",    "거부"};
constexpr absl::string_view kOptInKeywords[] = {"START", "UNSTOP"};
constexpr type::Purpose kKeywordPurposes[] = {type::PURPOSE_MARKETING, type::PURPOSE_SERVICE};

// Non-ASCII characters people put around a keyword: no-break and
// ideographic spaces, CJK and full-width punctuation, typographic quotes
// and the ellipsis.
constexpr char32_t kWideTrimmable[] = {0x00A0, 0x3000, 0x3001, 0x3002, 0xFF01, 0xFF0C,
                                       0xFF0E, 0xFF1F, 0x2018, 0x2019, 0x201C, 0x201D,
                                       0x2026, 0x00A1, 0x00BF, 0x300C, 0x300D};

// Length in bytes of the UTF-8 sequence that starts with `lead`, 0 if
// `lead` cannot start one.
int SequenceLength(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 0;
}

char32_t Decode(absl::string_view bytes) {
  const auto lead = static_cast<unsigned char>(bytes[0]);
  if (bytes.size() == 1) return lead;
  char32_t code = lead & (0x7F >> bytes.size());
  for (size_t i = 1; i < bytes.size(); ++i) code = (code << 6) | (bytes[i] & 0x3F);
  return code;
}

bool Trimmable(char32_t code) {
  if (code < 0x80) {
    const char c = static_cast<char>(code);
    return absl::ascii_isspace(c) || absl::ascii_ispunct(c);
  }
  return std::find(std::begin(kWideTrimmable), std::end(kWideTrimmable), code) !=
         std::end(kWideTrimmable);
}

// The last UTF-8 sequence of `text` (non-empty, valid UTF-8).
absl::string_view LastSequence(absl::string_view text) {
  size_t start = text.size() - 1;
  while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
  return text.substr(start);
}

absl::string_view TrimKeywordText(absl::string_view text) {
  while (!text.empty()) {
    const int length = SequenceLength(static_cast<unsigned char>(text[0]));
    if (length == 0 || static_cast<size_t>(length) > text.size()) break;
    if (!Trimmable(Decode(text.substr(0, length)))) break;
    text.remove_prefix(length);
  }
  while (!text.empty()) {
    const absl::string_view last = LastSequence(text);
    if (!Trimmable(Decode(last))) break;
    text.remove_suffix(last.size());
  }
  return text;
}

bool Contains(absl::Span<const absl::string_view> keywords, absl::string_view word) {
  return std::find(keywords.begin(), keywords.end(), word) != keywords.end();
}

absl::Status ValidateInboundMessage(const v1::InboundMessage& message) {
  const std::string field = "inbound_message";
  if (message.channel() == type::CHANNEL_UNSPECIFIED || !type::Channel_IsValid(message.channel())) {
    return InvalidField(validation::FieldPath(field, "channel"), "must be a channel");
  }
  if (!message.has_sender())
    return InvalidField(validation::FieldPath(field, "sender"), "must be set");
  const type::Identity& sender = message.sender();
  if (sender.kind() == type::IDENTITY_KIND_UNSPECIFIED ||
      !type::IdentityKind_IsValid(sender.kind())) {
    return InvalidField(validation::FieldPath(field, "sender.kind"), "must be an identity kind");
  }
  RETURN_IF_ERROR(validation::ValidateText(sender.value(),
                                           validation::FieldPath(field, "sender.value"), 1, 512));
  RETURN_IF_ERROR(validation::ValidateText(message.recipient(),
                                           validation::FieldPath(field, "recipient"), 0,
                                           kMaxInboundRecipientChars));
  RETURN_IF_ERROR(validation::ValidateText(message.text(), validation::FieldPath(field, "text"), 1,
                                           kMaxInboundTextChars,
                                           validation::ControlChars::kAllowNewlines));
  RETURN_IF_ERROR(validation::ValidateText(
      message.provider(), validation::FieldPath(field, "provider"), 0, kMaxInboundProviderChars));
  RETURN_IF_ERROR(validation::ValidateText(message.provider_message_id(),
                                           validation::FieldPath(field, "provider_message_id"), 0,
                                           kMaxInboundProviderMessageIdChars));
  if (message.has_receive_time()) {
    RETURN_IF_ERROR(validation::ValidateTimestamp(message.receive_time(),
                                                  validation::FieldPath(field, "receive_time")));
  }
  return absl::OkStatus();
}

void SetAttribute(ctx::Interaction& interaction, absl::string_view key, absl::string_view value) {
  if (!value.empty()) {
    (*interaction.mutable_attributes())[std::string(key)].set_string_value(std::string(value));
  }
}

// The timeline entry of `message` (customer left to the caller);
// `occur_time` null: when context_service stores it.
ctx::AppendInteractionRequest TimelineAppend(const v1::InboundMessage& message,
                                             absl::string_view keyword,
                                             const google::protobuf::Timestamp* occur_time) {
  ctx::AppendInteractionRequest append;
  if (!message.provider_message_id().empty()) {
    append.set_request_id(
        absl::StrCat("inbound:", message.provider(), ":", message.provider_message_id()));
  }
  ctx::Interaction& interaction = *append.mutable_interaction();
  interaction.set_channel(message.channel());
  interaction.set_direction(ctx::Interaction::DIRECTION_INBOUND);
  interaction.set_type("message");
  if (occur_time != nullptr) *interaction.mutable_occur_time() = *occur_time;
  *interaction.mutable_identity() = message.sender();
  interaction.set_summary(message.text());
  SetAttribute(interaction, "keyword", keyword);
  SetAttribute(interaction, "recipient", message.recipient());
  SetAttribute(interaction, "provider", message.provider());
  SetAttribute(interaction, "provider_message_id", message.provider_message_id());
  return append;
}

}  // namespace

std::string InboundKeyword(absl::string_view text) {
  const std::string word = absl::AsciiStrToUpper(TrimKeywordText(text));
  if (Contains(kOptOutKeywords, word) || Contains(kOptInKeywords, word)) return word;
  return "";
}

absl::StatusOr<InboundConsentDecision> DecideInboundMessage(
    const v1::ReceiveInboundMessageRequest& request, absl::Time now) {
  if (!request.has_inbound_message()) return InvalidField("inbound_message", "must be set");
  const v1::InboundMessage& message = request.inbound_message();
  RETURN_IF_ERROR(ValidateInboundMessage(message));
  InboundConsentDecision decision;
  const std::string keyword = InboundKeyword(message.text());
  // context_service refuses times from the future: a provider clock ahead
  // of ours counts as now.
  const google::protobuf::Timestamp now_proto =
      TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(now));
  const bool received_before_now = message.has_receive_time() && message.receive_time() < now_proto;
  const google::protobuf::Timestamp when = received_before_now ? message.receive_time() : now_proto;
  // Without a usable receive_time the timeline entry carries none (stored
  // as received), so a redelivered message makes the same request.
  decision.timeline_append =
      TimelineAppend(message, keyword, received_before_now ? &message.receive_time() : nullptr);
  if (keyword.empty()) return decision;
  const bool opt_out = Contains(kOptOutKeywords, keyword);
  decision.action = opt_out ? v1::ReceiveInboundMessageResponse::ACTION_OPTED_OUT
                            : v1::ReceiveInboundMessageResponse::ACTION_OPTED_IN;
  for (type::Purpose purpose : kKeywordPurposes) {
    ctx::ConsentEntry& entry = decision.changes.emplace_back();
    entry.set_channel(message.channel());
    entry.set_purpose(purpose);
    entry.set_state(opt_out ? ctx::CONSENT_STATE_DENIED : ctx::CONSENT_STATE_GRANTED);
    entry.mutable_evidence()->set_source(std::string(kInboundKeywordSource));
    *entry.mutable_evidence()->mutable_capture_time() = when;
    entry.mutable_evidence()->set_text(message.text());
    *entry.mutable_update_time() = when;
  }
  return decision;
}

}  // namespace cxp::notify
