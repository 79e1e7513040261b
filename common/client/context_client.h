// ContextClient — calls context_service on behalf of another service's
// tenants (routing enriches tasks; notify reads contact points and consent,
// records opt-outs and appends sent messages to the timeline), through
// gRPC's callback client API so no thread waits for an answer.
//
// Tenants: context_service takes the tenant from the API key, so each
// calling tenant uses its own key (`keys`: tenant -> key, read from a
// "<tenant> <key>" file by ReadTenantKeys). A tenant without a key gets
// FAILED_PRECONDITION without a call. With no keys at all, calls carry no
// key (single-tenant local setups, where every service runs as tenant
// "default").
//
// Deadlines: every call has one (`timeout` unless the caller gives
// another). Only reads are retried by the channel (UNAVAILABLE, backoff);
// writes must carry their own request_id to be retried by callers.
//
// Threading: calls may start on any thread; `done` runs on a gRPC callback
// thread (or inline, for an error found before calling) and must not block:
// hand work to a pool. Ownership: the client must outlive every `done`.
// Errors: the gRPC status as absl::Status (DEADLINE_EXCEEDED, UNAVAILABLE,
// NOT_FOUND, ...), with a message that says context_service answered it.

#ifndef CXP_COMMON_CLIENT_CONTEXT_CLIENT_H_
#define CXP_COMMON_CLIENT_CONTEXT_CLIENT_H_

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cxp/context/v1/context_service.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace cxp::client {

struct ContextClientOptions {
  std::string target;  // context_service address (required)
  absl::Duration timeout = absl::Seconds(1);
  absl::flat_hash_map<std::string, std::string> keys;  // tenant -> API key
  std::string tls_ca_file;                             // TLS when set
};

// "<tenant> <key>" lines (# comments); `flag` names the file in errors.
// An empty path gives no keys.
absl::StatusOr<absl::flat_hash_map<std::string, std::string>> ReadTenantKeys(
    const std::string& path, const std::string& flag);

class ContextClient {
 public:
  using Service = cxp::context::v1::ContextService;

  static absl::StatusOr<std::unique_ptr<ContextClient>> Create(ContextClientOptions options);

  // One unary call, e.g.
  //   client.Call(tenant, &Service::StubInterface::async_interface::GetCustomerContext,
  //               request, [](absl::StatusOr<GetCustomerContextResponse> r) {...});
  template <typename Request, typename Response>
  using AsyncMethod = void (Service::StubInterface::async_interface::*)(
      grpc::ClientContext*, const Request*, Response*, std::function<void(grpc::Status)>);
  template <typename Request, typename Response>
  void Call(const std::string& tenant, AsyncMethod<Request, Response> method, Request request,
            absl::AnyInvocable<void(absl::StatusOr<Response>) &&> done,
            absl::Duration timeout = absl::ZeroDuration()) const;

  // Opens `tenant`'s WatchChanges stream for blocking reads on the
  // caller's own thread (a long-lived consumer, never a gRPC callback
  // thread). Sets the tenant's key on `context`, which must outlive the
  // reader; cancel with context.TryCancel(). No deadline is set: the stream
  // is meant to stay open. FAILED_PRECONDITION for a tenant without a key.
  absl::StatusOr<
      std::unique_ptr<grpc::ClientReaderInterface<cxp::context::v1::WatchChangesResponse>>>
  WatchChanges(const std::string& tenant, grpc::ClientContext& context,
               const cxp::context::v1::WatchChangesRequest& request) const;

  const ContextClientOptions& options() const { return options_; }

 private:
  ContextClient(ContextClientOptions options, std::shared_ptr<grpc::Channel> channel);
  // The tenant's key ("" when no keys are configured), or FAILED_PRECONDITION.
  absl::StatusOr<std::string> KeyFor(const std::string& tenant) const;
  static absl::Status FromGrpc(const grpc::Status& status);

  const ContextClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<Service::Stub> stub_;
};

template <typename Request, typename Response>
void ContextClient::Call(const std::string& tenant, AsyncMethod<Request, Response> method,
                         Request request,
                         absl::AnyInvocable<void(absl::StatusOr<Response>) &&> done,
                         absl::Duration timeout) const {
  absl::StatusOr<std::string> key = KeyFor(tenant);
  if (!key.ok()) {
    std::move(done)(key.status());
    return;
  }
  // Lives until the callback has run.
  struct Pending {
    grpc::ClientContext context;
    Request request;
    Response response;
    absl::AnyInvocable<void(absl::StatusOr<Response>) &&> done;
  };
  auto* pending = new Pending;
  pending->request = std::move(request);
  pending->done = std::move(done);
  const absl::Duration deadline = timeout > absl::ZeroDuration() ? timeout : options_.timeout;
  pending->context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  if (!key->empty()) pending->context.AddMetadata("authorization", absl::StrCat("Bearer ", *key));
  (stub_->async()->*method)(&pending->context, &pending->request, &pending->response,
                            [pending](grpc::Status status) {
                              std::unique_ptr<Pending> owned(pending);
                              if (status.ok()) {
                                std::move(owned->done)(std::move(owned->response));
                              } else {
                                std::move(owned->done)(FromGrpc(status));
                              }
                            });
}

}  // namespace cxp::client

#endif  // CXP_COMMON_CLIENT_CONTEXT_CLIENT_H_
