// Locale choice and rendering of notification templates for one channel.
// protos/cxp/notify/v1/template.proto is the contract; the placeholder syntax
// is notify_service/validation/template_text.h's and the size rules
// template_validation.h's. Expects templates that passed NormalizeTemplate;
// anything else is reported, never trusted.
//
// Locale choice: the customer's language is looked up along its fallback
// chain, "zh-Hant-TW" -> "zh-Hant" -> "zh" -> "" (the default locale),
// comparing case-insensitively, and for each channel the first locale in the
// chain with content for that channel is taken: a "ko-KR" customer gets the
// "ko" SMS and the default email when "ko" has no email.
//
// Content per channel: EMAIL email, SMS sms, PUSH push, CHAT / SOCIAL / WEB
// webhook; VOICE and IN_PERSON have none.
//
// Rendering: values are inserted as text, HTML-escaped in email.html_body
// only; in a webhook payload only string values are rendered (keys and
// structure come from the template), so a value cannot change the JSON.
// Every limit of template_validation.h applies again to the rendered text;
// a render whose text before Mustache drops standalone section lines would
// exceed the limit by more than the template text's own size is refused
// without rendering it (bounds memory).
//
// Errors:
//   INVALID_ARGUMENT "channel: VOICE is not supported for notifications";
//   INVALID_ARGUMENT "variables: missing appointment_time, clinic_name
//     (needed by templates/reminder version 3, locale ko, channel SMS)":
//     every placeholder the render reaches without a value, sorted;
//   INVALID_ARGUMENT "variables: rendered email.subject: must be at most 255
//     characters (got 300) (templates/reminder version 3, locale ko, channel
//     EMAIL)": a rendered text breaks a rule (size, control characters in a
//     subject or push title, empty required text);
//   FAILED_PRECONDITION "templates/reminder version 3: no content for channel
//     SMS in locale \"ko-KR\", \"ko\" or the default locale";
//   FAILED_PRECONDITION "templates/reminder version 3: stored content is
//     invalid: ..." when a text does not parse.
//
// Functions of their arguments, thread-safe; results own their data. Parsed
// texts are kept in a bounded process-wide cache keyed by the content's
// bytes, so each template version's texts are parsed once, not per render.

#ifndef CXP_NOTIFY_SERVICE_CORE_TEMPLATE_RENDERER_H_
#define CXP_NOTIFY_SERVICE_CORE_TEMPLATE_RENDERER_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "cxp/notify/v1/template.pb.h"
#include "cxp/type/v1/channel.pb.h"

namespace cxp::notify {

// A send's variables, name -> value (SendNotificationRequest.variables).
using TemplateVariables = std::map<std::string, std::string>;

// The built-in placeholders' values.
struct BuiltinValues {
  // {{customer.display_name}}; nullopt when the recipient has no customer
  // record (the placeholder then has no value). "" is a value: it renders
  // empty and makes sections over it false.
  std::optional<std::string> customer_display_name;
};

// One channel's content after rendering.
struct RenderedContent {
  cxp::type::v1::Channel channel = cxp::type::v1::CHANNEL_UNSPECIFIED;
  std::string template_name;     // Template.name
  int64_t template_version = 0;  // Template.version
  std::string language_code;     // the locale used; "" is the default locale
  // EmailContent for EMAIL, SmsContent for SMS, PushContent for PUSH,
  // WebhookContent for CHAT, SOCIAL and WEB; html_body stays empty when the
  // template has none.
  std::variant<cxp::notify::v1::EmailContent, cxp::notify::v1::SmsContent,
               cxp::notify::v1::PushContent, cxp::notify::v1::WebhookContent>
      content;
};

// True for the channels templates have content for (all but VOICE,
// IN_PERSON and UNSPECIFIED).
bool IsNotificationChannel(cxp::type::v1::Channel channel);

// True if `locale` has content for `channel`.
bool HasContentFor(const cxp::notify::v1::TemplateLocale& locale, cxp::type::v1::Channel channel);

// The lookup chain of `language_code`, most specific first, ending with ""
// (the default locale): "ko-KR" -> {"ko-KR", "ko", ""}. A subtag of one
// character left at the end is dropped with the one after it
// ("en-US-u-ca-buddhist" -> ..., "en-US-u-ca", "en-US", "en", ""), as RFC
// 4647 lookup does. Any string is accepted; "" gives {""}.
std::vector<std::string> LocaleFallbackChain(absl::string_view language_code);

// The locale of `tmpl` used for `channel` and a customer speaking
// `language_code`: the first in LocaleFallbackChain(language_code) that has
// content for `channel` (codes compared case-insensitively), or nullptr if
// none has. Points into `tmpl`.
const cxp::notify::v1::TemplateLocale* ChooseTemplateLocale(const cxp::notify::v1::Template& tmpl,
                                                            cxp::type::v1::Channel channel,
                                                            absl::string_view language_code);

// Renders `tmpl` for `channel` in the locale ChooseTemplateLocale picks.
// Errors: see above.
absl::StatusOr<RenderedContent> RenderTemplate(const cxp::notify::v1::Template& tmpl,
                                               cxp::type::v1::Channel channel,
                                               absl::string_view language_code,
                                               const TemplateVariables& variables,
                                               const BuiltinValues& builtins);

// The missing-variable check of RenderTemplate for several channels at
// once, without rendering (for SendNotification, before the channel is
// known): channels that are not notification channels or have no content
// are skipped. Errors: INVALID_ARGUMENT naming every missing placeholder,
// sorted, and where each channel needs them: "variables: missing a, b
// (needed by templates/x version 3, locale ko, channel SMS; default locale,
// channel EMAIL)"; FAILED_PRECONDITION if a text does not parse.
absl::Status CheckTemplateVariables(const cxp::notify::v1::Template& tmpl,
                                    absl::Span<const cxp::type::v1::Channel> channels,
                                    absl::string_view language_code,
                                    const TemplateVariables& variables,
                                    const BuiltinValues& builtins);

}  // namespace cxp::notify

#endif  // CXP_NOTIFY_SERVICE_CORE_TEMPLATE_RENDERER_H_
