#include "notify_service/validation/template_text.h"

#include <algorithm>
#include <kainjow/mustache.hpp>
#include <set>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "common/validation/text_rules.h"

namespace cxp::notify::validation {
namespace {

namespace mustache = ::kainjow::mustache;
using Component = mustache::component<std::string>;
using TagType = mustache::tag_type;
using cxp::validation::InvalidField;
using cxp::validation::QuoteForMessage;

bool IsLowerAlpha(char c) { return c >= 'a' && c <= 'z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Size of `value` after kainjow's html_escape.
size_t HtmlEscapedSize(const std::string& value) {
  size_t size = 0;
  for (const char c : value) {
    switch (c) {
      case '&':
        size += 5;  // &amp;
        break;
      case '<':
      case '>':
        size += 4;  // &lt; &gt;
        break;
      case '"':
      case '\'':
        size += 6;  // &quot; &apos;
        break;
      default:
        size += 1;
    }
  }
  return size;
}

// Looks for what kainjow's parser would accept but we must stop before
// parsing: set-delimiter tags (they change how the rest is tokenised) and
// sections nested so deep that kainjow's recursive walks could exhaust the
// stack. Tokenises exactly as kainjow 4.1 does with the default delimiters:
// the first "{{" starts a tag; "{{{" (not at the very end) ends at "}}}",
// anything else at "}}"; contents are trimmed of ASCII white space. Stops
// quietly at an unclosed tag: the parser reports it.
absl::Status CheckBeforeParsing(absl::string_view text, absl::string_view field) {
  int depth = 0;
  size_t pos = 0;
  while (true) {
    const size_t start = text.find("{{", pos);
    if (start == absl::string_view::npos) return absl::OkStatus();
    size_t contents = start + 2;
    const bool triple = start != text.size() - 2 && text[contents] == '{';
    if (triple) ++contents;
    const absl::string_view closing = triple ? "}}}" : "}}";
    const size_t end = text.find(closing, contents);
    if (end == absl::string_view::npos) return absl::OkStatus();
    const absl::string_view body =
        absl::StripAsciiWhitespace(text.substr(contents, end - contents));
    if (!body.empty() && body.front() == '=') {
      return InvalidField(field,
                          absl::StrCat("set-delimiter tag at offset ", start, " is not supported"));
    }
    if (!triple && !body.empty()) {
      if (body.front() == '#' || body.front() == '^') {
        if (++depth > kMaxSectionDepth) {
          return InvalidField(field, absl::StrCat("sections nested more than ", kMaxSectionDepth,
                                                  " deep at offset ", start));
        }
      } else if (body.front() == '/') {
        depth = std::max(0, depth - 1);
      }
    }
    pos = end + closing.size();
  }
}

// kainjow 4.1's parse errors are "Unclosed tag at N", "Unclosed section
// \"x\" at N", "Unopened section \"x\" at N" and "Invalid set delimiter tag
// at N"; rewritten as "unclosed section \"x\" at offset N" with the name
// quoted by QuoteForMessage. Anything else is passed on lower-cased.
std::string DescribeParseError(absl::string_view message) {
  const auto lower_first = [](absl::string_view s) {
    std::string out(s);
    if (!out.empty()) out[0] = absl::ascii_tolower(static_cast<unsigned char>(out[0]));
    return out;
  };
  const size_t at = message.rfind(" at ");
  if (at == absl::string_view::npos) return lower_first(message);
  const absl::string_view head = message.substr(0, at);
  const absl::string_view offset = message.substr(at + 4);
  const size_t open_quote = head.find('"');
  const size_t close_quote = head.rfind('"');
  if (open_quote != absl::string_view::npos && close_quote > open_quote) {
    return absl::StrCat(lower_first(head.substr(0, open_quote)),
                        QuoteForMessage(head.substr(open_quote + 1, close_quote - open_quote - 1)),
                        " at offset ", offset);
  }
  return absl::StrCat(lower_first(head), " at offset ", offset);
}

// Checks the name of a variable or section tag; `kind` is "placeholder" or
// "section" for the message.
absl::Status CheckTagName(const Component& component, absl::string_view kind,
                          absl::string_view field) {
  const std::string& name = component.tag.name;
  if (name == kCustomerDisplayName || IsVariableName(name)) return absl::OkStatus();
  if (name.empty()) {
    return InvalidField(field, absl::StrCat("empty ", kind, " at offset ", component.position));
  }
  if (name == kReservedVariableName) {
    return InvalidField(field, absl::StrCat(kind, " \"customer\" at offset ", component.position,
                                            " is reserved; use {{customer.display_name}}"));
  }
  return InvalidField(
      field, absl::StrCat(kind, " ", QuoteForMessage(name), " at offset ", component.position,
                          " must be a variable name ([a-z][a-z0-9_]*, at most ",
                          kMaxVariableNameChars, " characters) or ", kCustomerDisplayName));
}

absl::Status CheckComponents(const std::vector<Component>& components, TextEscaping escaping,
                             absl::string_view field) {
  for (const Component& component : components) {
    switch (component.tag.type) {
      case TagType::text:
      case TagType::comment:
      case TagType::section_end:  // removed by the parser once matched
        break;
      case TagType::variable:
        RETURN_IF_ERROR(CheckTagName(component, "placeholder", field));
        break;
      case TagType::unescaped_variable:
        RETURN_IF_ERROR(CheckTagName(component, "placeholder", field));
        if (escaping == TextEscaping::kHtml) {
          return InvalidField(
              field, absl::StrCat("unescaped placeholder ", QuoteForMessage(component.tag.name),
                                  " at offset ", component.position,
                                  " is not allowed in HTML; use {{", component.tag.name, "}}"));
        }
        break;
      case TagType::section_begin:
      case TagType::section_begin_inverted:
        RETURN_IF_ERROR(CheckTagName(component, "section", field));
        RETURN_IF_ERROR(CheckComponents(component.children, escaping, field));
        break;
      case TagType::partial:
        return InvalidField(
            field, absl::StrCat("partial ", QuoteForMessage(component.tag.name), " at offset ",
                                component.position, " is not supported"));
      case TagType::set_delimiter:
        return InvalidField(field, absl::StrCat("set-delimiter tag at offset ", component.position,
                                                " is not supported"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

bool IsVariableName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxVariableNameChars || !IsLowerAlpha(name[0])) return false;
  for (const char c : name) {
    if (!IsLowerAlpha(c) && !IsDigit(c) && c != '_') return false;
  }
  return name != kReservedVariableName;
}

// ---------------------------------------------------------------------------
// TemplateValues

struct TemplateValues::Data {
  std::map<std::string, std::string, std::less<>> variables;
  std::optional<std::string> customer_display_name;
  // The same values as kainjow data: an empty value is `false`, so that
  // sections over it are skipped and {{name}} renders nothing.
  mustache::data mustache_data{mustache::data::type::object};
};

namespace {

mustache::data MustacheValue(const std::string& value) {
  return value.empty() ? mustache::data(false) : mustache::data(value);
}

}  // namespace

TemplateValues::TemplateValues(const std::map<std::string, std::string>& variables,
                               std::optional<std::string> customer_display_name) {
  auto data = std::make_unique<Data>();
  for (const auto& [name, value] : variables) {
    if (name == kReservedVariableName) continue;
    data->variables.emplace(name, value);
    data->mustache_data.set(name, MustacheValue(value));
  }
  if (customer_display_name.has_value()) {
    mustache::data customer{mustache::data::type::object};
    customer.set("display_name", MustacheValue(*customer_display_name));
    data->mustache_data.set(std::string(kReservedVariableName), customer);
  }
  data->customer_display_name = std::move(customer_display_name);
  data_ = std::move(data);
}

TemplateValues::~TemplateValues() = default;

const std::string* TemplateValues::Find(absl::string_view placeholder) const {
  if (placeholder == kCustomerDisplayName) {
    return data_->customer_display_name.has_value() ? &*data_->customer_display_name : nullptr;
  }
  const auto it = data_->variables.find(placeholder);
  return it == data_->variables.end() ? nullptr : &it->second;
}

// ---------------------------------------------------------------------------
// TemplateText

struct TemplateText::Tree {
  Component root;
};

namespace {

// Inspect's walk: follows kainjow's rendering rules (a section renders when
// its value is a non-empty string, an inverted section when it is not)
// without producing output.
class Inspector {
 public:
  Inspector(const TemplateValues& values, TextEscaping escaping)
      : values_(values), escaping_(escaping) {}

  void Walk(const std::vector<Component>& components) {
    for (const Component& component : components) {
      switch (component.tag.type) {
        case TagType::text:
          bytes_ += component.text.size();
          break;
        case TagType::variable:
        case TagType::unescaped_variable: {
          const std::string* value = values_.Find(component.tag.name);
          if (value == nullptr) {
            missing_.insert(component.tag.name);
          } else {
            const bool escaped =
                escaping_ == TextEscaping::kHtml && component.tag.type == TagType::variable;
            bytes_ += escaped ? EscapedSize(*value) : value->size();
          }
          break;
        }
        case TagType::section_begin:
        case TagType::section_begin_inverted: {
          const std::string* value = values_.Find(component.tag.name);
          const bool truthy = value != nullptr && !value->empty();
          if (truthy == (component.tag.type == TagType::section_begin)) Walk(component.children);
          break;
        }
        default:
          break;
      }
    }
  }

  TemplateText::Requirements Result() && {
    return {std::vector<std::string>(missing_.begin(), missing_.end()), bytes_};
  }

 private:
  size_t EscapedSize(const std::string& value) {
    auto [it, inserted] = escaped_sizes_.try_emplace(&value, 0);
    if (inserted) it->second = HtmlEscapedSize(value);
    return it->second;
  }

  const TemplateValues& values_;
  const TextEscaping escaping_;
  std::set<std::string> missing_;
  size_t bytes_ = 0;
  absl::flat_hash_map<const std::string*, size_t> escaped_sizes_;
};

}  // namespace

TemplateText::TemplateText(std::string source, TextEscaping escaping,
                           std::shared_ptr<const Tree> tree)
    : source_(std::move(source)), escaping_(escaping), tree_(std::move(tree)) {}

absl::StatusOr<TemplateText> TemplateText::Parse(absl::string_view text, TextEscaping escaping,
                                                 absl::string_view field) {
  RETURN_IF_ERROR(CheckBeforeParsing(text, field));
  std::string source(text);
  auto tree = std::make_shared<Tree>();
  mustache::context<std::string> context;
  mustache::context_internal<std::string> parse_state{context};
  std::string error;
  mustache::parser<std::string> parser{source, parse_state, tree->root, error};
  if (!error.empty()) return InvalidField(field, DescribeParseError(error));
  RETURN_IF_ERROR(CheckComponents(tree->root.children, escaping, field));
  return TemplateText(std::move(source), escaping, std::move(tree));
}

TemplateText::Requirements TemplateText::Inspect(const TemplateValues& values) const {
  Inspector inspector(values, escaping_);
  inspector.Walk(tree_->root.children);
  return std::move(inspector).Result();
}

std::string TemplateText::Render(const TemplateValues& values) const {
  mustache::mustache renderer{source_};
  if (escaping_ == TextEscaping::kPlain) {
    renderer.set_custom_escape([](const std::string& value) { return value; });
  }
  return renderer.render(values.data_->mustache_data);
}

}  // namespace cxp::notify::validation
