#include "notify_service/core/notification_filters.h"

#include <algorithm>

#include "cxp/type/v1/channel.pb.h"
#include "cxp/type/v1/purpose.pb.h"
#include "google/protobuf/util/time_util.h"

namespace cxp::notify {
namespace {

namespace v1 = ::cxp::notify::v1;
using filter::FieldPath;
using filter::FilterSchema;
using filter::FilterValue;
using google::protobuf::util::TimeUtil;

absl::Time ToTime(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(timestamp));
}

}  // namespace

const FilterSchema& NotificationFilterSchema() {
  static const FilterSchema* schema =
      new FilterSchema(FilterSchema()
                           .AddString("resolved_customer")
                           .AddProtoEnum("state", "STATE_", v1::Notification::State_descriptor())
                           .AddString("template")
                           .AddProtoEnum("purpose", "PURPOSE_", cxp::type::v1::Purpose_descriptor())
                           .AddProtoEnum("channel", "CHANNEL_", cxp::type::v1::Channel_descriptor())
                           .AddString("trigger_rule")
                           .AddTimestamp("create_time")
                           .AddTimestamp("update_time"));
  return *schema;
}

FilterValue NotificationFieldResolver::Resolve(const FieldPath& path) const {
  if (path.field == "resolved_customer") {
    return FilterValue::String(notification_.resolved_customer());
  }
  if (path.field == "state") return FilterValue::Enum(notification_.state());
  if (path.field == "template") return FilterValue::String(notification_.template_());
  if (path.field == "purpose") return FilterValue::Enum(notification_.purpose());
  if (path.field == "channel") return FilterValue::Enum(notification_.channel());
  if (path.field == "trigger_rule") return FilterValue::String(notification_.trigger_rule());
  if (path.field == "create_time")
    return FilterValue::Timestamp(ToTime(notification_.create_time()));
  if (path.field == "update_time")
    return FilterValue::Timestamp(ToTime(notification_.update_time()));
  return FilterValue::Absent();
}

NotificationScanBounds ScanBoundsOf(const filter::Filter& filter) {
  NotificationScanBounds bounds;
  for (const filter::Comparison& comparison : filter.comparisons()) {
    if (comparison.field == "resolved_customer" && comparison.op == filter::Op::kEq) {
      bounds.customer = comparison.string_value;
    }
    if (comparison.field == "create_time" &&
        (comparison.op == filter::Op::kGe || comparison.op == filter::Op::kGt ||
         comparison.op == filter::Op::kEq)) {
      bounds.created_at_or_after = std::max(
          bounds.created_at_or_after.value_or(absl::InfinitePast()), comparison.time_value);
    }
  }
  return bounds;
}

}  // namespace cxp::notify
