// cxp_null_server: NullService on the shared CXP server runtime.
//
// The physical-limit baseline for performance targets: the handler does no
// work beyond copying a fixed 256-byte payload, so its throughput is what the
// shared runtime (auth, metrics, request logs, health), gRPC and the kernel
// allow on this machine. Real services are measured as a ratio of it
// (scripts/bench_ratio.sh, docs/performance.md). Flags are the shared server
// flags of RunServiceMain (--listen, ...).

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "bench/proto/null_service.grpc.pb.h"
#include "common/server/service_main.h"

namespace cxp::bench {
namespace {

constexpr size_t kPayloadBytes = 256;

class NullServiceImpl final : public cxp::bench::v1::NullService::CallbackService {
 public:
  NullServiceImpl() : payload_(kPayloadBytes, '\x5a') {}

  grpc::ServerUnaryReactor* Call(grpc::CallbackServerContext* context,
                                 const cxp::bench::v1::CallRequest* /*request*/,
                                 cxp::bench::v1::CallResponse* response) override {
    response->set_payload(payload_);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  const std::string payload_;
};

}  // namespace
}  // namespace cxp::bench

int main(int argc, char** argv) {
  return cxp::server::RunServiceMain(
      {.name = "null_service",
       .default_listen_address = "127.0.0.1:50059",
       .default_metrics_address = "",
       .build = [](const cxp::server::ServerOptions&)
           -> absl::StatusOr<cxp::server::ServiceSet> {
         cxp::server::ServiceSet set;
         set.Add(cxp::bench::v1::NullService::service_full_name(),
                 std::make_unique<cxp::bench::NullServiceImpl>());
         return set;
       }},
      argc, argv);
}
