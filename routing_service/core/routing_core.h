// RoutingCore — routing_service's domain frontend: takes the API's requests,
// validates them (routing_service/validation), lets the tenant's
// RoutingEngine decide, and keeps every change of the call in one
// RoutingStore batch. Plain C++, no gRPC types: the gRPC edge translates
// and waits for durability (AfterDurable) before it answers.
//
// Tenants: one RoutingEngine per tenant, created on first use and rebuilt
// from the store by Recover() at start-up; each behind its own mutex, so
// tenants never wait for each other.
//
// Time: the injectable clock gives `now` for every call; Tick() fires the
// timers that are due (the server calls it at NextDeadline()) and persists
// what they changed.
//
// Errors: INVALID_ARGUMENT naming the field, NOT_FOUND, ALREADY_EXISTS,
// FAILED_PRECONDITION, ABORTED as the engine and validation report them;
// storage errors as RocksStore reports them (the engine may then hold a
// change the store lacks: the caller should fail the process, as a restart
// recovers from the store).
//
// Threading: all methods are thread-safe. Ownership: borrows the store.

#ifndef CXP_ROUTING_SERVICE_CORE_ROUTING_CORE_H_
#define CXP_ROUTING_SERVICE_CORE_ROUTING_CORE_H_

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cxp/routing/v1/routing_service.pb.h"
#include "routing_service/core/routing_engine.h"
#include "routing_service/core/routing_store.h"

namespace cxp::routing {

struct RoutingCoreOptions {
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  RoutingEngineOptions engine;
};

class RoutingCore {
 public:
  using Tenant = std::string;

  RoutingCore(const RoutingStore& store, RoutingCoreOptions options);

  // Rebuilds every tenant's engine from the store (start-up, before
  // serving): queues, agents and active tasks; offers that were open go
  // back to their queues. Persists what that changed.
  absl::Status Recover();

  absl::Status CreateQueue(const Tenant& tenant, const v1::CreateQueueRequest& request,
                           v1::CreateQueueResponse& response);
  absl::Status GetQueue(const Tenant& tenant, const v1::GetQueueRequest& request,
                        v1::GetQueueResponse& response);
  absl::Status CreateAgent(const Tenant& tenant, const v1::CreateAgentRequest& request,
                           v1::CreateAgentResponse& response);
  absl::Status GetAgent(const Tenant& tenant, const v1::GetAgentRequest& request,
                        v1::GetAgentResponse& response);
  absl::Status SetAgentState(const Tenant& tenant, const v1::SetAgentStateRequest& request,
                             v1::SetAgentStateResponse& response);
  // `customer`: what context_service said of the task's customer (the edge
  // asks it under a deadline before calling).
  absl::Status SubmitTask(const Tenant& tenant, const v1::SubmitTaskRequest& request,
                          const CustomerInfo& customer, v1::SubmitTaskResponse& response);
  absl::Status GetTask(const Tenant& tenant, const v1::GetTaskRequest& request,
                       v1::GetTaskResponse& response);
  absl::Status AcceptTask(const Tenant& tenant, const v1::AcceptTaskRequest& request,
                          v1::AcceptTaskResponse& response);
  absl::Status RejectTask(const Tenant& tenant, const v1::RejectTaskRequest& request,
                          v1::RejectTaskResponse& response);
  absl::Status WrapUpTask(const Tenant& tenant, const v1::WrapUpTaskRequest& request,
                          v1::WrapUpTaskResponse& response);
  absl::Status CompleteTask(const Tenant& tenant, const v1::CompleteTaskRequest& request,
                            v1::CompleteTaskResponse& response);
  absl::Status CancelTask(const Tenant& tenant, const v1::CancelTaskRequest& request,
                          v1::CancelTaskResponse& response);
  absl::Status TransferTask(const Tenant& tenant, const v1::TransferTaskRequest& request,
                            v1::TransferTaskResponse& response);
  absl::Status GetQueueStats(const Tenant& tenant, const v1::GetQueueStatsRequest& request,
                             v1::GetQueueStatsResponse& response);

  // Agent desktop sessions (AgentSession streams). `sink` (optional) gets
  // the agent's events from then on: its configuration and presence when
  // they change, offers, and changes of every task offered to it since. It
  // is called under the tenant's lock and must not block (queue and
  // return). `snapshot`, if given, receives what a desktop shows first: the
  // agent, then every task it holds. Returns the session id for
  // CloseSession. NOT_FOUND for an unknown agent.
  using SessionSink = std::function<void(const v1::AgentSessionResponse&)>;
  absl::StatusOr<uint64_t> OpenSession(const Tenant& tenant, const std::string& agent,
                                       SessionSink sink = nullptr,
                                       std::vector<v1::AgentSessionResponse>* snapshot = nullptr);
  // Ends session `session` (0: the agent's oldest one); the sink is not
  // called again once this returns.
  absl::Status CloseSession(const Tenant& tenant, const std::string& agent, uint64_t session = 0);

  // Fires every tenant's due timers and persists what they changed.
  absl::Status Tick();
  // The earliest timer of any tenant.
  std::optional<absl::Time> NextDeadline() const;

  // Calls `done` once everything written before this call is durable.
  void AfterDurable(absl::AnyInvocable<void(absl::Status) &&> done) const {
    store_.rocks().AfterDurable(std::move(done));
  }

 private:
  struct Session {
    uint64_t id = 0;
    SessionSink sink;
    absl::flat_hash_set<std::string> tasks;  // offered to it: their changes follow
  };
  struct TenantState {
    absl::Mutex mu;
    RoutingEngine engine ABSL_GUARDED_BY(mu);
    // Open desktop sessions by agent name.
    absl::flat_hash_map<std::string, std::vector<Session>> sessions ABSL_GUARDED_BY(mu);
    explicit TenantState(const RoutingEngineOptions& options) : engine(options) {}
  };

  TenantState& ForTenant(const Tenant& tenant);
  // Persists the engine's changes since the last call in one batch, then
  // hands them to the desktop sessions concerned.
  absl::Status Persist(const Tenant& tenant, TenantState& state)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(state.mu);
  // Runs `change` on the tenant's engine under its lock, then persists.
  template <typename Result>
  absl::StatusOr<Result> Change(const Tenant& tenant,
                                absl::FunctionRef<absl::StatusOr<Result>(RoutingEngine&)> change);

  const RoutingStore& store_;
  const RoutingCoreOptions options_;
  std::atomic<uint64_t> next_session_{1};
  mutable absl::Mutex tenants_mu_;
  absl::flat_hash_map<Tenant, std::unique_ptr<TenantState>> tenants_ ABSL_GUARDED_BY(tenants_mu_);
};

}  // namespace cxp::routing

#endif  // CXP_ROUTING_SERVICE_CORE_ROUTING_CORE_H_
