// RoutingEngine — routing_service's decisions for one tenant: which agent
// gets which task, when offers expire, when tasks move on. Plain C++ over the
// API's messages; no gRPC, no storage, no clock of its own.
//
// Time: every method takes `now`; timers (offer timeouts, wrap-up expiry,
// bullseye steps, the end of a last-agent reservation, overflow, max wait,
// the desktop grace period) fire only in AdvanceTo(now). The caller drives
// it: NextDeadline() says when it is next due. Tests move time explicitly.
//
// Input: configuration and requests are validated by the caller (see
// routing_service/validation); the engine checks only what needs its state
// (existence, lifecycle, capacity) and answers NOT_FOUND,
// FAILED_PRECONDITION, ALREADY_EXISTS or ABORTED naming the field.
//
// Output: every call returns the affected resource; everything that changed
// (queues, tasks, agents' presence, offers made) is also queued for
// TakeChanges(), so
// the caller can persist it (in one batch, before acknowledging) and push it
// to agent desktops.
//
// Terminal tasks leave memory at once (the caller keeps them in storage);
// queue statistics keep what they need in a rolling 24-hour window.
//
// Threading: not thread-safe; the caller serialises calls (one engine per
// tenant behind a mutex). Decisions are in-memory and bounded: a task's
// arrival looks at the agents of its queue, an agent freeing up looks at the
// first kScanPerQueue waiting tasks of each queue the agent can serve.

#ifndef CXP_ROUTING_SERVICE_CORE_ROUTING_ENGINE_H_
#define CXP_ROUTING_SERVICE_CORE_ROUTING_ENGINE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/schedule/weekly_schedule.h"
#include "cxp/routing/v1/agent.pb.h"
#include "cxp/routing/v1/queue.pb.h"
#include "cxp/routing/v1/queue_stats.pb.h"
#include "cxp/routing/v1/task.pb.h"

namespace cxp::routing {

namespace v1 = ::cxp::routing::v1;

struct RoutingEngineOptions {
  // How long an agent without an open desktop session keeps their state and
  // offers before being set AWAY and the offers going back to the queues.
  absl::Duration session_grace = absl::Seconds(60);
  // Candidates recorded in a RoutingDecision, best first (the API allows
  // up to 50; each costs copies on every decision and every task change).
  int max_recorded_candidates = 20;
};

// What customer context said about a task's customer (from context_service,
// fetched by the caller under a deadline before Submit).
struct CustomerInfo {
  bool looked_up = false;     // false: skipped; `skip_reason` says why
  std::string skip_reason;    // e.g. "context service unavailable"
  std::string customer;       // customers/{id}
  std::string tier;           // profile tier, e.g. "VIP"
  std::string language_code;  // profile language
  std::string last_agent;     // agents/{id} of the last assisted contact
};

// One change for TakeChanges().
struct RoutingChange {
  enum Kind { kTask, kAgent, kOffer, kQueue, kQueueRemoved, kAgentRemoved };
  Kind kind;
  v1::Queue queue;         // kQueue (created or replaced); kQueueRemoved: name only
  v1::Task task;           // kTask, kOffer (the offered task)
  v1::Agent agent;         // kAgent (presence or configuration changed); kAgentRemoved: name only
  std::string offered_to;  // kOffer: agents/{id}
  absl::Time offer_expire_time;  // kOffer
};

class RoutingEngine {
 public:
  static constexpr int kScanPerQueue = 256;

  explicit RoutingEngine(RoutingEngineOptions options = {});
  ~RoutingEngine();
  RoutingEngine(const RoutingEngine&) = delete;
  RoutingEngine& operator=(const RoutingEngine&) = delete;

  // ------------------------------------------------------ configuration
  // Creates or replaces a queue (name set, defaults applied by validation).
  // NOT_FOUND if it names a queue that does not exist (overflow, bullseye);
  // INVALID_ARGUMENT for an overflow cycle; ALREADY_EXISTS for an intent of
  // another queue. Waiting tasks are re-evaluated under the new rules.
  absl::StatusOr<v1::Queue> PutQueue(const v1::Queue& queue, absl::Time now);
  // FAILED_PRECONDITION while tasks wait in it or another queue names it.
  // Agents that served it stop listing it: their configuration changes
  // (update_time `now`, and a numeric etag moves on by one).
  absl::Status RemoveQueue(const std::string& name, absl::Time now);
  const v1::Queue* FindQueue(const std::string& name) const;
  // The queue an intent routes to, or nullptr.
  const v1::Queue* QueueForIntent(const std::string& intent) const;

  // Creates or replaces an agent's configuration; presence is kept
  // (OFFLINE for a new agent). NOT_FOUND for an unknown queue.
  absl::StatusOr<v1::Agent> PutAgent(const v1::Agent& agent, absl::Time now);
  // FAILED_PRECONDITION while the agent holds tasks.
  absl::Status RemoveAgent(const std::string& name);
  // The agent with its current presence, or NOT_FOUND.
  absl::StatusOr<v1::Agent> GetAgent(const std::string& name) const;

  // ------------------------------------------------------------ presence
  // OFFLINE, AVAILABLE or AWAY (validated by the caller).
  absl::StatusOr<v1::Agent> SetAgentState(const std::string& name, v1::AgentState state,
                                          const std::string& reason, absl::Time now);
  // Agent desktop sessions (AgentSession streams). Offers go only to agents
  // with at least one open session.
  absl::Status OpenSession(const std::string& agent, absl::Time now);
  void CloseSession(const std::string& agent, absl::Time now);
  // After a restart: an agent without a session now gets the grace period
  // to reconnect, as if their session had just closed.
  void AwaitSession(const std::string& agent, absl::Time now);

  // --------------------------------------------------------------- tasks
  // Queues a validated task (name set by the caller, queue or intent given)
  // and offers it at once if an agent is eligible. NOT_FOUND for an unknown
  // queue or intent; FAILED_PRECONDITION if the queue is closed.
  absl::StatusOr<v1::Task> Submit(v1::Task task, const CustomerInfo& customer, absl::Time now);
  absl::StatusOr<v1::Task> GetTask(const std::string& name) const;  // active tasks only
  absl::StatusOr<v1::Task> Accept(const std::string& task, const std::string& agent,
                                  absl::Time now);
  absl::StatusOr<v1::Task> Reject(const std::string& task, const std::string& agent,
                                  const std::string& reason, absl::Time now);
  absl::StatusOr<v1::Task> WrapUp(const std::string& task, const std::string& agent,
                                  absl::Time now);
  absl::StatusOr<v1::Task> Complete(const std::string& task, const std::string& agent,
                                    const std::string& notes, absl::Time now);
  absl::StatusOr<v1::Task> Cancel(const std::string& task, const std::string& reason,
                                  bool abandoned, const std::string& etag, absl::Time now);
  // Exactly one of `queue` and `agent` is set.
  absl::StatusOr<v1::Task> Transfer(const std::string& task, const std::string& queue,
                                    const std::string& agent, const std::string& reason,
                                    const std::string& etag, absl::Time now);

  // Tasks the agent holds (OFFERED, ACCEPTED, WRAP_UP), oldest first.
  std::vector<v1::Task> HeldTasks(const std::string& agent) const;

  // ---------------------------------------------------------------- time
  // Fires every timer due at or before `now`, in time order.
  void AdvanceTo(absl::Time now);
  std::optional<absl::Time> NextDeadline() const;

  // Restores an active task read back from storage after a restart (before
  // any other call that involves it): QUEUED tasks take their place again;
  // an OFFERED task's offer is void (the agent may never have seen it), so
  // it goes back to QUEUED; ACCEPTED and WRAP_UP tasks hold their agent's
  // capacity again (wrap-up timers restart from `now`).
  absl::Status Restore(v1::Task task, absl::Time now);
  // After Restore()s: offers what can be offered.
  void DispatchAll(absl::Time now);

  // --------------------------------------------------------------- stats
  // NOT_FOUND for an unknown queue; `interval` validated by the caller.
  absl::StatusOr<v1::QueueStats> Stats(const std::string& queue, absl::Duration interval,
                                       absl::Time now) const;
  // Sorted by name.
  std::vector<std::string> QueueNames() const;
  std::vector<std::string> AgentNames() const;

  // Everything changed since the last call, in order.
  std::vector<RoutingChange> TakeChanges();

  size_t waiting_tasks() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cxp::routing

#endif  // CXP_ROUTING_SERVICE_CORE_ROUTING_ENGINE_H_
