// The dispatcher against real servers, all started by the test: aiosmtpd
// (mail read back as Python parses it), an HTTP receiver that verifies
// Standard Webhooks signatures with Python's hmac and fails on demand, and a
// real context_service process for the customer view and the timeline.
// Short backoff and leases; waits only for observable results, with
// deadlines.
#include "notify_service/dispatch/dispatcher.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/client/context_client.h"
#include "cxp/context/v1/context_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "notify_service/core/notify_core.h"
#include "notify_service/dispatch/channel_senders.h"
#include "notify_service/dispatch/context_adapters.h"
#include "tests/notify_service/core/notify_store_fixture.h"
#include "tests/notify_service/delivery/test_servers.h"
#include "tests/testing/server_process.h"

namespace cxp::notify::dispatch {
namespace {

namespace v1 = ::cxp::notify::v1;
namespace ctx = ::cxp::context::v1;
namespace type = ::cxp::type::v1;
using ::cxp::notify::delivery::testing::BoolAt;
using ::cxp::notify::delivery::testing::ParseJsonObject;
using ::cxp::notify::delivery::testing::ReadFile;
using ::cxp::notify::delivery::testing::ReadJsonLines;
using ::cxp::notify::delivery::testing::StringAt;
using ::cxp::testing::BinaryPath;
using ::cxp::testing::MakeTempDir;
using ::cxp::testing::ServerProcess;
using ::testing::HasSubstr;
using State = v1::Notification;
using Attempt = v1::DeliveryAttempt;

// context_service without API keys: every call is tenant "default".
constexpr char kTenant[] = "default";
// 32 bytes, base64.
constexpr char kSecret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw/b+TpiDWi0k=";

v1::Template Parcel() {
  v1::Template tmpl;
  tmpl.set_name("templates/parcel");
  tmpl.set_display_name("Parcel");
  tmpl.set_version(1);
  v1::TemplateLocale& locale = *tmpl.add_locales();
  locale.mutable_email()->set_subject("Parcel {{parcel}} for {{customer.display_name}}");
  locale.mutable_email()->set_text_body("Your parcel {{parcel}} arrives today.");
  locale.mutable_sms()->set_text("Parcel {{parcel}} today");
  google::protobuf::Struct& payload = *locale.mutable_webhook()->mutable_payload();
  (*payload.mutable_fields())["kind"].set_string_value("parcel");
  (*payload.mutable_fields())["parcel"].set_string_value("{{parcel}}");
  return tmpl;
}

// Fails the first `failures` appends with UNAVAILABLE, then passes them on.
class FlakyTimelineSink : public TimelineSink {
 public:
  FlakyTimelineSink(TimelineSink& real, int failures) : real_(real), failures_(failures) {}
  void Append(const std::string& tenant, const ctx::AppendInteractionRequest& request,
              absl::AnyInvocable<void(absl::Status) &&> done) override {
    {
      absl::MutexLock lock(&mu_);
      ++calls_;
      if (failures_ > 0) {
        --failures_;
        std::move(done)(absl::UnavailableError("context_service: down on demand"));
        return;
      }
    }
    real_.Append(tenant, request, std::move(done));
  }
  int calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

 private:
  TimelineSink& real_;
  absl::Mutex mu_;
  int failures_ ABSL_GUARDED_BY(mu_);
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
};

// A context_service that answers late: Lookup says it started, then waits
// until released (or 20 s) before asking the real source.
class StallingCustomerSource : public CustomerSource {
 public:
  explicit StallingCustomerSource(CustomerSource& real) : real_(real) {}
  CustomerView Lookup(const std::string& tenant, const v1::Notification& notification) override {
    if (!entered_.HasBeenNotified()) entered_.Notify();
    release_.WaitForNotificationWithTimeout(absl::Seconds(20));
    return real_.Lookup(tenant, notification);
  }
  absl::Notification& entered() { return entered_; }
  void Release() {
    if (!release_.HasBeenNotified()) release_.Notify();
  }

 private:
  CustomerSource& real_;
  absl::Notification entered_;
  absl::Notification release_;
};

class DispatcherTest : public notify::testing::NotifyStoreFixture {
 protected:
  void SetUp() override {
    auto context = ServerProcess::Start(
        BinaryPath("context_service/context_service"),
        {"--data_dir=" + dir_ + "/context", "--metrics_listen=off", "--log_requests=false"});
    ASSERT_TRUE(context.ok()) << context.status();
    context_server_.emplace(*std::move(context));
    context_stub_ = ctx::ContextService::NewStub(
        grpc::CreateChannel(context_server_->address(), grpc::InsecureChannelCredentials()));
    auto client = client::ContextClient::Create(
        {.target = context_server_->address(), .timeout = absl::Seconds(5)});
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
    customers_ = std::make_unique<ContextCustomerSource>(*client_, absl::Seconds(5));
    timeline_ = std::make_unique<ContextTimelineSink>(*client_, absl::Seconds(5));

    mail_dir_ = MakeTempDir("dispatch_mail_");
    auto smtp = delivery::testing::StartSmtpServer(mail_dir_);
    ASSERT_TRUE(smtp.ok()) << smtp.status();
    smtp_.emplace(*std::move(smtp));
    record_file_ = dir_ + "/http_records.jsonl";
    auto http = delivery::testing::StartHttpReceiver(record_file_, kSecret);
    ASSERT_TRUE(http.ok()) << http.status();
    http_.emplace(*std::move(http));

    OpenCore();
    NotifyStore::Batch batch = store_->NewBatch();
    batch.PutTemplate(kTenant, Parcel());
    ASSERT_TRUE(store_->Commit(batch).ok());
    CreateAna();
  }

  void TearDown() override {
    dispatcher_.reset();
    core_.reset();
  }

  void OpenCore() {
    OpenStore();
    NotifyCoreOptions options;
    options.backoff = {.base = absl::Milliseconds(100),
                       .cap = absl::Milliseconds(200),
                       .max_attempts = 5,
                       .max_age = absl::Hours(1)};
    options.lease = absl::Seconds(3);
    options.context_retry_delay = absl::Milliseconds(300);
    auto core = NotifyCore::Create(*store_, std::move(options));
    ASSERT_TRUE(core.ok()) << core.status();
    core_ = *std::move(core);
  }

  // As after a restart of notify_service: new core on the same data.
  void RestartCore() {
    dispatcher_.reset();
    core_.reset();
    CloseStore();
    OpenCore();
  }

  void CreateAna() {
    ctx::CreateCustomerRequest request;
    request.set_customer_id("ana");
    request.mutable_customer()->set_display_name("Ana");
    type::Identity& email = *request.mutable_customer()->add_identities()->mutable_identity();
    email.set_kind(type::IDENTITY_KIND_EMAIL);
    email.set_value("ana@example.com");
    type::Identity& phone = *request.mutable_customer()->add_identities()->mutable_identity();
    phone.set_kind(type::IDENTITY_KIND_PHONE);
    phone.set_value("+821012345678");
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    ctx::CreateCustomerResponse response;
    const grpc::Status status = context_stub_->CreateCustomer(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  std::string HttpUrl(const std::string& path) const {
    return absl::StrCat("http://127.0.0.1:", http_->port(), path);
  }

  EmailProvider Smtp() const {
    EmailProvider provider;
    provider.name = "smtp-main";
    provider.smtp.host = "127.0.0.1";
    provider.smtp.port = smtp_->port();
    provider.smtp.starttls = delivery::StartTls::kNone;  // aiosmtpd here offers no TLS
    provider.smtp.from = {"alerts@shop.example", "Shop"};
    provider.smtp.connect_timeout = absl::Seconds(2);
    provider.smtp.total_timeout = absl::Seconds(10);
    return provider;
  }

  WebhookTarget Webhook(const std::string& path) const {
    WebhookTarget target;
    target.tenant = kTenant;
    target.endpoint.url = HttpUrl(path);
    target.endpoint.secret = kSecret;
    target.endpoint.connect_timeout = absl::Seconds(2);
    target.endpoint.total_timeout = absl::Seconds(10);
    return target;
  }

  HttpProvider Sms(const std::string& name, const std::string& url) const {
    HttpProvider provider;
    provider.http.name = name;
    provider.http.url = url;
    provider.http.auth_header_name = "Authorization";
    provider.http.auth_header_value = "Bearer sms-key";
    provider.http.message_id_path = "message.id";
    provider.http.connect_timeout = absl::Seconds(2);
    provider.http.total_timeout = absl::Seconds(10);
    provider.from = "SHOP";
    return provider;
  }

  void StartDispatcher(ProvidersConfig config, CustomerSource* customers = nullptr,
                       TimelineSink* timeline = nullptr,
                       absl::Duration stop_timeout = absl::Seconds(10)) {
    dispatcher_.reset();  // before the senders it borrows
    auto senders = ChannelSenders::Create(std::move(config));
    ASSERT_TRUE(senders.ok()) << senders.status();
    senders_ = *std::move(senders);
    DispatcherOptions options;
    options.workers = 2;
    options.stop_timeout = stop_timeout;
    options.max_idle = max_idle_;
    options.timeline_retry_base = absl::Milliseconds(200);
    options.timeline_retry_cap = absl::Seconds(1);
    options.log = [this](absl::string_view level, absl::string_view message) {
      absl::MutexLock lock(&log_mu_);
      log_.push_back(absl::StrCat(level, ": ", message));
      if (on_log_) on_log_(message);
    };
    auto dispatcher =
        Dispatcher::Start(*core_, *senders_, customers != nullptr ? *customers : *customers_,
                          timeline != nullptr ? timeline : timeline_.get(), std::move(options));
    ASSERT_TRUE(dispatcher.ok()) << dispatcher.status();
    dispatcher_ = *std::move(dispatcher);
  }

  std::string Send(std::vector<type::Channel> channels, const std::string& parcel = "4711") {
    v1::Notification who;
    who.set_resolved_customer("customers/ana");
    const CustomerView view = customers_->Lookup(kTenant, who);
    EXPECT_TRUE(view.answered);
    v1::SendNotificationRequest request;
    request.mutable_customer()->set_customer("customers/ana");
    request.set_template_("templates/parcel");
    request.set_purpose(type::PURPOSE_SERVICE);
    for (type::Channel channel : channels) request.add_channel_order(channel);
    (*request.mutable_variables())["parcel"] = parcel;
    v1::SendNotificationResponse response;
    const absl::Status status = core_->SendNotification(kTenant, request, view, response);
    EXPECT_TRUE(status.ok()) << status;
    if (dispatcher_ && wake_after_send_) dispatcher_->Wake();
    return response.notification().name();
  }

  v1::Notification Get(const std::string& name) {
    v1::GetNotificationRequest request;
    request.set_name(name);
    v1::GetNotificationResponse response;
    EXPECT_TRUE(core_->GetNotification(kTenant, request, response).ok());
    return response.notification();
  }

  // Waits (up to 20 s) until `name` reaches `state`.
  v1::Notification WaitForState(const std::string& name, State::State state) {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    v1::Notification notification = Get(name);
    while (notification.state() != state && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(20));
      notification = Get(name);
    }
    EXPECT_EQ(State::State_Name(notification.state()), State::State_Name(state))
        << notification.DebugString() << Log();
    return notification;
  }

  // The receiver's records once there are at least `count` (up to 20 s).
  std::vector<google::protobuf::Struct> WaitForRequests(size_t count) {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    std::vector<google::protobuf::Struct> records = ReadJsonLines(record_file_);
    while (records.size() < count && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(20));
      records = ReadJsonLines(record_file_);
    }
    EXPECT_GE(records.size(), count) << Log();
    return records;
  }

  // Ana's interactions of type "notification" once there are at least
  // `count` (up to 20 s).
  std::vector<ctx::Interaction> WaitForTimeline(size_t count) {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    std::vector<ctx::Interaction> found;
    while (true) {
      found.clear();
      ctx::ListInteractionsRequest request;
      request.set_parent("customers/ana");
      request.set_page_size(100);
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
      ctx::ListInteractionsResponse response;
      if (context_stub_->ListInteractions(&context, request, &response).ok()) {
        for (const ctx::Interaction& interaction : response.interactions()) {
          if (interaction.type() == "notification") found.push_back(interaction);
        }
      }
      if (found.size() >= count || absl::Now() >= deadline) break;
      absl::SleepFor(absl::Milliseconds(50));
    }
    EXPECT_GE(found.size(), count) << Log();
    return found;
  }

  std::string Log() {
    absl::MutexLock lock(&log_mu_);
    std::string out = "\ndispatcher log:\n";
    for (const std::string& line : log_) absl::StrAppend(&out, line, "\n");
    return out;
  }

  static std::string IdOf(const std::string& name) { return name.substr(name.find('/') + 1); }

  std::optional<ServerProcess> context_server_;
  std::unique_ptr<ctx::ContextService::Stub> context_stub_;
  std::unique_ptr<client::ContextClient> client_;
  std::unique_ptr<ContextCustomerSource> customers_;
  std::unique_ptr<ContextTimelineSink> timeline_;
  std::string mail_dir_;
  std::optional<ServerProcess> smtp_;
  std::string record_file_;
  std::optional<ServerProcess> http_;
  std::unique_ptr<NotifyCore> core_;
  std::unique_ptr<ChannelSenders> senders_;
  std::unique_ptr<Dispatcher> dispatcher_;
  absl::Duration max_idle_ = absl::Milliseconds(200);
  bool wake_after_send_ = true;
  absl::Mutex log_mu_;
  std::vector<std::string> log_ ABSL_GUARDED_BY(log_mu_);
  // Called with each dispatcher log line (under log_mu_).
  std::function<void(absl::string_view)> on_log_ ABSL_GUARDED_BY(log_mu_);
};

TEST_F(DispatcherTest, EmailIsDeliveredReadBackAndAppendedToTheTimeline) {
  ProvidersConfig config;
  config.email.push_back(Smtp());
  StartDispatcher(config);
  const std::string name = Send({type::CHANNEL_EMAIL});

  const v1::Notification delivered = WaitForState(name, State::STATE_DELIVERED);
  ASSERT_EQ(delivered.attempts_size(), 1);
  EXPECT_EQ(delivered.attempts(0).provider(), "smtp-main");
  EXPECT_EQ(delivered.attempts(0).channel(), type::CHANNEL_EMAIL);
  EXPECT_EQ(delivered.attempts(0).provider_message_id(), IdOf(name) + "@shop.example");

  absl::StatusOr<google::protobuf::Struct> mail = ParseJsonObject(ReadFile(mail_dir_ + "/1.json"));
  ASSERT_TRUE(mail.ok()) << mail.status();
  EXPECT_EQ(StringAt(*mail, "headers.Subject"), "Parcel 4711 for Ana");
  EXPECT_EQ(StringAt(*mail, "headers.To"), "ana@example.com");
  EXPECT_EQ(StringAt(*mail, "headers.Message-ID"), "<" + IdOf(name) + "@shop.example>");
  EXPECT_THAT(ReadFile(mail_dir_ + "/1.eml"), HasSubstr("Your parcel 4711 arrives today."));

  const std::vector<ctx::Interaction> timeline = WaitForTimeline(1);
  ASSERT_EQ(timeline.size(), 1u);
  EXPECT_EQ(timeline[0].channel(), type::CHANNEL_EMAIL);
  EXPECT_EQ(timeline[0].direction(), ctx::Interaction::DIRECTION_OUTBOUND);
  EXPECT_EQ(timeline[0].attributes().at("notification").string_value(), name);
  EXPECT_THAT(timeline[0].summary(), HasSubstr("EMAIL through smtp-main"));
}

TEST_F(DispatcherTest, WebhookRefusedWith503IsRetriedWithTheSameIdAndVerifiedSignature) {
  ProvidersConfig config;
  config.webhooks.push_back(Webhook("/flaky/1/503"));
  StartDispatcher(config);
  const std::string name = Send({type::CHANNEL_WEB});

  const v1::Notification delivered = WaitForState(name, State::STATE_DELIVERED);
  ASSERT_EQ(delivered.attempts_size(), 2) << delivered.DebugString();
  EXPECT_EQ(delivered.attempts(0).result(), Attempt::RESULT_TEMPORARY_FAILURE);
  EXPECT_THAT(delivered.attempts(0).error_message(), HasSubstr("HTTP 503"));
  EXPECT_EQ(delivered.attempts(1).provider(), "webhook");

  const std::vector<google::protobuf::Struct> requests = WaitForRequests(2);
  ASSERT_EQ(requests.size(), 2u);
  for (const google::protobuf::Struct& request : requests) {
    EXPECT_EQ(StringAt(request, "headers.webhook-id"), IdOf(name));
    EXPECT_TRUE(BoolAt(request, "signature_valid"));  // Python's hmac
    EXPECT_TRUE(BoolAt(request, "timestamp_fresh"));
  }
  absl::StatusOr<google::protobuf::Struct> body = ParseJsonObject(StringAt(requests[1], "body"));
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(StringAt(*body, "type"), "notification.message");
  EXPECT_EQ(StringAt(*body, "data.notification"), name);
  EXPECT_EQ(StringAt(*body, "data.channel"), "WEB");
  EXPECT_EQ(StringAt(*body, "data.to"), "customers/ana");
  EXPECT_EQ(StringAt(*body, "data.payload.parcel"), "4711");
}

TEST_F(DispatcherTest, PermanentRefusalMovesOnToTheNextChannelAtOnce) {
  ProvidersConfig config;
  config.email.push_back(Smtp());
  config.webhooks.push_back(Webhook("/status/400"));
  StartDispatcher(config);
  const std::string name = Send({type::CHANNEL_WEB, type::CHANNEL_EMAIL});

  const v1::Notification delivered = WaitForState(name, State::STATE_DELIVERED);
  ASSERT_EQ(delivered.attempts_size(), 2) << delivered.DebugString();
  EXPECT_EQ(delivered.attempts(0).channel(), type::CHANNEL_WEB);
  EXPECT_EQ(delivered.attempts(0).result(), Attempt::RESULT_PERMANENT_FAILURE);
  EXPECT_EQ(delivered.attempts(1).channel(), type::CHANNEL_EMAIL);
  EXPECT_EQ(WaitForRequests(1).size(), 1u);  // tried once, not retried
  absl::StatusOr<google::protobuf::Struct> mail = ParseJsonObject(ReadFile(mail_dir_ + "/1.json"));
  ASSERT_TRUE(mail.ok()) << mail.status();
  EXPECT_EQ(StringAt(*mail, "headers.Subject"), "Parcel 4711 for Ana");
}

TEST_F(DispatcherTest, SmsFailsOverToTheSecondProviderWhenTheFirstIsDown) {
  ProvidersConfig config;
  config.sms.push_back(Sms(
      "sms-a", absl::StrCat("http://127.0.0.1:", delivery::testing::UnusedLoopbackPort(), "/ok")));
  config.sms.push_back(Sms("sms-b", HttpUrl("/ok")));
  StartDispatcher(config);
  const std::string name = Send({type::CHANNEL_SMS});

  const v1::Notification delivered = WaitForState(name, State::STATE_DELIVERED);
  ASSERT_EQ(delivered.attempts_size(), 1) << delivered.DebugString();
  EXPECT_EQ(delivered.attempts(0).provider(), "sms-b");
  EXPECT_EQ(delivered.attempts(0).provider_message_id(), "msg-1");
  const std::vector<google::protobuf::Struct> requests = WaitForRequests(1);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(StringAt(requests[0], "headers.authorization"), "Bearer sms-key");
  absl::StatusOr<google::protobuf::Struct> body = ParseJsonObject(StringAt(requests[0], "body"));
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(StringAt(*body, "to"), "+821012345678");
  EXPECT_EQ(StringAt(*body, "text"), "Parcel 4711 today");
  EXPECT_EQ(StringAt(*body, "from"), "SHOP");
  EXPECT_EQ(StringAt(*body, "reference"), IdOf(name));
}

TEST_F(DispatcherTest, StopLetsTheInFlightDeliveryFinishAndARestartDoesNotRepeatIt) {
  ProvidersConfig config;
  config.webhooks.push_back(Webhook("/delay/1500"));
  StartDispatcher(config);
  const std::string first = Send({type::CHANNEL_WEB});
  WaitForRequests(1);  // the webhook is in flight
  dispatcher_->Stop();
  const v1::Notification delivered = WaitForState(first, State::STATE_DELIVERED);
  EXPECT_EQ(delivered.attempts_size(), 1);

  RestartCore();
  StartDispatcher(config);
  const std::string second = Send({type::CHANNEL_WEB}, "4712");
  WaitForState(second, State::STATE_DELIVERED);
  const std::vector<google::protobuf::Struct> requests = WaitForRequests(2);
  ASSERT_EQ(requests.size(), 2u);  // the first exactly once
  EXPECT_EQ(StringAt(requests[0], "headers.webhook-id"), IdOf(first));
  EXPECT_EQ(StringAt(requests[1], "headers.webhook-id"), IdOf(second));
}

TEST_F(DispatcherTest, ClaimUnfinishedAtStopIsDeliveredAfterRestartOnceItsLeaseExpires) {
  ProvidersConfig config;
  config.webhooks.push_back(Webhook("/ok"));
  StallingCustomerSource stalling(*customers_);
  {
    // context_service answers only once Stop() gave up waiting.
    absl::MutexLock lock(&log_mu_);
    on_log_ = [&stalling](absl::string_view message) {
      if (absl::StrContains(message, "still in flight")) stalling.Release();
    };
  }
  StartDispatcher(config, &stalling, nullptr, /*stop_timeout=*/absl::Milliseconds(100));
  const std::string name = Send({type::CHANNEL_WEB});
  stalling.entered().WaitForNotification();  // claimed, asking context_service
  dispatcher_->Stop();                       // gives up after 100 ms: nothing is sent
  {
    absl::MutexLock lock(&log_mu_);
    on_log_ = nullptr;
  }
  EXPECT_EQ(Get(name).state(), State::STATE_SENDING);
  EXPECT_TRUE(ReadJsonLines(record_file_).empty());
  EXPECT_THAT(Log(), HasSubstr("still in flight"));

  RestartCore();
  StartDispatcher(config);
  const v1::Notification delivered = WaitForState(name, State::STATE_DELIVERED);
  EXPECT_EQ(delivered.attempts_size(), 1);
  const std::vector<google::protobuf::Struct> requests = WaitForRequests(1);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(StringAt(requests[0], "headers.webhook-id"), IdOf(name));
}

TEST_F(DispatcherTest, FailedTimelineAppendIsRetriedAndRecordedOnce) {
  ProvidersConfig config;
  config.email.push_back(Smtp());
  FlakyTimelineSink flaky(*timeline_, /*failures=*/2);
  StartDispatcher(config, nullptr, &flaky);
  const std::string name = Send({type::CHANNEL_EMAIL});
  WaitForState(name, State::STATE_DELIVERED);  // delivery did not wait for the timeline

  const std::vector<ctx::Interaction> timeline = WaitForTimeline(1);
  ASSERT_EQ(timeline.size(), 1u);
  EXPECT_EQ(timeline[0].attributes().at("notification").string_value(), name);
  EXPECT_GE(flaky.calls(), 3);
  // The row is gone once context_service took it.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    absl::StatusOr<std::optional<absl::Time>> next = core_->NextTimelineDue(kTenant);
    ASSERT_TRUE(next.ok());
    if (!next->has_value()) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  absl::StatusOr<std::optional<absl::Time>> next = core_->NextTimelineDue(kTenant);
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->has_value());
}

TEST_F(DispatcherTest, ChangeSinkWakesTheIdleLoopForANewSend) {
  ProvidersConfig config;
  config.email.push_back(Smtp());
  max_idle_ = absl::Minutes(10);  // only a wake-up picks a send up in time
  StartDispatcher(config);
  // A first delivery, woken by hand, and its timeline append: the loop has
  // nothing left to do and sleeps.
  WaitForState(Send({type::CHANNEL_EMAIL}), State::STATE_DELIVERED);
  WaitForTimeline(1);

  wake_after_send_ = false;
  core_->SetChangeSink([this](const std::string&, const v1::Notification& notification) {
    dispatcher_->OnChange(notification);
  });
  const std::string name = Send({type::CHANNEL_EMAIL}, "4712");
  WaitForState(name, State::STATE_DELIVERED);
  core_->SetChangeSink(nullptr);
}

TEST_F(DispatcherTest, CustomerSourceAnswersUnansweredOrForTheIdentityAlone) {
  auto dead = client::ContextClient::Create(
      {.target = absl::StrCat("127.0.0.1:", delivery::testing::UnusedLoopbackPort()),
       .timeout = absl::Milliseconds(300)});
  ASSERT_TRUE(dead.ok());
  ContextCustomerSource unreachable(**dead, absl::Milliseconds(300));
  v1::Notification to_ana;
  to_ana.set_resolved_customer("customers/ana");
  EXPECT_FALSE(unreachable.Lookup(kTenant, to_ana).answered);

  const CustomerView ana = customers_->Lookup(kTenant, to_ana);
  ASSERT_TRUE(ana.answered);
  EXPECT_EQ(ana.recipient.customer.name(), "customers/ana");
  EXPECT_EQ(ana.recipient.customer.identities_size(), 2);

  v1::Notification to_stranger;
  type::Identity& identity = *to_stranger.mutable_customer()->mutable_identity();
  identity.set_kind(type::IDENTITY_KIND_PHONE);
  identity.set_value("+821099998888");
  const CustomerView stranger = customers_->Lookup(kTenant, to_stranger);
  ASSERT_TRUE(stranger.answered);
  EXPECT_TRUE(stranger.recipient.customer.name().empty());
  ASSERT_EQ(stranger.recipient.customer.identities_size(), 1);
  EXPECT_EQ(stranger.recipient.customer.identities(0).identity().value(), "+821099998888");
}

}  // namespace
}  // namespace cxp::notify::dispatch
