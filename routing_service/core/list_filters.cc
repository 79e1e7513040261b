#include "routing_service/core/list_filters.h"

#include "cxp/type/v1/channel.pb.h"
#include "google/protobuf/util/time_util.h"

namespace cxp::routing {

namespace v1 = ::cxp::routing::v1;
using filter::FieldPath;
using filter::FilterSchema;
using filter::FilterValue;
using filter::StringList;

const FilterSchema& AgentFilterSchema() {
  static const FilterSchema* schema = new FilterSchema(
      FilterSchema()
          .AddString("display_name")
          .AddProtoEnum("presence.state", "AGENT_STATE_", v1::AgentState_descriptor())
          .AddRepeatedString("queues")
          .AddRepeatedString("skills.skill")
          .AddRepeatedString("language_codes"));
  return *schema;
}

const FilterSchema& QueueFilterSchema() {
  static const FilterSchema* schema = new FilterSchema(
      FilterSchema().AddString("display_name").AddNumber("priority").AddRepeatedString("intents"));
  return *schema;
}

const FilterSchema& TaskFilterSchema() {
  static const FilterSchema* schema =
      new FilterSchema(FilterSchema()
                           .AddProtoEnum("state", "STATE_", v1::Task::State_descriptor())
                           .AddString("queue")
                           .AddString("agent")
                           .AddProtoEnum("channel", "CHANNEL_", cxp::type::v1::Channel_descriptor())
                           .AddString("intent")
                           .AddTimestamp("create_time"));
  return *schema;
}

AgentFieldResolver::AgentFieldResolver(const v1::Agent& agent) : agent_(agent) {
  skills_.reserve(agent.skills_size());
  for (const v1::AgentSkill& skill : agent.skills()) skills_.push_back(skill.skill());
}

FilterValue AgentFieldResolver::Resolve(const FieldPath& path) const {
  if (path.field == "display_name") return FilterValue::String(agent_.display_name());
  if (path.field == "presence.state") return FilterValue::Enum(agent_.presence().state());
  if (path.field == "queues") return FilterValue::List(StringList(agent_.queues()));
  if (path.field == "skills.skill") return FilterValue::List(StringList(skills_));
  if (path.field == "language_codes") return FilterValue::List(StringList(agent_.language_codes()));
  return FilterValue::Absent();
}

FilterValue QueueFieldResolver::Resolve(const FieldPath& path) const {
  if (path.field == "display_name") return FilterValue::String(queue_.display_name());
  if (path.field == "priority") return FilterValue::Number(queue_.priority());
  if (path.field == "intents") return FilterValue::List(StringList(queue_.intents()));
  return FilterValue::Absent();
}

FilterValue TaskFieldResolver::Resolve(const FieldPath& path) const {
  if (path.field == "state") return FilterValue::Enum(task_.state());
  if (path.field == "queue") return FilterValue::String(task_.queue());
  if (path.field == "agent") return FilterValue::String(task_.agent());
  if (path.field == "channel") return FilterValue::Enum(task_.channel());
  if (path.field == "intent") return FilterValue::String(task_.intent());
  if (path.field == "create_time") {
    return FilterValue::Timestamp(absl::FromUnixMicros(
        google::protobuf::util::TimeUtil::TimestampToMicroseconds(task_.create_time())));
  }
  return FilterValue::Absent();
}

}  // namespace cxp::routing
