// notify_service killed with SIGKILL in the middle of dispatching (issue 6):
// after a restart on the same data directory every accepted notification
// ends DELIVERED or DEAD_LETTERED, none is lost, and a webhook arrives twice
// only for a delivery that was in flight at the kill, with the same
// webhook-id both times.
//
// Real processes: context_service, notify_service and the local HTTP
// receiver (http_test_receiver.py, which records every request before it
// answers and checks the Standard Webhooks signature). notify_service posts
// each channel's webhooks to its own receiver route:
//   CHAT    /delay/800         slow, always 200: the kill lands while these
//                              are in flight
//   SOCIAL  /flaky/24/503      the first 24 requests fail (retried), then 200
//   WEB     /status/503        always fails: dead-lettered after 5 attempts
// Short lease and backoff by flag keep the run short.
#include <signal.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cxp/context/v1/context_service.grpc.pb.h"
#include "cxp/notify/v1/notify_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "tests/notify_service/delivery/test_servers.h"
#include "tests/testing/keyed_call.h"
#include "tests/testing/server_process.h"

namespace cxp::notify {
namespace {

using ::cxp::notify::delivery::testing::BoolAt;
using ::cxp::notify::delivery::testing::ParseJsonObject;
using ::cxp::notify::delivery::testing::ReadJsonLines;
using ::cxp::notify::delivery::testing::StartHttpReceiver;
using ::cxp::notify::delivery::testing::StringAt;
using ::cxp::testing::BinaryPath;
using ::cxp::testing::KeyedCall;
using ::cxp::testing::MakeTempDir;
using ::cxp::testing::ServerProcess;
namespace type = ::cxp::type::v1;
namespace ctx = ::cxp::context::v1;
using ctx::ContextService;
using v1::Notification;
using v1::NotifyService;

constexpr char kNotifyKey[] = "acme-notify-key-0123456789abcdef";
constexpr char kContextKey[] = "acme-context-key-0123456789abcdef";
constexpr char kSecret[] = "whsec_Y3hwLXRlc3Qtc2lnbmluZy1zZWNyZXQtMzItYnl0ZXM=";

constexpr char kChatRoute[] = "/delay/800";
constexpr char kSocialRoute[] = "/flaky/24/503";
constexpr int kSocialFailures = 24;  // as in kSocialRoute
constexpr char kWebRoute[] = "/status/503";

constexpr int kCustomers = 12;
constexpr int kSends = 240;  // i % 6: 0-1 CHAT, 2-4 SOCIAL, 5 WEB
constexpr int kChatSends = kSends / 3;
// The kill comes once this many CHAT webhooks arrived (of kChatSends).
constexpr int kChatSeenBeforeKill = 24;
// Deliveries in flight at once: the dispatcher never holds more claims
// (queued or running) than workers, so at most this many notifications can
// be mid-delivery when the process dies.
constexpr int kWorkers = 8;
constexpr int kMaxAttempts = 5;  // NotifyCoreOptions' default backoff

type::Channel ChannelOf(int i) {
  switch (i % 6) {
    case 0:
    case 1:
      return type::CHANNEL_CHAT;
    case 5:
      return type::CHANNEL_WEB;
    default:
      return type::CHANNEL_SOCIAL;
  }
}

// The route the receiver saw a request on, as the channel it serves.
type::Channel ChannelOfPath(const std::string& path) {
  if (path == kChatRoute) return type::CHANNEL_CHAT;
  if (path == kSocialRoute) return type::CHANNEL_SOCIAL;
  if (path == kWebRoute) return type::CHANNEL_WEB;
  return type::CHANNEL_UNSPECIFIED;
}

bool Pending(Notification::State state) {
  return state == Notification::STATE_SCHEDULED || state == Notification::STATE_HELD_QUIET_HOURS ||
         state == Notification::STATE_QUEUED || state == Notification::STATE_SENDING;
}

std::string IdOf(const std::string& notification_name) {
  const size_t slash = notification_name.rfind('/');
  return slash == std::string::npos ? notification_name : notification_name.substr(slash + 1);
}

// One request the receiver recorded.
struct Received {
  int n = 0;  // the receiver's request counter
  type::Channel channel = type::CHANNEL_UNSPECIFIED;
  std::string webhook_id;
  std::string notification;  // data.notification of the body
  bool answered_ok = false;  // the receiver answered 2xx
  bool signature_valid = false;
  bool timestamp_fresh = false;
};

std::vector<Received> ReadReceived(const std::string& record_file) {
  std::vector<Received> received;
  int social_seen = 0;
  for (const google::protobuf::Struct& record : ReadJsonLines(record_file)) {
    Received r;
    r.n = static_cast<int>(record.fields().at("n").number_value());
    r.channel = ChannelOfPath(StringAt(record, "path"));
    r.webhook_id = StringAt(record, "headers.webhook-id");
    absl::StatusOr<google::protobuf::Struct> body = ParseJsonObject(StringAt(record, "body"));
    if (body.ok()) r.notification = StringAt(*body, "data.notification");
    // Lines are written in the order of n, under the receiver's lock, so
    // the flaky route's failures are its first kSocialFailures lines.
    if (r.channel == type::CHANNEL_SOCIAL) r.answered_ok = ++social_seen > kSocialFailures;
    if (r.channel == type::CHANNEL_CHAT) r.answered_ok = true;
    r.signature_valid = BoolAt(record, "signature_valid");
    r.timestamp_fresh = BoolAt(record, "timestamp_fresh");
    received.push_back(std::move(r));
  }
  return received;
}

class NotifyCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("notify_crash_test_");
    std::ofstream(dir_ + "/context_keys") << "acme " << kContextKey << "\n";
    std::ofstream(dir_ + "/notify_keys") << "acme " << kNotifyKey << "\n";
    auto context_server = ServerProcess::Start(
        BinaryPath("context_service/context_service"),
        {"--data_dir=" + dir_ + "/context", "--api_keys_file=" + dir_ + "/context_keys",
         "--metrics_listen=off", "--log_requests=false"});
    ASSERT_TRUE(context_server.ok()) << context_server.status();
    context_server_.emplace(*std::move(context_server));
    record_file_ = dir_ + "/received.jsonl";
    auto receiver = StartHttpReceiver(record_file_, kSecret);
    ASSERT_TRUE(receiver.ok()) << receiver.status();
    receiver_.emplace(*std::move(receiver));
    const std::string base = "http://127.0.0.1:" + std::to_string(receiver_->port());
    std::ofstream(dir_ + "/providers.json") << absl::StrCat(
        R"({"webhooks": [)", R"({"channel": "CHAT", "url": ")", base, kChatRoute,
        R"(", "secret": ")", kSecret, R"("},)", R"({"channel": "SOCIAL", "url": ")", base,
        kSocialRoute, R"(", "secret": ")", kSecret, R"("},)", R"({"channel": "WEB", "url": ")",
        base, kWebRoute, R"(", "secret": ")", kSecret, R"("}]})");
    context_ = ContextService::NewStub(
        grpc::CreateChannel(context_server_->address(), grpc::InsecureChannelCredentials()));
    StartNotify();
  }

  // notify_service on dir_/notify (the same data directory every time).
  void StartNotify() {
    auto notify_server = ServerProcess::Start(
        BinaryPath("notify_service/notify_service"),
        {"--data_dir=" + dir_ + "/notify", "--api_keys_file=" + dir_ + "/notify_keys",
         "--context_service=" + context_server_->address(),
         "--context_api_keys_file=" + dir_ + "/context_keys",
         "--providers_config=" + dir_ + "/providers.json",
         // Generous for a loaded 2-core test machine.
         "--context_timeout=2s", "--dispatch_context_timeout=2s", "--delivery_timeout=2s",
         "--dispatch_workers=" + std::to_string(kWorkers),
         // Longer than an attempt (context lookup + delivery timeout), short
         // enough that the claims the kill left behind come back quickly.
         "--dispatch_lease=6s", "--dispatch_retry_base=100ms", "--dispatch_retry_cap=1s",
         "--metrics_listen=off", "--log_requests=false"});
    ASSERT_TRUE(notify_server.ok()) << notify_server.status();
    notify_server_.emplace(*std::move(notify_server));
    notify_ = NotifyService::NewStub(
        grpc::CreateChannel(notify_server_->address(), grpc::InsecureChannelCredentials()));
  }

  template <typename Request, typename Response>
  absl::StatusOr<Response> Notify(grpc::Status (NotifyService::Stub::*method)(grpc::ClientContext*,
                                                                              const Request&,
                                                                              Response*),
                                  const Request& request) {
    return KeyedCall(*notify_, method, request, std::string(kNotifyKey));
  }

  void CreateTemplate() {
    v1::CreateTemplateRequest request;
    request.set_template_id("parcel");
    v1::Template& tmpl = *request.mutable_template_();
    tmpl.set_display_name("Parcel update");
    google::protobuf::Struct& payload = *tmpl.add_locales()->mutable_webhook()->mutable_payload();
    (*payload.mutable_fields())["text"].set_string_value("Parcel {{parcel}} is on its way");
    auto created = Notify(&NotifyService::Stub::CreateTemplate, request);
    ASSERT_TRUE(created.ok()) << created.status();
  }

  // Customer `id` with a chat handle and a social account (WEB goes to the
  // customer itself).
  void CreateCustomer(const std::string& id) {
    ctx::CreateCustomerRequest request;
    request.set_customer_id(id);
    request.mutable_customer()->set_display_name("Kim " + id);
    type::Identity& chat = *request.mutable_customer()->add_identities()->mutable_identity();
    chat.set_kind(type::IDENTITY_KIND_CHAT_HANDLE);
    chat.set_namespace_("kakaotalk");
    chat.set_value("kakao-" + id);
    type::Identity& social = *request.mutable_customer()->add_identities()->mutable_identity();
    social.set_kind(type::IDENTITY_KIND_SOCIAL);
    social.set_namespace_("instagram");
    social.set_value("insta_" + id);
    auto created = KeyedCall(*context_, &ContextService::Stub::CreateCustomer, request,
                             std::string(kContextKey));
    ASSERT_TRUE(created.ok()) << created.status();
  }

  static v1::SendNotificationRequest Send(int i, absl::Time send_time) {
    v1::SendNotificationRequest request;
    request.mutable_customer()->set_customer(absl::StrCat("customers/c", i % kCustomers));
    request.set_template_("templates/parcel");
    request.set_purpose(type::PURPOSE_TRANSACTIONAL);
    request.add_channel_order(ChannelOf(i));
    (*request.mutable_variables())["parcel"] = absl::StrCat("P", i);
    request.set_idempotency_key(absl::StrCat("parcel-", i));
    *request.mutable_send_time() =
        google::protobuf::util::TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(send_time));
    return request;
  }

  // Every notification of the tenant, by name.
  absl::StatusOr<std::map<std::string, Notification>> ListAll() {
    std::map<std::string, Notification> all;
    v1::ListNotificationsRequest request;
    request.set_page_size(1000);
    do {
      auto page = Notify(&NotifyService::Stub::ListNotifications, request);
      if (!page.ok()) return page.status();
      for (const Notification& notification : page->notifications()) {
        all[notification.name()] = notification;
      }
      request.set_page_token(page->next_page_token());
    } while (!request.page_token().empty());
    return all;
  }

  int ChatWebhooksSeen() {
    std::set<std::string> ids;
    for (const Received& r : ReadReceived(record_file_)) {
      if (r.channel == type::CHANNEL_CHAT) ids.insert(r.webhook_id);
    }
    return static_cast<int>(ids.size());
  }

  std::string dir_;
  std::string record_file_;
  std::optional<ServerProcess> context_server_;
  std::optional<ServerProcess> receiver_;
  std::optional<ServerProcess> notify_server_;
  std::unique_ptr<ContextService::Stub> context_;
  std::unique_ptr<NotifyService::Stub> notify_;
};

TEST_F(NotifyCrashTest, EveryAcceptedNotificationEndsDeliveredOrDeadLetteredAfterAKill) {
  CreateTemplate();
  for (int c = 0; c < kCustomers; ++c) CreateCustomer(absl::StrCat("c", c));
  if (HasFatalFailure()) return;

  // All due at one time a little ahead, so the dispatcher starts on a full
  // outbox rather than racing the sends.
  const absl::Time send_time = absl::Now() + absl::Seconds(3);
  std::map<std::string, type::Channel> accepted;  // name -> channel
  std::vector<std::string> name_of_send(kSends);
  for (int i = 0; i < kSends; ++i) {
    auto sent = Notify(&NotifyService::Stub::SendNotification, Send(i, send_time));
    ASSERT_TRUE(sent.ok()) << "send " << i << ": " << sent.status();
    name_of_send[i] = sent->notification().name();
    accepted[name_of_send[i]] = ChannelOf(i);
  }
  ASSERT_EQ(accepted.size(), static_cast<size_t>(kSends));

  // SIGKILL once some CHAT webhooks arrived: the workers are then busy with
  // more of them (the receiver holds each for 800 ms).
  const absl::Time kill_deadline = absl::Now() + absl::Seconds(30);
  int chat_seen = 0;
  while ((chat_seen = ChatWebhooksSeen()) < kChatSeenBeforeKill && absl::Now() < kill_deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_GE(chat_seen, kChatSeenBeforeKill) << "deliveries did not start";
  notify_server_->Signal(SIGKILL);
  ASSERT_EQ(notify_server_->Wait(absl::Seconds(10)), 128 + SIGKILL);
  const absl::Time killed_at = absl::Now();
  // What the dead process wrote may still be on its way to the receiver;
  // after this pause (and before the restart) every request recorded came
  // from the killed process.
  absl::SleepFor(absl::Milliseconds(500));
  const std::vector<Received> before_kill = ReadReceived(record_file_);
  std::set<std::string> seen_before_kill;
  for (const Received& r : before_kill) seen_before_kill.insert(r.notification);
  // The kill came mid-dispatch: CHAT webhooks were still to go.
  ASSERT_LT(ChatWebhooksSeen(), kChatSends);

  // Restarted on the same data directory: the outbox and the leased
  // (SENDING) notifications survived; the leases expire and those are sent
  // again.
  StartNotify();
  if (HasFatalFailure()) return;
  // Accepted sends are remembered: the same idempotency keys give the same
  // notifications.
  for (int i = 0; i < kSends; i += 37) {
    auto again = Notify(&NotifyService::Stub::SendNotification, Send(i, send_time));
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(again->notification().name(), name_of_send[i]);
  }

  std::map<std::string, Notification> final_states;
  const absl::Time settle_deadline = absl::Now() + absl::Seconds(40);
  size_t pending = 0;
  do {
    absl::SleepFor(absl::Milliseconds(250));
    auto all = ListAll();
    ASSERT_TRUE(all.ok()) << all.status();
    final_states = *std::move(all);
    pending = 0;
    for (const auto& [name, notification] : final_states) {
      if (Pending(notification.state())) ++pending;
    }
  } while (pending > 0 && absl::Now() < settle_deadline);
  ASSERT_EQ(pending, 0u) << "still pending " << absl::FormatDuration(absl::Now() - killed_at)
                         << " after the kill";

  // None lost, none made up: exactly the accepted notifications, each
  // DELIVERED or DEAD_LETTERED.
  ASSERT_EQ(final_states.size(), accepted.size());
  std::map<Notification::State, int> states;
  for (const auto& [name, channel] : accepted) {
    auto it = final_states.find(name);
    ASSERT_NE(it, final_states.end()) << name << " was lost";
    const Notification& notification = it->second;
    ++states[notification.state()];
    EXPECT_TRUE(notification.state() == Notification::STATE_DELIVERED ||
                notification.state() == Notification::STATE_DEAD_LETTERED)
        << notification.DebugString();
  }

  // What the receiver saw, per notification.
  struct Tally {
    int received = 0;
    int answered_ok = 0;
    int failed_before_ok = 0;  // answered non-2xx before a 2xx
  };
  std::map<std::string, Tally> tally;
  const std::vector<Received> received = ReadReceived(record_file_);
  for (const Received& r : received) {
    // Only accepted notifications are posted, each under its own id.
    ASSERT_TRUE(accepted.contains(r.notification))
        << "request #" << r.n << " for a notification never accepted: '" << r.notification << "'";
    EXPECT_EQ(r.webhook_id, IdOf(r.notification)) << "request #" << r.n;
    EXPECT_EQ(r.channel, accepted[r.notification]) << "request #" << r.n;
    EXPECT_TRUE(r.signature_valid) << "request #" << r.n;
    EXPECT_TRUE(r.timestamp_fresh) << "request #" << r.n;
    Tally& t = tally[r.notification];
    ++t.received;
    if (r.answered_ok) {
      ++t.answered_ok;
    } else if (t.answered_ok == 0) {
      ++t.failed_before_ok;
    }
  }

  int duplicated = 0;         // answered 2xx more than once
  int unrecorded = 0;         // requests not in the notification's history
  int in_flight_at_kill = 0;  // notifications with unrecorded requests
  int recovered = 0;          // a failed attempt, then delivered
  for (const auto& [name, channel] : accepted) {
    v1::GetNotificationRequest get;
    get.set_name(name);
    auto got = Notify(&NotifyService::Stub::GetNotification, get);
    ASSERT_TRUE(got.ok()) << got.status();
    const Notification& notification = got->notification();
    EXPECT_EQ(notification.state(), final_states[name].state()) << name;
    const Tally& t = tally[name];
    int attempts = 0;
    for (const v1::DeliveryAttempt& attempt : notification.attempts()) {
      if (attempt.result() != v1::DeliveryAttempt::RESULT_SKIPPED) ++attempts;
    }
    // Every recorded attempt reached the receiver; anything more was a
    // request whose answer the kill cut off.
    EXPECT_GE(t.received, attempts) << notification.DebugString();
    unrecorded += std::max(0, t.received - attempts);
    if (t.received > attempts) {
      // An attempt whose answer was never recorded: only the kill cuts one
      // off, so its request reached the receiver before the restart.
      ++in_flight_at_kill;
      EXPECT_TRUE(seen_before_kill.contains(name))
          << name << " got a request not in its history, but none before the kill";
    }
    if (t.answered_ok > 1) {
      // Delivered twice: only a delivery the kill cut off is sent again.
      ++duplicated;
      EXPECT_GT(t.received, attempts) << name << " delivered twice without a cut-off attempt";
    }
    if (notification.state() == Notification::STATE_DELIVERED) {
      EXPECT_GE(t.answered_ok, 1) << name << " is DELIVERED but never reached the receiver";
      if (t.failed_before_ok > 0) ++recovered;
    } else {
      // Dead-lettered: the retries ran out, so no 2xx was ever recorded.
      EXPECT_EQ(notification.state(), Notification::STATE_DEAD_LETTERED);
      EXPECT_EQ(attempts, kMaxAttempts) << notification.DebugString();
      EXPECT_GE(t.received, kMaxAttempts);
      EXPECT_EQ(t.answered_ok, 0) << name;
    }
    // By route: CHAT always answers 200, WEB never does.
    if (channel == type::CHANNEL_CHAT) {
      EXPECT_EQ(notification.state(), Notification::STATE_DELIVERED) << notification.DebugString();
    }
    if (channel == type::CHANNEL_WEB) {
      EXPECT_EQ(notification.state(), Notification::STATE_DEAD_LETTERED)
          << notification.DebugString();
    }
  }
  // Duplicates only for deliveries in flight at the kill: at most one per
  // worker. And the kill did catch some (else the test proved nothing).
  EXPECT_LE(unrecorded, kWorkers);
  EXPECT_LE(duplicated, kWorkers);
  EXPECT_LE(in_flight_at_kill, kWorkers);
  EXPECT_GE(in_flight_at_kill, 1) << "no delivery was in flight at the kill";
  // The flaky route's failures were retried into deliveries.
  EXPECT_GE(recovered, 1);
  std::cerr << "crash test: " << received.size() << " requests (" << before_kill.size()
            << " before the kill), " << states[Notification::STATE_DELIVERED] << " delivered, "
            << states[Notification::STATE_DEAD_LETTERED] << " dead-lettered, " << unrecorded
            << " cut off by the kill and sent again, " << duplicated << " delivered twice, "
            << recovered << " recovered after failures\n";
}

// The lease must outlast an attempt (context lookup + providers' timeouts),
// else a slow delivery would be claimed and sent again while in flight.
TEST(NotifyLeaseFlagTest, RefusesToStartWithALeaseShorterThanAnAttempt) {
  const std::string dir = MakeTempDir("notify_lease_flag_test_");
  std::ofstream(dir + "/secret") << kSecret << "\n";
  const std::vector<std::string> flags = {"--data_dir=" + dir + "/notify",
                                          "--listen=127.0.0.1:0",
                                          "--metrics_listen=off",
                                          "--context_service=",
                                          "--webhook_url=http://127.0.0.1:9/hook",
                                          "--webhook_secret_file=" + dir + "/secret",
                                          "--dispatch_context_timeout=2s",
                                          "--delivery_timeout=2s",
                                          "--dispatch_lease=3s"};
  const cxp::testing::ProcessResult refused =
      cxp::testing::RunToCompletion(BinaryPath("notify_service/notify_service"), flags);
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.stderr_output,
              ::testing::AllOf(::testing::HasSubstr("one attempt may take 4s"),
                               ::testing::HasSubstr("--dispatch_lease=3s")));
}

// A retention shorter than the idempotency-key TTL would purge keys that
// must still deduplicate retries.
TEST(NotifyRetentionFlagTest, RefusesARetentionShorterThanTheIdempotencyKeyTtl) {
  const std::string dir = MakeTempDir("notify_retention_flag_test_");
  const std::vector<std::string> flags = {"--data_dir=" + dir + "/notify", "--listen=127.0.0.1:0",
                                          "--metrics_listen=off",
                                          "--context_service=", "--notification_retention=1h"};
  const cxp::testing::ProcessResult refused =
      cxp::testing::RunToCompletion(BinaryPath("notify_service/notify_service"), flags);
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.stderr_output,
              ::testing::HasSubstr("notification_retention: must be 0 (keep everything) or at "
                                   "least the idempotency-key TTL (24h), got 1h"));
}

}  // namespace
}  // namespace cxp::notify
