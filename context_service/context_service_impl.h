// ContextServiceImpl — the gRPC edge of context_service
// (cxp.context.v1.ContextService).
//
// Each handler is one hand-off: HandleUnary authenticates the call, moves it
// off the reactor thread and maps the core's absl::Status to a gRPC status;
// ContextCore validates and decides. WatchChanges streams from the
// ChangeFeed, ExportCustomer pages through the core.
//
// Ownership: borrows the core and the change feed, which must outlive the
// service.
// Threading: handlers run concurrently on the handler pool.

#ifndef CXP_CONTEXT_SERVICE_CONTEXT_SERVICE_IMPL_H_
#define CXP_CONTEXT_SERVICE_CONTEXT_SERVICE_IMPL_H_

#include "common/server/handler_pool.h"
#include "common/server/server.h"
#include "context_service/core/change_feed.h"
#include "context_service/core/context_core.h"
#include "cxp/context/v1/context_service.grpc.pb.h"

namespace cxp::context {

// GetCustomerContext and BatchGetCustomerContexts are raw methods: their
// responses are assembled from stored wire bytes
// (ContextCore::GetCustomerContextEncoded) instead of being parsed and
// re-serialized, since they are the platform's hottest reads.
class ContextServiceImpl final
    : public v1::ContextService::WithRawCallbackMethod_GetCustomerContext<
          v1::ContextService::WithRawCallbackMethod_BatchGetCustomerContexts<
              v1::ContextService::CallbackService>> {
 public:
  ContextServiceImpl(const server::ServerOptions& options, ContextCore& core,
                     const ChangeFeed& changes)
      : pool_(options.worker_threads), core_(core), changes_(changes) {}

  // Server streaming; see export_customer_reactor.h.
  grpc::ServerWriteReactor<v1::ExportCustomerResponse>* ExportCustomer(
      grpc::CallbackServerContext* context, const v1::ExportCustomerRequest* request) override;
  // Server streaming; see watch_changes_reactor.h.
  grpc::ServerWriteReactor<v1::WatchChangesResponse>* WatchChanges(
      grpc::CallbackServerContext* context, const v1::WatchChangesRequest* request) override;

  grpc::ServerUnaryReactor* CreateCustomer(grpc::CallbackServerContext* context,
                                           const v1::CreateCustomerRequest* request,
                                           v1::CreateCustomerResponse* response) override;
  grpc::ServerUnaryReactor* GetCustomer(grpc::CallbackServerContext* context,
                                        const v1::GetCustomerRequest* request,
                                        v1::GetCustomerResponse* response) override;
  grpc::ServerUnaryReactor* UpdateCustomer(grpc::CallbackServerContext* context,
                                           const v1::UpdateCustomerRequest* request,
                                           v1::UpdateCustomerResponse* response) override;
  grpc::ServerUnaryReactor* ListCustomers(grpc::CallbackServerContext* context,
                                          const v1::ListCustomersRequest* request,
                                          v1::ListCustomersResponse* response) override;
  grpc::ServerUnaryReactor* DeleteCustomer(grpc::CallbackServerContext* context,
                                           const v1::DeleteCustomerRequest* request,
                                           v1::DeleteCustomerResponse* response) override;
  grpc::ServerUnaryReactor* AddIdentity(grpc::CallbackServerContext* context,
                                        const v1::AddIdentityRequest* request,
                                        v1::AddIdentityResponse* response) override;
  grpc::ServerUnaryReactor* RemoveIdentity(grpc::CallbackServerContext* context,
                                           const v1::RemoveIdentityRequest* request,
                                           v1::RemoveIdentityResponse* response) override;
  grpc::ServerUnaryReactor* ResolveCustomer(grpc::CallbackServerContext* context,
                                            const v1::ResolveCustomerRequest* request,
                                            v1::ResolveCustomerResponse* response) override;
  grpc::ServerUnaryReactor* AppendInteraction(grpc::CallbackServerContext* context,
                                              const v1::AppendInteractionRequest* request,
                                              v1::AppendInteractionResponse* response) override;
  grpc::ServerUnaryReactor* BatchAppendInteractions(
      grpc::CallbackServerContext* context, const v1::BatchAppendInteractionsRequest* request,
      v1::BatchAppendInteractionsResponse* response) override;
  grpc::ServerUnaryReactor* BulkAppendInteractions(
      grpc::CallbackServerContext* context, const v1::BulkAppendInteractionsRequest* request,
      v1::BulkAppendInteractionsResponse* response) override;
  grpc::ServerUnaryReactor* ListInteractions(grpc::CallbackServerContext* context,
                                             const v1::ListInteractionsRequest* request,
                                             v1::ListInteractionsResponse* response) override;
  grpc::ServerUnaryReactor* StartJourney(grpc::CallbackServerContext* context,
                                         const v1::StartJourneyRequest* request,
                                         v1::StartJourneyResponse* response) override;
  grpc::ServerUnaryReactor* AdvanceJourney(grpc::CallbackServerContext* context,
                                           const v1::AdvanceJourneyRequest* request,
                                           v1::AdvanceJourneyResponse* response) override;
  grpc::ServerUnaryReactor* GetJourney(grpc::CallbackServerContext* context,
                                       const v1::GetJourneyRequest* request,
                                       v1::GetJourneyResponse* response) override;
  grpc::ServerUnaryReactor* ListJourneys(grpc::CallbackServerContext* context,
                                         const v1::ListJourneysRequest* request,
                                         v1::ListJourneysResponse* response) override;
  grpc::ServerUnaryReactor* CreateHandoff(grpc::CallbackServerContext* context,
                                          const v1::CreateHandoffRequest* request,
                                          v1::CreateHandoffResponse* response) override;
  grpc::ServerUnaryReactor* RedeemHandoff(grpc::CallbackServerContext* context,
                                          const v1::RedeemHandoffRequest* request,
                                          v1::RedeemHandoffResponse* response) override;
  grpc::ServerUnaryReactor* EraseCustomer(grpc::CallbackServerContext* context,
                                          const v1::EraseCustomerRequest* request,
                                          v1::EraseCustomerResponse* response) override;
  grpc::ServerUnaryReactor* MergeCustomers(grpc::CallbackServerContext* context,
                                           const v1::MergeCustomersRequest* request,
                                           v1::MergeCustomersResponse* response) override;
  grpc::ServerUnaryReactor* UnmergeCustomers(grpc::CallbackServerContext* context,
                                             const v1::UnmergeCustomersRequest* request,
                                             v1::UnmergeCustomersResponse* response) override;
  grpc::ServerUnaryReactor* GetMergeRecord(grpc::CallbackServerContext* context,
                                           const v1::GetMergeRecordRequest* request,
                                           v1::GetMergeRecordResponse* response) override;
  grpc::ServerUnaryReactor* GetConsent(grpc::CallbackServerContext* context,
                                       const v1::GetConsentRequest* request,
                                       v1::GetConsentResponse* response) override;
  grpc::ServerUnaryReactor* UpdateConsent(grpc::CallbackServerContext* context,
                                          const v1::UpdateConsentRequest* request,
                                          v1::UpdateConsentResponse* response) override;
  grpc::ServerUnaryReactor* ListConsentHistory(grpc::CallbackServerContext* context,
                                               const v1::ListConsentHistoryRequest* request,
                                               v1::ListConsentHistoryResponse* response) override;
  grpc::ServerUnaryReactor* GetContactPreferences(
      grpc::CallbackServerContext* context, const v1::GetContactPreferencesRequest* request,
      v1::GetContactPreferencesResponse* response) override;
  grpc::ServerUnaryReactor* UpdateContactPreferences(
      grpc::CallbackServerContext* context, const v1::UpdateContactPreferencesRequest* request,
      v1::UpdateContactPreferencesResponse* response) override;
  grpc::ServerUnaryReactor* GetCustomerContext(grpc::CallbackServerContext* context,
                                               const grpc::ByteBuffer* request,
                                               grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* BatchGetCustomerContexts(grpc::CallbackServerContext* context,
                                                     const grpc::ByteBuffer* request,
                                                     grpc::ByteBuffer* response) override;

 private:
  // A raw read answered from memory when it can (see GetCustomerContext):
  // parses `request` as Request, then `encode(call, parsed, tier)` gives
  // the serialized response.
  template <typename Request, typename Encode>
  grpc::ServerUnaryReactor* HandleEncodedRead(grpc::CallbackServerContext* context,
                                              const grpc::ByteBuffer* request,
                                              grpc::ByteBuffer* response, Encode encode);

  server::HandlerPool pool_;
  ContextCore& core_;
  const ChangeFeed& changes_;
};

}  // namespace cxp::context

#endif  // CXP_CONTEXT_SERVICE_CONTEXT_SERVICE_IMPL_H_
