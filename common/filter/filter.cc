#include "common/filter/filter.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/status/errors.h"

namespace cxp::filter {

bool Filter::Matches(const FieldResolver& resolver) const {
  for (const Comparison& comparison : comparisons_) {
    if (!comparison.Matches(resolver.Resolve(comparison.path()))) return false;
  }
  return true;
}

bool Filter::Matches(absl::FunctionRef<FilterValue(const FieldPath&)> resolve) const {
  for (const Comparison& comparison : comparisons_) {
    if (!comparison.Matches(resolve(comparison.path()))) return false;
  }
  return true;
}

std::string Filter::CanonicalText() const {
  std::vector<std::string> parts;
  parts.reserve(comparisons_.size());
  for (const Comparison& comparison : comparisons_) parts.push_back(comparison.CanonicalText());
  std::sort(parts.begin(), parts.end());
  return absl::StrJoin(parts, " AND ");
}

namespace {

constexpr absl::string_view kSubject = "filter";

// ---------------------------------------------------------------- lexer ----

struct Token {
  enum class Type { kEnd, kWord, kString, kOp };
  Type type = Type::kEnd;
  size_t offset = 0;
  absl::string_view text;  // kWord: the word; kOp: the operator text
  std::string value;       // kString: unescaped contents
  Op op = Op::kEq;         // kOp
};

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool IsWordChar(char c) {
  return !IsSpace(c) && c != '"' && c != '(' && c != ')' && c != '=' && c != '!' && c != '<' &&
         c != '>' && c != ':';
}

// A word as it may appear in an error message: at most 32 bytes, bytes
// outside printable ASCII written as \xNN.
std::string Excerpt(absl::string_view text) {
  constexpr size_t kMax = 32;
  std::string out;
  for (char c : text.substr(0, kMax)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) {
      out.push_back(c);
    } else {
      absl::StrAppend(&out, "\\x", absl::Hex(byte, absl::kZeroPad2));
    }
  }
  if (text.size() > kMax) out.append("...");
  return out;
}

absl::Status Error(absl::string_view problem, size_t offset, absl::string_view suffix = "") {
  return InvalidArgument(std::string(kSubject),
                         absl::StrCat(problem, " at offset ", offset, suffix));
}

class Lexer {
 public:
  explicit Lexer(absl::string_view text) : text_(text) {}

  absl::StatusOr<Token> Next() {
    while (pos_ < text_.size() && IsSpace(text_[pos_])) ++pos_;
    Token token;
    token.offset = pos_;
    if (pos_ == text_.size()) return token;
    const char c = text_[pos_];
    if (c == '"') return String();
    if (c == '(' || c == ')') {
      return Error("parentheses are not supported", pos_);
    }
    if (c == '=' || c == '!' || c == '<' || c == '>' || c == ':') return Operator();
    size_t end = pos_;
    while (end < text_.size() && IsWordChar(text_[end])) ++end;
    token.type = Token::Type::kWord;
    token.text = text_.substr(pos_, end - pos_);
    pos_ = end;
    return token;
  }

 private:
  absl::StatusOr<Token> String() {
    Token token;
    token.type = Token::Type::kString;
    token.offset = pos_;
    size_t i = pos_ + 1;
    while (i < text_.size()) {
      const char c = text_[i];
      if (c == '"') {
        pos_ = i + 1;
        token.text = text_.substr(token.offset, pos_ - token.offset);
        return token;
      }
      if (c == '\\') {
        if (i + 1 < text_.size() && (text_[i + 1] == '"' || text_[i + 1] == '\\')) {
          token.value.push_back(text_[i + 1]);
          i += 2;
          continue;
        }
        if (i + 1 == text_.size()) break;  // unterminated
        return Error(
            absl::StrCat("invalid escape `\\", Excerpt(text_.substr(i + 1, 1)), "` in string"), i,
            R"( (only \" and \\ are allowed))");
      }
      token.value.push_back(c);
      ++i;
    }
    return Error("unterminated string", token.offset);
  }

  absl::StatusOr<Token> Operator() {
    Token token;
    token.type = Token::Type::kOp;
    token.offset = pos_;
    const char c = text_[pos_];
    const bool eq_next = pos_ + 1 < text_.size() && text_[pos_ + 1] == '=';
    size_t length = 1;
    switch (c) {
      case '=':
        token.op = Op::kEq;
        break;
      case ':':
        token.op = Op::kHas;
        break;
      case '<':
        token.op = eq_next ? Op::kLe : Op::kLt;
        length = eq_next ? 2 : 1;
        break;
      case '>':
        token.op = eq_next ? Op::kGe : Op::kGt;
        length = eq_next ? 2 : 1;
        break;
      case '!':
        if (!eq_next) return Error("unexpected `!` (use `!=`; NOT is not supported)", pos_);
        token.op = Op::kNe;
        length = 2;
        break;
    }
    token.text = text_.substr(pos_, length);
    pos_ += length;
    return token;
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

// --------------------------------------------------------------- parser ----

bool IsIdentifierStart(char c) { return absl::ascii_isalpha(c) || c == '_'; }

bool IsPath(absl::string_view word) {
  bool segment_start = true;
  for (char c : word) {
    if (c == '.') {
      if (segment_start) return false;
      segment_start = true;
    } else if (segment_start) {
      if (!IsIdentifierStart(c)) return false;
      segment_start = false;
    } else if (!absl::ascii_isalnum(c) && c != '_') {
      return false;
    }
  }
  return !segment_start;
}

// number = [ "-" ] digits [ "." digits ] [ ("e" | "E") [ "+" | "-" ] digits ],
// where "digits." and ".digits" are also accepted.
std::optional<double> ParseNumber(absl::string_view word) {
  size_t i = 0;
  auto digits = [&]() {
    size_t start = i;
    while (i < word.size() && absl::ascii_isdigit(word[i])) ++i;
    return i - start;
  };
  if (i < word.size() && word[i] == '-') ++i;
  size_t mantissa_digits = digits();
  if (i < word.size() && word[i] == '.') {
    ++i;
    mantissa_digits += digits();
  }
  if (mantissa_digits == 0) return std::nullopt;
  if (i < word.size() && (word[i] == 'e' || word[i] == 'E')) {
    ++i;
    if (i < word.size() && (word[i] == '+' || word[i] == '-')) ++i;
    if (digits() == 0) return std::nullopt;
  }
  if (i != word.size()) return std::nullopt;
  double value = 0;
  if (!absl::SimpleAtod(word, &value) || !std::isfinite(value)) return std::nullopt;
  return value;
}

// Whether `text` has the shape of an RFC 3339 date-time:
//   YYYY-MM-DD "T" hh:mm:ss [ "." digits ] ( "Z" | ("+" | "-") hh:mm )
// ("T" and "Z" also lower-case). absl::ParseTime alone is laxer (it accepts
// "+0900", "+09", surrounding spaces and "infinite-future").
bool HasRfc3339Shape(absl::string_view text) {
  auto digits_at = [&](size_t pos, size_t count) {
    if (pos + count > text.size()) return false;
    for (size_t i = pos; i < pos + count; ++i) {
      if (!absl::ascii_isdigit(text[i])) return false;
    }
    return true;
  };
  auto char_at = [&](size_t pos, char c) { return pos < text.size() && text[pos] == c; };
  if (!(digits_at(0, 4) && char_at(4, '-') && digits_at(5, 2) && char_at(7, '-') &&
        digits_at(8, 2) && (char_at(10, 'T') || char_at(10, 't')) && digits_at(11, 2) &&
        char_at(13, ':') && digits_at(14, 2) && char_at(16, ':') && digits_at(17, 2))) {
    return false;
  }
  size_t pos = 19;
  if (char_at(pos, '.')) {
    ++pos;
    const size_t start = pos;
    while (pos < text.size() && absl::ascii_isdigit(text[pos])) ++pos;
    if (pos == start) return false;
  }
  if (char_at(pos, 'Z') || char_at(pos, 'z')) return pos + 1 == text.size();
  if (!char_at(pos, '+') && !char_at(pos, '-')) return false;
  return digits_at(pos + 1, 2) && char_at(pos + 3, ':') && digits_at(pos + 4, 2) &&
         pos + 6 == text.size();
}

std::optional<absl::Time> ParseTimestamp(absl::string_view text) {
  if (!HasRfc3339Shape(text)) return std::nullopt;
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, text, &time, &error)) return std::nullopt;
  return time;
}

absl::string_view AllowedOps(FieldType type) {
  switch (type) {
    case FieldType::kBool:
    case FieldType::kEnum:
      return "=, !=";
    case FieldType::kRepeatedString:
    case FieldType::kRepeatedEnum:
      return ":";
    default:
      return "=, !=, <, <=, >, >=";
  }
}

bool OpAllowed(FieldType type, Op op) {
  switch (type) {
    case FieldType::kBool:
    case FieldType::kEnum:
      return op == Op::kEq || op == Op::kNe;
    case FieldType::kRepeatedString:
    case FieldType::kRepeatedEnum:
      return op == Op::kHas;
    default:
      return op != Op::kHas;
  }
}

std::string Describe(const Token& token) {
  switch (token.type) {
    case Token::Type::kEnd:
      return "end of filter";
    case Token::Type::kWord:
      return absl::StrCat("`", Excerpt(token.text), "`");
    case Token::Type::kString:
      return "a quoted string";
    case Token::Type::kOp:
      return absl::StrCat("`", token.text, "`");
  }
  return "";
}

std::string EnumNamesText(const FilterSchema::Field& field) {
  std::vector<absl::string_view> names;
  for (const auto& value : field.enum_values) {
    absl::string_view name = value.first;
    if (!field.enum_prefix.empty() && absl::StartsWith(name, field.enum_prefix)) {
      name.remove_prefix(field.enum_prefix.size());
    }
    names.push_back(name);
  }
  return absl::StrJoin(names, ", ");
}

class Parser {
 public:
  Parser(absl::string_view text, const FilterSchema& schema) : lexer_(text), schema_(schema) {}

  absl::StatusOr<Filter> Parse() {
    std::vector<Comparison> comparisons;
    absl::StatusOr<Token> token = lexer_.Next();
    if (!token.ok()) return token.status();
    if (token->type == Token::Type::kEnd) return Filter();
    while (true) {
      absl::StatusOr<Comparison> comparison = ParseComparison(*token);
      if (!comparison.ok()) return comparison.status();
      comparisons.push_back(*std::move(comparison));

      token = lexer_.Next();
      if (!token.ok()) return token.status();
      if (token->type == Token::Type::kEnd) break;
      if (token->type == Token::Type::kWord && token->text == "AND") {
        token = lexer_.Next();
        if (!token.ok()) return token.status();
        if (token->type == Token::Type::kEnd) {
          return Error("expected a comparison after `AND`", token->offset, " (end of filter)");
        }
        continue;
      }
      if (token->type == Token::Type::kWord) {
        if (token->text == "OR") return Error("`OR` is not supported (only AND)", token->offset);
        if (absl::AsciiStrToUpper(token->text) == "AND") {
          return Error(absl::StrCat("expected `AND`, found `", Excerpt(token->text),
                                    "` (AND must be upper-case)"),
                       token->offset);
        }
      }
      return Error(absl::StrCat("expected `AND` or end of filter, found ", Describe(*token)),
                   token->offset);
    }
    return Filter(std::move(comparisons));
  }

 private:
  absl::StatusOr<Comparison> ParseComparison(const Token& field_token) {
    if (field_token.type != Token::Type::kWord) {
      return Error(absl::StrCat("expected a field name, found ", Describe(field_token)),
                   field_token.offset);
    }
    const absl::string_view word = field_token.text;
    if (word == "NOT") return Error("`NOT` is not supported", field_token.offset);
    if (word == "OR") return Error("`OR` is not supported (only AND)", field_token.offset);
    if (word == "AND") return Error("expected a field name, found `AND`", field_token.offset);
    if (word[0] == '-') return Error("negation (`-`) is not supported", field_token.offset);
    if (!IsPath(word)) {
      return Error(absl::StrCat("invalid field name `", Excerpt(word), "`"), field_token.offset);
    }
    absl::string_view key;
    const FilterSchema::Field* field = schema_.Resolve(word, &key);
    if (field == nullptr) {
      for (const FilterSchema::Field& candidate : schema_.fields()) {
        if (candidate.type == FieldType::kMap && candidate.name == word) {
          return Error(absl::StrCat("field `", word, "` needs a key (`", word, ".<key>`)"),
                       field_token.offset);
        }
      }
      return Error(absl::StrCat("unknown field `", Excerpt(word), "`"), field_token.offset,
                   absl::StrCat(" (allowed: ", schema_.AllowedFieldsText(), ")"));
    }

    Comparison comparison;
    comparison.field = field->name;
    comparison.key = std::string(key);
    comparison.field_type = field->type;
    comparison.offset = static_cast<int>(field_token.offset);

    absl::StatusOr<Token> op_token = lexer_.Next();
    if (!op_token.ok()) return op_token.status();
    if (op_token->type != Token::Type::kOp) {
      return Error(
          absl::StrCat("expected an operator after `", word, "`, found ", Describe(*op_token)),
          op_token->offset);
    }
    comparison.op = op_token->op;
    if (!OpAllowed(field->type, comparison.op)) {
      if (field->type == FieldType::kRepeatedString || field->type == FieldType::kRepeatedEnum) {
        return Error(absl::StrCat("operator `", op_token->text,
                                  "` is not allowed on repeated field `", word, "`"),
                     op_token->offset,
                     field->type == FieldType::kRepeatedString
                         ? absl::StrCat(R"( (use `)", word, R"(:"value"`))")
                         : absl::StrCat(" (use `", word, ":VALUE`)"));
      }
      return Error(absl::StrCat("operator `", op_token->text, "` is not allowed on ",
                                FieldTypeName(field->type), " field `", word, "`"),
                   op_token->offset, absl::StrCat(" (allowed: ", AllowedOps(field->type), ")"));
    }

    absl::StatusOr<Token> value = lexer_.Next();
    if (!value.ok()) return value.status();
    if (value->type == Token::Type::kEnd || value->type == Token::Type::kOp) {
      return Error(absl::StrCat("expected a value after `", word, " ", op_token->text, "`, found ",
                                Describe(*value)),
                   value->offset);
    }
    absl::Status status = ConvertValue(*field, word, *value, comparison);
    if (!status.ok()) return status;
    return comparison;
  }

  absl::Status ConvertValue(const FilterSchema::Field& field, absl::string_view path, Token& value,
                            Comparison& comparison) {
    auto expects = [&](absl::string_view what) {
      return Error(absl::StrCat("field `", path, "` expects ", what, ", found ", Describe(value)),
                   value.offset);
    };
    switch (field.type) {
      case FieldType::kString:
      case FieldType::kRepeatedString:
        if (value.type != Token::Type::kString) return expects("a quoted string");
        comparison.kind = LiteralKind::kString;
        comparison.string_value = std::move(value.value);
        return absl::OkStatus();

      case FieldType::kNumber: {
        std::optional<double> number;
        if (value.type == Token::Type::kWord) number = ParseNumber(value.text);
        if (!number) return expects("a number");
        comparison.kind = LiteralKind::kNumber;
        comparison.number_value = *number;
        return absl::OkStatus();
      }

      case FieldType::kBool:
        if (value.type != Token::Type::kWord || (value.text != "true" && value.text != "false")) {
          return expects("true or false");
        }
        comparison.kind = LiteralKind::kBool;
        comparison.bool_value = value.text == "true";
        return absl::OkStatus();

      case FieldType::kTimestamp: {
        std::optional<absl::Time> time;
        if (value.type == Token::Type::kString) time = ParseTimestamp(value.value);
        if (!time) {
          return expects(R"(an RFC 3339 timestamp such as "2024-05-01T00:00:00Z")");
        }
        comparison.kind = LiteralKind::kTimestamp;
        comparison.string_value = std::move(value.value);
        comparison.time_value = *time;
        comparison.has_time_value = true;
        return absl::OkStatus();
      }

      case FieldType::kEnum:
      case FieldType::kRepeatedEnum: {
        std::optional<int> number;
        if (value.type == Token::Type::kWord) number = field.FindEnumNumber(value.text);
        if (!number) {
          return Error(
              absl::StrCat("field `", path, "` expects an enum value name without quotes, found ",
                           Describe(value)),
              value.offset, absl::StrCat(" (allowed: ", EnumNamesText(field), ")"));
        }
        comparison.kind = LiteralKind::kEnum;
        comparison.enum_number = *number;
        comparison.string_value = std::string(field.EnumName(*number));
        return absl::OkStatus();
      }

      case FieldType::kMap: {
        if (value.type == Token::Type::kString) {
          comparison.kind = LiteralKind::kString;
          if (std::optional<absl::Time> time = ParseTimestamp(value.value)) {
            comparison.time_value = *time;
            comparison.has_time_value = true;
          }
          comparison.string_value = std::move(value.value);
          return absl::OkStatus();
        }
        if (value.text == "true" || value.text == "false") {
          if (comparison.op != Op::kEq && comparison.op != Op::kNe) {
            return Error(absl::StrCat("operator `", OpText(comparison.op),
                                      "` cannot compare with a bool (allowed: =, !=)"),
                         value.offset);
          }
          comparison.kind = LiteralKind::kBool;
          comparison.bool_value = value.text == "true";
          return absl::OkStatus();
        }
        if (std::optional<double> number = ParseNumber(value.text)) {
          comparison.kind = LiteralKind::kNumber;
          comparison.number_value = *number;
          return absl::OkStatus();
        }
        return expects("a quoted string, a number, true or false");
      }
    }
    return expects("a value");
  }

  Lexer lexer_;
  const FilterSchema& schema_;
};

}  // namespace

absl::StatusOr<Filter> ParseFilter(absl::string_view text, const FilterSchema& schema) {
  if (text.size() > kMaxFilterLength) {
    return InvalidArgument(std::string(kSubject), absl::StrCat("must be at most ", kMaxFilterLength,
                                                               " characters, got ", text.size()));
  }
  return Parser(text, schema).Parse();
}

}  // namespace cxp::filter
