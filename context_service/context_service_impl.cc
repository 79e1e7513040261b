#include "context_service/context_service_impl.h"

#include "absl/strings/str_cat.h"
#include "common/server/unary_call.h"
#include "common/server/unary_rpc_macros.h"
#include "context_service/export_customer_reactor.h"
#include "context_service/watch_changes_reactor.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/proto_buffer_reader.h"

namespace cxp::context {

// Each RPC: authenticate, hop to the handler pool, let the core decide;
// writes are answered once durable.
CXP_UNARY_WRITE_RPC(ContextServiceImpl, CreateCustomer)
CXP_UNARY_READ_RPC(ContextServiceImpl, GetCustomer)
CXP_UNARY_WRITE_RPC(ContextServiceImpl, UpdateCustomer)
CXP_UNARY_READ_RPC(ContextServiceImpl, ListCustomers)
CXP_UNARY_WRITE_RPC(ContextServiceImpl, DeleteCustomer)
CXP_UNARY_WRITE_RPC(ContextServiceImpl, AddIdentity)
CXP_UNARY_WRITE_RPC(ContextServiceImpl, RemoveIdentity)
CXP_UNARY_READ_RPC(ContextServiceImpl, ResolveCustomer)
CXP_UNARY_WRITE_RPC(ContextServiceImpl, AppendInteraction)
CXP_UNARY_WRITE_RPC(ContextServiceImpl, BatchAppendInteractions)
CXP_UNARY_WRITE_RPC(ContextServiceImpl, BulkAppendInteractions)
CXP_UNARY_READ_RPC(ContextServiceImpl, ListInteractions)
CXP_UNARY_READ_RPC(ContextServiceImpl, GetConsent)
CXP_UNARY_WRITE_RPC(ContextServiceImpl, UpdateConsent)
CXP_UNARY_READ_RPC(ContextServiceImpl, ListConsentHistory)
CXP_UNARY_READ_RPC(ContextServiceImpl, GetContactPreferences)
CXP_UNARY_WRITE_RPC(ContextServiceImpl, UpdateContactPreferences)
CXP_UNARY_WRITE_RPC(ContextServiceImpl, StartJourney)
CXP_UNARY_WRITE_RPC(ContextServiceImpl, AdvanceJourney)
CXP_UNARY_READ_RPC(ContextServiceImpl, GetJourney)
CXP_UNARY_READ_RPC(ContextServiceImpl, ListJourneys)
CXP_UNARY_WRITE_RPC(ContextServiceImpl, CreateHandoff)
CXP_UNARY_WRITE_RPC(ContextServiceImpl, RedeemHandoff)
CXP_UNARY_WRITE_RPC(ContextServiceImpl, EraseCustomer)
CXP_UNARY_WRITE_RPC(ContextServiceImpl, MergeCustomers)
CXP_UNARY_WRITE_RPC(ContextServiceImpl, UnmergeCustomers)
CXP_UNARY_READ_RPC(ContextServiceImpl, GetMergeRecord)

template <typename Request, typename Encode>
grpc::ServerUnaryReactor* ContextServiceImpl::HandleEncodedRead(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response, Encode encode) {
  // From memory on the reactor thread when possible (the usual case with a
  // block cache sized to the hot data), else on the pool.
  return server::HandleUnaryInlineFirst(
      context, pool_,
      [request, response, encode = std::move(encode)](const server::CallContext& call,
                                                      bool may_block) -> absl::Status {
        Request parsed;
        grpc::ByteBuffer copy(*request);  // shares the slices; deserializing consumes it
        if (!grpc::GenericDeserialize<grpc::ProtoBufferReader, Request>(&copy, &parsed).ok()) {
          return absl::InvalidArgumentError(
              absl::StrCat("request: not a ", Request::descriptor()->name()));
        }
        absl::StatusOr<std::string> encoded =
            encode(call, parsed, may_block ? store::ReadTier::kAny : store::ReadTier::kMemoryOnly);
        if (!encoded.ok()) return encoded.status();
        grpc::Slice slice(*encoded);
        *response = grpc::ByteBuffer(&slice, 1);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* ContextServiceImpl::GetCustomerContext(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return HandleEncodedRead<v1::GetCustomerContextRequest>(
      context, request, response,
      [this](const server::CallContext& call, const v1::GetCustomerContextRequest& parsed,
             store::ReadTier tier) {
        return core_.GetCustomerContextEncoded(call.tenant, parsed, tier);
      });
}

grpc::ServerUnaryReactor* ContextServiceImpl::BatchGetCustomerContexts(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return HandleEncodedRead<v1::BatchGetCustomerContextsRequest>(
      context, request, response,
      [this](const server::CallContext& call, const v1::BatchGetCustomerContextsRequest& parsed,
             store::ReadTier tier) {
        return core_.BatchGetCustomerContextsEncoded(call.tenant, parsed, tier);
      });
}

grpc::ServerWriteReactor<v1::WatchChangesResponse>* ContextServiceImpl::WatchChanges(
    grpc::CallbackServerContext* context, const v1::WatchChangesRequest* request) {
  return new WatchChangesReactor(changes_, pool_, context, *request);
}

grpc::ServerWriteReactor<v1::ExportCustomerResponse>* ContextServiceImpl::ExportCustomer(
    grpc::CallbackServerContext* context, const v1::ExportCustomerRequest* request) {
  return new ExportCustomerReactor(core_, pool_, context, *request);
}

}  // namespace cxp::context
