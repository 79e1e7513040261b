#include "common/idempotency/idempotency.h"

#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "gtest/gtest.h"

namespace cxp::idempotency {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

google::protobuf::Timestamp Request(int64_t seconds) {
  google::protobuf::Timestamp request;
  request.set_seconds(seconds);
  return request;
}

TEST(RequestDigestTest, EqualRequestsAgreeAndOthersDiffer) {
  EXPECT_EQ(RequestDigest(Request(7)), RequestDigest(Request(7)));
  EXPECT_NE(RequestDigest(Request(7)), RequestDigest(Request(8)));
  EXPECT_EQ(RequestDigest(Request(7)).size(), 32u);
}

TEST(ReplayStoredResponseTest, NothingStoredRunsTheRequest) {
  google::protobuf::Duration response;
  absl::StatusOr<bool> replayed = ReplayStoredResponse(std::nullopt, "fp", kNow, response);
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_FALSE(*replayed);
}

TEST(ReplayStoredResponseTest, SameRequestGetsTheFirstAnswer) {
  google::protobuf::Duration first;
  first.set_seconds(42);
  const std::string fingerprint = RequestDigest(Request(1));
  const StoredResponse stored = NewStoredResponse(fingerprint, first, kNow + absl::Hours(24));
  google::protobuf::Duration response;
  absl::StatusOr<bool> replayed = ReplayStoredResponse(stored, fingerprint, kNow, response);
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_TRUE(*replayed);
  EXPECT_EQ(response.seconds(), 42);
}

TEST(ReplayStoredResponseTest, OtherContentUnderTheSameIdIsRefused) {
  google::protobuf::Duration first;
  const StoredResponse stored =
      NewStoredResponse(RequestDigest(Request(1)), first, kNow + absl::Hours(24));
  google::protobuf::Duration response;
  absl::StatusOr<bool> replayed =
      ReplayStoredResponse(stored, RequestDigest(Request(2)), kNow, response, "request_id");
  EXPECT_EQ(replayed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(replayed.status().message(), "request_id: was already used for a different request");
}

TEST(ReplayStoredResponseTest, AnExpiredAnswerIsIgnored) {
  google::protobuf::Duration first;
  const std::string fingerprint = RequestDigest(Request(1));
  const StoredResponse stored = NewStoredResponse(fingerprint, first, kNow);
  google::protobuf::Duration response;
  absl::StatusOr<bool> replayed = ReplayStoredResponse(stored, fingerprint, kNow, response);
  ASSERT_TRUE(replayed.ok());
  EXPECT_FALSE(*replayed);
}

TEST(ReplayStoredResponseTest, AnUnparseableAnswerIsDataLoss) {
  StoredResponse stored;
  stored.set_request_fingerprint("fp");
  stored.set_response(std::string("\xff\xff\xff", 3));
  stored.set_expire_micros(absl::ToUnixMicros(kNow + absl::Hours(1)));
  google::protobuf::Duration response;
  EXPECT_EQ(ReplayStoredResponse(stored, "fp", kNow, response).status().code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace cxp::idempotency
