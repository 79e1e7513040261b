// RoutingServiceImpl — the gRPC edge of routing_service (cxp.routing.v1.RoutingService).
//
// Each handler is one hand-off: HandleUnary / HandleUnaryWrite authenticate
// the call, move it off the reactor thread and map the core's absl::Status
// to a gRPC status; RoutingCore validates, lets the tenant's engine decide
// and persists. Writes are answered once durable.
//
// Streams (AgentSession, WatchQueueStats) have their own reactors.
//
// SubmitTask asks context_service about the customer first (ContextEnricher,
// a short deadline, no thread waiting), then routes with or without it.
//
// Ownership: borrows the core and the enricher, which must outlive the
// service.
// Threading: handlers run concurrently on the handler pool.

#ifndef CXP_ROUTING_SERVICE_ROUTING_SERVICE_IMPL_H_
#define CXP_ROUTING_SERVICE_ROUTING_SERVICE_IMPL_H_

#include "common/server/handler_pool.h"
#include "common/server/server.h"
#include "cxp/routing/v1/routing_service.grpc.pb.h"
#include "routing_service/agent_session_reactor.h"
#include "routing_service/context_enricher.h"
#include "routing_service/core/routing_core.h"
#include "routing_service/watch_queue_stats_reactor.h"

namespace cxp::routing {

class RoutingServiceImpl final : public v1::RoutingService::CallbackService {
 public:
  RoutingServiceImpl(const server::ServerOptions& options, RoutingCore& core,
                     const ContextEnricher& enricher)
      : pool_(options.worker_threads), core_(core), enricher_(enricher) {}

#define CXP_ROUTING_RPC(Method)                                          \
  grpc::ServerUnaryReactor* Method(grpc::CallbackServerContext* context, \
                                   const v1::Method##Request* request,   \
                                   v1::Method##Response* response) override;
  CXP_ROUTING_RPC(CreateQueue)
  CXP_ROUTING_RPC(GetQueue)
  CXP_ROUTING_RPC(UpdateQueue)
  CXP_ROUTING_RPC(ListQueues)
  CXP_ROUTING_RPC(DeleteQueue)
  CXP_ROUTING_RPC(CreateAgent)
  CXP_ROUTING_RPC(GetAgent)
  CXP_ROUTING_RPC(UpdateAgent)
  CXP_ROUTING_RPC(ListAgents)
  CXP_ROUTING_RPC(DeleteAgent)
  CXP_ROUTING_RPC(SetAgentState)
  CXP_ROUTING_RPC(SubmitTask)
  CXP_ROUTING_RPC(GetTask)
  CXP_ROUTING_RPC(ListTasks)
  CXP_ROUTING_RPC(AcceptTask)
  CXP_ROUTING_RPC(RejectTask)
  CXP_ROUTING_RPC(WrapUpTask)
  CXP_ROUTING_RPC(CompleteTask)
  CXP_ROUTING_RPC(CancelTask)
  CXP_ROUTING_RPC(TransferTask)
  CXP_ROUTING_RPC(GetQueueStats)
#undef CXP_ROUTING_RPC

  // Server streaming; see agent_session_reactor.h.
  grpc::ServerWriteReactor<v1::AgentSessionResponse>* AgentSession(
      grpc::CallbackServerContext* context, const v1::AgentSessionRequest* request) override;
  // Server streaming; see watch_queue_stats_reactor.h.
  grpc::ServerWriteReactor<v1::WatchQueueStatsResponse>* WatchQueueStats(
      grpc::CallbackServerContext* context, const v1::WatchQueueStatsRequest* request) override;

  // Ends every open AgentSession and WatchQueueStats stream (UNAVAILABLE),
  // and those opened later at once: call when shutdown starts, so draining
  // does not wait for desktops and wallboards.
  void EndSessions() {
    sessions_.ShutdownAll();
    watches_.ShutdownAll();
  }

 private:
  server::HandlerPool pool_;
  RoutingCore& core_;
  const ContextEnricher& enricher_;
  AgentSessionReactor::Registry sessions_;
  WatchQueueStatsReactor::Registry watches_;
};

}  // namespace cxp::routing

#endif  // CXP_ROUTING_SERVICE_ROUTING_SERVICE_IMPL_H_
