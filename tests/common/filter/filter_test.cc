#include "common/filter/filter.h"

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.pb.h"
#include "gtest/gtest.h"

namespace cxp::filter::testing_internal {
long AllocationCount();  // allocation_counter.cc
}  // namespace cxp::filter::testing_internal

namespace cxp::filter {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

enum Channel { kUnspecified = 0, kVoice = 1, kChat = 2, kEmail = 3 };

const FilterSchema& Schema() {
  static const FilterSchema* const schema = new FilterSchema(
      FilterSchema()
          .AddString("display_name")
          .AddNumber("priority")
          .AddBool("active")
          .AddTimestamp("create_time")
          .AddEnum("channel", "CHANNEL_",
                   {{"CHANNEL_VOICE", kVoice}, {"CHANNEL_CHAT", kChat}, {"CHANNEL_EMAIL", kEmail}})
          .AddEnum("presence.state", "STATE_", {{"STATE_AVAILABLE", 1}, {"STATE_AWAY", 2}})
          .AddRepeatedString("queues")
          .AddMap("attributes")
          .AddMap("customer.attributes"));
  return *schema;
}

using Attribute = std::variant<std::string, double, bool, absl::Time>;

struct Record {
  std::string display_name = "Ada";
  double priority = 5;
  bool active = true;
  absl::Time create_time = absl::FromUnixSeconds(1714521600);  // 2024-05-01T00:00:00Z
  Channel channel = kChat;
  int presence_state = 1;
  std::vector<std::string> queues = {"queues/billing", "queues/sales"};
  std::map<std::string, Attribute, std::less<>> attributes = {
      {"plan", std::string("gold")},
      {"score", 10.0},
      {"vip", true},
      {"renewal", absl::FromUnixSeconds(1717200000)},  // 2024-06-01T00:00:00Z
  };
  std::map<std::string, Attribute, std::less<>> customer_attributes = {
      {"tier", std::string("VIP")}};
};

FilterValue AttributeValue(const std::map<std::string, Attribute, std::less<>>& map,
                           absl::string_view key) {
  auto it = map.find(key);
  if (it == map.end()) return FilterValue::Absent();
  const Attribute& a = it->second;
  if (const auto* s = std::get_if<std::string>(&a)) return FilterValue::String(*s);
  if (const auto* d = std::get_if<double>(&a)) return FilterValue::Number(*d);
  if (const auto* b = std::get_if<bool>(&a)) return FilterValue::Bool(*b);
  return FilterValue::Timestamp(std::get<absl::Time>(a));
}

class RecordResolver : public FieldResolver {
 public:
  explicit RecordResolver(const Record& record) : r_(record) {}

  FilterValue Resolve(const FieldPath& path) const override {
    if (path.field == "display_name") return FilterValue::String(r_.display_name);
    if (path.field == "priority") return FilterValue::Number(r_.priority);
    if (path.field == "active") return FilterValue::Bool(r_.active);
    if (path.field == "create_time") return FilterValue::Timestamp(r_.create_time);
    if (path.field == "channel") return FilterValue::Enum(r_.channel);
    if (path.field == "presence.state") return FilterValue::Enum(r_.presence_state);
    if (path.field == "queues") return FilterValue::List(r_.queues);
    if (path.field == "attributes") return AttributeValue(r_.attributes, path.key);
    if (path.field == "customer.attributes") {
      return AttributeValue(r_.customer_attributes, path.key);
    }
    return FilterValue::Absent();
  }

 private:
  const Record& r_;
};

Filter Parse(absl::string_view text) {
  absl::StatusOr<Filter> filter = ParseFilter(text, Schema());
  EXPECT_TRUE(filter.ok()) << text << ": " << filter.status();
  return filter.ok() ? *std::move(filter) : Filter();
}

// Parses `text` (which must be valid) and matches it against `record`.
bool M(absl::string_view text, const Record& record = Record()) {
  absl::StatusOr<Filter> filter = ParseFilter(text, Schema());
  if (!filter.ok()) {
    ADD_FAILURE() << text << ": " << filter.status();
    return false;
  }
  return filter->Matches(RecordResolver(record));
}

// The error message of parsing `text`, which must be INVALID_ARGUMENT.
std::string Err(absl::string_view text) {
  absl::StatusOr<Filter> filter = ParseFilter(text, Schema());
  if (filter.ok()) {
    ADD_FAILURE() << "expected an error for: " << text;
    return "";
  }
  EXPECT_EQ(filter.status().code(), absl::StatusCode::kInvalidArgument) << filter.status();
  EXPECT_THAT(std::string(filter.status().message()), StartsWith("filter: ")) << text;
  return std::string(filter.status().message());
}

// ---------------------------------------------------------------- basics ----

TEST(FilterTest, EmptyFilterMatchesEverything) {
  for (absl::string_view text : {"", "   ", " \t\r\n "}) {
    Filter filter = Parse(text);
    EXPECT_TRUE(filter.empty());
    EXPECT_TRUE(filter.comparisons().empty());
    EXPECT_EQ(filter.CanonicalText(), "");
    EXPECT_TRUE(filter.Matches(RecordResolver(Record())));
  }
  EXPECT_TRUE(Filter().Matches([](const FieldPath&) { return FilterValue::Absent(); }));
}

TEST(FilterTest, AndRequiresEveryComparison) {
  EXPECT_TRUE(M(R"(display_name = "Ada" AND priority = 5 AND channel = CHAT)"));
  EXPECT_FALSE(M(R"(display_name = "Ada" AND priority = 6 AND channel = CHAT)"));
  EXPECT_FALSE(M(R"(display_name = "Bob" AND priority = 5)"));
}

TEST(FilterTest, WhitespaceIsFreeForm) {
  EXPECT_TRUE(M("priority=5"));
  EXPECT_TRUE(M("  priority\t>=\n5   AND\r\nactive=true  "));
  EXPECT_TRUE(M(R"(queues:"queues/billing")"));
  EXPECT_TRUE(M(R"(queues : "queues/billing")"));
  EXPECT_TRUE(M(R"(display_name="Ada"AND priority=5)"));
}

TEST(FilterTest, MatchesWithFunctionRef) {
  Filter filter = Parse(R"(display_name = "x" AND attributes.k > 2)");
  std::vector<std::string> asked;
  EXPECT_TRUE(filter.Matches([&](const FieldPath& path) {
    asked.push_back(absl::StrCat(path.field, "|", path.key));
    return path.field == "display_name" ? FilterValue::String("x") : FilterValue::Number(3);
  }));
  EXPECT_THAT(asked, ::testing::ElementsAre("display_name|", "attributes|k"));
}

TEST(FilterTest, StopsAtFirstFailingComparison) {
  Filter filter = Parse("priority = 1 AND active = true");
  int calls = 0;
  EXPECT_FALSE(filter.Matches([&](const FieldPath&) {
    ++calls;
    return FilterValue::Number(2);
  }));
  EXPECT_EQ(calls, 1);
}

// ---------------------------------------------------------------- strings ----

TEST(FilterTest, StringOperators) {
  Record r;
  r.display_name = "m";
  EXPECT_TRUE(M(R"(display_name = "m")", r));
  EXPECT_FALSE(M(R"(display_name = "M")", r));  // case-sensitive
  EXPECT_TRUE(M(R"(display_name != "n")", r));
  EXPECT_FALSE(M(R"(display_name != "m")", r));
  EXPECT_TRUE(M(R"(display_name < "n")", r));
  EXPECT_FALSE(M(R"(display_name < "m")", r));
  EXPECT_TRUE(M(R"(display_name <= "m")", r));
  EXPECT_FALSE(M(R"(display_name <= "l")", r));
  EXPECT_TRUE(M(R"(display_name > "l")", r));
  EXPECT_FALSE(M(R"(display_name > "m")", r));
  EXPECT_TRUE(M(R"(display_name >= "m")", r));
  EXPECT_FALSE(M(R"(display_name >= "ma")", r));
  r.display_name = "";
  EXPECT_TRUE(M(R"(display_name = "")", r));
}

TEST(FilterTest, StringEscapes) {
  Record r;
  r.display_name = R"(say "hi" \o/)";
  EXPECT_TRUE(M(R"(display_name = "say \"hi\" \\o/")", r));
  Filter filter = Parse(R"(display_name = "a\"b\\c")");
  ASSERT_EQ(filter.comparisons().size(), 1u);
  EXPECT_EQ(filter.comparisons()[0].string_value, R"(a"b\c)");
  EXPECT_EQ(filter.CanonicalText(), R"(display_name = "a\"b\\c")");
  // Operators, parentheses and keywords inside strings are just text.
  r.display_name = "(x OR y) AND z = 1";
  EXPECT_TRUE(M(R"(display_name = "(x OR y) AND z = 1")", r));
  r.display_name = "Zoë 日本";
  EXPECT_TRUE(M(R"(display_name = "Zoë 日本")", r));
}

TEST(FilterTest, StringErrors) {
  EXPECT_EQ(Err(R"(display_name = "abc)"), "filter: unterminated string at offset 15");
  EXPECT_EQ(Err(R"(display_name = "abc\")"), "filter: unterminated string at offset 15");
  EXPECT_EQ(Err(R"(display_name = "a\nb")"),
            R"(filter: invalid escape `\n` in string at offset 17 (only \" and \\ are allowed))");
  EXPECT_EQ(Err("display_name = 'abc'"),
            "filter: field `display_name` expects a quoted string, found `'abc'` at offset 15");
  EXPECT_EQ(Err("display_name = 5"),
            "filter: field `display_name` expects a quoted string, found `5` at offset 15");
  EXPECT_EQ(Err("display_name = Ada"),
            "filter: field `display_name` expects a quoted string, found `Ada` at offset 15");
  EXPECT_EQ(Err(R"(display_name:"Ada")"),
            "filter: operator `:` is not allowed on string field `display_name` at offset 12 "
            "(allowed: =, !=, <, <=, >, >=)");
}

// ---------------------------------------------------------------- numbers ----

TEST(FilterTest, NumberOperators) {
  EXPECT_TRUE(M("priority = 5"));
  EXPECT_TRUE(M("priority = 5.0"));
  EXPECT_TRUE(M("priority = 5e0"));
  EXPECT_TRUE(M("priority = 0.5E1"));
  EXPECT_FALSE(M("priority = 4"));
  EXPECT_TRUE(M("priority != 4"));
  EXPECT_FALSE(M("priority != 5"));
  EXPECT_TRUE(M("priority < 5.5"));
  EXPECT_FALSE(M("priority < 5"));
  EXPECT_TRUE(M("priority <= 5"));
  EXPECT_FALSE(M("priority <= 4.99"));
  EXPECT_TRUE(M("priority > -1"));
  EXPECT_FALSE(M("priority > 5"));
  EXPECT_TRUE(M("priority >= 5"));
  EXPECT_FALSE(M("priority >= 6"));
  Record r;
  r.priority = 0.25;
  EXPECT_TRUE(M("priority = .25", r));
  r.priority = -3;
  EXPECT_TRUE(M("priority = -3", r));
  EXPECT_TRUE(M("priority < -2.5", r));
}

TEST(FilterTest, NumberErrors) {
  for (absl::string_view bad :
       {"1x", "--1", "1e", "1.2.3", "+1", "-", ".", "0x10", "inf", "nan", "1e999"}) {
    EXPECT_EQ(
        Err(absl::StrCat("priority = ", bad)),
        absl::StrCat("filter: field `priority` expects a number, found `", bad, "` at offset 11"));
  }
  EXPECT_EQ(Err(R"(priority = "5")"),
            "filter: field `priority` expects a number, found a quoted string at offset 11");
  EXPECT_EQ(Err(R"(priority:5)"),
            "filter: operator `:` is not allowed on number field `priority` at offset 8 "
            "(allowed: =, !=, <, <=, >, >=)");
}

// ------------------------------------------------------------------ bools ----

TEST(FilterTest, BoolOperators) {
  Record r;
  EXPECT_TRUE(M("active = true", r));
  EXPECT_FALSE(M("active = false", r));
  EXPECT_TRUE(M("active != false", r));
  EXPECT_FALSE(M("active != true", r));
  r.active = false;
  EXPECT_TRUE(M("active = false", r));
}

TEST(FilterTest, BoolErrors) {
  for (absl::string_view op : {"<", "<=", ">", ">=", ":"}) {
    EXPECT_EQ(Err(absl::StrCat("active ", op, " true")),
              absl::StrCat("filter: operator `", op,
                           "` is not allowed on bool field `active` at offset 7 (allowed: =, !=)"));
  }
  EXPECT_EQ(Err("active = TRUE"),
            "filter: field `active` expects true or false, found `TRUE` at offset 9");
  EXPECT_EQ(Err("active = 1"),
            "filter: field `active` expects true or false, found `1` at offset 9");
  EXPECT_EQ(Err(R"(active = "true")"),
            "filter: field `active` expects true or false, found a quoted string at offset 9");
}

// ------------------------------------------------------------- timestamps ----

TEST(FilterTest, TimestampOperators) {
  // Record create_time is 2024-05-01T00:00:00Z.
  EXPECT_TRUE(M(R"(create_time = "2024-05-01T00:00:00Z")"));
  EXPECT_TRUE(M(R"(create_time = "2024-05-01T09:00:00+09:00")"));
  EXPECT_TRUE(M(R"(create_time = "2024-04-30T19:30:00-04:30")"));
  EXPECT_TRUE(M(R"(create_time = "2024-05-01T00:00:00.000Z")"));
  EXPECT_TRUE(M(R"(create_time = "2024-05-01t00:00:00z")"));
  EXPECT_FALSE(M(R"(create_time = "2024-05-01T00:00:00.000001Z")"));
  EXPECT_TRUE(M(R"(create_time != "2024-05-01T00:00:01Z")"));
  EXPECT_FALSE(M(R"(create_time != "2024-05-01T09:00:00+09:00")"));
  EXPECT_TRUE(M(R"(create_time < "2024-05-01T00:00:00.5Z")"));
  EXPECT_FALSE(M(R"(create_time < "2024-05-01T09:00:00+09:00")"));
  EXPECT_TRUE(M(R"(create_time <= "2024-05-01T09:00:00+09:00")"));
  EXPECT_FALSE(M(R"(create_time <= "2024-04-30T23:59:59Z")"));
  // Compared as times, not strings: 08:00+09:00 is 2024-04-30T23:00Z.
  EXPECT_TRUE(M(R"(create_time > "2024-05-01T08:00:00+09:00")"));
  EXPECT_FALSE(M(R"(create_time > "2024-05-01T00:00:00Z")"));
  EXPECT_TRUE(M(R"(create_time >= "2024-05-01T00:00:00Z")"));
  EXPECT_FALSE(M(R"(create_time >= "2024-05-01T10:00:00+09:00")"));
  // A time range, as a store would use it.
  Filter range =
      Parse(R"(create_time >= "2024-04-01T00:00:00Z" AND create_time < "2024-06-01T00:00:00Z")");
  ASSERT_EQ(range.comparisons().size(), 2u);
  EXPECT_EQ(range.comparisons()[0].kind, LiteralKind::kTimestamp);
  EXPECT_EQ(range.comparisons()[0].time_value, absl::FromUnixSeconds(1711929600));
  EXPECT_TRUE(range.Matches(RecordResolver(Record())));
}

TEST(FilterTest, TimestampErrors) {
  const std::string expects =
      R"(filter: field `create_time` expects an RFC 3339 timestamp such as "2024-05-01T00:00:00Z", found )";
  for (absl::string_view bad :
       {"yesterday", "2024-05-01", "2024-05-01T00:00:00", "2024-05-01 00:00:00Z",
        " 2024-05-01T00:00:00Z", "2024-05-01T00:00:00Z ", "2024-13-01T00:00:00Z", "infinite-future",
        "2024-05-01T00:00:00+0900"}) {
    EXPECT_EQ(Err(absl::StrCat("create_time > \"", bad, "\"")),
              absl::StrCat(expects, "a quoted string at offset 14"))
        << bad;
  }
  EXPECT_EQ(Err("create_time > 1714521600"), absl::StrCat(expects, "`1714521600` at offset 14"));
}

// ------------------------------------------------------------------ enums ----

TEST(FilterTest, EnumWithAndWithoutPrefix) {
  EXPECT_TRUE(M("channel = CHAT"));
  EXPECT_TRUE(M("channel = CHANNEL_CHAT"));
  EXPECT_FALSE(M("channel = VOICE"));
  EXPECT_FALSE(M("channel = CHANNEL_VOICE"));
  EXPECT_TRUE(M("channel != VOICE"));
  EXPECT_FALSE(M("channel != CHANNEL_CHAT"));
  EXPECT_TRUE(M("presence.state = AVAILABLE"));
  EXPECT_TRUE(M("presence.state != STATE_AWAY"));
  EXPECT_EQ(Parse("channel = CHAT").CanonicalText(), Parse("channel=CHANNEL_CHAT").CanonicalText());
  const Filter filter = Parse("channel = CHAT");
  ASSERT_EQ(filter.comparisons().size(), 1u);
  const Comparison& c = filter.comparisons()[0];
  EXPECT_EQ(c.kind, LiteralKind::kEnum);
  EXPECT_EQ(c.enum_number, kChat);
  EXPECT_EQ(c.string_value, "CHANNEL_CHAT");
}

TEST(FilterTest, EnumErrors) {
  EXPECT_EQ(Err("channel = PIGEON"),
            "filter: field `channel` expects an enum value name without quotes, found `PIGEON` "
            "at offset 10 (allowed: VOICE, CHAT, EMAIL)");
  EXPECT_THAT(Err("channel = chat"), HasSubstr("found `chat` at offset 10"));  // case-sensitive
  EXPECT_THAT(Err(R"(channel = "CHAT")"), HasSubstr("found a quoted string at offset 10"));
  EXPECT_THAT(Err("channel = 2"), HasSubstr("found `2` at offset 10"));
  EXPECT_THAT(Err("channel = CHANNEL_"), HasSubstr("found `CHANNEL_`"));
  for (absl::string_view op : {"<", "<=", ">", ">=", ":"}) {
    EXPECT_EQ(
        Err(absl::StrCat("channel ", op, " CHAT")),
        absl::StrCat("filter: operator `", op,
                     "` is not allowed on enum field `channel` at offset 8 (allowed: =, !=)"));
  }
}

// --------------------------------------------------------- repeated fields ----

TEST(FilterTest, RepeatedHasAnyElement) {
  Record r;
  EXPECT_TRUE(M(R"(queues:"queues/billing")", r));
  EXPECT_TRUE(M(R"(queues:"queues/sales")", r));
  EXPECT_FALSE(M(R"(queues:"queues/other")", r));
  EXPECT_FALSE(M(R"(queues:"queues/bill")", r));  // whole elements only
  r.queues.clear();
  EXPECT_FALSE(M(R"(queues:"queues/billing")", r));
  // Any container of strings, views included.
  std::vector<absl::string_view> views = {"a", "b"};
  Filter filter = Parse(R"(queues:"b")");
  EXPECT_TRUE(filter.Matches([&](const FieldPath&) { return FilterValue::List(views); }));
  EXPECT_FALSE(filter.Matches([&](const FieldPath&) { return FilterValue::List(StringList()); }));
}

TEST(FilterTest, RepeatedErrors) {
  for (absl::string_view op : {"=", "!=", "<", "<=", ">", ">="}) {
    EXPECT_EQ(Err(absl::StrCat("queues ", op, " \"q\"")),
              absl::StrCat("filter: operator `", op,
                           "` is not allowed on repeated field `queues` at offset 7 "
                           "(use `queues:\"value\"`)"));
  }
  EXPECT_EQ(Err("queues:billing"),
            "filter: field `queues` expects a quoted string, found `billing` at offset 7");
}

TEST(FilterTest, RepeatedEnum) {
  // Any proto enum will do: google.protobuf.FieldDescriptorProto.Type.
  const FilterSchema schema = FilterSchema().AddProtoRepeatedEnum(
      "types", "TYPE_", google::protobuf::FieldDescriptorProto::Type_descriptor());
  const std::vector<std::string> types = {"TYPE_STRING", "TYPE_BOOL"};
  const auto matches = [&](absl::string_view text) {
    absl::StatusOr<Filter> filter = ParseFilter(text, schema);
    EXPECT_TRUE(filter.ok()) << text << ": " << filter.status();
    return filter.ok() &&
           filter->Matches([&](const FieldPath&) { return FilterValue::List(types); });
  };
  EXPECT_TRUE(matches("types:STRING"));
  EXPECT_TRUE(matches("types:TYPE_BOOL"));
  EXPECT_FALSE(matches("types:INT32"));
  EXPECT_EQ(ParseFilter("types:BOOL", schema)->CanonicalText(), "types:TYPE_BOOL");
  EXPECT_EQ(ParseFilter("types = STRING", schema).status().message(),
            "filter: operator `=` is not allowed on repeated field `types` at offset 6 (use "
            "`types:VALUE`)");
  const absl::Status quoted = ParseFilter("types:\"STRING\"", schema).status();
  EXPECT_THAT(std::string(quoted.message()),
              StartsWith("filter: field `types` expects an enum value name without quotes, found "
                         "a quoted string at offset 6 (allowed: "));
  EXPECT_EQ(FieldTypeName(FieldType::kRepeatedEnum), "repeated enum");
}

// -------------------------------------------------------------- attributes ----

TEST(FilterTest, StringAttribute) {
  EXPECT_TRUE(M(R"(attributes.plan = "gold")"));
  EXPECT_FALSE(M(R"(attributes.plan = "silver")"));
  EXPECT_TRUE(M(R"(attributes.plan != "silver")"));
  EXPECT_TRUE(M(R"(attributes.plan < "h")"));
  EXPECT_TRUE(M(R"(attributes.plan <= "gold")"));
  EXPECT_TRUE(M(R"(attributes.plan > "g")"));
  EXPECT_FALSE(M(R"(attributes.plan >= "golden")"));
}

TEST(FilterTest, NumberAttribute) {
  EXPECT_TRUE(M("attributes.score = 10"));
  EXPECT_TRUE(M("attributes.score != 11"));
  EXPECT_TRUE(M("attributes.score > 9.5"));
  EXPECT_TRUE(M("attributes.score >= 10"));
  EXPECT_FALSE(M("attributes.score < 10"));
  EXPECT_TRUE(M("attributes.score <= 1e1"));
}

TEST(FilterTest, BoolAttribute) {
  EXPECT_TRUE(M("attributes.vip = true"));
  EXPECT_FALSE(M("attributes.vip = false"));
  EXPECT_TRUE(M("attributes.vip != false"));
  EXPECT_EQ(Err("attributes.vip < true"),
            "filter: operator `<` cannot compare with a bool (allowed: =, !=) at offset 17");
}

TEST(FilterTest, TimestampAttribute) {
  // renewal is 2024-06-01T00:00:00Z: compared as a time, offsets honoured.
  EXPECT_TRUE(M(R"(attributes.renewal = "2024-06-01T09:00:00+09:00")"));
  EXPECT_TRUE(M(R"(attributes.renewal > "2024-05-31T23:59:59Z")"));
  EXPECT_TRUE(M(R"(attributes.renewal < "2024-06-01T08:00:00-07:00")"));
  EXPECT_FALSE(M(R"(attributes.renewal != "2024-06-01T00:00:00Z")"));
  // A string attribute that looks like a time is compared as a string.
  Record r;
  r.attributes["note"] = std::string("2024-06-01T09:00:00+09:00");
  EXPECT_TRUE(M(R"(attributes.note = "2024-06-01T09:00:00+09:00")", r));
  EXPECT_FALSE(M(R"(attributes.note = "2024-06-01T00:00:00Z")", r));
  // A non-time string never matches a timestamp attribute.
  EXPECT_FALSE(M(R"(attributes.renewal = "soon")"));
  EXPECT_FALSE(M(R"(attributes.renewal != "soon")"));
}

TEST(FilterTest, AttributeTypeMismatchDoesNotMatch) {
  // score is a number, plan a string, vip a bool: no operator matches across
  // types, not even !=, and none of this is an error.
  for (absl::string_view text :
       {R"(attributes.score = "10")", R"(attributes.score != "10")", R"(attributes.score > "1")",
        "attributes.plan = 1", "attributes.plan != 1", "attributes.plan = true",
        "attributes.vip = 1", R"(attributes.vip != "true")", "attributes.renewal > 0"}) {
    EXPECT_FALSE(M(text)) << text;
  }
}

TEST(FilterTest, MissingAttributeMatchesNothing) {
  for (absl::string_view text :
       {R"(attributes.missing = "x")", R"(attributes.missing != "x")", "attributes.missing != 0",
        "attributes.missing != true", "attributes.missing < 1"}) {
    EXPECT_FALSE(M(text)) << text;
  }
}

TEST(FilterTest, NestedMapField) {
  EXPECT_TRUE(M(R"(customer.attributes.tier = "VIP")"));
  EXPECT_FALSE(M(R"(customer.attributes.tier = "vip")"));
  const Filter filter = Parse(R"(customer.attributes.tier = "VIP")");
  ASSERT_EQ(filter.comparisons().size(), 1u);
  const Comparison& c = filter.comparisons()[0];
  EXPECT_EQ(c.field, "customer.attributes");
  EXPECT_EQ(c.key, "tier");
  EXPECT_EQ(c.field_type, FieldType::kMap);
}

TEST(FilterTest, AttributeErrors) {
  EXPECT_EQ(Err("attributes = 1"),
            "filter: field `attributes` needs a key (`attributes.<key>`) at offset 0");
  EXPECT_EQ(Err("attributes.plan = gold"),
            "filter: field `attributes.plan` expects a quoted string, a number, true or false, "
            "found `gold` at offset 18");
  EXPECT_THAT(Err(R"(attributes.plan:"gold")"),
              HasSubstr("operator `:` is not allowed on map field `attributes.plan` at offset 15"));
  EXPECT_THAT(Err("attributes.a.b = 1"), HasSubstr("unknown field `attributes.a.b` at offset 0"));
  EXPECT_THAT(Err("attributes. = 1"), HasSubstr("invalid field name `attributes.` at offset 0"));
}

// ------------------------------------------------------------------ errors ----

TEST(FilterTest, UnknownFieldListsAllowedFields) {
  EXPECT_EQ(Err("foo = 1"),
            "filter: unknown field `foo` at offset 0 (allowed: display_name, priority, active, "
            "create_time, channel, presence.state, queues, attributes.<key>, "
            "customer.attributes.<key>)");
  EXPECT_THAT(Err("priority = 1 AND  foo = 2"),
              StartsWith("filter: unknown field `foo` at offset 18"));
  EXPECT_THAT(Err("presence = 1"), StartsWith("filter: unknown field `presence` at offset 0"));
}

TEST(FilterTest, UnsupportedSyntax) {
  EXPECT_EQ(Err("priority = 1 OR priority = 2"),
            "filter: `OR` is not supported (only AND) at offset 13");
  EXPECT_EQ(Err("OR priority = 2"), "filter: `OR` is not supported (only AND) at offset 0");
  EXPECT_EQ(Err("NOT active = true"), "filter: `NOT` is not supported at offset 0");
  EXPECT_EQ(Err("priority = 1 AND NOT active = true"),
            "filter: `NOT` is not supported at offset 17");
  EXPECT_EQ(Err("-active = true"), "filter: negation (`-`) is not supported at offset 0");
  EXPECT_EQ(Err("(priority = 1)"), "filter: parentheses are not supported at offset 0");
  EXPECT_EQ(Err("priority = 1 AND (active = true)"),
            "filter: parentheses are not supported at offset 17");
  EXPECT_EQ(Err("priority = (1)"), "filter: parentheses are not supported at offset 11");
  EXPECT_EQ(Err("active ! true"),
            "filter: unexpected `!` (use `!=`; NOT is not supported) at offset 7");
  EXPECT_EQ(Err("priority = 1 and active = true"),
            "filter: expected `AND`, found `and` (AND must be upper-case) at offset 13");
  EXPECT_EQ(Err("priority = 1 And active = true"),
            "filter: expected `AND`, found `And` (AND must be upper-case) at offset 13");
  EXPECT_EQ(Err("display_name"),
            "filter: expected an operator after `display_name`, found end of filter at offset 12");
  EXPECT_EQ(Err(R"("Ada")"), "filter: expected a field name, found a quoted string at offset 0");
  EXPECT_EQ(Err("= 1"), "filter: expected a field name, found `=` at offset 0");
  EXPECT_EQ(Err("AND priority = 1"), "filter: expected a field name, found `AND` at offset 0");
  EXPECT_EQ(Err("priority = 1 AND"),
            "filter: expected a comparison after `AND` at offset 16 (end of filter)");
  EXPECT_EQ(Err("priority = 1 AND AND active = true"),
            "filter: expected a field name, found `AND` at offset 17");
  EXPECT_EQ(Err("priority ="),
            "filter: expected a value after `priority =`, found end of filter at offset 10");
  EXPECT_EQ(Err("priority = = 1"),
            "filter: expected a value after `priority =`, found `=` at offset 11");
  EXPECT_EQ(Err("priority = 1 active = true"),
            "filter: expected `AND` or end of filter, found `active` at offset 13");
  EXPECT_EQ(Err(R"(display_name = "a" "b")"),
            "filter: expected `AND` or end of filter, found a quoted string at offset 19");
  EXPECT_EQ(Err("priority <> 1"),
            "filter: expected a value after `priority <`, found `>` at offset 10");
  EXPECT_EQ(Err("pri~ority = 1"), "filter: invalid field name `pri~ority` at offset 0");
  EXPECT_EQ(Err("1priority = 1"), "filter: invalid field name `1priority` at offset 0");
  EXPECT_EQ(Err("priority.=1"), "filter: invalid field name `priority.` at offset 0");
  EXPECT_EQ(Err("priority = *"),
            "filter: field `priority` expects a number, found `*` at offset 11");
  // Control bytes are escaped in messages.
  EXPECT_EQ(Err(std::string("a\x01 = 1", 6)), R"(filter: invalid field name `a\x01` at offset 0)");
  // Long words are cut in messages.
  EXPECT_EQ(Err(absl::StrCat(std::string(40, 'x'), " = 1")),
            absl::StrCat("filter: unknown field `", std::string(32, 'x'),
                         "...` at offset 0 (allowed: ", Schema().AllowedFieldsText(), ")"));
}

TEST(FilterTest, LengthLimit) {
  // Exactly 1024 bytes is fine (padding with whitespace).
  std::string ok = "priority = 5";
  ok.append(kMaxFilterLength - ok.size(), ' ');
  ASSERT_EQ(ok.size(), 1024u);
  EXPECT_TRUE(M(ok));
  std::string too_long = ok + " ";
  EXPECT_EQ(Err(too_long), "filter: must be at most 1024 characters, got 1025");
  // A long string literal counts too.
  EXPECT_THAT(Err(absl::StrCat(R"(display_name = ")", std::string(1100, 'a'), R"(")")),
              HasSubstr("must be at most 1024 characters, got 1117"));
}

// -------------------------------------------------------- parsed structure ----

TEST(FilterTest, ComparisonsAreExposed) {
  Filter filter =
      Parse(R"(channel = CHAT AND create_time >= "2024-05-01T09:00:00+09:00" AND queues:"q" AND )"
            R"(attributes.score > 3 AND active != false)");
  const std::vector<Comparison>& c = filter.comparisons();
  ASSERT_EQ(c.size(), 5u);
  EXPECT_EQ(c[0].field, "channel");
  EXPECT_EQ(c[0].key, "");
  EXPECT_EQ(c[0].field_type, FieldType::kEnum);
  EXPECT_EQ(c[0].op, Op::kEq);
  EXPECT_EQ(c[0].enum_number, kChat);
  EXPECT_EQ(c[0].offset, 0);
  EXPECT_EQ(c[1].field, "create_time");
  EXPECT_EQ(c[1].op, Op::kGe);
  EXPECT_EQ(c[1].kind, LiteralKind::kTimestamp);
  EXPECT_EQ(c[1].time_value, absl::FromUnixSeconds(1714521600));
  EXPECT_EQ(c[1].string_value, "2024-05-01T09:00:00+09:00");
  EXPECT_EQ(c[1].offset, 19);
  EXPECT_EQ(c[2].op, Op::kHas);
  EXPECT_EQ(c[2].string_value, "q");
  EXPECT_EQ(c[3].field, "attributes");
  EXPECT_EQ(c[3].key, "score");
  EXPECT_EQ(c[3].kind, LiteralKind::kNumber);
  EXPECT_EQ(c[3].number_value, 3);
  EXPECT_EQ(c[4].kind, LiteralKind::kBool);
  EXPECT_FALSE(c[4].bool_value);
  EXPECT_EQ(c[4].op, Op::kNe);
}

TEST(FilterTest, CanonicalText) {
  Filter filter = Parse(
      R"(  priority>=1e1 AND channel=CHAT AND create_time < "2024-05-01T09:00:00.5+09:00")"
      R"( AND attributes.plan="gold" AND queues : "q\"1" AND active=true AND priority != -0)");
  const std::string expected =
      R"(active = true AND attributes.plan = "gold" AND channel = CHANNEL_CHAT AND )"
      R"(create_time < "2024-05-01T00:00:00.5Z" AND priority != 0 AND priority >= 10 AND )"
      R"(queues:"q\"1")";
  EXPECT_EQ(filter.CanonicalText(), expected);
  // The canonical text parses back to the same filter.
  EXPECT_EQ(Parse(expected).CanonicalText(), expected);
  // Order, spacing and spelling do not matter.
  EXPECT_EQ(Parse("priority = 10.0 AND channel = CHANNEL_CHAT").CanonicalText(),
            Parse("channel=CHAT AND priority=10").CanonicalText());
  EXPECT_NE(Parse("priority = 10").CanonicalText(), Parse("priority = 11").CanonicalText());
  EXPECT_EQ(Parse("priority = 0.1").CanonicalText(), "priority = 0.1");
}

TEST(FilterTest, MatchesDoesNotAllocate) {
  Filter filter =
      Parse(R"(display_name >= "A" AND priority > 1 AND active = true AND channel = CHAT AND )"
            R"(create_time < "2025-01-01T00:00:00Z" AND queues:"queues/sales" AND )"
            R"(attributes.plan = "gold" AND attributes.score >= 10)");
  Record record;
  RecordResolver resolver(record);
  const long before = testing_internal::AllocationCount();
  bool matched = true;
  for (int i = 0; i < 100; ++i) matched = matched && filter.Matches(resolver);
  const long after = testing_internal::AllocationCount();
  EXPECT_TRUE(matched);
  EXPECT_EQ(after - before, 0);
  // The counter does see allocations.
  auto* probe = new std::string(100, 'x');
  EXPECT_GT(testing_internal::AllocationCount(), after);
  delete probe;
}

// Mutations of valid filters (bytes flipped, dropped, duplicated, cut) either
// parse or fail with a well-formed INVALID_ARGUMENT naming `filter` and an
// offset inside the text; never anything else.
TEST(FilterTest, MutatedInputsFailCleanly) {
  const std::vector<std::string> seeds = {
      R"(display_name = "a\"b" AND priority >= -1.5e3 AND active != false)",
      R"(channel = CHAT AND create_time < "2024-05-01T09:00:00.5+09:00" AND queues:"q")",
      R"(attributes.plan = "gold" AND customer.attributes.tier != "x" AND attributes.n <= 2)",
  };
  const std::string alphabet = "\"\\=!<>:() .-_aAN0eZT+\t\x01\xff";
  uint64_t state = 0x9e3779b97f4a7c15ULL;
  auto next = [&state]() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  int parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text = seeds[next() % seeds.size()];
    const int edits = 1 + static_cast<int>(next() % 3);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      const size_t pos = next() % text.size();
      switch (next() % 4) {
        case 0:
          text[pos] = alphabet[next() % alphabet.size()];
          break;
        case 1:
          text.erase(pos, 1);
          break;
        case 2:
          text.insert(pos, 1, alphabet[next() % alphabet.size()]);
          break;
        case 3:
          text.resize(pos);
          break;
      }
    }
    absl::StatusOr<Filter> filter = ParseFilter(text, Schema());
    if (filter.ok()) {
      ++parsed;
      // Valid filters round-trip through their canonical text.
      absl::StatusOr<Filter> again = ParseFilter(filter->CanonicalText(), Schema());
      ASSERT_TRUE(again.ok()) << text << " -> " << filter->CanonicalText();
      EXPECT_EQ(again->CanonicalText(), filter->CanonicalText());
      filter->Matches(RecordResolver(Record()));
      continue;
    }
    ASSERT_EQ(filter.status().code(), absl::StatusCode::kInvalidArgument) << text;
    const std::string message(filter.status().message());
    ASSERT_THAT(message, StartsWith("filter: ")) << text;
    const size_t at = message.find(" at offset ");
    ASSERT_NE(at, std::string::npos) << message;
    size_t offset = 0;
    for (size_t j = at + 11; j < message.size() && absl::ascii_isdigit(message[j]); ++j) {
      offset = offset * 10 + (message[j] - '0');
    }
    EXPECT_LE(offset, text.size()) << message;
  }
  EXPECT_GT(parsed, 100);  // the mutations do not only produce errors
}

TEST(FilterSchemaTest, ResolvePaths) {
  absl::string_view key = "unchanged";
  const FilterSchema::Field* field = Schema().Resolve("presence.state", &key);
  ASSERT_NE(field, nullptr);
  EXPECT_EQ(field->type, FieldType::kEnum);
  EXPECT_EQ(key, "");
  field = Schema().Resolve("attributes.plan", &key);
  ASSERT_NE(field, nullptr);
  EXPECT_EQ(field->name, "attributes");
  EXPECT_EQ(key, "plan");
  EXPECT_EQ(Schema().Resolve("attributes", &key), nullptr);
  EXPECT_EQ(Schema().Resolve("nope", &key), nullptr);
}

TEST(FilterSchemaDeathTest, MisuseAborts) {
  EXPECT_DEATH(FilterSchema().AddString("a").AddNumber("a"), "declared twice");
  EXPECT_DEATH(FilterSchema().AddString("a b"), "invalid name");
  EXPECT_DEATH(FilterSchema().AddEnum("e", "E_", {}), "enum without values");
}

}  // namespace
}  // namespace cxp::filter
