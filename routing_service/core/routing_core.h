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
// Writes: a call decides under its tenant's lock and enqueues its batch
// there (RocksStore::EnqueueWrite, so batches keep the order of decisions);
// the store's syncer thread applies it, merged with other calls' batches,
// and fsyncs. Nothing waits for the write: the edge answers from
// AfterDurable(), which covers every batch enqueued before it (and reports
// a failed write). Desktop sessions hear of a change when it is decided,
// possibly before its write is applied; a store read (GetTask of an ended
// task, ListTasks) sees a change once it is applied — always by the time
// the call that made it is answered.
//
// Time: the injectable clock gives `now` for every call; Tick() fires the
// timers that are due (the server calls it at NextDeadline()) and persists
// what they changed.
//
// Idempotency (AIP-155): CreateQueue, CreateAgent and SubmitTask with a
// request_id keep their answer (in the call's batch) for request_id_ttl; a
// retry gets it back and changes nothing, another request under the same id
// is INVALID_ARGUMENT.
//
// Errors: INVALID_ARGUMENT naming the field, NOT_FOUND, ALREADY_EXISTS,
// FAILED_PRECONDITION, ABORTED (stale etag) as the engine and validation
// report them;
// storage errors as RocksStore reports them (the engine may then hold a
// change the store lacks: the caller should fail the process, as a restart
// recovers from the store).
//
// Threading: all methods are thread-safe. Ownership: borrows the store.

#ifndef CXP_ROUTING_SERVICE_CORE_ROUTING_CORE_H_
#define CXP_ROUTING_SERVICE_CORE_ROUTING_CORE_H_

#include <atomic>
#include <deque>
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
#include "common/idempotency/stored_response.pb.h"
#include "common/paging/page_token.h"
#include "cxp/routing/v1/routing_service.pb.h"
#include "routing_service/core/routing_engine.h"
#include "routing_service/core/routing_store.h"
#include "routing_service/validation/request_validation.h"

namespace cxp::routing {

struct RoutingCoreOptions {
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  RoutingEngineOptions engine;
  // Key for page tokens (paging::PageTokenCodec); empty = random per
  // process (tokens die on restart).
  std::string page_token_key;
  // How long a request_id's answer is replayed.
  absl::Duration request_id_ttl = absl::Hours(24);
  // How long ended tasks stay readable (GetTask, ListTasks) before
  // PurgeEndedTasks deletes them.
  absl::Duration task_retention = absl::Hours(24 * 30);
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
  absl::Status UpdateQueue(const Tenant& tenant, const v1::UpdateQueueRequest& request,
                           v1::UpdateQueueResponse& response);
  absl::Status ListQueues(const Tenant& tenant, const v1::ListQueuesRequest& request,
                          v1::ListQueuesResponse& response);
  absl::Status DeleteQueue(const Tenant& tenant, const v1::DeleteQueueRequest& request,
                           v1::DeleteQueueResponse& response);
  absl::Status CreateAgent(const Tenant& tenant, const v1::CreateAgentRequest& request,
                           v1::CreateAgentResponse& response);
  absl::Status GetAgent(const Tenant& tenant, const v1::GetAgentRequest& request,
                        v1::GetAgentResponse& response);
  absl::Status UpdateAgent(const Tenant& tenant, const v1::UpdateAgentRequest& request,
                           v1::UpdateAgentResponse& response);
  absl::Status ListAgents(const Tenant& tenant, const v1::ListAgentsRequest& request,
                          v1::ListAgentsResponse& response);
  // The agent's open desktop sessions end (NOT_FOUND).
  absl::Status DeleteAgent(const Tenant& tenant, const v1::DeleteAgentRequest& request,
                           v1::DeleteAgentResponse& response);
  absl::Status SetAgentState(const Tenant& tenant, const v1::SetAgentStateRequest& request,
                             v1::SetAgentStateResponse& response);
  // `customer`: what context_service said of the task's customer (the edge
  // asks it under a deadline before calling).
  absl::Status SubmitTask(const Tenant& tenant, const v1::SubmitTaskRequest& request,
                          const CustomerInfo& customer, v1::SubmitTaskResponse& response);
  absl::Status GetTask(const Tenant& tenant, const v1::GetTaskRequest& request,
                       v1::GetTaskResponse& response);
  // Newest first, from the store. A page may hold fewer than page_size
  // tasks (a selective filter stops after kMaxTasksScanned rows) and still
  // have a next_page_token.
  absl::Status ListTasks(const Tenant& tenant, const v1::ListTasksRequest& request,
                         v1::ListTasksResponse& response);
  static constexpr size_t kMaxTasksScanned = 10000;
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
  // One WatchQueueStats update: the stats of every watched queue, all
  // computed at the same `now` under the tenant's lock. `watch` comes from
  // validation::ValidateWatchQueueStats. Named queues come in request
  // order; an empty `watch.queue_ids` means every queue the tenant has at
  // this moment (so queues created since the last update appear), by name.
  // A named queue that does not exist is NOT_FOUND ("queues[2]: queues/x
  // does not exist") under kNotFound — the stream's first update — and is
  // left out under kSkip: a queue deleted while watched drops out of later
  // updates instead of ending a stream that still serves the others (and
  // comes back if a queue of that name is created again). Changes nothing.
  enum class MissingQueue { kNotFound, kSkip };
  absl::Status QueueStatsSnapshot(const Tenant& tenant, const validation::QueueStatsWatch& watch,
                                  MissingQueue missing, v1::WatchQueueStatsResponse& response);

  // Agent desktop sessions (AgentSession streams). `sink` (optional) gets
  // the agent's events from then on: its configuration and presence when
  // they change, offers, and changes of every task offered to it since. It
  // is called under the tenant's lock and must not block (queue and
  // return). An event with nothing set means the agent was deleted: end the
  // session. `snapshot`, if given, receives what a desktop shows first: the
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

  // Deletes tasks that ended more than task_retention ago, every tenant,
  // in batches of `batch_size`. Returns how many were deleted.
  absl::StatusOr<size_t> PurgeEndedTasks(size_t batch_size = 1000);

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
  // An idempotent request's answer whose batch is enqueued but maybe not
  // yet written: a retry must find it before the store has it.
  struct UnwrittenAnswer {
    uint64_t ticket;  // RocksStore::EnqueueWrite's
    std::string key;  // AnswerKey()
    idempotency::StoredResponse response;
  };
  struct TenantState {
    absl::Mutex mu;
    RoutingEngine engine ABSL_GUARDED_BY(mu);
    // Open desktop sessions by agent name.
    absl::flat_hash_map<std::string, std::vector<Session>> sessions ABSL_GUARDED_BY(mu);
    // RocksStore::EnqueueWrite's ticket of the tenant's latest batch: store
    // reads wait for it (WaitApplied) to see every decision made so far.
    uint64_t last_ticket ABSL_GUARDED_BY(mu) = 0;
    // In ticket order; dropped once written.
    std::deque<UnwrittenAnswer> unwritten_answers ABSL_GUARDED_BY(mu);
    explicit TenantState(const RoutingEngineOptions& options) : engine(options) {}
  };

  TenantState& ForTenant(const Tenant& tenant);
  // An idempotent request's answer, to keep in the call's batch.
  struct StoredAnswer {
    const char* method;
    const std::string& request_id;
    idempotency::StoredResponse response;
  };
  // Enqueues the engine's changes since the last call (and `answer`) as one
  // batch (RocksStore::EnqueueWrite: applied in this order, merged with
  // other calls' batches, by the store's syncer thread), then hands them to
  // the desktop sessions concerned.
  absl::Status Persist(const Tenant& tenant, TenantState& state,
                       const StoredAnswer* answer = nullptr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(state.mu);
  // The stored or still unwritten answer to (method, request_id).
  absl::StatusOr<std::optional<idempotency::StoredResponse>> StoredAnswerOf(
      const Tenant& tenant, TenantState& state, const char* method, const std::string& request_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(state.mu);
  // Returns once every batch the tenant enqueued so far is applied (for
  // store reads; blocks, so not under the tenant's lock).
  void WaitForDecisions(TenantState& state) const ABSL_LOCKS_EXCLUDED(state.mu);
  static std::string AnswerKey(const char* method, const std::string& request_id);
  // Runs `change` on the tenant's engine under its lock, then persists.
  template <typename Result>
  absl::StatusOr<Result> Change(const Tenant& tenant,
                                absl::FunctionRef<absl::StatusOr<Result>(RoutingEngine&)> change);
  // Like Change, for a request with an optional request_id: a retry gets the
  // stored answer; a new request runs `change`, and its answer is kept.
  absl::Status ChangeOnce(const Tenant& tenant, const char* method, const std::string& request_id,
                          const google::protobuf::Message& request,
                          google::protobuf::Message& response,
                          absl::FunctionRef<absl::Status(RoutingEngine&)> change);
  // Paging: the resume key of a page token ("" for none), and the token for
  // the next page.
  absl::StatusOr<std::string> ResumeKey(const std::string& page_token,
                                        const std::string& fingerprint) const;
  std::string NextPageToken(const std::string& fingerprint, const std::string& last_key) const;

  const RoutingStore& store_;
  const RoutingCoreOptions options_;
  const paging::PageTokenCodec tokens_;
  std::atomic<uint64_t> next_session_{1};
  mutable absl::Mutex tenants_mu_;
  absl::flat_hash_map<Tenant, std::unique_ptr<TenantState>> tenants_ ABSL_GUARDED_BY(tenants_mu_);
};

}  // namespace cxp::routing

#endif  // CXP_ROUTING_SERVICE_CORE_ROUTING_CORE_H_
