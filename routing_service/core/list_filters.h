// The filter fields of routing_service's List RPCs (AIP-160 subset,
// common/filter) and how each resource answers them.
//
//   ListAgents  display_name, presence.state, queues, skills.skill,
//               language_codes
//   ListQueues  display_name, priority, intents
//   ListTasks   state, queue, agent, channel, intent, create_time
//
// Schemas are built once and shared. Resolvers borrow the resource they
// read, which must outlive them. Thread-safe.

#ifndef CXP_ROUTING_SERVICE_CORE_LIST_FILTERS_H_
#define CXP_ROUTING_SERVICE_CORE_LIST_FILTERS_H_

#include <string>
#include <vector>

#include "common/filter/field_resolver.h"
#include "common/filter/filter_schema.h"
#include "cxp/routing/v1/agent.pb.h"
#include "cxp/routing/v1/queue.pb.h"
#include "cxp/routing/v1/task.pb.h"

namespace cxp::routing {

const filter::FilterSchema& AgentFilterSchema();
const filter::FilterSchema& QueueFilterSchema();
const filter::FilterSchema& TaskFilterSchema();

class AgentFieldResolver : public filter::FieldResolver {
 public:
  explicit AgentFieldResolver(const cxp::routing::v1::Agent& agent);
  filter::FilterValue Resolve(const filter::FieldPath& path) const override;

 private:
  const cxp::routing::v1::Agent& agent_;
  std::vector<std::string> skills_;  // skills.skill as a list
};

class QueueFieldResolver : public filter::FieldResolver {
 public:
  explicit QueueFieldResolver(const cxp::routing::v1::Queue& queue) : queue_(queue) {}
  filter::FilterValue Resolve(const filter::FieldPath& path) const override;

 private:
  const cxp::routing::v1::Queue& queue_;
};

class TaskFieldResolver : public filter::FieldResolver {
 public:
  explicit TaskFieldResolver(const cxp::routing::v1::Task& task) : task_(task) {}
  filter::FilterValue Resolve(const filter::FieldPath& path) const override;

 private:
  const cxp::routing::v1::Task& task_;
};

}  // namespace cxp::routing

#endif  // CXP_ROUTING_SERVICE_CORE_LIST_FILTERS_H_
