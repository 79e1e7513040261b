// Checks and normalisation of notification templates (CreateTemplate,
// UpdateTemplate) and of a send's variables. The comments in
// protos/cxp/notify/v1/template.proto and notify_service.proto are the
// contract for every rule here; the placeholder syntax is template_text.h's.
//
// Rules (paths relative to the caller's `field`, normally "template"):
//   display_name   required, at most 256 characters, no control characters.
//   locales        1 to 50. Each:
//     language_code  "" (the default locale) or a BCP-47 tag, checked and
//                    put in canonical case by context_service's
//                    ValidateLanguageCode ("KO-kr" -> "ko-KR"), the rule
//                    customers' language codes pass, so the two match; no
//                    code twice (after canonicalisation); exactly one "".
//     content        at least one of email, sms, push, webhook.
//     email          subject required, at most 255 characters, no control
//                    characters; text_body required, at most 100 KiB;
//                    html_body optional, at most 500 KiB, HTML-escaped.
//     sms            text required, at most 1600 characters.
//     push           title required, at most 100 characters, no control
//                    characters; body required, at most 1000 characters;
//                    data at most 20 entries, keys 1 to 64 characters without
//                    control characters, values at most 1000 characters.
//     webhook        payload required: a JSON object nested at most 32
//                    levels, every value set, numbers finite, at most 64 KiB
//                    as JSON; placeholders only in string values (keys are
//                    literal).
//   Every text (each string of a payload too) is valid UTF-8 with no control
//   characters other than TAB, LF and CR (none at all where stated above),
//   and parses per template_text.h. Each size limit holds for the template
//   text and again for the rendered text (template_renderer.h).
//   allow_quiet_hours_bypass  nothing to check.
// Output-only fields (version, create_time, update_time) are cleared in the
// returned copy; name and etag are copied unchecked.
//
// Errors: INVALID_ARGUMENT "<field path>: <problem>", the first found in
// field-number order (map entries in key order), e.g.
// "template.locales[1].email.html_body: unclosed section \"items\" at offset
// 42", "template.locales[2].language_code: repeats
// template.locales[0].language_code". Messages quote placeholder names and
// keys, never the text of a field.
//
// Pure functions, thread-safe.

#ifndef CXP_NOTIFY_SERVICE_VALIDATION_TEMPLATE_VALIDATION_H_
#define CXP_NOTIFY_SERVICE_VALIDATION_TEMPLATE_VALIDATION_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/validation/text_rules.h"
#include "cxp/notify/v1/template.pb.h"
#include "google/protobuf/map.h"
#include "google/protobuf/repeated_field.h"
#include "google/protobuf/struct.pb.h"
#include "notify_service/validation/template_text.h"

namespace cxp::notify::validation {

inline constexpr size_t kMaxTemplateDisplayNameChars = 256;
inline constexpr int kMaxTemplateLocales = 50;
inline constexpr int kMaxPushDataEntries = 20;
inline constexpr size_t kMaxPushDataKeyChars = 64;
inline constexpr size_t kMaxWebhookPayloadBytes = 64 * 1024;  // as JSON
inline constexpr int kMaxWebhookPayloadDepth = 32;
inline constexpr int kMaxSendVariables = 100;
inline constexpr size_t kMaxVariableValueChars = 4096;

// How a size limit is counted.
enum class SizeUnit {
  kCharacters,  // Unicode code points
  kBytes,       // UTF-8 bytes
};

// The rules of one template text field, for its template text and its
// rendered text alike.
struct TextFieldRule {
  absl::string_view name;  // path below the content message, e.g. "subject"
  TextEscaping escaping;
  cxp::validation::ControlChars controls;
  size_t max_size;  // in `unit`
  SizeUnit unit;
  bool required;  // must not be empty (in the template)
};

inline constexpr TextFieldRule kEmailSubjectRule{
    "subject", TextEscaping::kPlain,  cxp::validation::ControlChars::kNone,
    255,       SizeUnit::kCharacters, true};
inline constexpr TextFieldRule kEmailTextBodyRule{
    "text_body", TextEscaping::kPlain, cxp::validation::ControlChars::kAllowNewlines,
    100 * 1024,  SizeUnit::kBytes,     true};
inline constexpr TextFieldRule kEmailHtmlBodyRule{
    "html_body", TextEscaping::kHtml, cxp::validation::ControlChars::kAllowNewlines,
    500 * 1024,  SizeUnit::kBytes,    false};
inline constexpr TextFieldRule kSmsTextRule{
    "text", TextEscaping::kPlain,  cxp::validation::ControlChars::kAllowNewlines,
    1600,   SizeUnit::kCharacters, true};
inline constexpr TextFieldRule kPushTitleRule{
    "title", TextEscaping::kPlain,  cxp::validation::ControlChars::kNone,
    100,     SizeUnit::kCharacters, true};
inline constexpr TextFieldRule kPushBodyRule{
    "body", TextEscaping::kPlain,  cxp::validation::ControlChars::kAllowNewlines,
    1000,   SizeUnit::kCharacters, true};
// One value of push.data (name unused: the path is data["<key>"]).
inline constexpr TextFieldRule kPushDataValueRule{
    "data", TextEscaping::kPlain,  cxp::validation::ControlChars::kAllowNewlines,
    1000,   SizeUnit::kCharacters, false};
// One string value of webhook.payload; the payload as a whole is limited
// to kMaxWebhookPayloadBytes as JSON.
inline constexpr TextFieldRule kWebhookStringRule{"payload",
                                                  TextEscaping::kPlain,
                                                  cxp::validation::ControlChars::kAllowNewlines,
                                                  kMaxWebhookPayloadBytes,
                                                  SizeUnit::kBytes,
                                                  false};

// Checks `text` against `rule`'s characters and size, not its syntax:
// "must be valid UTF-8", "must not contain control characters", "must not
// be empty" (required rules), "must be at most 255 characters (got 300)",
// "must be at most 102400 bytes (got 102401)".
absl::Status CheckTextFieldSize(absl::string_view text, const TextFieldRule& rule,
                                absl::string_view field);

// CheckTextFieldSize, then TemplateText::Parse with the rule's escaping.
absl::StatusOr<TemplateText> ParseTextField(absl::string_view text, const TextFieldRule& rule,
                                            absl::string_view field);

// `payload` serialised as the JSON the webhook posts (compact, keys as
// given and sorted, integers below 1e15 as integers, other numbers with 17
// significant digits, strings as UTF-8 with '"', '\\' and control
// characters escaped), or INTERNAL when it cannot be JSON (a value not set,
// a non-finite number). Written by hand: protobuf's JSON printer took a
// tenth of the dispatcher's CPU (docs/performance.md, "Delivery
// throughput").
absl::StatusOr<std::string> PayloadJson(const google::protobuf::Struct& payload);

// "payload.order", or payload["an odd key"] for keys that are not
// [A-Za-z_][A-Za-z0-9_]*: the path of a payload entry in messages.
std::string PayloadKeyPath(absl::string_view prefix, absl::string_view key);

// Template.display_name: 1 to 256 characters, no control characters.
absl::Status ValidateTemplateDisplayName(absl::string_view display_name, absl::string_view field);

// Template.locales per the rules above; returns them with language codes in
// canonical case, otherwise unchanged, in the same order.
absl::StatusOr<google::protobuf::RepeatedPtrField<cxp::notify::v1::TemplateLocale>>
NormalizeTemplateLocales(
    const google::protobuf::RepeatedPtrField<cxp::notify::v1::TemplateLocale>& locales,
    absl::string_view field);

// Every configuration field of `tmpl` (display_name, locales); returns a
// copy with NormalizeTemplateLocales' locales and the output-only fields
// cleared. For CreateTemplate, and for UpdateTemplate when its mask selects
// every field (otherwise check the selected fields with the two functions
// above).
absl::StatusOr<cxp::notify::v1::Template> NormalizeTemplate(const cxp::notify::v1::Template& tmpl,
                                                            absl::string_view field);

// A variable name per IsVariableName, else `<field>: must be a variable name
// ([a-z][a-z0-9_]*, at most 64 characters, not "customer")`. `field` names
// the map entry, e.g. `variables["Name"]`.
absl::Status ValidateVariableName(absl::string_view name, absl::string_view field);

// SendNotificationRequest.variables: at most 100 entries; names per
// IsVariableName ("customer" is reserved); values valid UTF-8, at most 4096
// characters, no control characters other than TAB, LF and CR. Errors name
// the entry: `variables["Name"]: must be a variable name ([a-z][a-z0-9_]*,
// at most 64 characters, not "customer")`.
absl::Status ValidateTemplateVariables(
    const google::protobuf::Map<std::string, std::string>& variables, absl::string_view field);

}  // namespace cxp::notify::validation

#endif  // CXP_NOTIFY_SERVICE_VALIDATION_TEMPLATE_VALIDATION_H_
