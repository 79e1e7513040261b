#include "routing_service/agent_session_reactor.h"

#include <utility>
#include <vector>

#include "common/server/call_context.h"
#include "common/status/grpc_status.h"
#include "routing_service/validation/resource_names.h"

namespace cxp::routing {
namespace {

grpc::Status ShuttingDown() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      "server is shutting down; reconnect with backoff");
}

}  // namespace

AgentSessionReactor::AgentSessionReactor(RoutingCore& core, server::HandlerPool& pool,
                                         grpc::CallbackServerContext* context,
                                         const v1::AgentSessionRequest& request, Registry& registry)
    : core_(core), pool_(pool), registry_(registry) {
  const bool added = registry_.Add(this);
  absl::StatusOr<server::CallContext> call = server::GetCallContext(*context);
  absl::StatusOr<std::string> id = validation::ParseAgentName(request.agent(), "agent");
  absl::MutexLock lock(&mu_);
  if (!added) {
    // Shutdown has started: no session, no wait for the drain.
    FinishLocked(ShuttingDown());
    return;
  }
  if (!call.ok() || !id.ok()) {
    FinishLocked(ToGrpcStatus(!call.ok() ? call.status() : id.status()));
    return;
  }
  tenant_ = call->tenant;
  agent_ = validation::AgentName(*id);
  StartSendInitialMetadata();
  ++refs_;
  if (!pool_.TrySubmit([this] { Open(); })) {
    --refs_;
    FinishLocked(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                              "server overloaded: handler queue full, retry with backoff"));
  }
}

void AgentSessionReactor::Open() {
  bool finished = false;
  {
    absl::MutexLock lock(&mu_);
    finished = finished_;
  }
  if (finished) {
    Unref();
    return;
  }
  std::vector<v1::AgentSessionResponse> snapshot;
  absl::StatusOr<uint64_t> session = core_.OpenSession(
      tenant_, agent_, [this](const v1::AgentSessionResponse& event) { Push(event); }, &snapshot);
  bool close = false;
  {
    absl::MutexLock lock(&mu_);
    if (!session.ok()) {
      FinishLocked(ToGrpcStatus(session.status()));
    } else if (finished_) {
      close = true;  // cancelled while opening
    } else {
      session_ = *session;
      // The snapshot goes before anything the sink queued meanwhile.
      for (auto it = snapshot.rbegin(); it != snapshot.rend(); ++it) queue_.push_front(*it);
      if (!writing_) WriteNextLocked();
    }
  }
  if (close) (void)core_.CloseSession(tenant_, agent_, *session);
  Unref();
}

void AgentSessionReactor::Push(const v1::AgentSessionResponse& event) {
  absl::MutexLock lock(&mu_);
  if (finished_) return;
  if (event.event_case() == v1::AgentSessionResponse::EVENT_NOT_SET) {
    FinishLocked(grpc::Status(grpc::StatusCode::NOT_FOUND, agent_ + " was deleted"));
    return;
  }
  queue_.push_back(event);
  if (!writing_ && session_ != 0) WriteNextLocked();
}

void AgentSessionReactor::WriteNextLocked() {
  if (queue_.empty()) return;
  writing_ = true;
  StartWrite(&queue_.front());
}

void AgentSessionReactor::OnWriteDone(bool ok) {
  absl::MutexLock lock(&mu_);
  writing_ = false;
  queue_.pop_front();
  if (finish_after_write_) {
    Finish(*finish_after_write_);
    finish_after_write_.reset();
    return;
  }
  if (finished_) return;
  if (!ok) {
    FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "stream closed by the client"));
    return;
  }
  WriteNextLocked();
}

void AgentSessionReactor::OnCancel() {
  absl::MutexLock lock(&mu_);
  FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled by the client"));
}

void AgentSessionReactor::Shutdown() {
  absl::MutexLock lock(&mu_);
  FinishLocked(ShuttingDown());
}

void AgentSessionReactor::FinishLocked(const grpc::Status& status) {
  if (finished_) return;
  finished_ = true;
  if (writing_) {
    finish_after_write_ = status;
  } else {
    Finish(status);
  }
}

void AgentSessionReactor::OnDone() {
  registry_.Remove(this);
  uint64_t session = 0;
  {
    absl::MutexLock lock(&mu_);
    session = session_;
    session_ = 0;
  }
  if (session == 0) {
    Unref();
    return;
  }
  // Closing writes to storage: on the pool, not on this gRPC thread. Until
  // it has run the core may still call the sink, which then finds the
  // stream finished; the reference held keeps this object alive.
  auto close = [this, session] {
    (void)core_.CloseSession(tenant_, agent_, session);
    Unref();
  };
  {
    absl::MutexLock lock(&mu_);
    ++refs_;  // the close's
  }
  if (!pool_.TrySubmit(close)) close();
  Unref();
}

void AgentSessionReactor::Ref() {
  absl::MutexLock lock(&mu_);
  ++refs_;
}

void AgentSessionReactor::Unref() {
  bool last = false;
  {
    absl::MutexLock lock(&mu_);
    last = --refs_ == 0;
  }
  if (last) delete this;
}

}  // namespace cxp::routing
