#include "routing_service/validation/agent_validation.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "common/validation/update_mask.h"
#include "cxp/type/v1/channel.pb.h"
#include "routing_service/validation/field_rules.h"
#include "routing_service/validation/resource_names.h"

namespace cxp::routing::validation {
namespace {

using cxp::routing::v1::Agent;
using cxp::routing::v1::AgentSkill;
using cxp::routing::v1::ChannelCapacity;
using cxp::validation::ApplyPaths;
using cxp::validation::UpdatePaths;

// Checks `path` (one of kAgentUpdatePaths) of `in` and writes its normalised
// value into `out`.
absl::Status NormalizeAgentField(absl::string_view path, const Agent& in, absl::string_view field,
                                 Agent* out) {
  if (path == "display_name") {
    return ValidateText(in.display_name(), FieldPath(field, "display_name"), 1,
                        kMaxDisplayNameChars);
  }
  if (path == "skills") return ValidateAgentSkills(in.skills(), FieldPath(field, "skills"));
  if (path == "language_codes") {
    ASSIGN_OR_RETURN(
        std::vector<std::string> codes,
        NormalizeLanguageCodes(in.language_codes(), FieldPath(field, "language_codes")));
    out->clear_language_codes();
    for (std::string& code : codes) out->add_language_codes(std::move(code));
    return absl::OkStatus();
  }
  if (path == "channel_capacities") {
    return ValidateChannelCapacities(in.channel_capacities(),
                                     FieldPath(field, "channel_capacities"));
  }
  if (path == "queues") return ValidateAgentQueues(in.queues(), FieldPath(field, "queues"));
  return InvalidField(FieldPath(field, path), "cannot be set");  // not reached for valid paths
}

void ClearOutputOnly(Agent* agent) {
  agent->clear_presence();
  agent->clear_create_time();
  agent->clear_update_time();
}

}  // namespace

absl::Status ValidateAgentSkills(const google::protobuf::RepeatedPtrField<AgentSkill>& skills,
                                 absl::string_view field) {
  RETURN_IF_ERROR(ValidateMaxEntries(skills.size(), kMaxAgentSkills, field));
  absl::flat_hash_map<absl::string_view, int> first;
  for (int i = 0; i < skills.size(); ++i) {
    const std::string entry = IndexedPath(field, i);
    const AgentSkill& skill = skills.Get(i);
    RETURN_IF_ERROR(ValidateSkillId(skill.skill(), FieldPath(entry, "skill")));
    RETURN_IF_ERROR(ValidateRange(skill.proficiency(), FieldPath(entry, "proficiency"),
                                  kMinProficiency, kMaxProficiency));
    if (const auto [it, inserted] = first.emplace(skill.skill(), i); !inserted) {
      return RepeatedEntry(FieldPath(entry, "skill"),
                           FieldPath(IndexedPath(field, it->second), "skill"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> NormalizeLanguageCodes(
    const google::protobuf::RepeatedPtrField<std::string>& codes, absl::string_view field) {
  RETURN_IF_ERROR(ValidateMaxEntries(codes.size(), kMaxAgentLanguageCodes, field));
  std::vector<std::string> out;
  out.reserve(codes.size());
  absl::flat_hash_map<std::string, int> first;  // lower-cased tag -> index
  for (int i = 0; i < codes.size(); ++i) {
    const std::string entry = IndexedPath(field, i);
    ASSIGN_OR_RETURN(std::string tag, NormalizeLanguageTag(codes.Get(i), entry));
    if (const auto [it, inserted] = first.emplace(absl::AsciiStrToLower(tag), i); !inserted) {
      return RepeatedEntry(entry, IndexedPath(field, it->second));
    }
    out.push_back(std::move(tag));
  }
  return out;
}

absl::Status ValidateChannelCapacities(
    const google::protobuf::RepeatedPtrField<ChannelCapacity>& capacities,
    absl::string_view field) {
  absl::flat_hash_map<int, int> first;  // channel -> index
  for (int i = 0; i < capacities.size(); ++i) {
    const std::string entry = IndexedPath(field, i);
    const ChannelCapacity& capacity = capacities.Get(i);
    const std::string channel_field = FieldPath(entry, "channel");
    RETURN_IF_ERROR(ValidateChannel(capacity.channel(), channel_field));
    if (const auto [it, inserted] = first.emplace(capacity.channel(), i); !inserted) {
      return RepeatedEntry(channel_field, FieldPath(IndexedPath(field, it->second), "channel"));
    }
    RETURN_IF_ERROR(
        ValidateRange(capacity.max_tasks(), FieldPath(entry, "max_tasks"), 1, kMaxTasksPerChannel));
    const std::string blocked_field = FieldPath(entry, "blocked_channels");
    absl::flat_hash_map<int, int> first_blocked;
    for (int j = 0; j < capacity.blocked_channels_size(); ++j) {
      const std::string blocked_entry = IndexedPath(blocked_field, j);
      const int blocked = capacity.blocked_channels(j);
      RETURN_IF_ERROR(ValidateChannel(blocked, blocked_entry));
      if (blocked == capacity.channel()) {
        return InvalidField(blocked_entry, "must not be the entry's own channel");
      }
      if (const auto [it, inserted] = first_blocked.emplace(blocked, j); !inserted) {
        return RepeatedEntry(blocked_entry, IndexedPath(blocked_field, it->second));
      }
    }
    if (capacity.has_wrap_up_timeout()) {
      RETURN_IF_ERROR(ValidateDurationRange(capacity.wrap_up_timeout(),
                                            FieldPath(entry, "wrap_up_timeout"),
                                            kMinAgentWrapUpTimeout, kMaxAgentWrapUpTimeout));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateAgentQueues(const google::protobuf::RepeatedPtrField<std::string>& queues,
                                 absl::string_view field) {
  RETURN_IF_ERROR(ValidateMaxEntries(queues.size(), kMaxAgentQueues, field));
  absl::flat_hash_map<absl::string_view, int> first;
  for (int i = 0; i < queues.size(); ++i) {
    const std::string entry = IndexedPath(field, i);
    RETURN_IF_ERROR(ParseQueueName(queues.Get(i), entry).status());
    if (const auto [it, inserted] = first.emplace(queues.Get(i), i); !inserted) {
      return RepeatedEntry(entry, IndexedPath(field, it->second));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Agent> NormalizeAgent(const Agent& agent, absl::string_view field) {
  Agent out = agent;
  ClearOutputOnly(&out);
  for (const absl::string_view path : kAgentUpdatePaths) {
    RETURN_IF_ERROR(NormalizeAgentField(path, agent, field, &out));
  }
  return out;
}

absl::StatusOr<ValidatedCreateAgent> ValidateCreateAgent(
    const cxp::routing::v1::CreateAgentRequest& request) {
  if (!request.has_agent()) return InvalidField("agent", "must be set");
  ValidatedCreateAgent out;
  ASSIGN_OR_RETURN(out.agent, NormalizeAgent(request.agent(), "agent"));
  out.agent.clear_name();
  out.agent.clear_etag();
  if (!request.agent_id().empty()) {
    RETURN_IF_ERROR(ValidateResourceId(request.agent_id(), "agent_id"));
    out.agent_id = request.agent_id();
  }
  RETURN_IF_ERROR(ValidateRequestId(request.request_id(), "request_id"));
  return out;
}

absl::StatusOr<ValidatedAgentUpdate> ValidateUpdateAgent(
    const cxp::routing::v1::UpdateAgentRequest& request) {
  if (!request.has_agent()) return InvalidField("agent", "must be set");
  const Agent& agent = request.agent();
  ValidatedAgentUpdate out;
  ASSIGN_OR_RETURN(out.agent_id, ParseAgentName(agent.name(), "agent.name"));
  ASSIGN_OR_RETURN(out.paths, UpdatePaths(request.update_mask(), agent, kAgentUpdatePaths));
  out.agent = agent;
  ClearOutputOnly(&out.agent);
  for (const std::string& path : out.paths) {
    RETURN_IF_ERROR(NormalizeAgentField(path, agent, "agent", &out.agent));
  }
  return out;
}

Agent ApplyAgentUpdate(const Agent& stored, const ValidatedAgentUpdate& update) {
  Agent out = stored;
  ApplyPaths(update.agent, update.paths, &out);
  return out;
}

}  // namespace cxp::routing::validation
