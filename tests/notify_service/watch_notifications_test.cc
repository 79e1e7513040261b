// WatchNotificationsReactor and NotificationWatchers in process, driven by
// Publish() as NotifyCore's change sink would: the filter and the tenant
// decide what a stream gets, a client that stops reading is ended with
// UNAVAILABLE once kMaxQueued changes wait (memory stays bounded), and
// ShutdownAll() ends open streams and refuses new ones at once.
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/server/server.h"
#include "cxp/notify/v1/notify_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "notify_service/watch_notifications_reactor.h"
#include "tests/testing/server_process.h"

namespace cxp::notify {
namespace {

using ::testing::HasSubstr;

constexpr char kAcme[] = "acme-notify-key-0123456789abcdef";
constexpr char kGlobex[] = "globex-notify-key-0123456789abcdef";

// Just the stream, on the shared runtime (auth, tenants).
class WatchOnlyService final : public v1::NotifyService::CallbackService {
 public:
  explicit WatchOnlyService(NotificationWatchers& watchers) : watchers_(watchers) {}
  grpc::ServerWriteReactor<v1::WatchNotificationsResponse>* WatchNotifications(
      grpc::CallbackServerContext* context, const v1::WatchNotificationsRequest* request) override {
    return new WatchNotificationsReactor(context, *request, watchers_);
  }

 private:
  NotificationWatchers& watchers_;
};

v1::Notification Changed(const std::string& id, v1::Notification::State state, size_t padding = 0) {
  v1::Notification notification;
  notification.set_name("notifications/" + id);
  notification.set_state(state);
  if (padding > 0) (*notification.mutable_variables())["pad"] = std::string(padding, 'x');
  return notification;
}

class WatchNotificationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dir = cxp::testing::MakeTempDir("watch_notifications_test_");
    std::ofstream(dir + "/api_keys") << "acme " << kAcme << "\nglobex " << kGlobex << "\n";
    server::ServerOptions options{.service_name = "notify_service",
                                  .listen_address = "127.0.0.1:0",
                                  .api_keys_file = dir + "/api_keys",
                                  .log_requests = false,
                                  .worker_threads = 2};
    service_ = std::make_unique<WatchOnlyService>(watchers_);
    auto server =
        server::Server::Start(options, {{v1::NotifyService::service_full_name(), service_.get()}});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    // A small, fixed receive window, so a client that stops reading stops
    // the server's writes soon.
    grpc::ChannelArguments args;
    args.SetInt("grpc.http2.bdp_probe", 0);
    args.SetInt("grpc.http2.lookahead_bytes", 65536);
    stub_ = v1::NotifyService::NewStub(grpc::CreateCustomChannel(
        absl::StrCat("127.0.0.1:", server_->port()), grpc::InsecureChannelCredentials(), args));
  }

  void TearDown() override {
    watchers_.ShutdownAll();
    stub_.reset();
    if (server_ != nullptr) server_->Shutdown(absl::Seconds(5));
  }

  struct Watch {
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientReader<v1::WatchNotificationsResponse>> reader;
    // Reads to the end; the status.
    grpc::Status Drain() {
      v1::WatchNotificationsResponse ignored;
      while (reader->Read(&ignored)) {
      }
      return reader->Finish();
    }
  };
  std::unique_ptr<Watch> Open(const std::string& key, const std::string& filter) {
    auto watch = std::make_unique<Watch>();
    watch->context.AddMetadata("authorization", "Bearer " + key);
    watch->context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(15)));
    v1::WatchNotificationsRequest request;
    request.set_filter(filter);
    watch->reader = stub_->WatchNotifications(&watch->context, request);
    watch->reader->WaitForInitialMetadata();
    return watch;
  }

  NotificationWatchers watchers_;
  std::unique_ptr<WatchOnlyService> service_;
  std::unique_ptr<server::Server> server_;
  std::unique_ptr<v1::NotifyService::Stub> stub_;
};

TEST_F(WatchNotificationsTest, FilterAndTenantDecideWhatAStreamGets) {
  std::unique_ptr<Watch> delivered = Open(kAcme, "state = DELIVERED");
  std::unique_ptr<Watch> everything = Open(kAcme, "");
  std::unique_ptr<Watch> globex = Open(kGlobex, "");
  watchers_.Publish("acme", Changed("a", v1::Notification::STATE_QUEUED));
  watchers_.Publish("acme", Changed("a", v1::Notification::STATE_DELIVERED));
  watchers_.Publish("globex", Changed("g", v1::Notification::STATE_QUEUED));

  v1::WatchNotificationsResponse update;
  ASSERT_TRUE(delivered->reader->Read(&update));
  EXPECT_EQ(update.notification().state(), v1::Notification::STATE_DELIVERED);
  ASSERT_TRUE(everything->reader->Read(&update));
  EXPECT_EQ(update.notification().state(), v1::Notification::STATE_QUEUED);
  ASSERT_TRUE(everything->reader->Read(&update));
  EXPECT_EQ(update.notification().state(), v1::Notification::STATE_DELIVERED);
  ASSERT_TRUE(globex->reader->Read(&update));
  EXPECT_EQ(update.notification().name(), "notifications/g");

  // Unauthenticated and bad filters end at once, naming what is wrong.
  std::unique_ptr<Watch> anonymous = Open("wrong-key", "");
  EXPECT_EQ(anonymous->Drain().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  std::unique_ptr<Watch> bad = Open(kAcme, "state = NOPE");
  const grpc::Status refused = bad->Drain();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(refused.error_message(), HasSubstr("filter"));
}

TEST_F(WatchNotificationsTest, AClientThatStopsReadingIsEndedNotBuffered) {
  std::unique_ptr<Watch> stalled = Open(kAcme, "");
  // 16 KiB each: the transport's window fills after a few, then the queue.
  const size_t published = WatchNotificationsReactor::kMaxQueued + 200;
  for (size_t i = 0; i < published; ++i) {
    watchers_.Publish("acme", Changed(absl::StrCat("n", i), v1::Notification::STATE_QUEUED, 16384));
  }
  size_t read = 0;
  v1::WatchNotificationsResponse update;
  while (stalled->reader->Read(&update)) ++read;
  const grpc::Status ended = stalled->reader->Finish();
  EXPECT_EQ(ended.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(ended.error_message(), HasSubstr("fell behind"));
  EXPECT_LT(read, published);
  // Others go on.
  std::unique_ptr<Watch> fresh = Open(kAcme, "");
  watchers_.Publish("acme", Changed("after", v1::Notification::STATE_QUEUED));
  ASSERT_TRUE(fresh->reader->Read(&update));
  EXPECT_EQ(update.notification().name(), "notifications/after");
}

TEST_F(WatchNotificationsTest, ShutdownEndsOpenStreamsAndRefusesNewOnes) {
  std::unique_ptr<Watch> open = Open(kAcme, "");
  watchers_.ShutdownAll();
  EXPECT_EQ(open->Drain().error_code(), grpc::StatusCode::UNAVAILABLE);
  const absl::Time start = absl::Now();
  std::unique_ptr<Watch> late = Open(kAcme, "");
  EXPECT_EQ(late->Drain().error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  // Publishing to nobody is harmless.
  watchers_.Publish("acme", Changed("x", v1::Notification::STATE_QUEUED));
}

}  // namespace
}  // namespace cxp::notify
