#include "notify_service/notify_service_impl.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "common/server/unary_call.h"
#include "common/server/unary_rpc_macros.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "notify_service/core/inbound_keywords.h"
#include "notify_service/core/send_validation.h"

namespace cxp::notify {
namespace {

// A send's shape (names, purpose, variables, times), checked before
// context_service is asked, so bad input costs no lookup. The core checks
// it again with its own limits.
bool WorthLookingUp(const v1::SendNotificationRequest& request) {
  return ValidateSendRequest(request, absl::Now(), absl::InfiniteDuration(), absl::Hours(1)).ok();
}

// What the recipients of a batch turned out to be, filled by concurrent
// lookups; the last one to finish hands the batch on.
struct BatchLookups {
  explicit BatchLookups(int size) : views(size, CustomerView::Unanswered()), pending(size) {}
  std::vector<absl::StatusOr<CustomerView>> views;
  std::atomic<int> pending;
};

}  // namespace

// Configuration: one hand-off each to NotifyConfigCore.
#define CXP_NOTIFY_CONFIG_READ_RPC(Method)                                                  \
  grpc::ServerUnaryReactor* NotifyServiceImpl::Method(grpc::CallbackServerContext* context, \
                                                      const v1::Method##Request* request,   \
                                                      v1::Method##Response* response) {     \
    return server::HandleUnary(context, pool_,                                              \
                               [this, request, response](const server::CallContext& call) { \
                                 return config_.Method(call.tenant, *request, *response);   \
                               });                                                          \
  }
#define CXP_NOTIFY_CONFIG_WRITE_RPC(Method)                                                      \
  grpc::ServerUnaryReactor* NotifyServiceImpl::Method(grpc::CallbackServerContext* context,      \
                                                      const v1::Method##Request* request,        \
                                                      v1::Method##Response* response) {          \
    return server::HandleUnaryWrite(context, pool_, config_,                                     \
                                    [this, request, response](const server::CallContext& call) { \
                                      return config_.Method(call.tenant, *request, *response);   \
                                    });                                                          \
  }
CXP_NOTIFY_CONFIG_WRITE_RPC(CreateTemplate)
CXP_NOTIFY_CONFIG_READ_RPC(GetTemplate)
CXP_NOTIFY_CONFIG_WRITE_RPC(UpdateTemplate)
CXP_NOTIFY_CONFIG_READ_RPC(ListTemplates)
CXP_NOTIFY_CONFIG_WRITE_RPC(DeleteTemplate)
CXP_NOTIFY_CONFIG_WRITE_RPC(CreateTriggerRule)
CXP_NOTIFY_CONFIG_READ_RPC(GetTriggerRule)
CXP_NOTIFY_CONFIG_WRITE_RPC(UpdateTriggerRule)
CXP_NOTIFY_CONFIG_READ_RPC(ListTriggerRules)
CXP_NOTIFY_CONFIG_WRITE_RPC(DeleteTriggerRule)
#undef CXP_NOTIFY_CONFIG_READ_RPC
#undef CXP_NOTIFY_CONFIG_WRITE_RPC

// Notifications: one hand-off each to NotifyCore.
CXP_UNARY_READ_RPC(NotifyServiceImpl, GetNotification)
CXP_UNARY_READ_RPC(NotifyServiceImpl, ListNotifications)
CXP_UNARY_WRITE_RPC(NotifyServiceImpl, CancelNotification)
CXP_UNARY_WRITE_RPC(NotifyServiceImpl, ReportDeliveryStatus)
CXP_UNARY_READ_RPC(NotifyServiceImpl, ListDeadLetters)
CXP_UNARY_WRITE_RPC(NotifyServiceImpl, RedriveNotification)

// SendNotification first asks context_service about the recipient (no
// thread waits for it), then hands the call to the pool like any write.
grpc::ServerUnaryReactor* NotifyServiceImpl::SendNotification(
    grpc::CallbackServerContext* context, const v1::SendNotificationRequest* request,
    v1::SendNotificationResponse* response) {
  auto [reactor, call] = server::internal::StartCall(context);
  if (!call) return reactor;
  const std::string tenant = call->tenant;
  auto send = [this, context, reactor = reactor, call = *std::move(call), request,
               response](absl::StatusOr<CustomerView> customer) mutable {
    server::internal::RunOnPool(
        context, reactor, std::move(call), pool_,
        [this, request, response,
         customer = std::move(customer)](const server::CallContext& call) -> absl::Status {
          if (!customer.ok()) return customer.status();
          return core_.SendNotification(call.tenant, *request, *customer, *response);
        },
        [this](grpc::ServerUnaryReactor* finished, absl::Status status) {
          core_.AfterDurable([finished, status = std::move(status)](absl::Status synced) {
            finished->Finish(ToGrpcStatus(synced.ok() ? status : synced));
          });
        });
  };
  if (!WorthLookingUp(*request)) {
    send(CustomerView::Unanswered());  // the core names what is wrong
  } else {
    context_.LookUp(tenant, request->customer(), "customer", std::move(send));
  }
  return reactor;
}

// BatchSendNotifications looks up every recipient at once, then sends on the
// pool: a recipient the lookup refused (unknown customer name) gets that
// error as its outcome, the others go to the core as one batch.
grpc::ServerUnaryReactor* NotifyServiceImpl::BatchSendNotifications(
    grpc::CallbackServerContext* context, const v1::BatchSendNotificationsRequest* request,
    v1::BatchSendNotificationsResponse* response) {
  auto [reactor, call] = server::internal::StartCall(context);
  if (!call) return reactor;
  const int size = request->requests_size();
  auto lookups = std::make_shared<BatchLookups>(size);
  auto send = [this, context, reactor = reactor, call = *call, request, response, lookups]() {
    server::internal::RunOnPool(
        context, reactor, call, pool_,
        [this, request, response, lookups](const server::CallContext& call) -> absl::Status {
          if (request->requests().empty() ||
              request->requests_size() > NotifyCore::kMaxBatchSends) {
            return core_.BatchSendNotifications(call.tenant, *request, {}, *response);
          }
          v1::BatchSendNotificationsRequest accepted;
          std::vector<CustomerView> customers;
          for (int i = 0; i < request->requests_size(); ++i) {
            if (lookups->views[i].ok()) {
              *accepted.add_requests() = request->requests(i);
              customers.push_back(*lookups->views[i]);
            }
          }
          v1::BatchSendNotificationsResponse sent;
          if (!customers.empty()) {
            RETURN_IF_ERROR(core_.BatchSendNotifications(call.tenant, accepted, customers, sent));
          }
          int next = 0;
          for (int i = 0; i < request->requests_size(); ++i) {
            v1::SendNotificationOutcome& outcome = *response->add_outcomes();
            if (lookups->views[i].ok()) {
              outcome = std::move(*sent.mutable_outcomes(next++));
            } else {
              outcome.set_code(static_cast<int>(lookups->views[i].status().code()));
              outcome.set_message(std::string(lookups->views[i].status().message()));
            }
          }
          return absl::OkStatus();
        },
        [this](grpc::ServerUnaryReactor* finished, absl::Status status) {
          core_.AfterDurable([finished, status = std::move(status)](absl::Status synced) {
            finished->Finish(ToGrpcStatus(synced.ok() ? status : synced));
          });
        });
  };
  if (size == 0 || size > NotifyCore::kMaxBatchSends) {
    send();  // the core refuses the batch
    return reactor;
  }
  for (int i = 0; i < size; ++i) {
    const v1::SendNotificationRequest& one = request->requests(i);
    if (!WorthLookingUp(one)) {
      if (lookups->pending.fetch_sub(1) == 1) send();
      continue;
    }
    context_.LookUp(call->tenant, one.customer(), "customer",
                    [lookups, i, send](absl::StatusOr<CustomerView> customer) mutable {
                      lookups->views[i] = std::move(customer);
                      if (lookups->pending.fetch_sub(1) == 1) send();
                    });
  }
  return reactor;
}

// ReceiveInboundMessage: the keyword decision here, then context_service
// (resolve or create the sender, set consent, record the message on the
// timeline); nothing to store locally.
grpc::ServerUnaryReactor* NotifyServiceImpl::ReceiveInboundMessage(
    grpc::CallbackServerContext* context, const v1::ReceiveInboundMessageRequest* request,
    v1::ReceiveInboundMessageResponse* response) {
  auto [reactor, call] = server::internal::StartCall(context);
  if (!call) return reactor;
  absl::StatusOr<InboundConsentDecision> decided = DecideInboundMessage(*request, absl::Now());
  if (!decided.ok()) {
    reactor->Finish(ToGrpcStatus(decided.status()));
    return reactor;
  }
  auto decision = std::make_shared<InboundConsentDecision>(*std::move(decided));
  const bool keyword = decision->action != v1::ReceiveInboundMessageResponse::ACTION_NONE;
  const std::string tenant = call->tenant;
  response->set_action(v1::ReceiveInboundMessageResponse::ACTION_NONE);
  // Last step: the message on the customer's timeline, then the answer.
  auto record = [this, tenant, reactor = reactor, decision, response](std::string customer) {
    response->set_customer(customer);
    decision->timeline_append.mutable_customer()->set_customer(std::move(customer));
    context_.RecordInbound(tenant, std::move(decision->timeline_append),
                           [reactor, decision, response](absl::StatusOr<std::string> recorded) {
                             if (!recorded.ok()) {
                               reactor->Finish(ToGrpcStatus(recorded.status()));
                               return;
                             }
                             response->set_interaction(*std::move(recorded));
                             response->set_action(decision->action);
                             for (const auto& entry : decision->changes) {
                               response->add_purposes(entry.purpose());
                             }
                             reactor->Finish(grpc::Status::OK);
                           });
  };
  context_.ResolveSender(tenant, request->inbound_message().sender(), /*create_if_missing=*/keyword,
                         "inbound_message.sender",
                         [this, tenant, reactor = reactor, decision, record = std::move(record)](
                             absl::StatusOr<std::string> customer) mutable {
                           if (!customer.ok()) {
                             reactor->Finish(ToGrpcStatus(customer.status()));
                             return;
                           }
                           if (customer->empty()) {  // not a keyword, from no known customer
                             reactor->Finish(grpc::Status::OK);
                             return;
                           }
                           if (decision->changes.empty()) {
                             record(*std::move(customer));
                             return;
                           }
                           const std::string name = *customer;
                           context_.ApplyConsent(tenant, name, decision->changes,
                                                 [reactor, name, record = std::move(record)](
                                                     absl::Status applied) mutable {
                                                   if (!applied.ok()) {
                                                     reactor->Finish(ToGrpcStatus(applied));
                                                     return;
                                                   }
                                                   record(name);
                                                 });
                         });
  return reactor;
}

grpc::ServerWriteReactor<v1::WatchNotificationsResponse>* NotifyServiceImpl::WatchNotifications(
    grpc::CallbackServerContext* context, const v1::WatchNotificationsRequest* request) {
  return new WatchNotificationsReactor(context, *request, watchers_);
}

}  // namespace cxp::notify
