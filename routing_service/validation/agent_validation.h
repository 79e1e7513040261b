// Checks and normalisation of agent configuration: CreateAgentRequest and
// UpdateAgentRequest. The comments in protos/cxp/routing/v1/agent.proto and
// routing_service.proto are the contract for every rule here.
//
// Rules (paths relative to the caller's `field`, normally "agent"):
//   display_name        required, at most 256 characters, no control
//                       characters.
//   skills              at most 100; skill 1 to 64 characters of
//                       [a-z0-9_.-]; proficiency 1 to 5; no skill twice.
//   language_codes      at most 20 BCP-47 tags (NormalizeLanguageTag, which
//                       also puts them in canonical case: "ko-kr" ->
//                       "ko-KR"); no tag twice, compared case-insensitively.
//   channel_capacities  channel set and known; at most one entry per
//                       channel; max_tasks 1 to 20; blocked_channels each
//                       set and known, not the entry's own channel, no
//                       repeats; wrap_up_timeout unset or 1 second to 1 hour.
//   queues              at most 100 `queues/{queue}` names, no repeats
//                       (whether they exist is the core's check).
// Output-only fields (presence, create_time, update_time) are ignored and
// cleared in the returned copies. Repeated entries are reported at the later
// index: "agent.skills[3].skill: repeats agent.skills[1].skill".
//
// Errors: INVALID_ARGUMENT "<field path>: <problem>", e.g.
// "agent.skills[2].proficiency: must be 1 to 5 (got 7)". The first error in
// field-number order is reported. Pure functions, thread-safe.

#ifndef CXP_ROUTING_SERVICE_VALIDATION_AGENT_VALIDATION_H_
#define CXP_ROUTING_SERVICE_VALIDATION_AGENT_VALIDATION_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cxp/routing/v1/agent.pb.h"
#include "cxp/routing/v1/routing_service.pb.h"
#include "google/protobuf/repeated_field.h"

namespace cxp::routing::validation {

inline constexpr int kMaxAgentSkills = 100;
inline constexpr int kMaxAgentLanguageCodes = 20;
inline constexpr int kMaxTasksPerChannel = 20;
inline constexpr absl::Duration kMinAgentWrapUpTimeout = absl::Seconds(1);
inline constexpr absl::Duration kMaxAgentWrapUpTimeout = absl::Hours(1);
inline constexpr int kMaxAgentQueues = 100;

// The fields UpdateAgent may name in update_mask (routing_service.proto),
// in field-number order; also the fields NormalizeAgent checks.
inline constexpr absl::string_view kAgentUpdatePaths[] = {
    "display_name", "skills", "language_codes", "channel_capacities", "queues"};

// Agent.skills (rules above).
absl::Status ValidateAgentSkills(
    const google::protobuf::RepeatedPtrField<cxp::routing::v1::AgentSkill>& skills,
    absl::string_view field);

// Agent.language_codes: the tags in canonical case, in input order.
absl::StatusOr<std::vector<std::string>> NormalizeLanguageCodes(
    const google::protobuf::RepeatedPtrField<std::string>& codes, absl::string_view field);

// Agent.channel_capacities (rules above).
absl::Status ValidateChannelCapacities(
    const google::protobuf::RepeatedPtrField<cxp::routing::v1::ChannelCapacity>& capacities,
    absl::string_view field);

// Agent.queues (rules above).
absl::Status ValidateAgentQueues(const google::protobuf::RepeatedPtrField<std::string>& queues,
                                 absl::string_view field);

// Checks every configuration field of `agent` and returns a copy with
// language_codes in canonical case and the output-only fields cleared;
// name and etag are copied as given (not checked).
absl::StatusOr<cxp::routing::v1::Agent> NormalizeAgent(const cxp::routing::v1::Agent& agent,
                                                       absl::string_view field);

// A checked CreateAgentRequest.
struct ValidatedCreateAgent {
  std::string agent_id;           // empty: the core generates one
  cxp::routing::v1::Agent agent;  // NormalizeAgent's copy, name and etag cleared
};

// CreateAgentRequest: agent required ("agent: must be set"), checked with
// NormalizeAgent under "agent"; agent_id empty or a valid ID; request_id
// empty or a UUID.
absl::StatusOr<ValidatedCreateAgent> ValidateCreateAgent(
    const cxp::routing::v1::CreateAgentRequest& request);

// A checked UpdateAgentRequest.
struct ValidatedAgentUpdate {
  std::string agent_id;            // from agent.name
  std::vector<std::string> paths;  // fields to replace, from UpdatePaths
  // The request's agent with the fields in `paths` checked and normalised
  // and the output-only fields cleared; etag as given (for the core's
  // conditional update). Fields outside `paths` are not checked and must
  // not be used.
  cxp::routing::v1::Agent agent;
};

// UpdateAgentRequest: agent required; agent.name `agents/{agent}`;
// update_mask per UpdatePaths with kAgentUpdatePaths (an empty mask selects
// the fields that are set); then only the selected fields are checked,
// under "agent" (so an update naming display_name must carry a non-empty
// one).
absl::StatusOr<ValidatedAgentUpdate> ValidateUpdateAgent(
    const cxp::routing::v1::UpdateAgentRequest& request);

// `stored` with the fields in `update.paths` replaced by update.agent's.
// The result's configuration is valid if `stored`'s was (agent rules are
// per field).
cxp::routing::v1::Agent ApplyAgentUpdate(const cxp::routing::v1::Agent& stored,
                                         const ValidatedAgentUpdate& update);

}  // namespace cxp::routing::validation

#endif  // CXP_ROUTING_SERVICE_VALIDATION_AGENT_VALIDATION_H_
