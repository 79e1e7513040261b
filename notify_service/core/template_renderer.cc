#include "notify_service/core/template_renderer.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "common/status/errors.h"
#include "common/status/status_macros.h"
#include "common/validation/text_rules.h"
#include "notify_service/validation/template_text.h"
#include "notify_service/validation/template_validation.h"

namespace cxp::notify {
namespace {

using cxp::notify::v1::EmailContent;
using cxp::notify::v1::PushContent;
using cxp::notify::v1::SmsContent;
using cxp::notify::v1::Template;
using cxp::notify::v1::TemplateLocale;
using cxp::notify::v1::WebhookContent;
using cxp::type::v1::Channel;
using validation::SizeUnit;
using validation::TemplateText;
using validation::TemplateValues;
using validation::TextFieldRule;

// One text of the chosen content: where it is, its rules, the parsed
// template and where its rendering goes in the output.
struct TextSlot {
  std::string path;  // "email.subject", "webhook.payload.order.id", ...
  const TextFieldRule* rule;
  TemplateText text;
  std::string* output;  // into RenderedContent::content
};

std::string ChannelLabel(Channel channel) {
  return std::string(absl::StripPrefix(cxp::type::v1::Channel_Name(channel), "CHANNEL_"));
}

std::string TemplateLabel(const Template& tmpl) {
  return absl::StrCat(tmpl.name().empty() ? "template" : tmpl.name(), " version ", tmpl.version());
}

std::string PlaceLabel(const TemplateLocale& locale, Channel channel) {
  const std::string locale_label = locale.language_code().empty()
                                       ? std::string("default locale")
                                       : absl::StrCat("locale ", locale.language_code());
  return absl::StrCat(locale_label, ", channel ", ChannelLabel(channel));
}

// Fills `slots` with the texts of `content` (the output copy), parsing
// each, or taking them in order from `parsed` (an earlier collection of the
// same content).
class SlotCollector {
 public:
  SlotCollector(const Template& tmpl, std::vector<TextSlot>* slots,
                const std::vector<TemplateText>* parsed)
      : tmpl_(tmpl), slots_(slots), parsed_(parsed) {}

  absl::Status Add(std::string path, const TextFieldRule& rule, std::string* text) {
    if (parsed_ != nullptr) {
      if (next_parsed_ >= parsed_->size()) return absl::InternalError("parsed texts: too few");
      slots_->push_back(TextSlot{std::move(path), &rule, (*parsed_)[next_parsed_++], text});
      return absl::OkStatus();
    }
    absl::StatusOr<TemplateText> parsed = validation::ParseTextField(*text, rule, path);
    if (!parsed.ok()) {
      return cxp::FailedPrecondition(
          TemplateLabel(tmpl_),
          absl::StrCat("stored content is invalid: ", parsed.status().message()));
    }
    slots_->push_back(TextSlot{std::move(path), &rule, *std::move(parsed), text});
    return absl::OkStatus();
  }

  absl::Status AddEmail(EmailContent& email) {
    RETURN_IF_ERROR(Add("email.subject", validation::kEmailSubjectRule, email.mutable_subject()));
    RETURN_IF_ERROR(
        Add("email.text_body", validation::kEmailTextBodyRule, email.mutable_text_body()));
    if (email.html_body().empty()) return absl::OkStatus();
    return Add("email.html_body", validation::kEmailHtmlBodyRule, email.mutable_html_body());
  }

  absl::Status AddSms(SmsContent& sms) {
    return Add("sms.text", validation::kSmsTextRule, sms.mutable_text());
  }

  absl::Status AddPush(PushContent& push) {
    RETURN_IF_ERROR(Add("push.title", validation::kPushTitleRule, push.mutable_title()));
    RETURN_IF_ERROR(Add("push.body", validation::kPushBodyRule, push.mutable_body()));
    std::vector<std::string> keys;
    for (const auto& [key, value] : push.data()) keys.push_back(key);
    std::sort(keys.begin(), keys.end());
    for (const std::string& key : keys) {
      RETURN_IF_ERROR(Add(absl::StrCat("push.data[", cxp::validation::QuoteForMessage(key), "]"),
                          validation::kPushDataValueRule, &(*push.mutable_data())[key]));
    }
    return absl::OkStatus();
  }

  absl::Status AddPayloadValue(google::protobuf::Value& value, const std::string& path) {
    switch (value.kind_case()) {
      case google::protobuf::Value::kStringValue:
        return Add(path, validation::kWebhookStringRule, value.mutable_string_value());
      case google::protobuf::Value::kStructValue:
        return AddPayloadStruct(*value.mutable_struct_value(), path);
      case google::protobuf::Value::kListValue:
        for (int i = 0; i < value.list_value().values_size(); ++i) {
          RETURN_IF_ERROR(AddPayloadValue(*value.mutable_list_value()->mutable_values(i),
                                          absl::StrCat(path, "[", i, "]")));
        }
        return absl::OkStatus();
      default:
        return absl::OkStatus();
    }
  }

  absl::Status AddPayloadStruct(google::protobuf::Struct& object, const std::string& path) {
    std::vector<std::string> keys;
    for (const auto& [key, value] : object.fields()) keys.push_back(key);
    std::sort(keys.begin(), keys.end());
    for (const std::string& key : keys) {
      RETURN_IF_ERROR(
          AddPayloadValue((*object.mutable_fields())[key], validation::PayloadKeyPath(path, key)));
    }
    return absl::OkStatus();
  }

 private:
  const Template& tmpl_;
  std::vector<TextSlot>* slots_;
  const std::vector<TemplateText>* parsed_;
  size_t next_parsed_ = 0;
};

// Parsed texts by content: a template version's content never changes, so
// each is parsed once, not at every render. Keyed by the channel and the
// content's bytes (two tenants' templates share an entry only when their
// content is the same). Bounded: emptied when full.
class ParsedTextCache {
 public:
  static ParsedTextCache& Get() {
    static ParsedTextCache* const cache = new ParsedTextCache;
    return *cache;
  }
  std::shared_ptr<const std::vector<TemplateText>> Find(const std::string& key) {
    absl::MutexLock lock(&mu_);
    auto at = entries_.find(key);
    return at == entries_.end() ? nullptr : at->second;
  }
  void Insert(std::string key, std::vector<TemplateText> texts) {
    auto entry = std::make_shared<const std::vector<TemplateText>>(std::move(texts));
    absl::MutexLock lock(&mu_);
    if (entries_.size() >= kMaxEntries) entries_.clear();
    entries_.try_emplace(std::move(key), std::move(entry));
  }

 private:
  static constexpr size_t kMaxEntries = 512;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<const std::vector<TemplateText>>> entries_
      ABSL_GUARDED_BY(mu_);
};

std::string ContentKey(Channel channel, const google::protobuf::MessageLite& content) {
  std::string key = absl::StrCat(static_cast<int>(channel), ":");
  content.AppendToString(&key);
  return key;
}

// The chosen locale's content for `channel`, copied into `rendered`, and the
// slots pointing into that copy.
absl::StatusOr<std::vector<TextSlot>> PrepareContent(const Template& tmpl,
                                                     const TemplateLocale& locale, Channel channel,
                                                     RenderedContent& rendered) {
  const google::protobuf::MessageLite* content = nullptr;
  switch (channel) {
    case cxp::type::v1::CHANNEL_EMAIL:
      content = &locale.email();
      break;
    case cxp::type::v1::CHANNEL_SMS:
      content = &locale.sms();
      break;
    case cxp::type::v1::CHANNEL_PUSH:
      content = &locale.push();
      break;
    default:  // CHAT, SOCIAL, WEB
      content = &locale.webhook();
      break;
  }
  std::string key = ContentKey(channel, *content);
  const std::shared_ptr<const std::vector<TemplateText>> parsed = ParsedTextCache::Get().Find(key);
  std::vector<TextSlot> slots;
  SlotCollector collector(tmpl, &slots, parsed.get());
  switch (channel) {
    case cxp::type::v1::CHANNEL_EMAIL:
      RETURN_IF_ERROR(collector.AddEmail(rendered.content.emplace<EmailContent>(locale.email())));
      break;
    case cxp::type::v1::CHANNEL_SMS:
      RETURN_IF_ERROR(collector.AddSms(rendered.content.emplace<SmsContent>(locale.sms())));
      break;
    case cxp::type::v1::CHANNEL_PUSH:
      RETURN_IF_ERROR(collector.AddPush(rendered.content.emplace<PushContent>(locale.push())));
      break;
    default: {  // CHAT, SOCIAL, WEB
      WebhookContent& webhook = rendered.content.emplace<WebhookContent>(locale.webhook());
      RETURN_IF_ERROR(collector.AddPayloadStruct(*webhook.mutable_payload(), "webhook.payload"));
      break;
    }
  }
  if (parsed == nullptr) {
    std::vector<TemplateText> texts;
    texts.reserve(slots.size());
    for (const TextSlot& slot : slots) texts.push_back(slot.text);
    ParsedTextCache::Get().Insert(std::move(key), std::move(texts));
  }
  return slots;
}

// The locale for `channel` or the FAILED_PRECONDITION saying there is none.
absl::StatusOr<const TemplateLocale*> LocaleOrError(const Template& tmpl, Channel channel,
                                                    absl::string_view language_code) {
  if (!IsNotificationChannel(channel)) {
    return cxp::InvalidArgument(
        "channel", absl::StrCat(ChannelLabel(channel), " is not supported for notifications"));
  }
  const TemplateLocale* locale = ChooseTemplateLocale(tmpl, channel, language_code);
  if (locale != nullptr) return locale;
  std::vector<std::string> tried;
  for (const std::string& code : LocaleFallbackChain(language_code)) {
    if (!code.empty()) tried.push_back(cxp::validation::QuoteForMessage(code));
  }
  const std::string locales =
      tried.empty() ? std::string("the default locale")
                    : absl::StrCat("locale ", absl::StrJoin(tried, ", "), " or the default locale");
  return cxp::FailedPrecondition(
      TemplateLabel(tmpl),
      absl::StrCat("no content for channel ", ChannelLabel(channel), " in ", locales));
}

// Placeholders the slots need without a value, sorted, no repeats; and the
// size checks that can be made before rendering.
struct Inspection {
  std::vector<std::string> missing;
  absl::Status size_status;
};

Inspection InspectSlots(const std::vector<TextSlot>& slots, const TemplateValues& values,
                        Channel channel) {
  Inspection result;
  std::set<std::string> missing;
  size_t payload_bytes = 0;
  size_t payload_source_bytes = 0;
  for (const TextSlot& slot : slots) {
    TemplateText::Requirements needs = slot.text.Inspect(values);
    missing.insert(needs.missing.begin(), needs.missing.end());
    const TextFieldRule& rule = *slot.rule;
    const size_t max_bytes = rule.unit == SizeUnit::kBytes ? rule.max_size : 4 * rule.max_size;
    if (result.size_status.ok() &&
        needs.max_rendered_bytes > max_bytes + slot.text.source().size()) {
      result.size_status = cxp::InvalidArgument(
          slot.path, absl::StrCat("must be at most ", rule.max_size,
                                  rule.unit == SizeUnit::kBytes ? " bytes" : " characters",
                                  " (got more than ", max_bytes, " bytes)"));
    }
    payload_bytes += needs.max_rendered_bytes;
    payload_source_bytes += slot.text.source().size();
  }
  const bool webhook = channel != cxp::type::v1::CHANNEL_EMAIL &&
                       channel != cxp::type::v1::CHANNEL_SMS &&
                       channel != cxp::type::v1::CHANNEL_PUSH;
  if (webhook && result.size_status.ok() &&
      payload_bytes > validation::kMaxWebhookPayloadBytes + payload_source_bytes) {
    result.size_status = cxp::InvalidArgument(
        "webhook.payload", absl::StrCat("must be at most ", validation::kMaxWebhookPayloadBytes,
                                        " bytes as JSON (got more than ",
                                        validation::kMaxWebhookPayloadBytes, " bytes of text)"));
  }
  result.missing.assign(missing.begin(), missing.end());
  return result;
}

// "variables: <inner message> (<template>, <place>)".
absl::Status RenderedTextError(const absl::Status& inner, const Template& tmpl,
                               const std::string& place) {
  return cxp::InvalidArgument("variables", absl::StrCat("rendered ", inner.message(), " (",
                                                        TemplateLabel(tmpl), ", ", place, ")"));
}

// What one place (locale and channel) misses.
struct MissingAt {
  std::string place;
  std::vector<std::string> names;
};

absl::Status MissingVariablesError(const Template& tmpl, const std::vector<MissingAt>& places) {
  std::set<std::string> all;
  bool same_everywhere = true;
  for (const MissingAt& at : places) {
    all.insert(at.names.begin(), at.names.end());
    same_everywhere = same_everywhere && at.names == places.front().names;
  }
  std::vector<std::string> where;
  for (const MissingAt& at : places) {
    where.push_back(same_everywhere ? at.place
                                    : absl::StrCat(at.place, ": ", absl::StrJoin(at.names, ", ")));
  }
  return cxp::InvalidArgument(
      "variables", absl::StrCat("missing ", absl::StrJoin(all, ", "), " (needed by ",
                                TemplateLabel(tmpl), ", ", absl::StrJoin(where, "; "), ")"));
}

}  // namespace

bool IsNotificationChannel(Channel channel) {
  switch (channel) {
    case cxp::type::v1::CHANNEL_EMAIL:
    case cxp::type::v1::CHANNEL_SMS:
    case cxp::type::v1::CHANNEL_PUSH:
    case cxp::type::v1::CHANNEL_CHAT:
    case cxp::type::v1::CHANNEL_SOCIAL:
    case cxp::type::v1::CHANNEL_WEB:
      return true;
    default:
      return false;
  }
}

bool HasContentFor(const TemplateLocale& locale, Channel channel) {
  switch (channel) {
    case cxp::type::v1::CHANNEL_EMAIL:
      return locale.has_email();
    case cxp::type::v1::CHANNEL_SMS:
      return locale.has_sms();
    case cxp::type::v1::CHANNEL_PUSH:
      return locale.has_push();
    case cxp::type::v1::CHANNEL_CHAT:
    case cxp::type::v1::CHANNEL_SOCIAL:
    case cxp::type::v1::CHANNEL_WEB:
      return locale.has_webhook();
    default:
      return false;
  }
}

std::vector<std::string> LocaleFallbackChain(absl::string_view language_code) {
  std::vector<std::string> chain;
  std::string tag(language_code);
  while (!tag.empty()) {
    chain.push_back(tag);
    size_t dash = tag.rfind('-');
    if (dash == std::string::npos) break;
    tag.resize(dash);
    dash = tag.rfind('-');
    if (dash != std::string::npos && tag.size() - dash == 2) tag.resize(dash);  // a singleton
  }
  chain.push_back("");
  return chain;
}

const TemplateLocale* ChooseTemplateLocale(const Template& tmpl, Channel channel,
                                           absl::string_view language_code) {
  for (const std::string& code : LocaleFallbackChain(language_code)) {
    for (const TemplateLocale& locale : tmpl.locales()) {
      if (absl::EqualsIgnoreCase(locale.language_code(), code) && HasContentFor(locale, channel)) {
        return &locale;
      }
    }
  }
  return nullptr;
}

absl::StatusOr<RenderedContent> RenderTemplate(const Template& tmpl, Channel channel,
                                               absl::string_view language_code,
                                               const TemplateVariables& variables,
                                               const BuiltinValues& builtins) {
  ASSIGN_OR_RETURN(const TemplateLocale* locale, LocaleOrError(tmpl, channel, language_code));
  RenderedContent rendered;
  rendered.channel = channel;
  rendered.template_name = tmpl.name();
  rendered.template_version = tmpl.version();
  rendered.language_code = locale->language_code();
  ASSIGN_OR_RETURN(std::vector<TextSlot> slots, PrepareContent(tmpl, *locale, channel, rendered));

  const TemplateValues values(variables, builtins.customer_display_name);
  const std::string place = PlaceLabel(*locale, channel);
  Inspection inspection = InspectSlots(slots, values, channel);
  if (!inspection.missing.empty()) {
    return MissingVariablesError(tmpl, {MissingAt{place, std::move(inspection.missing)}});
  }
  if (!inspection.size_status.ok()) return RenderedTextError(inspection.size_status, tmpl, place);

  for (TextSlot& slot : slots) {
    *slot.output = slot.text.Render(values);
    const absl::Status status = validation::CheckTextFieldSize(*slot.output, *slot.rule, slot.path);
    if (!status.ok()) return RenderedTextError(status, tmpl, place);
  }
  if (auto* webhook = std::get_if<WebhookContent>(&rendered.content)) {
    ASSIGN_OR_RETURN(const std::string json, validation::PayloadJson(webhook->payload()));
    if (json.size() > validation::kMaxWebhookPayloadBytes) {
      return RenderedTextError(
          cxp::InvalidArgument("webhook.payload",
                               absl::StrCat("must be at most ", validation::kMaxWebhookPayloadBytes,
                                            " bytes as JSON (got ", json.size(), ")")),
          tmpl, place);
    }
  }
  return rendered;
}

absl::Status CheckTemplateVariables(const Template& tmpl, absl::Span<const Channel> channels,
                                    absl::string_view language_code,
                                    const TemplateVariables& variables,
                                    const BuiltinValues& builtins) {
  const TemplateValues values(variables, builtins.customer_display_name);
  std::vector<MissingAt> places;
  std::set<std::string> seen_places;
  for (const Channel channel : channels) {
    if (!IsNotificationChannel(channel)) continue;
    const TemplateLocale* locale = ChooseTemplateLocale(tmpl, channel, language_code);
    if (locale == nullptr) continue;
    std::string place = PlaceLabel(*locale, channel);
    if (!seen_places.insert(place).second) continue;
    RenderedContent scratch;
    ASSIGN_OR_RETURN(std::vector<TextSlot> slots, PrepareContent(tmpl, *locale, channel, scratch));
    Inspection inspection = InspectSlots(slots, values, channel);
    if (!inspection.missing.empty()) {
      places.push_back(MissingAt{std::move(place), std::move(inspection.missing)});
    }
  }
  if (places.empty()) return absl::OkStatus();
  return MissingVariablesError(tmpl, places);
}

}  // namespace cxp::notify
