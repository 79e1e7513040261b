#include "routing_service/core/routing_core.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/filter/filter.h"
#include "common/idempotency/idempotency.h"
#include "common/paging/request_fingerprint.h"
#include "common/status/status_macros.h"
#include "common/validation/etag.h"
#include "common/validation/resource_id.h"
#include "google/protobuf/util/time_util.h"
#include "routing_service/core/list_filters.h"
#include "routing_service/validation/agent_validation.h"
#include "routing_service/validation/queue_validation.h"
#include "routing_service/validation/request_validation.h"
#include "routing_service/validation/resource_names.h"
#include "routing_service/validation/task_validation.h"

namespace cxp::routing {

namespace names = ::cxp::routing::validation;
using cxp::validation::CheckEtag;
using cxp::validation::NextEtag;

namespace {

google::protobuf::Timestamp Ts(absl::Time time) {
  return google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(time));
}

}  // namespace

RoutingCore::RoutingCore(const RoutingStore& store, RoutingCoreOptions options)
    : store_(store),
      options_(std::move(options)),
      tokens_(paging::PageTokenCodec::WithKeyOrRandom(options_.page_token_key)) {}

RoutingCore::TenantState& RoutingCore::ForTenant(const Tenant& tenant) {
  absl::MutexLock lock(&tenants_mu_);
  std::unique_ptr<TenantState>& state = tenants_[tenant];
  if (!state) state = std::make_unique<TenantState>(options_.engine);
  return *state;
}

absl::Status RoutingCore::Persist(const Tenant& tenant, TenantState& state,
                                  const StoredAnswer* answer) {
  const std::vector<RoutingChange> changes = state.engine.TakeChanges();
  RoutingStore::Batch batch = store_.NewBatch();
  if (answer != nullptr) {
    batch.PutStoredResponse(tenant, answer->method, answer->request_id, answer->response);
  }
  for (const RoutingChange& change : changes) {
    switch (change.kind) {
      case RoutingChange::kTask:
        batch.PutTask(tenant, change.task);
        break;
      case RoutingChange::kAgent:
        batch.PutAgent(tenant, change.agent);
        break;
      case RoutingChange::kQueue:
        batch.PutQueue(tenant, change.queue);
        break;
      case RoutingChange::kQueueRemoved:
        batch.DeleteQueue(tenant, change.queue.name());
        break;
      case RoutingChange::kAgentRemoved:
        batch.DeleteAgent(tenant, change.agent.name());
        break;
      case RoutingChange::kOffer:
        break;  // the task change before it carries the offer
    }
  }
  ASSIGN_OR_RETURN(const uint64_t ticket, store_.Enqueue(batch));
  if (ticket != 0) state.last_ticket = ticket;
  if (answer != nullptr) {
    state.unwritten_answers.push_back(UnwrittenAnswer{
        .ticket = ticket,
        .key = AnswerKey(answer->method, answer->request_id),
        .response = answer->response,
    });
  }
  // Desktops hear of a change once it is decided; their own calls about it
  // go through the engine, which has it already.
  if (state.sessions.empty()) return absl::OkStatus();
  for (const RoutingChange& change : changes) {
    v1::AgentSessionResponse event;
    switch (change.kind) {
      case RoutingChange::kAgent: {
        auto it = state.sessions.find(change.agent.name());
        if (it == state.sessions.end()) break;
        *event.mutable_agent() = change.agent;
        for (Session& session : it->second) session.sink(event);
        break;
      }
      case RoutingChange::kOffer: {
        auto it = state.sessions.find(change.offered_to);
        if (it == state.sessions.end()) break;
        *event.mutable_offer()->mutable_task() = change.task;
        *event.mutable_offer()->mutable_expire_time() =
            google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(
                absl::ToUnixMicros(change.offer_expire_time));
        for (Session& session : it->second) {
          session.tasks.insert(change.task.name());
          session.sink(event);
        }
        break;
      }
      case RoutingChange::kQueue:
      case RoutingChange::kQueueRemoved:
        break;
      case RoutingChange::kAgentRemoved: {
        auto it = state.sessions.find(change.agent.name());
        if (it == state.sessions.end()) break;
        // An empty event: the agent is gone, its sessions end.
        for (Session& session : it->second) session.sink(v1::AgentSessionResponse());
        state.sessions.erase(it);
        break;
      }
      case RoutingChange::kTask: {
        *event.mutable_task() = change.task;
        // Sessions that were offered it (an offer is announced by its own
        // event, right after this change).
        for (auto& [agent, sessions] : state.sessions) {
          for (Session& session : sessions) {
            if (session.tasks.contains(change.task.name())) session.sink(event);
          }
        }
        break;
      }
    }
  }
  return absl::OkStatus();
}

template <typename Result>
absl::StatusOr<Result> RoutingCore::Change(
    const Tenant& tenant, absl::FunctionRef<absl::StatusOr<Result>(RoutingEngine&)> change) {
  TenantState& state = ForTenant(tenant);
  absl::MutexLock lock(&state.mu);
  absl::StatusOr<Result> result = change(state.engine);
  // A refused change may still have fired due timers: keep those too.
  RETURN_IF_ERROR(Persist(tenant, state));
  return result;
}

absl::Status RoutingCore::ChangeOnce(const Tenant& tenant, const char* method,
                                     const std::string& request_id,
                                     const google::protobuf::Message& request,
                                     google::protobuf::Message& response,
                                     absl::FunctionRef<absl::Status(RoutingEngine&)> change) {
  TenantState& state = ForTenant(tenant);
  // The tenant's lock also orders a retry after its original.
  absl::MutexLock lock(&state.mu);
  if (request_id.empty()) {
    const absl::Status changed = change(state.engine);
    RETURN_IF_ERROR(Persist(tenant, state));
    return changed;
  }
  const std::string fingerprint = idempotency::RequestDigest(request);
  ASSIGN_OR_RETURN(std::optional<idempotency::StoredResponse> stored,
                   StoredAnswerOf(tenant, state, method, request_id));
  ASSIGN_OR_RETURN(const bool replayed, idempotency::ReplayStoredResponse(
                                            stored, fingerprint, options_.clock(), response));
  if (replayed) return absl::OkStatus();
  const absl::Status changed = change(state.engine);
  if (!changed.ok()) {
    // Not kept: a retry of a refused request runs again (it may pass then).
    RETURN_IF_ERROR(Persist(tenant, state));
    return changed;
  }
  const StoredAnswer answer{.method = method,
                            .request_id = request_id,
                            .response = idempotency::NewStoredResponse(
                                fingerprint, response, options_.clock() + options_.request_id_ttl)};
  return Persist(tenant, state, &answer);
}

void RoutingCore::WaitForDecisions(TenantState& state) const {
  uint64_t decided;
  {
    absl::MutexLock lock(&state.mu);
    decided = state.last_ticket;
  }
  store_.rocks().WaitApplied(decided);
}

std::string RoutingCore::AnswerKey(const char* method, const std::string& request_id) {
  return absl::StrCat(method, "/", request_id);
}

absl::StatusOr<std::optional<idempotency::StoredResponse>> RoutingCore::StoredAnswerOf(
    const Tenant& tenant, TenantState& state, const char* method, const std::string& request_id) {
  // Answers whose batch is written are in the store; the rest only here.
  const uint64_t applied = store_.rocks().AppliedTicket();
  while (!state.unwritten_answers.empty() && state.unwritten_answers.front().ticket <= applied) {
    state.unwritten_answers.pop_front();
  }
  if (!state.unwritten_answers.empty()) {
    const std::string key = AnswerKey(method, request_id);
    for (const UnwrittenAnswer& unwritten : state.unwritten_answers) {
      if (unwritten.key == key) return unwritten.response;
    }
  }
  return store_.GetStoredResponse(tenant, method, request_id);
}

absl::StatusOr<std::string> RoutingCore::ResumeKey(const std::string& page_token,
                                                   const std::string& fingerprint) const {
  return tokens_.ResumeKey(page_token, fingerprint, options_.clock());
}

std::string RoutingCore::NextPageToken(const std::string& fingerprint,
                                       const std::string& last_key) const {
  return tokens_.NextPageToken(fingerprint, last_key, options_.clock());
}

absl::Status RoutingCore::Recover() {
  absl::flat_hash_map<Tenant, std::vector<v1::Queue>> queues;
  absl::flat_hash_map<Tenant, std::vector<v1::Agent>> agents;
  absl::flat_hash_map<Tenant, std::vector<v1::Task>> tasks;
  RETURN_IF_ERROR(store_.LoadAll({.queue =
                                      [&](const std::string& tenant, const v1::Queue& queue) {
                                        queues[tenant].push_back(queue);
                                        return absl::OkStatus();
                                      },
                                  .agent =
                                      [&](const std::string& tenant, const v1::Agent& agent) {
                                        agents[tenant].push_back(agent);
                                        return absl::OkStatus();
                                      },
                                  .active_task =
                                      [&](const std::string& tenant, const v1::Task& task) {
                                        tasks[tenant].push_back(task);
                                        return absl::OkStatus();
                                      }}));
  const absl::Time now = options_.clock();
  absl::flat_hash_map<Tenant, bool> tenants;
  for (const auto& [tenant, list] : queues) tenants[tenant] = true;
  for (const auto& [tenant, list] : agents) tenants[tenant] = true;
  for (const auto& [tenant, unused] : tenants) {
    TenantState& state = ForTenant(tenant);
    absl::MutexLock lock(&state.mu);
    RoutingEngine& engine = state.engine;
    // Queues first without the references to other queues (which may not
    // be loaded yet), then as stored.
    for (v1::Queue queue : queues[tenant]) {
      queue.clear_overflow();
      queue.clear_bullseye_steps();
      RETURN_IF_ERROR(engine.PutQueue(queue, now).status());
    }
    for (const v1::Queue& queue : queues[tenant]) {
      RETURN_IF_ERROR(engine.PutQueue(queue, now).status());
    }
    for (const v1::Agent& agent : agents[tenant]) {
      RETURN_IF_ERROR(engine.PutAgent(agent, now).status());
      // Presence as it was; desktops reconnect and open new sessions.
      const v1::AgentState state_was = agent.presence().state();
      if (state_was == v1::AGENT_STATE_AVAILABLE || state_was == v1::AGENT_STATE_AWAY ||
          state_was == v1::AGENT_STATE_NOT_RESPONDING || state_was == v1::AGENT_STATE_BUSY ||
          state_was == v1::AGENT_STATE_WRAP_UP) {
        const v1::AgentState wished =
            state_was == v1::AGENT_STATE_BUSY || state_was == v1::AGENT_STATE_WRAP_UP
                ? v1::AGENT_STATE_AVAILABLE
                : state_was;
        RETURN_IF_ERROR(
            engine.SetAgentState(agent.name(), wished, agent.presence().reason(), now).status());
      }
      engine.AwaitSession(agent.name(), now);
    }
    for (v1::Task& task : tasks[tenant]) RETURN_IF_ERROR(engine.Restore(std::move(task), now));
    engine.DispatchAll(now);
    RETURN_IF_ERROR(Persist(tenant, state));
  }
  return absl::OkStatus();
}

absl::Status RoutingCore::CreateQueue(const Tenant& tenant, const v1::CreateQueueRequest& request,
                                      v1::CreateQueueResponse& response) {
  ASSIGN_OR_RETURN(names::ValidatedCreateQueue valid, names::ValidateCreateQueue(request));
  const std::string id = valid.queue_id.empty() ? cxp::validation::NewResourceId() : valid.queue_id;
  v1::Queue queue = std::move(valid.queue);
  queue.set_name(names::QueueName(id));
  const absl::Time now = options_.clock();
  *queue.mutable_create_time() = Ts(now);
  *queue.mutable_update_time() = queue.create_time();
  queue.set_etag(cxp::validation::kFirstEtag);
  return ChangeOnce(tenant, "CreateQueue", request.request_id(), request, response,
                    [&](RoutingEngine& engine) -> absl::Status {
                      if (engine.FindQueue(queue.name()) != nullptr) {
                        return absl::AlreadyExistsError(
                            absl::StrCat("queue_id: ", queue.name(), " already exists"));
                      }
                      ASSIGN_OR_RETURN(*response.mutable_queue(), engine.PutQueue(queue, now));
                      return absl::OkStatus();
                    });
}

absl::Status RoutingCore::UpdateQueue(const Tenant& tenant, const v1::UpdateQueueRequest& request,
                                      v1::UpdateQueueResponse& response) {
  ASSIGN_OR_RETURN(const names::ValidatedQueueUpdate update, names::ValidateUpdateQueue(request));
  const std::string name = names::QueueName(update.queue_id);
  const absl::Time now = options_.clock();
  ASSIGN_OR_RETURN(
      *response.mutable_queue(),
      Change<v1::Queue>(tenant, [&](RoutingEngine& engine) -> absl::StatusOr<v1::Queue> {
        const v1::Queue* stored = engine.FindQueue(name);
        if (stored == nullptr) {
          return absl::NotFoundError(absl::StrCat("queue.name: ", name, " does not exist"));
        }
        RETURN_IF_ERROR(CheckEtag(update.queue.etag(), stored->etag(), name, "queue.etag"));
        ASSIGN_OR_RETURN(v1::Queue updated, names::ApplyQueueUpdate(*stored, update));
        updated.set_name(name);
        updated.set_etag(NextEtag(stored->etag()));
        *updated.mutable_create_time() = stored->create_time();
        *updated.mutable_update_time() = Ts(now);
        return engine.PutQueue(updated, now);
      }));
  return absl::OkStatus();
}

absl::Status RoutingCore::ListQueues(const Tenant& tenant, const v1::ListQueuesRequest& request,
                                     v1::ListQueuesResponse& response) {
  ASSIGN_OR_RETURN(const int page_size, names::ListPageSize(request.page_size()));
  ASSIGN_OR_RETURN(const filter::Filter filter,
                   filter::ParseFilter(request.filter(), QueueFilterSchema()));
  const std::string fingerprint =
      paging::RequestFingerprint({"ListQueues", tenant, filter.CanonicalText()});
  ASSIGN_OR_RETURN(const std::string after, ResumeKey(request.page_token(), fingerprint));
  TenantState& state = ForTenant(tenant);
  absl::MutexLock lock(&state.mu);
  const std::vector<std::string> queue_names = state.engine.QueueNames();
  auto it = std::upper_bound(queue_names.begin(), queue_names.end(), after);
  for (; it != queue_names.end(); ++it) {
    const v1::Queue& queue = *state.engine.FindQueue(*it);
    if (!filter.Matches(QueueFieldResolver(queue))) continue;
    if (response.queues_size() == page_size) {
      response.set_next_page_token(NextPageToken(fingerprint, *(it - 1)));
      break;
    }
    *response.add_queues() = queue;
  }
  return absl::OkStatus();
}

absl::Status RoutingCore::DeleteQueue(const Tenant& tenant, const v1::DeleteQueueRequest& request,
                                      v1::DeleteQueueResponse& /*response: empty*/) {
  ASSIGN_OR_RETURN(const std::string id, names::ParseQueueName(request.name(), "name"));
  const std::string name = names::QueueName(id);
  const absl::Time now = options_.clock();
  return Change<bool>(
             tenant,
             [&](RoutingEngine& engine) -> absl::StatusOr<bool> {
               const v1::Queue* stored = engine.FindQueue(name);
               if (stored == nullptr) {
                 return absl::NotFoundError(absl::StrCat("name: ", name, " does not exist"));
               }
               RETURN_IF_ERROR(CheckEtag(request.etag(), stored->etag(), name, "etag"));
               RETURN_IF_ERROR(engine.RemoveQueue(name, now));
               return true;
             })
      .status();
}

absl::Status RoutingCore::GetQueue(const Tenant& tenant, const v1::GetQueueRequest& request,
                                   v1::GetQueueResponse& response) {
  ASSIGN_OR_RETURN(const std::string id, names::ParseQueueName(request.name(), "name"));
  TenantState& state = ForTenant(tenant);
  absl::MutexLock lock(&state.mu);
  const v1::Queue* queue = state.engine.FindQueue(names::QueueName(id));
  if (queue == nullptr) {
    return absl::NotFoundError(absl::StrCat("name: ", request.name(), " does not exist"));
  }
  *response.mutable_queue() = *queue;
  return absl::OkStatus();
}

absl::Status RoutingCore::CreateAgent(const Tenant& tenant, const v1::CreateAgentRequest& request,
                                      v1::CreateAgentResponse& response) {
  ASSIGN_OR_RETURN(names::ValidatedCreateAgent valid, names::ValidateCreateAgent(request));
  const std::string id = valid.agent_id.empty() ? cxp::validation::NewResourceId() : valid.agent_id;
  v1::Agent agent = std::move(valid.agent);
  agent.set_name(names::AgentName(id));
  const absl::Time now = options_.clock();
  *agent.mutable_create_time() = Ts(now);
  *agent.mutable_update_time() = agent.create_time();
  agent.set_etag(cxp::validation::kFirstEtag);
  return ChangeOnce(tenant, "CreateAgent", request.request_id(), request, response,
                    [&](RoutingEngine& engine) -> absl::Status {
                      if (engine.GetAgent(agent.name()).ok()) {
                        return absl::AlreadyExistsError(
                            absl::StrCat("agent_id: ", agent.name(), " already exists"));
                      }
                      ASSIGN_OR_RETURN(*response.mutable_agent(), engine.PutAgent(agent, now));
                      return absl::OkStatus();
                    });
}

absl::Status RoutingCore::UpdateAgent(const Tenant& tenant, const v1::UpdateAgentRequest& request,
                                      v1::UpdateAgentResponse& response) {
  ASSIGN_OR_RETURN(const names::ValidatedAgentUpdate update, names::ValidateUpdateAgent(request));
  const std::string name = names::AgentName(update.agent_id);
  const absl::Time now = options_.clock();
  ASSIGN_OR_RETURN(
      *response.mutable_agent(),
      Change<v1::Agent>(tenant, [&](RoutingEngine& engine) -> absl::StatusOr<v1::Agent> {
        absl::StatusOr<v1::Agent> stored = engine.GetAgent(name);
        if (!stored.ok()) {
          return absl::NotFoundError(absl::StrCat("agent.name: ", name, " does not exist"));
        }
        RETURN_IF_ERROR(CheckEtag(update.agent.etag(), stored->etag(), name, "agent.etag"));
        v1::Agent updated = names::ApplyAgentUpdate(*stored, update);
        updated.set_name(name);
        updated.set_etag(NextEtag(stored->etag()));
        *updated.mutable_create_time() = stored->create_time();
        *updated.mutable_update_time() = Ts(now);
        return engine.PutAgent(updated, now);
      }));
  return absl::OkStatus();
}

absl::Status RoutingCore::ListAgents(const Tenant& tenant, const v1::ListAgentsRequest& request,
                                     v1::ListAgentsResponse& response) {
  ASSIGN_OR_RETURN(const int page_size, names::ListPageSize(request.page_size()));
  ASSIGN_OR_RETURN(const filter::Filter filter,
                   filter::ParseFilter(request.filter(), AgentFilterSchema()));
  const std::string fingerprint =
      paging::RequestFingerprint({"ListAgents", tenant, filter.CanonicalText()});
  ASSIGN_OR_RETURN(const std::string after, ResumeKey(request.page_token(), fingerprint));
  TenantState& state = ForTenant(tenant);
  absl::MutexLock lock(&state.mu);
  const std::vector<std::string> agent_names = state.engine.AgentNames();
  auto it = std::upper_bound(agent_names.begin(), agent_names.end(), after);
  for (; it != agent_names.end(); ++it) {
    ASSIGN_OR_RETURN(v1::Agent agent, state.engine.GetAgent(*it));
    if (!filter.Matches(AgentFieldResolver(agent))) continue;
    if (response.agents_size() == page_size) {
      response.set_next_page_token(NextPageToken(fingerprint, *(it - 1)));
      break;
    }
    *response.add_agents() = std::move(agent);
  }
  return absl::OkStatus();
}

absl::Status RoutingCore::DeleteAgent(const Tenant& tenant, const v1::DeleteAgentRequest& request,
                                      v1::DeleteAgentResponse& /*response: empty*/) {
  ASSIGN_OR_RETURN(const std::string id, names::ParseAgentName(request.name(), "name"));
  const std::string name = names::AgentName(id);
  return Change<bool>(tenant,
                      [&](RoutingEngine& engine) -> absl::StatusOr<bool> {
                        ASSIGN_OR_RETURN(const v1::Agent stored, engine.GetAgent(name));
                        RETURN_IF_ERROR(CheckEtag(request.etag(), stored.etag(), name, "etag"));
                        RETURN_IF_ERROR(engine.RemoveAgent(name));
                        return true;
                      })
      .status();
}

absl::Status RoutingCore::GetAgent(const Tenant& tenant, const v1::GetAgentRequest& request,
                                   v1::GetAgentResponse& response) {
  ASSIGN_OR_RETURN(const std::string id, names::ParseAgentName(request.name(), "name"));
  TenantState& state = ForTenant(tenant);
  absl::MutexLock lock(&state.mu);
  ASSIGN_OR_RETURN(*response.mutable_agent(), state.engine.GetAgent(names::AgentName(id)));
  return absl::OkStatus();
}

absl::Status RoutingCore::SetAgentState(const Tenant& tenant,
                                        const v1::SetAgentStateRequest& request,
                                        v1::SetAgentStateResponse& response) {
  ASSIGN_OR_RETURN(const std::string id, names::ValidateSetAgentState(request));
  const absl::Time now = options_.clock();
  ASSIGN_OR_RETURN(*response.mutable_agent(), Change<v1::Agent>(tenant, [&](RoutingEngine& engine) {
    return engine.SetAgentState(names::AgentName(id), request.state(), request.reason(), now);
  }));
  return absl::OkStatus();
}

absl::Status RoutingCore::SubmitTask(const Tenant& tenant, const v1::SubmitTaskRequest& request,
                                     const CustomerInfo& customer,
                                     v1::SubmitTaskResponse& response) {
  ASSIGN_OR_RETURN(names::ValidatedSubmitTask valid, names::ValidateSubmitTask(request));
  v1::Task task = std::move(valid.task);
  // Wall time, not options_.clock: the time in the id only keeps new rows
  // together in the store (a frozen test clock must not narrow the ids).
  task.set_name(names::TaskName(cxp::validation::NewTimeOrderedResourceId(absl::Now())));
  if (!valid.queue_id.empty()) task.set_queue(names::QueueName(valid.queue_id));
  const absl::Time now = options_.clock();
  return ChangeOnce(tenant, "SubmitTask", request.request_id(), request, response,
                    [&](RoutingEngine& engine) -> absl::Status {
                      ASSIGN_OR_RETURN(*response.mutable_task(),
                                       engine.Submit(std::move(task), customer, now));
                      return absl::OkStatus();
                    });
}

absl::Status RoutingCore::GetTask(const Tenant& tenant, const v1::GetTaskRequest& request,
                                  v1::GetTaskResponse& response) {
  ASSIGN_OR_RETURN(const std::string id, names::ParseTaskName(request.name(), "name"));
  const std::string name = names::TaskName(id);
  TenantState& state = ForTenant(tenant);
  uint64_t decided;
  {
    absl::MutexLock lock(&state.mu);
    absl::StatusOr<v1::Task> active = state.engine.GetTask(name);
    if (active.ok()) {
      *response.mutable_task() = *std::move(active);
      return absl::OkStatus();
    }
    decided = state.last_ticket;
  }
  // Ended tasks live only in the store: once their last change is written.
  store_.rocks().WaitApplied(decided);
  ASSIGN_OR_RETURN(std::optional<v1::Task> stored, store_.GetTask(tenant, name));
  if (!stored)
    return absl::NotFoundError(absl::StrCat("name: ", request.name(), " does not exist"));
  *response.mutable_task() = *std::move(stored);
  return absl::OkStatus();
}

absl::Status RoutingCore::ListTasks(const Tenant& tenant, const v1::ListTasksRequest& request,
                                    v1::ListTasksResponse& response) {
  ASSIGN_OR_RETURN(const int page_size, names::ListPageSize(request.page_size()));
  ASSIGN_OR_RETURN(const filter::Filter filter,
                   filter::ParseFilter(request.filter(), TaskFilterSchema()));
  const std::string fingerprint =
      paging::RequestFingerprint({"ListTasks", tenant, filter.CanonicalText()});
  ASSIGN_OR_RETURN(const std::string after, ResumeKey(request.page_token(), fingerprint));
  // The store's rows, once every change decided so far is written.
  WaitForDecisions(ForTenant(tenant));
  std::string last_key;
  size_t scanned = 0;
  bool more = false;
  RETURN_IF_ERROR(store_.ScanTasksNewestFirst(
      tenant, after, kMaxTasksScanned + 1, [&](const std::string& key, const v1::Task& task) {
        if (response.tasks_size() == page_size || scanned == kMaxTasksScanned) {
          more = true;
          return false;
        }
        ++scanned;
        last_key = key;
        if (filter.Matches(TaskFieldResolver(task))) *response.add_tasks() = task;
        return true;
      }));
  if (more) response.set_next_page_token(NextPageToken(fingerprint, last_key));
  return absl::OkStatus();
}

absl::Status RoutingCore::AcceptTask(const Tenant& tenant, const v1::AcceptTaskRequest& request,
                                     v1::AcceptTaskResponse& response) {
  ASSIGN_OR_RETURN(const names::TaskAction action, names::ValidateAcceptTask(request));
  const absl::Time now = options_.clock();
  ASSIGN_OR_RETURN(*response.mutable_task(), Change<v1::Task>(tenant, [&](RoutingEngine& engine) {
    return engine.Accept(names::TaskName(action.task_id), names::AgentName(action.agent_id), now);
  }));
  return absl::OkStatus();
}

absl::Status RoutingCore::RejectTask(const Tenant& tenant, const v1::RejectTaskRequest& request,
                                     v1::RejectTaskResponse& response) {
  ASSIGN_OR_RETURN(const names::TaskAction action, names::ValidateRejectTask(request));
  const absl::Time now = options_.clock();
  ASSIGN_OR_RETURN(*response.mutable_task(), Change<v1::Task>(tenant, [&](RoutingEngine& engine) {
    return engine.Reject(names::TaskName(action.task_id), names::AgentName(action.agent_id),
                         request.reason(), now);
  }));
  return absl::OkStatus();
}

absl::Status RoutingCore::WrapUpTask(const Tenant& tenant, const v1::WrapUpTaskRequest& request,
                                     v1::WrapUpTaskResponse& response) {
  ASSIGN_OR_RETURN(const names::TaskAction action, names::ValidateWrapUpTask(request));
  const absl::Time now = options_.clock();
  ASSIGN_OR_RETURN(*response.mutable_task(), Change<v1::Task>(tenant, [&](RoutingEngine& engine) {
    return engine.WrapUp(names::TaskName(action.task_id), names::AgentName(action.agent_id), now);
  }));
  return absl::OkStatus();
}

absl::Status RoutingCore::CompleteTask(const Tenant& tenant, const v1::CompleteTaskRequest& request,
                                       v1::CompleteTaskResponse& response) {
  ASSIGN_OR_RETURN(const names::TaskAction action, names::ValidateCompleteTask(request));
  const absl::Time now = options_.clock();
  ASSIGN_OR_RETURN(*response.mutable_task(), Change<v1::Task>(tenant, [&](RoutingEngine& engine) {
    return engine.Complete(names::TaskName(action.task_id), names::AgentName(action.agent_id),
                           request.wrap_up_notes(), now);
  }));
  return absl::OkStatus();
}

absl::Status RoutingCore::CancelTask(const Tenant& tenant, const v1::CancelTaskRequest& request,
                                     v1::CancelTaskResponse& response) {
  ASSIGN_OR_RETURN(const std::string id, names::ValidateCancelTask(request));
  const absl::Time now = options_.clock();
  ASSIGN_OR_RETURN(*response.mutable_task(), Change<v1::Task>(tenant, [&](RoutingEngine& engine) {
    return engine.Cancel(names::TaskName(id), request.reason(), request.abandoned(), request.etag(),
                         now);
  }));
  return absl::OkStatus();
}

absl::Status RoutingCore::TransferTask(const Tenant& tenant, const v1::TransferTaskRequest& request,
                                       v1::TransferTaskResponse& response) {
  ASSIGN_OR_RETURN(const names::TaskTransfer transfer, names::ValidateTransferTask(request));
  const absl::Time now = options_.clock();
  ASSIGN_OR_RETURN(*response.mutable_task(), Change<v1::Task>(tenant, [&](RoutingEngine& engine) {
    return engine.Transfer(names::TaskName(transfer.task_id),
                           transfer.queue_id.empty() ? "" : names::QueueName(transfer.queue_id),
                           transfer.agent_id.empty() ? "" : names::AgentName(transfer.agent_id),
                           request.reason(), request.etag(), now);
  }));
  return absl::OkStatus();
}

absl::Status RoutingCore::GetQueueStats(const Tenant& tenant,
                                        const v1::GetQueueStatsRequest& request,
                                        v1::GetQueueStatsResponse& response) {
  ASSIGN_OR_RETURN(const names::QueueStatsQuery query, names::ValidateGetQueueStats(request));
  const absl::Time now = options_.clock();
  TenantState& state = ForTenant(tenant);
  absl::MutexLock lock(&state.mu);
  ASSIGN_OR_RETURN(*response.mutable_queue_stats(),
                   state.engine.Stats(names::QueueName(query.queue_id), query.interval, now));
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> RoutingCore::OpenSession(const Tenant& tenant, const std::string& agent,
                                                  SessionSink sink,
                                                  std::vector<v1::AgentSessionResponse>* snapshot) {
  const absl::Time now = options_.clock();
  TenantState& state = ForTenant(tenant);
  absl::MutexLock lock(&state.mu);
  ASSIGN_OR_RETURN(const v1::Agent current, state.engine.GetAgent(agent));
  // The snapshot first, so the desktop sees the agent and its tasks before
  // any change that opening the session causes (an offer, at once).
  Session session{.id = next_session_.fetch_add(1), .sink = std::move(sink)};
  if (snapshot != nullptr) *snapshot->emplace_back().mutable_agent() = current;
  for (v1::Task& task : state.engine.HeldTasks(agent)) {
    session.tasks.insert(task.name());
    if (snapshot != nullptr) *snapshot->emplace_back().mutable_task() = std::move(task);
  }
  const uint64_t id = session.id;
  if (session.sink) state.sessions[agent].push_back(std::move(session));
  const absl::Status opened = state.engine.OpenSession(agent, now);
  RETURN_IF_ERROR(Persist(tenant, state));
  RETURN_IF_ERROR(opened);
  return id;
}

absl::Status RoutingCore::CloseSession(const Tenant& tenant, const std::string& agent,
                                       uint64_t session) {
  const absl::Time now = options_.clock();
  TenantState& state = ForTenant(tenant);
  absl::MutexLock lock(&state.mu);
  if (auto it = state.sessions.find(agent); it != state.sessions.end()) {
    std::vector<Session>& sessions = it->second;
    for (auto s = sessions.begin(); s != sessions.end(); ++s) {
      if (session == 0 || s->id == session) {
        sessions.erase(s);
        break;
      }
    }
    if (sessions.empty()) state.sessions.erase(it);
  }
  state.engine.CloseSession(agent, now);
  return Persist(tenant, state);
}

absl::Status RoutingCore::Tick() {
  std::vector<std::pair<Tenant, TenantState*>> all;
  {
    absl::MutexLock lock(&tenants_mu_);
    for (auto& [tenant, state] : tenants_) all.emplace_back(tenant, state.get());
  }
  const absl::Time now = options_.clock();
  for (auto& [tenant, state] : all) {
    absl::MutexLock lock(&state->mu);
    state->engine.AdvanceTo(now);
    RETURN_IF_ERROR(Persist(tenant, *state));
  }
  return absl::OkStatus();
}

std::optional<absl::Time> RoutingCore::NextDeadline() const {
  std::optional<absl::Time> earliest;
  absl::MutexLock lock(&tenants_mu_);
  for (const auto& [tenant, state] : tenants_) {
    absl::MutexLock tenant_lock(&state->mu);
    std::optional<absl::Time> next = state->engine.NextDeadline();
    if (next && (!earliest || *next < *earliest)) earliest = next;
  }
  return earliest;
}

absl::StatusOr<size_t> RoutingCore::PurgeEndedTasks(size_t batch_size) {
  std::vector<Tenant> tenants;
  {
    absl::MutexLock lock(&tenants_mu_);
    for (const auto& [tenant, state] : tenants_) tenants.push_back(tenant);
  }
  const absl::Time cutoff = options_.clock() - options_.task_retention;
  size_t purged = 0;
  for (const Tenant& tenant : tenants) {
    WaitForDecisions(ForTenant(tenant));
    for (;;) {
      ASSIGN_OR_RETURN(const size_t batch, store_.PurgeEndedTasks(tenant, cutoff, batch_size));
      purged += batch;
      if (batch < batch_size) break;
    }
  }
  return purged;
}

absl::Status RoutingCore::QueueStatsSnapshot(const Tenant& tenant,
                                             const names::QueueStatsWatch& watch,
                                             MissingQueue missing,
                                             v1::WatchQueueStatsResponse& response) {
  const absl::Time now = options_.clock();
  response.Clear();
  TenantState& state = ForTenant(tenant);
  absl::MutexLock lock(&state.mu);
  if (watch.queue_ids.empty()) {
    for (const std::string& queue : state.engine.QueueNames()) {
      ASSIGN_OR_RETURN(*response.add_queue_stats(), state.engine.Stats(queue, watch.interval, now));
    }
    return absl::OkStatus();
  }
  for (size_t i = 0; i < watch.queue_ids.size(); ++i) {
    const std::string queue = names::QueueName(watch.queue_ids[i]);
    absl::StatusOr<v1::QueueStats> stats = state.engine.Stats(queue, watch.interval, now);
    if (absl::IsNotFound(stats.status())) {
      if (missing == MissingQueue::kSkip) continue;
      response.Clear();
      return absl::NotFoundError(absl::StrCat("queues[", i, "]: ", queue, " does not exist"));
    }
    if (!stats.ok()) {
      response.Clear();
      return stats.status();
    }
    *response.add_queue_stats() = *std::move(stats);
  }
  return absl::OkStatus();
}

}  // namespace cxp::routing
