#include "common/status/grpc_status.h"

#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace cxp {
namespace {

const std::vector<std::pair<absl::StatusCode, grpc::StatusCode>>& AllCodes() {
  static const auto* codes = new std::vector<std::pair<absl::StatusCode, grpc::StatusCode>>{
      {absl::StatusCode::kOk, grpc::StatusCode::OK},
      {absl::StatusCode::kCancelled, grpc::StatusCode::CANCELLED},
      {absl::StatusCode::kUnknown, grpc::StatusCode::UNKNOWN},
      {absl::StatusCode::kInvalidArgument, grpc::StatusCode::INVALID_ARGUMENT},
      {absl::StatusCode::kDeadlineExceeded, grpc::StatusCode::DEADLINE_EXCEEDED},
      {absl::StatusCode::kNotFound, grpc::StatusCode::NOT_FOUND},
      {absl::StatusCode::kAlreadyExists, grpc::StatusCode::ALREADY_EXISTS},
      {absl::StatusCode::kPermissionDenied, grpc::StatusCode::PERMISSION_DENIED},
      {absl::StatusCode::kResourceExhausted, grpc::StatusCode::RESOURCE_EXHAUSTED},
      {absl::StatusCode::kFailedPrecondition, grpc::StatusCode::FAILED_PRECONDITION},
      {absl::StatusCode::kAborted, grpc::StatusCode::ABORTED},
      {absl::StatusCode::kOutOfRange, grpc::StatusCode::OUT_OF_RANGE},
      {absl::StatusCode::kUnimplemented, grpc::StatusCode::UNIMPLEMENTED},
      {absl::StatusCode::kInternal, grpc::StatusCode::INTERNAL},
      {absl::StatusCode::kUnavailable, grpc::StatusCode::UNAVAILABLE},
      {absl::StatusCode::kDataLoss, grpc::StatusCode::DATA_LOSS},
      {absl::StatusCode::kUnauthenticated, grpc::StatusCode::UNAUTHENTICATED},
  };
  return *codes;
}

TEST(GrpcStatusTest, TableCoversEveryCode) { EXPECT_EQ(AllCodes().size(), 17u); }

TEST(GrpcStatusTest, EveryAbslCodeMapsToGrpcWithMessage) {
  for (const auto& [absl_code, grpc_code] : AllCodes()) {
    SCOPED_TRACE(absl::StatusCodeToString(absl_code));
    EXPECT_EQ(ToGrpcStatusCode(absl_code), grpc_code);
    if (absl_code == absl::StatusCode::kOk) continue;
    grpc::Status converted = ToGrpcStatus(absl::Status(absl_code, "field x: bad"));
    EXPECT_EQ(converted.error_code(), grpc_code);
    EXPECT_EQ(converted.error_message(), "field x: bad");
  }
}

TEST(GrpcStatusTest, EveryGrpcCodeMapsToAbslWithMessage) {
  for (const auto& [absl_code, grpc_code] : AllCodes()) {
    SCOPED_TRACE(static_cast<int>(grpc_code));
    EXPECT_EQ(FromGrpcStatusCode(grpc_code), absl_code);
    if (grpc_code == grpc::StatusCode::OK) continue;
    absl::Status converted = FromGrpcStatus(grpc::Status(grpc_code, "peer said no"));
    EXPECT_EQ(converted.code(), absl_code);
    EXPECT_EQ(converted.message(), "peer said no");
  }
}

TEST(GrpcStatusTest, OkBothWays) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_EQ(ToGrpcStatus(absl::OkStatus()).error_message(), "");
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
  EXPECT_TRUE(FromGrpcStatus(grpc::Status(grpc::StatusCode::OK, "ignored")).ok());
}

TEST(GrpcStatusTest, RoundTripPreservesStatus) {
  for (const auto& [absl_code, grpc_code] : AllCodes()) {
    absl::Status original(absl_code, absl_code == absl::StatusCode::kOk ? "" : "msg");
    EXPECT_EQ(FromGrpcStatus(ToGrpcStatus(original)), original);
  }
}

TEST(GrpcStatusTest, OutOfRangeCodesBecomeUnknown) {
  EXPECT_EQ(ToGrpcStatusCode(static_cast<absl::StatusCode>(99)), grpc::StatusCode::UNKNOWN);
  EXPECT_EQ(FromGrpcStatusCode(grpc::StatusCode::DO_NOT_USE), absl::StatusCode::kUnknown);
  EXPECT_EQ(FromGrpcStatusCode(static_cast<grpc::StatusCode>(99)), absl::StatusCode::kUnknown);
  EXPECT_EQ(FromGrpcStatus(grpc::Status(static_cast<grpc::StatusCode>(42), "odd")),
            absl::UnknownError("odd"));
}

}  // namespace
}  // namespace cxp
