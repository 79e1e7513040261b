#include "context_service/core/list_filters.h"

#include <string>
#include <utility>
#include <vector>

#include "cxp/context/v1/consent.pb.h"
#include "cxp/type/v1/channel.pb.h"
#include "cxp/type/v1/purpose.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/time_util.h"

namespace cxp::context {
namespace {

using filter::FieldPath;
using filter::FilterSchema;
using filter::FilterValue;
using google::protobuf::util::TimeUtil;

FilterValue Time(const google::protobuf::Timestamp& ts) {
  return FilterValue::Timestamp(absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(ts)));
}

FilterValue Attribute(
    const google::protobuf::Map<std::string, cxp::type::v1::AttributeValue>& attributes,
    absl::string_view key) {
  auto it = attributes.find(std::string(key));
  if (it == attributes.end()) return FilterValue::Absent();
  const cxp::type::v1::AttributeValue& value = it->second;
  switch (value.value_case()) {
    case cxp::type::v1::AttributeValue::kStringValue:
      return FilterValue::String(value.string_value());
    case cxp::type::v1::AttributeValue::kNumberValue:
      return FilterValue::Number(value.number_value());
    case cxp::type::v1::AttributeValue::kBoolValue:
      return FilterValue::Bool(value.bool_value());
    case cxp::type::v1::AttributeValue::kTimestampValue:
      return Time(value.timestamp_value());
    default:
      return FilterValue::Absent();
  }
}

}  // namespace

const FilterSchema& CustomerFilterSchema() {
  static const FilterSchema* schema = new FilterSchema(FilterSchema()
                                                           .AddString("display_name")
                                                           .AddString("language_code")
                                                           .AddString("time_zone")
                                                           .AddString("tier")
                                                           .AddTimestamp("create_time")
                                                           .AddTimestamp("update_time")
                                                           .AddMap("attributes"));
  return *schema;
}

const FilterSchema& InteractionFilterSchema() {
  static const FilterSchema* schema =
      new FilterSchema(FilterSchema()
                           .AddTimestamp("occur_time")
                           .AddProtoEnum("channel", "CHANNEL_", cxp::type::v1::Channel_descriptor())
                           .AddProtoEnum("direction", "DIRECTION_",
                                         cxp::context::v1::Interaction::Direction_descriptor())
                           .AddString("type")
                           .AddString("journey")
                           .AddString("case_id")
                           .AddString("agent")
                           .AddString("queue")
                           .AddMap("attributes"));
  return *schema;
}

const FilterSchema& ConsentChangeFilterSchema() {
  static const FilterSchema* schema = new FilterSchema(
      FilterSchema()
          .AddProtoEnum("channel", "CHANNEL_", cxp::type::v1::Channel_descriptor())
          .AddProtoEnum("purpose", "PURPOSE_", cxp::type::v1::Purpose_descriptor())
          .AddProtoEnum("state", "CONSENT_STATE_", cxp::context::v1::ConsentState_descriptor())
          .AddTimestamp("change_time"));
  return *schema;
}

const FilterSchema& JourneyFilterSchema() {
  static const FilterSchema* schema = new FilterSchema(
      FilterSchema()
          .AddProtoEnum("state", "STATE_", cxp::context::v1::Journey::State_descriptor())
          .AddString("type")
          .AddString("step")
          .AddTimestamp("create_time")
          .AddTimestamp("update_time")
          .AddMap("attributes"));
  return *schema;
}

FilterValue CustomerFieldResolver::Resolve(const FieldPath& path) const {
  const absl::string_view field = path.field;
  if (field == "display_name") return FilterValue::String(customer_.display_name());
  if (field == "language_code") return FilterValue::String(customer_.language_code());
  if (field == "time_zone") return FilterValue::String(customer_.time_zone());
  if (field == "tier") return FilterValue::String(customer_.tier());
  if (field == "create_time") return Time(customer_.create_time());
  if (field == "update_time") return Time(customer_.update_time());
  if (field == "attributes") return Attribute(customer_.attributes(), path.key);
  return FilterValue::Absent();
}

FilterValue InteractionFieldResolver::Resolve(const FieldPath& path) const {
  const absl::string_view field = path.field;
  if (field == "occur_time") return Time(interaction_.occur_time());
  if (field == "channel") return FilterValue::Enum(interaction_.channel());
  if (field == "direction") return FilterValue::Enum(interaction_.direction());
  if (field == "type") return FilterValue::String(interaction_.type());
  if (field == "journey") return FilterValue::String(interaction_.journey());
  if (field == "case_id") return FilterValue::String(interaction_.case_id());
  if (field == "agent") return FilterValue::String(interaction_.agent());
  if (field == "queue") return FilterValue::String(interaction_.queue());
  if (field == "attributes") return Attribute(interaction_.attributes(), path.key);
  return FilterValue::Absent();
}

FilterValue ConsentChangeFieldResolver::Resolve(const FieldPath& path) const {
  const absl::string_view field = path.field;
  if (field == "channel") return FilterValue::Enum(change_.channel());
  if (field == "purpose") return FilterValue::Enum(change_.purpose());
  if (field == "state") return FilterValue::Enum(change_.state());
  if (field == "change_time") return Time(change_.change_time());
  return FilterValue::Absent();
}

FilterValue JourneyFieldResolver::Resolve(const FieldPath& path) const {
  const absl::string_view field = path.field;
  if (field == "state") return FilterValue::Enum(journey_.state());
  if (field == "type") return FilterValue::String(journey_.type());
  if (field == "step") return FilterValue::String(journey_.step());
  if (field == "create_time") return Time(journey_.create_time());
  if (field == "update_time") return Time(journey_.update_time());
  if (field == "attributes") return Attribute(journey_.attributes(), path.key);
  return FilterValue::Absent();
}

TimeBounds OccurTimeBounds(const filter::Filter& filter) {
  TimeBounds bounds;
  for (const filter::Comparison& comparison : filter.comparisons()) {
    if (comparison.field != "occur_time" || !comparison.has_time_value) continue;
    const int64_t micros = absl::ToUnixMicros(comparison.time_value);
    auto tighten_newest = [&](int64_t v) {
      bounds.newest_micros = bounds.newest_micros ? std::min(*bounds.newest_micros, v) : v;
    };
    auto tighten_oldest = [&](int64_t v) {
      bounds.oldest_micros = bounds.oldest_micros ? std::max(*bounds.oldest_micros, v) : v;
    };
    switch (comparison.op) {
      case filter::Op::kLt:
        tighten_newest(micros - 1);
        break;
      case filter::Op::kLe:
        tighten_newest(micros);
        break;
      case filter::Op::kGt:
        tighten_oldest(micros + 1);
        break;
      case filter::Op::kGe:
        tighten_oldest(micros);
        break;
      case filter::Op::kEq:
        tighten_newest(micros);
        tighten_oldest(micros);
        break;
      default:
        break;
    }
  }
  return bounds;
}

}  // namespace cxp::context
