// The built-in load-generator scenarios. To add one, append an entry to the
// list below: a name, the full gRPC method, a one-line description and a
// function that builds the requests (FixedRequest for the same message every
// call, GeneratedMessage<T> for a message filled per call from the seeded
// RNG), plus an optional `setup` that prepares data before the warm-up.
// Include the message's generated header and make sure its proto library is
// linked into cxp_loadgen_lib (bench/CMakeLists.txt).

#include <string>
#include <vector>

#include "bench/loadgen/scenario.h"
#include "bench/proto/null_service.pb.h"

namespace cxp::bench {

const std::vector<Scenario>& BuiltinScenarios() {
  static const auto* const kScenarios = new std::vector<Scenario>{
      {
          .name = "null",
          .method = "/cxp.bench.v1.NullService/Call",
          .description = "NullService/Call on cxp_null_server: the baseline "
                         "(param request_bytes=N pads the request, default 0)",
          .make_requests = [](const ScenarioParams& params)
              -> absl::StatusOr<std::unique_ptr<RequestSource>> {
            absl::StatusOr<int64_t> size = params.GetInt("request_bytes", 0);
            if (!size.ok()) return size.status();
            cxp::bench::v1::CallRequest request;
            request.set_payload(std::string(static_cast<size_t>(*size), 'x'));
            return FixedRequest(request);
          },
      },
      {
          .name = "health",
          .method = "/grpc.health.v1.Health/Check",
          .description = "grpc.health.v1.Health/Check with an empty request "
                         "(overall server health)",
          .make_requests = [](const ScenarioParams&)
              -> absl::StatusOr<std::unique_ptr<RequestSource>> {
            // HealthCheckRequest{service: ""} encodes to zero bytes; the
            // health proto is not in our descriptor pool, so send them as is.
            return FixedRequest(std::string());
          },
      },
  };
  return *kScenarios;
}

}  // namespace cxp::bench
