// NotifyServiceImpl — the gRPC edge of notify_service (cxp.notify.v1.NotifyService).
//
// Handlers stay thin: HandleUnary / HandleUnaryWrite authenticate the
// call, move it off the reactor thread and map the core's absl::Status to
// a gRPC status (INVALID_ARGUMENT naming the field, NOT_FOUND, ...);
// NotifyConfigCore (templates, trigger rules) and NotifyCore (sends and
// notifications) validate, decide and persist. Writes are answered once
// durable.
//
// SendNotification and BatchSendNotifications first ask context_service
// for each recipient (ContextGateway::LookUp: short deadline, no thread
// waiting); without an answer the send is accepted and judged at delivery.
// ReceiveInboundMessage decides on the keyword (inbound_keywords.h), then
// resolves the sender in context_service (creating a customer for an
// unknown one when it is a keyword), sets the consent there and records the
// message on the customer's timeline; it writes nothing of its own.
// WatchNotifications streams NotifyCore's changes (NotificationWatchers is
// the core's change sink; main.cc connects them).
//
// Ownership: borrows the cores, the gateway and the watchers, which must
// outlive the service. Threading: handlers run concurrently on the handler
// pool; the impl keeps no mutable state of its own.

#ifndef CXP_NOTIFY_SERVICE_NOTIFY_SERVICE_IMPL_H_
#define CXP_NOTIFY_SERVICE_NOTIFY_SERVICE_IMPL_H_

#include "common/server/handler_pool.h"
#include "common/server/server.h"
#include "cxp/notify/v1/notify_service.grpc.pb.h"
#include "notify_service/context_gateway.h"
#include "notify_service/core/notify_config_core.h"
#include "notify_service/core/notify_core.h"
#include "notify_service/watch_notifications_reactor.h"

namespace cxp::notify {

class NotifyServiceImpl final : public v1::NotifyService::CallbackService {
 public:
  NotifyServiceImpl(const server::ServerOptions& options, NotifyCore& core,
                    NotifyConfigCore& config, const ContextGateway& context,
                    NotificationWatchers& watchers)
      : pool_(options.worker_threads),
        core_(core),
        config_(config),
        context_(context),
        watchers_(watchers) {}

#define CXP_NOTIFY_RPC(Method)                                           \
  grpc::ServerUnaryReactor* Method(grpc::CallbackServerContext* context, \
                                   const v1::Method##Request* request,   \
                                   v1::Method##Response* response) override;
  CXP_NOTIFY_RPC(CreateTemplate)
  CXP_NOTIFY_RPC(GetTemplate)
  CXP_NOTIFY_RPC(UpdateTemplate)
  CXP_NOTIFY_RPC(ListTemplates)
  CXP_NOTIFY_RPC(DeleteTemplate)
  CXP_NOTIFY_RPC(SendNotification)
  CXP_NOTIFY_RPC(BatchSendNotifications)
  CXP_NOTIFY_RPC(GetNotification)
  CXP_NOTIFY_RPC(ListNotifications)
  CXP_NOTIFY_RPC(CancelNotification)
  CXP_NOTIFY_RPC(ReportDeliveryStatus)
  CXP_NOTIFY_RPC(ReceiveInboundMessage)
  CXP_NOTIFY_RPC(ListDeadLetters)
  CXP_NOTIFY_RPC(RedriveNotification)
  CXP_NOTIFY_RPC(CreateTriggerRule)
  CXP_NOTIFY_RPC(GetTriggerRule)
  CXP_NOTIFY_RPC(UpdateTriggerRule)
  CXP_NOTIFY_RPC(ListTriggerRules)
  CXP_NOTIFY_RPC(DeleteTriggerRule)
#undef CXP_NOTIFY_RPC

  // Server streaming; see watch_notifications_reactor.h.
  grpc::ServerWriteReactor<v1::WatchNotificationsResponse>* WatchNotifications(
      grpc::CallbackServerContext* context, const v1::WatchNotificationsRequest* request) override;

  // Ends every open WatchNotifications stream (UNAVAILABLE), and those
  // opened later at once: call when shutdown starts, so draining does not
  // wait for watchers.
  void EndStreams() { watchers_.ShutdownAll(); }

 private:
  server::HandlerPool pool_;
  NotifyCore& core_;
  NotifyConfigCore& config_;
  const ContextGateway& context_;
  NotificationWatchers& watchers_;
};

}  // namespace cxp::notify

#endif  // CXP_NOTIFY_SERVICE_NOTIFY_SERVICE_IMPL_H_
