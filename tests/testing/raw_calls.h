// Calls that need no generated stubs: grpc.health.v1 checks (health.proto is
// not shipped by Debian, and the wire format is two fields) and server
// reflection (whose messages libgrpc++_reflection registers in the
// generated descriptor pool).
//
// Threading: each function is a blocking call; safe from any test thread.

#ifndef CXP_TESTS_TESTING_RAW_CALLS_H_
#define CXP_TESTS_TESTING_RAW_CALLS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"

namespace cxp::testing {

// Sends `request` bytes to `method` ("/pkg.Service/Method"); the reply bytes.
absl::StatusOr<std::string> CallRaw(const std::shared_ptr<grpc::Channel>& channel,
                                    const std::string& method, const std::string& request,
                                    grpc::ClientContext* context = nullptr);

enum class HealthStatus { kUnknown = 0, kServing = 1, kNotServing = 2, kServiceUnknown = 3 };

// grpc.health.v1.Health/Check for `service` ("" = the whole server).
absl::StatusOr<HealthStatus> CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
                                         const std::string& service = "");

// The service names server reflection lists.
absl::StatusOr<std::vector<std::string>> ReflectionServices(
    const std::shared_ptr<grpc::Channel>& channel);

}  // namespace cxp::testing

#endif  // CXP_TESTS_TESTING_RAW_CALLS_H_
