// AgentSessionReactor — one agent desktop's AgentSession stream: the agent
// and the tasks it holds first, then its presence changes, offers and the
// changes of tasks offered to it, until the client cancels, the server
// shuts down (UNAVAILABLE: reconnect, the snapshot is sent again) or the
// agent is deleted (NOT_FOUND). A stream opened once shutdown has started
// ends at once with UNAVAILABLE, without opening a session.
//
// Opening registers the session with RoutingCore (offers go only to agents
// with an open session); the end closes it, and the agent's grace period to
// reconnect starts (RoutingEngineOptions::session_grace).
//
// Flow: events are queued here and written one at a time; an agent gets a
// handful of events per task, so the queue stays small.
//
// Ownership: deletes itself once gRPC is done with it and the pool task that
// opened it has run. Threading: gRPC callbacks, the opening on the handler
// pool and RoutingCore's sink run concurrently; state is guarded by mu_.
// The core is opened on the pool, never on a gRPC thread (it writes to
// storage).

#ifndef CXP_ROUTING_SERVICE_AGENT_SESSION_REACTOR_H_
#define CXP_ROUTING_SERVICE_AGENT_SESSION_REACTOR_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/server/handler_pool.h"
#include "cxp/routing/v1/routing_service.grpc.pb.h"
#include "grpcpp/support/server_callback.h"
#include "routing_service/core/routing_core.h"
#include "routing_service/stream_registry.h"

namespace cxp::routing {

class AgentSessionReactor final : public grpc::ServerWriteReactor<v1::AgentSessionResponse> {
 public:
  // The live streams, so a shutting-down server can end them (and refuse
  // new ones); see stream_registry.h.
  using Registry = StreamRegistry<AgentSessionReactor>;

  AgentSessionReactor(RoutingCore& core, server::HandlerPool& pool,
                      grpc::CallbackServerContext* context, const v1::AgentSessionRequest& request,
                      Registry& registry);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

  // Ends the stream with UNAVAILABLE (server shutdown).
  void Shutdown();

 private:
  friend Registry;  // Ref/Unref

  void Open();
  void Push(const v1::AgentSessionResponse& event);
  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Ref();
  void Unref();

  RoutingCore& core_;
  server::HandlerPool& pool_;
  Registry& registry_;
  std::string tenant_;
  std::string agent_;
  absl::Mutex mu_;
  std::deque<v1::AgentSessionResponse> queue_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> finish_after_write_ ABSL_GUARDED_BY(mu_);
  uint64_t session_ ABSL_GUARDED_BY(mu_) = 0;  // 0 until opened
  int refs_ ABSL_GUARDED_BY(mu_) = 1;          // gRPC's, until OnDone
};

}  // namespace cxp::routing

#endif  // CXP_ROUTING_SERVICE_AGENT_SESSION_REACTOR_H_
