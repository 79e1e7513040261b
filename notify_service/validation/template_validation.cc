#include "notify_service/validation/template_validation.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status/status_macros.h"
#include "context_service/validation/profile_validation.h"
#include "google/protobuf/util/json_util.h"

namespace cxp::notify::validation {
namespace {

using cxp::notify::v1::EmailContent;
using cxp::notify::v1::PushContent;
using cxp::notify::v1::SmsContent;
using cxp::notify::v1::Template;
using cxp::notify::v1::TemplateLocale;
using cxp::notify::v1::WebhookContent;
using cxp::validation::ControlChars;
using cxp::validation::FieldPath;
using cxp::validation::IndexedPath;
using cxp::validation::InvalidField;
using cxp::validation::QuoteForMessage;
using cxp::validation::ValidateText;
using google::protobuf::Struct;
using google::protobuf::Value;

// Keys of a map, sorted, so that errors do not depend on hash order.
template <typename Map>
std::vector<std::string> SortedKeys(const Map& map) {
  std::vector<std::string> keys;
  keys.reserve(map.size());
  for (const auto& [key, value] : map) keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  return keys;
}

bool IsIdentifierKey(absl::string_view key) {
  if (key.empty()) return false;
  for (size_t i = 0; i < key.size(); ++i) {
    const char c = key[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && (i == 0 || c < '0' || c > '9')) return false;
  }
  return true;
}

absl::Status CheckTextField(absl::string_view text, const TextFieldRule& rule,
                            absl::string_view field) {
  return ParseTextField(text, rule, field).status();
}

absl::Status ValidateEmail(const EmailContent& email, absl::string_view field) {
  RETURN_IF_ERROR(
      CheckTextField(email.subject(), kEmailSubjectRule, FieldPath(field, kEmailSubjectRule.name)));
  RETURN_IF_ERROR(CheckTextField(email.text_body(), kEmailTextBodyRule,
                                 FieldPath(field, kEmailTextBodyRule.name)));
  return CheckTextField(email.html_body(), kEmailHtmlBodyRule,
                        FieldPath(field, kEmailHtmlBodyRule.name));
}

absl::Status ValidateSms(const SmsContent& sms, absl::string_view field) {
  return CheckTextField(sms.text(), kSmsTextRule, FieldPath(field, kSmsTextRule.name));
}

absl::Status ValidatePush(const PushContent& push, absl::string_view field) {
  RETURN_IF_ERROR(
      CheckTextField(push.title(), kPushTitleRule, FieldPath(field, kPushTitleRule.name)));
  RETURN_IF_ERROR(CheckTextField(push.body(), kPushBodyRule, FieldPath(field, kPushBodyRule.name)));
  const std::string data_field = FieldPath(field, "data");
  if (push.data_size() > kMaxPushDataEntries) {
    return InvalidField(data_field, absl::StrCat("must have at most ", kMaxPushDataEntries,
                                                 " entries (got ", push.data_size(), ")"));
  }
  for (const std::string& key : SortedKeys(push.data())) {
    const std::string entry = absl::StrCat(data_field, "[", QuoteForMessage(key), "]");
    if (!ValidateText(key, entry, 1, kMaxPushDataKeyChars).ok()) {
      return InvalidField(
          data_field, absl::StrCat("key ", QuoteForMessage(key), " must be 1 to ",
                                   kMaxPushDataKeyChars, " characters without control characters"));
    }
    RETURN_IF_ERROR(CheckTextField(push.data().at(key), kPushDataValueRule, entry));
  }
  return absl::OkStatus();
}

absl::Status ValidatePayloadValue(const Value& value, absl::string_view field, int depth);

absl::Status ValidatePayloadStruct(const Struct& object, absl::string_view field, int depth) {
  if (depth > kMaxWebhookPayloadDepth) {
    return InvalidField(field, absl::StrCat("must not be nested more than ",
                                            kMaxWebhookPayloadDepth, " levels deep"));
  }
  for (const std::string& key : SortedKeys(object.fields())) {
    RETURN_IF_ERROR(
        ValidatePayloadValue(object.fields().at(key), PayloadKeyPath(field, key), depth));
  }
  return absl::OkStatus();
}

absl::Status ValidatePayloadValue(const Value& value, absl::string_view field, int depth) {
  switch (value.kind_case()) {
    case Value::KIND_NOT_SET:
      return InvalidField(field, "must be set to a JSON value");
    case Value::kNumberValue:
      if (!std::isfinite(value.number_value())) {
        return InvalidField(field, "must be a finite number");
      }
      return absl::OkStatus();
    case Value::kStringValue:
      return CheckTextField(value.string_value(), kWebhookStringRule, field);
    case Value::kStructValue:
      return ValidatePayloadStruct(value.struct_value(), field, depth + 1);
    case Value::kListValue:
      if (depth + 1 > kMaxWebhookPayloadDepth) {
        return InvalidField(field, absl::StrCat("must not be nested more than ",
                                                kMaxWebhookPayloadDepth, " levels deep"));
      }
      for (int i = 0; i < value.list_value().values_size(); ++i) {
        RETURN_IF_ERROR(
            ValidatePayloadValue(value.list_value().values(i), IndexedPath(field, i), depth + 1));
      }
      return absl::OkStatus();
    case Value::kNullValue:
    case Value::kBoolValue:
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

absl::Status ValidateWebhook(const WebhookContent& webhook, absl::string_view field) {
  const std::string payload_field = FieldPath(field, "payload");
  if (!webhook.has_payload()) return InvalidField(payload_field, "must be set");
  RETURN_IF_ERROR(ValidatePayloadStruct(webhook.payload(), payload_field, 1));
  ASSIGN_OR_RETURN(const std::string json, PayloadJson(webhook.payload()));
  if (json.size() > kMaxWebhookPayloadBytes) {
    return InvalidField(payload_field, absl::StrCat("must be at most ", kMaxWebhookPayloadBytes,
                                                    " bytes as JSON (got ", json.size(), ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> NormalizeLanguageCode(absl::string_view code, absl::string_view field) {
  if (code.empty()) return std::string();
  return cxp::context::validation::ValidateLanguageCode(code, field);
}

absl::Status ValidateLocaleContent(const TemplateLocale& locale, absl::string_view field) {
  if (!locale.has_email() && !locale.has_sms() && !locale.has_push() && !locale.has_webhook()) {
    return InvalidField(field,
                        "must have content for at least one channel (email, sms, push or webhook)");
  }
  if (locale.has_email()) RETURN_IF_ERROR(ValidateEmail(locale.email(), FieldPath(field, "email")));
  if (locale.has_sms()) RETURN_IF_ERROR(ValidateSms(locale.sms(), FieldPath(field, "sms")));
  if (locale.has_push()) RETURN_IF_ERROR(ValidatePush(locale.push(), FieldPath(field, "push")));
  if (locale.has_webhook()) {
    RETURN_IF_ERROR(ValidateWebhook(locale.webhook(), FieldPath(field, "webhook")));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckTextFieldSize(absl::string_view text, const TextFieldRule& rule,
                                absl::string_view field) {
  if (rule.unit == SizeUnit::kCharacters) {
    return ValidateText(text, field, rule.required ? 1 : 0, rule.max_size, rule.controls);
  }
  // Byte limits: the characters first (any count), then the bytes.
  RETURN_IF_ERROR(ValidateText(text, field, rule.required ? 1 : 0, text.size(), rule.controls));
  if (text.size() > rule.max_size) {
    return InvalidField(
        field, absl::StrCat("must be at most ", rule.max_size, " bytes (got ", text.size(), ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<TemplateText> ParseTextField(absl::string_view text, const TextFieldRule& rule,
                                            absl::string_view field) {
  RETURN_IF_ERROR(CheckTextFieldSize(text, rule, field));
  return TemplateText::Parse(text, rule.escaping, field);
}

namespace {

void AppendJsonString(absl::string_view text, std::string& out) {
  out.push_back('"');
  for (const char c : text) {
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", static_cast<unsigned char>(c));
        } else {
          out.push_back(c);  // UTF-8 passes through
        }
    }
  }
  out.push_back('"');
}

absl::Status AppendJsonValue(const Value& value, std::string& out);

absl::Status AppendJsonStruct(const Struct& object, std::string& out) {
  // Keys sorted: the same payload always gives the same bytes.
  std::vector<const google::protobuf::MapPair<std::string, Value>*> entries;
  entries.reserve(object.fields().size());
  for (const auto& entry : object.fields()) entries.push_back(&entry);
  std::sort(entries.begin(), entries.end(),
            [](const auto* a, const auto* b) { return a->first < b->first; });
  out.push_back('{');
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendJsonString(entries[i]->first, out);
    out.push_back(':');
    RETURN_IF_ERROR(AppendJsonValue(entries[i]->second, out));
  }
  out.push_back('}');
  return absl::OkStatus();
}

absl::Status AppendJsonValue(const Value& value, std::string& out) {
  switch (value.kind_case()) {
    case Value::kNullValue:
      out.append("null");
      return absl::OkStatus();
    case Value::kNumberValue: {
      const double number = value.number_value();
      if (!std::isfinite(number)) {
        return absl::InternalError(
            "webhook payload cannot be written as JSON: a number is not finite");
      }
      // Integers exactly as such; anything else with enough digits to read
      // back the same double.
      if (std::trunc(number) == number && std::fabs(number) < 1e15) {
        absl::StrAppend(&out, static_cast<int64_t>(number));
      } else {
        absl::StrAppendFormat(&out, "%.17g", number);
      }
      return absl::OkStatus();
    }
    case Value::kStringValue:
      AppendJsonString(value.string_value(), out);
      return absl::OkStatus();
    case Value::kBoolValue:
      out.append(value.bool_value() ? "true" : "false");
      return absl::OkStatus();
    case Value::kStructValue:
      return AppendJsonStruct(value.struct_value(), out);
    case Value::kListValue: {
      out.push_back('[');
      bool first = true;
      for (const Value& item : value.list_value().values()) {
        if (!first) out.push_back(',');
        first = false;
        RETURN_IF_ERROR(AppendJsonValue(item, out));
      }
      out.push_back(']');
      return absl::OkStatus();
    }
    case Value::KIND_NOT_SET:
      break;
  }
  return absl::InternalError("webhook payload cannot be written as JSON: a value is not set");
}

}  // namespace

absl::StatusOr<std::string> PayloadJson(const Struct& payload) {
  std::string json;
  RETURN_IF_ERROR(AppendJsonStruct(payload, json));
  return json;
}

std::string PayloadKeyPath(absl::string_view prefix, absl::string_view key) {
  if (IsIdentifierKey(key)) return FieldPath(prefix, key);
  return absl::StrCat(prefix, "[", QuoteForMessage(key), "]");
}

absl::Status ValidateTemplateDisplayName(absl::string_view display_name, absl::string_view field) {
  return ValidateText(display_name, field, 1, kMaxTemplateDisplayNameChars);
}

absl::StatusOr<google::protobuf::RepeatedPtrField<TemplateLocale>> NormalizeTemplateLocales(
    const google::protobuf::RepeatedPtrField<TemplateLocale>& locales, absl::string_view field) {
  if (locales.empty()) return InvalidField(field, "must have at least one locale");
  if (locales.size() > kMaxTemplateLocales) {
    return InvalidField(field, absl::StrCat("must have at most ", kMaxTemplateLocales,
                                            " locales (got ", locales.size(), ")"));
  }
  google::protobuf::RepeatedPtrField<TemplateLocale> out = locales;
  absl::flat_hash_map<std::string, int> first_index;  // canonical code -> index
  for (int i = 0; i < out.size(); ++i) {
    const std::string entry = IndexedPath(field, i);
    const std::string code_field = FieldPath(entry, "language_code");
    ASSIGN_OR_RETURN(std::string code, NormalizeLanguageCode(out[i].language_code(), code_field));
    const auto [it, inserted] = first_index.emplace(code, i);
    if (!inserted) {
      return InvalidField(
          code_field, absl::StrCat("repeats ", IndexedPath(field, it->second), ".language_code"));
    }
    out[i].set_language_code(std::move(code));
    RETURN_IF_ERROR(ValidateLocaleContent(out[i], entry));
  }
  if (!first_index.contains("")) {
    return InvalidField(field, "must have exactly one default locale (language_code \"\")");
  }
  return out;
}

absl::StatusOr<Template> NormalizeTemplate(const Template& tmpl, absl::string_view field) {
  RETURN_IF_ERROR(
      ValidateTemplateDisplayName(tmpl.display_name(), FieldPath(field, "display_name")));
  ASSIGN_OR_RETURN(auto locales,
                   NormalizeTemplateLocales(tmpl.locales(), FieldPath(field, "locales")));
  Template out = tmpl;
  *out.mutable_locales() = std::move(locales);
  out.clear_version();
  out.clear_create_time();
  out.clear_update_time();
  return out;
}

absl::Status ValidateVariableName(absl::string_view name, absl::string_view field) {
  if (IsVariableName(name)) return absl::OkStatus();
  return InvalidField(field, absl::StrCat("must be a variable name ([a-z][a-z0-9_]*, at most ",
                                          kMaxVariableNameChars, " characters, not \"",
                                          kReservedVariableName, "\")"));
}

absl::Status ValidateTemplateVariables(
    const google::protobuf::Map<std::string, std::string>& variables, absl::string_view field) {
  if (static_cast<int>(variables.size()) > kMaxSendVariables) {
    return InvalidField(field, absl::StrCat("must have at most ", kMaxSendVariables,
                                            " entries (got ", variables.size(), ")"));
  }
  for (const std::string& name : SortedKeys(variables)) {
    const std::string entry = absl::StrCat(field, "[", QuoteForMessage(name), "]");
    RETURN_IF_ERROR(ValidateVariableName(name, entry));
    RETURN_IF_ERROR(ValidateText(variables.at(name), entry, 0, kMaxVariableValueChars,
                                 ControlChars::kAllowNewlines));
  }
  return absl::OkStatus();
}

}  // namespace cxp::notify::validation
