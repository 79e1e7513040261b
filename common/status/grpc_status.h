// Conversion between absl::Status (used everywhere inside CXP) and
// grpc::Status (used only at the RPC boundary).
//
// Contract: both directions keep the code and the message; every code is
// mapped explicitly (the two enums share numeric values today, but we do not
// rely on that). Codes outside the known range become UNKNOWN. Status payloads
// and grpc error_details are not carried over. Pure functions, thread-safe.
#ifndef CXP_COMMON_STATUS_GRPC_STATUS_H_
#define CXP_COMMON_STATUS_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace cxp {

grpc::StatusCode ToGrpcStatusCode(absl::StatusCode code);
absl::StatusCode FromGrpcStatusCode(grpc::StatusCode code);

// OK becomes grpc::Status::OK (an OK status has no message in absl anyway).
grpc::Status ToGrpcStatus(const absl::Status& status);
// grpc OK becomes absl::OkStatus(); its message, if any, is dropped.
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace cxp

#endif  // CXP_COMMON_STATUS_GRPC_STATUS_H_
