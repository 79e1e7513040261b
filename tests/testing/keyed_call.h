// KeyedCall: one unary call through a generated stub with an API key and a
// deadline, as the server tests make them; the gRPC status comes back as an
// absl::Status with the same code and message.
//
// Threading: as the stub. Header-only.

#ifndef CXP_TESTS_TESTING_KEYED_CALL_H_
#define CXP_TESTS_TESTING_KEYED_CALL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/status.h"

namespace cxp::testing {

// Calls `method` of `stub` with "authorization: Bearer <key>" and `deadline`
// from now.
template <typename Stub, typename Request, typename Response>
absl::StatusOr<Response> KeyedCall(
    Stub& stub, grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
    const Request& request, const std::string& key, absl::Duration deadline = absl::Seconds(20)) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  context.AddMetadata("authorization", "Bearer " + key);
  Response response;
  const grpc::Status status = (stub.*method)(&context, request, &response);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  }
  return response;
}

}  // namespace cxp::testing

#endif  // CXP_TESTS_TESTING_KEYED_CALL_H_
