// One Mustache text of a notification template (an email subject, an SMS
// text, one string of a webhook payload, ...), parsed with the Debian package
// libkainjow-mustache-dev and checked against the placeholder rules of
// protos/cxp/notify/v1/template.proto. Shared by the template validator
// (template_validation.h) and the renderer (notify_service/core/
// template_renderer.h), so both accept exactly the same syntax.
//
// Syntax allowed (everything else is INVALID_ARGUMENT at parse time):
//   {{name}}            a request variable: [a-z][a-z0-9_]*, at most 64
//                       characters, not "customer" (reserved for built-ins)
//   {{customer.display_name}}  the built-in
//   {{#name}}..{{/name}}  section: rendered when the placeholder has a
//                       non-empty value, skipped when it is empty or absent
//   {{^name}}..{{/name}}  inverted section: rendered when it is empty or absent
//   {{! comment }}      dropped
//   {{{name}}} {{&name}}  unescaped forms: allowed in plain text (where they
//                       are identical to {{name}}), refused in HTML
// Refused: partials ({{>name}}, a template cannot include other text),
// set-delimiter tags ({{=<% %>=}}), {{.}} and other names, sections nested
// more than kMaxSectionDepth deep. Lambdas cannot occur: the values handed to
// Mustache are strings only, so a value is always inserted as text and never
// rendered as a template ("{{x}}" in a value comes out literally).
//
// A value is needed when a {{name}} that the render reaches (outside skipped
// sections) refers to it; the name of a section is a condition, never needed.
// An empty value counts as given: it renders empty and makes sections false.
//
// Errors name the field and the byte offset in the text, e.g.
// `template.locales[1].email.html_body: unclosed section "items" at offset 42`.
//
// Thread-safety: TemplateText and TemplateValues are immutable after
// construction; const methods may be called from any thread. Neither keeps a
// reference to its constructor's arguments.

#ifndef CXP_NOTIFY_SERVICE_VALIDATION_TEMPLATE_TEXT_H_
#define CXP_NOTIFY_SERVICE_VALIDATION_TEMPLATE_TEXT_H_

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cxp::notify::validation {

inline constexpr size_t kMaxVariableNameChars = 64;
inline constexpr int kMaxSectionDepth = 16;
// The only built-in placeholder.
inline constexpr absl::string_view kCustomerDisplayName = "customer.display_name";
// Reserved as a variable name: the built-ins live under it.
inline constexpr absl::string_view kReservedVariableName = "customer";

// How values are inserted into a text.
enum class TextEscaping {
  kPlain,  // as is: subjects, text bodies, SMS, push, webhook payload strings
  kHtml,   // HTML-escaped (& < > " '): html_body; unescaped forms refused
};

// True if `name` is a request variable name: [a-z][a-z0-9_]*, at most 64
// characters, and not "customer".
bool IsVariableName(absl::string_view name);

// The values one render may use: the request's variables and the built-ins.
class TemplateValues {
 public:
  // `customer_display_name` is nullopt when there is no customer record
  // (the placeholder then has no value). A variable named "customer" is
  // ignored (the name is reserved).
  TemplateValues(const std::map<std::string, std::string>& variables,
                 std::optional<std::string> customer_display_name);
  ~TemplateValues();
  TemplateValues(const TemplateValues&) = delete;
  TemplateValues& operator=(const TemplateValues&) = delete;

  // The value of a placeholder name ("appointment_time",
  // "customer.display_name"), or nullptr if it has none.
  const std::string* Find(absl::string_view placeholder) const;

 private:
  friend class TemplateText;
  struct Data;
  std::unique_ptr<const Data> data_;
};

// A parsed, checked Mustache text.
class TemplateText {
 public:
  // Parses `text` and checks every tag against the rules above. `field` is
  // the path used in error messages. Does not check the text's size or
  // characters (template_validation.h does).
  // Errors: INVALID_ARGUMENT "<field>: <problem> at offset <byte offset>".
  static absl::StatusOr<TemplateText> Parse(absl::string_view text, TextEscaping escaping,
                                            absl::string_view field);

  // What rendering with `values` would need and produce.
  struct Requirements {
    // Placeholders reached without a value, sorted, no repeats.
    std::vector<std::string> missing;
    // Upper bound of the rendered size in bytes: the output before
    // Mustache drops lines that hold only section tags and blanks, which can
    // only make it shorter, and never by more than source size plus
    // values made of blanks only.
    size_t max_rendered_bytes = 0;
  };
  // Walks the parsed text with `values`; renders nothing. Cost linear in the
  // number of tags.
  Requirements Inspect(const TemplateValues& values) const;

  // The rendered text. Placeholders without a value render empty: call
  // Inspect first and refuse a render with missing values. The output can be
  // as large as Requirements::max_rendered_bytes; check that first too.
  std::string Render(const TemplateValues& values) const;

  const std::string& source() const { return source_; }

 private:
  struct Tree;
  TemplateText(std::string source, TextEscaping escaping, std::shared_ptr<const Tree> tree);

  std::string source_;
  TextEscaping escaping_;
  std::shared_ptr<const Tree> tree_;
};

}  // namespace cxp::notify::validation

#endif  // CXP_NOTIFY_SERVICE_VALIDATION_TEMPLATE_TEXT_H_
