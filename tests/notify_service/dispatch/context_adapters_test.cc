// The dispatcher's context_service adapters against a context_service from
// before BatchGetCustomerContexts and BulkAppendInteractions (as during a
// rolling upgrade that reaches notify_service first): the real
// context_service, reached through a server that offers only the
// single-customer methods and answers the batch ones UNIMPLEMENTED, as an
// older build does. Lookups and timeline appends fall back to one call per
// customer, give the same answers, and stop trying the batch methods.
#include "notify_service/dispatch/context_adapters.h"

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/client/context_client.h"
#include "cxp/context/v1/context_service.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "tests/testing/server_process.h"

namespace cxp::notify::dispatch {
namespace {

namespace v1 = ::cxp::notify::v1;
namespace ctx = ::cxp::context::v1;
namespace type = ::cxp::type::v1;
using ::cxp::testing::BinaryPath;
using ::cxp::testing::MakeTempDir;
using ::cxp::testing::ServerProcess;

constexpr char kTenant[] = "default";  // context_service runs without keys

// The ContextService of an older build: GetCustomerContext and
// AppendInteraction (passed on to the real context_service), the batch
// methods UNIMPLEMENTED (counted).
class OlderContextService final : public ctx::ContextService::CallbackService {
 public:
  explicit OlderContextService(const std::string& real_address)
      : real_(ctx::ContextService::NewStub(
            grpc::CreateChannel(real_address, grpc::InsecureChannelCredentials()))) {}

  grpc::ServerUnaryReactor* GetCustomerContext(grpc::CallbackServerContext* context,
                                               const ctx::GetCustomerContextRequest* request,
                                               ctx::GetCustomerContextResponse* response) override {
    return PassOn(context, request, response,
                  &ctx::ContextService::Stub::async_interface::GetCustomerContext);
  }
  grpc::ServerUnaryReactor* AppendInteraction(grpc::CallbackServerContext* context,
                                              const ctx::AppendInteractionRequest* request,
                                              ctx::AppendInteractionResponse* response) override {
    return PassOn(context, request, response,
                  &ctx::ContextService::Stub::async_interface::AppendInteraction);
  }
  grpc::ServerUnaryReactor* BatchGetCustomerContexts(
      grpc::CallbackServerContext* context, const ctx::BatchGetCustomerContextsRequest*,
      ctx::BatchGetCustomerContextsResponse*) override {
    ++batch_get_calls;
    return Unimplemented(context);
  }
  grpc::ServerUnaryReactor* BulkAppendInteractions(grpc::CallbackServerContext* context,
                                                   const ctx::BulkAppendInteractionsRequest*,
                                                   ctx::BulkAppendInteractionsResponse*) override {
    ++bulk_append_calls;
    return Unimplemented(context);
  }

  std::atomic<int> batch_get_calls = 0;
  std::atomic<int> bulk_append_calls = 0;

 private:
  template <typename Request, typename Response>
  grpc::ServerUnaryReactor* PassOn(grpc::CallbackServerContext* context, const Request* request,
                                   Response* response,
                                   void (ctx::ContextService::Stub::async_interface::*method)(
                                       grpc::ClientContext*, const Request*, Response*,
                                       std::function<void(grpc::Status)>)) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    auto call = std::make_shared<grpc::ClientContext>();
    call->set_deadline(context->deadline());
    (real_->async()->*method)(call.get(), request, response,
                              [reactor, call](grpc::Status status) { reactor->Finish(status); });
    return reactor;
  }
  static grpc::ServerUnaryReactor* Unimplemented(grpc::CallbackServerContext* context) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, ""));
    return reactor;
  }

  std::unique_ptr<ctx::ContextService::Stub> real_;
};

class OlderContextServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto context = ServerProcess::Start(BinaryPath("context_service/context_service"),
                                        {"--data_dir=" + MakeTempDir("adapters_context_"),
                                         "--metrics_listen=off", "--log_requests=false"});
    ASSERT_TRUE(context.ok()) << context.status();
    context_server_.emplace(*std::move(context));
    real_ = ctx::ContextService::NewStub(
        grpc::CreateChannel(context_server_->address(), grpc::InsecureChannelCredentials()));

    older_ = std::make_unique<OlderContextService>(context_server_->address());
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(older_.get());
    older_server_ = builder.BuildAndStart();
    ASSERT_NE(older_server_, nullptr);
    auto client = client::ContextClient::Create(
        {.target = absl::StrCat("127.0.0.1:", port), .timeout = absl::Seconds(5)});
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
  }
  void TearDown() override {
    if (older_server_) older_server_->Shutdown();
  }

  void CreateCustomer(const std::string& id, const std::string& phone) {
    ctx::CreateCustomerRequest request;
    request.set_customer_id(id);
    request.mutable_customer()->set_display_name(id);
    type::Identity& identity = *request.mutable_customer()->add_identities()->mutable_identity();
    identity.set_kind(type::IDENTITY_KIND_PHONE);
    identity.set_value(phone);
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    ctx::CreateCustomerResponse created;
    const grpc::Status status = real_->CreateCustomer(&context, request, &created);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  std::optional<ServerProcess> context_server_;
  std::unique_ptr<ctx::ContextService::Stub> real_;
  std::unique_ptr<OlderContextService> older_;
  std::unique_ptr<grpc::Server> older_server_;
  std::unique_ptr<client::ContextClient> client_;
};

TEST_F(OlderContextServiceTest, LookupsFallBackToOneCallPerCustomer) {
  CreateCustomer("ana", "+821011112222");
  CreateCustomer("bo", "+821033334444");
  ContextCustomerSource source(*client_, absl::Seconds(5));

  // Several lookups at once, so they gather into batches.
  std::vector<CustomerView> views(6);
  std::vector<std::thread> lookups;
  for (size_t i = 0; i < views.size(); ++i) {
    lookups.emplace_back([&, i] {
      v1::Notification notification;
      if (i % 3 == 2) {  // an identity nobody has
        type::Identity& identity = *notification.mutable_customer()->mutable_identity();
        identity.set_kind(type::IDENTITY_KIND_PHONE);
        identity.set_value("+821099998888");
      } else {
        notification.set_resolved_customer(i % 3 == 0 ? "customers/ana" : "customers/bo");
      }
      views[i] = source.Lookup(kTenant, notification);
    });
  }
  for (std::thread& lookup : lookups) lookup.join();
  for (size_t i = 0; i < views.size(); ++i) {
    ASSERT_TRUE(views[i].answered) << i;
    const ctx::Customer& customer = views[i].recipient.customer;
    switch (i % 3) {
      case 0:
        EXPECT_EQ(customer.name(), "customers/ana");
        ASSERT_EQ(customer.identities_size(), 1);
        EXPECT_EQ(customer.identities(0).identity().value(), "+821011112222");
        break;
      case 1:
        EXPECT_EQ(customer.name(), "customers/bo");
        break;
      default:
        EXPECT_TRUE(customer.name().empty());
        ASSERT_EQ(customer.identities_size(), 1);
        EXPECT_EQ(customer.identities(0).identity().value(), "+821099998888");
    }
  }
  // The batch method was tried only by the calls in flight before the first
  // answer (at most two); the source remembers it is missing.
  const int tried = older_->batch_get_calls.load();
  EXPECT_GE(tried, 1);
  EXPECT_LE(tried, 2);
  v1::Notification again;
  again.set_resolved_customer("customers/ana");
  EXPECT_EQ(source.Lookup(kTenant, again).recipient.customer.name(), "customers/ana");
  EXPECT_EQ(older_->batch_get_calls.load(), tried);
}

TEST_F(OlderContextServiceTest, TimelineAppendsFallBackToOneCallEach) {
  CreateCustomer("ana", "+821011112222");
  ContextTimelineSink sink(*client_, absl::Seconds(5));
  auto append_all = [&](int count, const std::string& prefix) {
    std::vector<ctx::AppendInteractionRequest> requests(count);
    for (int i = 0; i < count; ++i) {
      requests[i].mutable_customer()->set_customer(i == count - 1 ? "customers/nobody"
                                                                  : "customers/ana");
      requests[i].set_request_id(absl::StrCat(prefix, i));
      ctx::Interaction& interaction = *requests[i].mutable_interaction();
      interaction.set_channel(type::CHANNEL_SMS);
      interaction.set_direction(ctx::Interaction::DIRECTION_OUTBOUND);
      interaction.set_type("notification");
    }
    std::vector<absl::Status> answers;
    absl::Notification done;
    sink.AppendAll(kTenant, std::move(requests), [&](std::vector<absl::Status> statuses) {
      answers = std::move(statuses);
      done.Notify();
    });
    EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
    return answers;
  };

  std::vector<absl::Status> answers = append_all(3, "notifications/first-");
  ASSERT_EQ(answers.size(), 3u);
  EXPECT_TRUE(answers[0].ok()) << answers[0];
  EXPECT_TRUE(answers[1].ok()) << answers[1];
  EXPECT_EQ(answers[2].code(), absl::StatusCode::kNotFound) << answers[2];  // each its own answer
  answers = append_all(2, "notifications/second-");
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_TRUE(answers[0].ok()) << answers[0];
  EXPECT_EQ(older_->bulk_append_calls.load(), 1);

  ctx::ListInteractionsRequest list;
  list.set_parent("customers/ana");
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  ctx::ListInteractionsResponse listed;
  const grpc::Status status = real_->ListInteractions(&context, list, &listed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(listed.interactions_size(), 3);
}

}  // namespace
}  // namespace cxp::notify::dispatch
