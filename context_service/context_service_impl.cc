#include "context_service/context_service_impl.h"

#include "common/server/unary_call.h"
#include "context_service/export_customer_reactor.h"
#include "context_service/watch_changes_reactor.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/proto_buffer_reader.h"

namespace cxp::context {

// Each RPC: authenticate, hop to the handler pool, let the core decide.
#define CXP_CONTEXT_READ_RPC(Method)                                                         \
  grpc::ServerUnaryReactor* ContextServiceImpl::Method(grpc::CallbackServerContext* context, \
                                                       const v1::Method##Request* request,   \
                                                       v1::Method##Response* response) {     \
    return server::HandleUnary(context, pool_,                                               \
                               [this, request, response](const server::CallContext& call) {  \
                                 return core_.Method(call.tenant, *request, *response);      \
                               });                                                           \
  }

// Writes are answered once durable (the WAL fsync they share with others).
#define CXP_CONTEXT_WRITE_RPC(Method)                                                            \
  grpc::ServerUnaryReactor* ContextServiceImpl::Method(grpc::CallbackServerContext* context,     \
                                                       const v1::Method##Request* request,       \
                                                       v1::Method##Response* response) {         \
    return server::HandleUnaryWrite(context, pool_, core_,                                       \
                                    [this, request, response](const server::CallContext& call) { \
                                      return core_.Method(call.tenant, *request, *response);     \
                                    });                                                          \
  }

CXP_CONTEXT_WRITE_RPC(CreateCustomer)
CXP_CONTEXT_READ_RPC(GetCustomer)
CXP_CONTEXT_WRITE_RPC(UpdateCustomer)
CXP_CONTEXT_READ_RPC(ListCustomers)
CXP_CONTEXT_WRITE_RPC(DeleteCustomer)
CXP_CONTEXT_WRITE_RPC(AddIdentity)
CXP_CONTEXT_WRITE_RPC(RemoveIdentity)
CXP_CONTEXT_READ_RPC(ResolveCustomer)
CXP_CONTEXT_WRITE_RPC(AppendInteraction)
CXP_CONTEXT_WRITE_RPC(BatchAppendInteractions)
CXP_CONTEXT_READ_RPC(ListInteractions)
CXP_CONTEXT_READ_RPC(GetConsent)
CXP_CONTEXT_WRITE_RPC(UpdateConsent)
CXP_CONTEXT_READ_RPC(ListConsentHistory)
CXP_CONTEXT_READ_RPC(GetContactPreferences)
CXP_CONTEXT_WRITE_RPC(UpdateContactPreferences)
CXP_CONTEXT_WRITE_RPC(StartJourney)
CXP_CONTEXT_WRITE_RPC(AdvanceJourney)
CXP_CONTEXT_READ_RPC(GetJourney)
CXP_CONTEXT_READ_RPC(ListJourneys)
CXP_CONTEXT_WRITE_RPC(CreateHandoff)
CXP_CONTEXT_WRITE_RPC(RedeemHandoff)
CXP_CONTEXT_WRITE_RPC(EraseCustomer)
CXP_CONTEXT_WRITE_RPC(MergeCustomers)
CXP_CONTEXT_WRITE_RPC(UnmergeCustomers)
CXP_CONTEXT_READ_RPC(GetMergeRecord)

grpc::ServerUnaryReactor* ContextServiceImpl::GetCustomerContext(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  // From memory on the reactor thread when possible (the usual case with a
  // block cache sized to the hot data), else on the pool.
  return server::HandleUnaryInlineFirst(
      context, pool_,
      [this, request, response](const server::CallContext& call, bool may_block) -> absl::Status {
        v1::GetCustomerContextRequest parsed;
        grpc::ByteBuffer copy(*request);  // shares the slices; deserializing consumes it
        if (!grpc::GenericDeserialize<grpc::ProtoBufferReader, v1::GetCustomerContextRequest>(
                 &copy, &parsed)
                 .ok()) {
          return absl::InvalidArgumentError("request: not a GetCustomerContextRequest");
        }
        absl::StatusOr<std::string> encoded = core_.GetCustomerContextEncoded(
            call.tenant, parsed, may_block ? store::ReadTier::kAny : store::ReadTier::kMemoryOnly);
        if (!encoded.ok()) return encoded.status();
        grpc::Slice slice(*encoded);
        *response = grpc::ByteBuffer(&slice, 1);
        return absl::OkStatus();
      });
}

#undef CXP_CONTEXT_READ_RPC
#undef CXP_CONTEXT_WRITE_RPC

grpc::ServerWriteReactor<v1::WatchChangesResponse>* ContextServiceImpl::WatchChanges(
    grpc::CallbackServerContext* context, const v1::WatchChangesRequest* request) {
  return new WatchChangesReactor(changes_, pool_, context, *request);
}

grpc::ServerWriteReactor<v1::ExportCustomerResponse>* ContextServiceImpl::ExportCustomer(
    grpc::CallbackServerContext* context, const v1::ExportCustomerRequest* request) {
  return new ExportCustomerReactor(core_, pool_, context, *request);
}

}  // namespace cxp::context
