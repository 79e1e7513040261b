// The generated cxp.routing.v1.RoutingService client as the server tests
// use it: an API key and a deadline on every call, WatchQueueStats streams
// and agent desktops (AgentSession streams). Header-only test support; not thread-safe per Client.

#ifndef CXP_TESTS_ROUTING_SERVICE_ROUTING_CLIENT_H_
#define CXP_TESTS_ROUTING_SERVICE_ROUTING_CLIENT_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cxp/routing/v1/routing_service.grpc.pb.h"
#include "grpcpp/create_channel.h"

namespace cxp::routing::testing {

inline absl::Status ToAbsl(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

// The generated client plus API-key metadata and a deadline per call.
class Client {
 public:
  explicit Client(const std::string& address)
      : stub_(v1::RoutingService::NewStub(
            grpc::CreateChannel(address, grpc::InsecureChannelCredentials()))) {}

  // Calls `method` with `key` as bearer token and a 20 s deadline.
  template <typename Request, typename Response>
  absl::StatusOr<Response> Call(grpc::Status (v1::RoutingService::Stub::*method)(
                                    grpc::ClientContext*, const Request&, Response*),
                                const Request& request, const std::string& key) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    context.AddMetadata("authorization", "Bearer " + key);
    Response response;
    const grpc::Status status = (stub_.get()->*method)(&context, request, &response);
    if (!status.ok()) return ToAbsl(status);
    return response;
  }

  // An open WatchQueueStats stream.
  struct StatsWatch {
    std::unique_ptr<grpc::ClientContext> context = std::make_unique<grpc::ClientContext>();
    std::unique_ptr<grpc::ClientReader<v1::WatchQueueStatsResponse>> reader;

    // The next update, or nullopt when the stream ended (then Finish()).
    std::optional<v1::WatchQueueStatsResponse> Next() {
      v1::WatchQueueStatsResponse update;
      if (!reader->Read(&update)) return std::nullopt;
      return update;
    }
    absl::Status Finish() { return ToAbsl(reader->Finish()); }
    // Cancels and waits for the stream's end.
    void Close() {
      context->TryCancel();
      while (Next()) {
      }
      (void)Finish();
    }
  };
  StatsWatch WatchQueueStats(const std::string& key, const v1::WatchQueueStatsRequest& request,
                             absl::Duration deadline = absl::Seconds(60)) {
    StatsWatch watch;
    watch.context->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    watch.context->AddMetadata("authorization", "Bearer " + key);
    watch.reader = stub_->WatchQueueStats(watch.context.get(), request);
    return watch;
  }

  v1::RoutingService::Stub& stub() { return *stub_; }

  // An agent's open desktop (AgentSession stream), read until offers arrive.
  struct Desktop {
    std::unique_ptr<grpc::ClientContext> context = std::make_unique<grpc::ClientContext>();
    std::unique_ptr<grpc::ClientReader<v1::AgentSessionResponse>> reader;

    // The next offer, skipping other events; nullopt when the stream ended.
    std::optional<v1::TaskOffer> NextOffer() {
      v1::AgentSessionResponse event;
      while (reader->Read(&event)) {
        if (event.has_offer()) return event.offer();
      }
      return std::nullopt;
    }
    // Closing the desktop cancels the stream and waits for its end.
    ~Desktop() {
      if (reader == nullptr) return;
      context->TryCancel();
      v1::AgentSessionResponse event;
      while (reader->Read(&event)) {
      }
      (void)reader->Finish();
    }
  };
  // Opens `agent`'s desktop; the stream ends after `deadline`.
  std::unique_ptr<Desktop> OpenDesktop(const std::string& key, const std::string& agent,
                                       absl::Duration deadline = absl::Seconds(30)) {
    auto desktop = std::make_unique<Desktop>();
    desktop->context->AddMetadata("authorization", "Bearer " + key);
    desktop->context->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    v1::AgentSessionRequest request;
    request.set_agent(agent);
    desktop->reader = stub_->AgentSession(desktop->context.get(), request);
    return desktop;
  }

 private:
  std::unique_ptr<v1::RoutingService::Stub> stub_;
};

#define CALL(client, Method, key, request) \
  (client).Call(&::cxp::routing::v1::RoutingService::Stub::Method, (request), (key))

}  // namespace cxp::routing::testing

#endif  // CXP_TESTS_ROUTING_SERVICE_ROUTING_CLIENT_H_
