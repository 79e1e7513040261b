// The generated cxp.context.v1.ContextService client as the server tests
// use it: an API key and a deadline on every call, ExportCustomer read
// whole, WatchChanges streams, and assertion macros over absl::StatusOr.
// Header-only test support; not thread-safe per Client.

#ifndef CXP_TESTS_CONTEXT_SERVICE_CONTEXT_CLIENT_H_
#define CXP_TESTS_CONTEXT_SERVICE_CONTEXT_CLIENT_H_

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cxp/context/v1/context_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"

namespace cxp::context::testing {

using v1::ContextService;

absl::Status ToAbsl(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

// The generated client plus API-key metadata and a deadline per call.
class Client {
 public:
  explicit Client(const std::string& address)
      : stub_(ContextService::NewStub(
            grpc::CreateChannel(address, grpc::InsecureChannelCredentials()))) {}

  // Calls `method` with `key` as bearer token; an empty key sends none.
  template <typename Request, typename Response>
  absl::StatusOr<Response> Call(grpc::Status (ContextService::Stub::*method)(grpc::ClientContext*,
                                                                             const Request&,
                                                                             Response*),
                                const Request& request, const std::string& key) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    if (!key.empty()) context.AddMetadata("authorization", "Bearer " + key);
    Response response;
    grpc::Status status = (stub_.get()->*method)(&context, request, &response);
    if (!status.ok()) return ToAbsl(status);
    return response;
  }

  // Every item of ExportCustomer, or the stream's error.
  absl::StatusOr<std::vector<v1::ExportCustomerResponse>> Export(const std::string& key,
                                                                 const std::string& name) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    context.AddMetadata("authorization", "Bearer " + key);
    v1::ExportCustomerRequest request;
    request.set_name(name);
    auto reader = stub_->ExportCustomer(&context, request);
    std::vector<v1::ExportCustomerResponse> items;
    v1::ExportCustomerResponse item;
    while (reader->Read(&item)) items.push_back(item);
    grpc::Status status = reader->Finish();
    if (!status.ok()) return ToAbsl(status);
    return items;
  }

  // An open WatchChanges stream.
  struct Watch {
    std::unique_ptr<grpc::ClientContext> context = std::make_unique<grpc::ClientContext>();
    std::unique_ptr<grpc::ClientReader<v1::WatchChangesResponse>> reader;

    // The next event, or nullopt when the stream ended (then Finish()).
    std::optional<v1::ChangeEvent> Next() {
      v1::WatchChangesResponse response;
      if (!reader->Read(&response)) return std::nullopt;
      return response.change_event();
    }
    // The next response (a batch with max_batch_size), or nullopt.
    std::optional<v1::WatchChangesResponse> NextResponse() {
      v1::WatchChangesResponse response;
      if (!reader->Read(&response)) return std::nullopt;
      return response;
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
  // Opens a watch and waits until the server has it (its headers arrived),
  // so changes made afterwards are "from now" for it.
  Watch WatchChanges(const std::string& key, const v1::WatchChangesRequest& request,
                     absl::Duration deadline = absl::Seconds(60)) {
    Watch watch;
    watch.context->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    watch.context->AddMetadata("authorization", "Bearer " + key);
    watch.reader = stub_->WatchChanges(watch.context.get(), request);
    watch.reader->WaitForInitialMetadata();
    return watch;
  }

 private:
  std::unique_ptr<ContextService::Stub> stub_;
};

#define CALL(client, Method, key, request) \
  (client).Call(&::cxp::context::v1::ContextService::Stub::Method, (request), (key))

#define ASSERT_OK_AND_ASSIGN(lhs, expr)                             \
  auto lhs##_or = (expr);                                           \
  ASSERT_TRUE(lhs##_or.ok()) << #expr << ": " << lhs##_or.status(); \
  auto lhs = *std::move(lhs##_or)

// EXPECT that `result` failed with `expected_code` and a message containing
// `expected_text`.
#define EXPECT_ERROR(result, expected_code, expected_text)           \
  do {                                                               \
    const auto& expect_error_result = (result);                      \
    EXPECT_EQ(expect_error_result.status().code(), (expected_code))  \
        << expect_error_result.status();                             \
    EXPECT_THAT(std::string(expect_error_result.status().message()), \
                ::testing::HasSubstr(expected_text));                \
  } while (false)

// ------------------------------------------------------------- builders

namespace type = ::cxp::type::v1;

inline type::Identity Phone(const std::string& value, const std::string& region = "") {
  type::Identity identity;
  identity.set_kind(type::IDENTITY_KIND_PHONE);
  identity.set_value(value);
  identity.set_region_code(region);
  return identity;
}

inline type::Identity Email(const std::string& value) {
  type::Identity identity;
  identity.set_kind(type::IDENTITY_KIND_EMAIL);
  identity.set_value(value);
  return identity;
}

inline type::Identity Chat(const std::string& ns, const std::string& value) {
  type::Identity identity;
  identity.set_kind(type::IDENTITY_KIND_CHAT_HANDLE);
  identity.set_namespace_(ns);
  identity.set_value(value);
  return identity;
}

inline type::CustomerRef ByName(const std::string& name) {
  type::CustomerRef ref;
  ref.set_customer(name);
  return ref;
}

inline type::CustomerRef ByIdentity(const type::Identity& identity) {
  type::CustomerRef ref;
  *ref.mutable_identity() = identity;
  return ref;
}

inline google::protobuf::Timestamp Ts(absl::Time time) {
  return google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(time));
}

inline absl::Time ToTime(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixMicros(google::protobuf::util::TimeUtil::TimestampToMicroseconds(ts));
}

inline std::string Name(const std::string& id) { return "customers/" + id; }

// Now, truncated to whole seconds.
inline absl::Time NowSeconds() { return absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now())); }

}  // namespace cxp::context::testing

#endif  // CXP_TESTS_CONTEXT_SERVICE_CONTEXT_CLIENT_H_
