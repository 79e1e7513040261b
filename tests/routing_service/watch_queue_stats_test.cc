// WatchQueueStats as a wallboard meets it: the real routing_service binary
// in a child process, called through the generated client. The first
// update comes at once, later ones every update_period and show what
// changed; watching all queues picks up new ones; bad requests end the
// stream with the error; SIGTERM ends it with UNAVAILABLE without holding
// the drain back.
#include <signal.h>

#include <cstdint>
#include <fstream>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cxp/routing/v1/routing_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "tests/routing_service/routing_client.h"
#include "tests/testing/server_process.h"

namespace cxp::routing {
namespace {

using ::cxp::routing::testing::Client;
using ::cxp::testing::BinaryPath;
using ::cxp::testing::MakeTempDir;
using ::cxp::testing::ServerProcess;
using ::google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace type = ::cxp::type::v1;

constexpr char kAcme[] = "acme-routing-key-0123456789abcdef";

absl::Time ComputeTime(const v1::WatchQueueStatsResponse& update) {
  return absl::FromUnixNanos(
      TimeUtil::TimestampToNanoseconds(update.queue_stats(0).compute_time()));
}

std::vector<std::string> Queues(const v1::WatchQueueStatsResponse& update) {
  std::vector<std::string> queues;
  for (const v1::QueueStats& stats : update.queue_stats()) queues.push_back(stats.queue());
  return queues;
}

v1::WatchQueueStatsRequest Watch(std::initializer_list<std::string> queues,
                                 absl::Duration update_period) {
  v1::WatchQueueStatsRequest request;
  for (const std::string& queue : queues) request.add_queues(queue);
  request.mutable_update_period()->set_seconds(absl::ToInt64Seconds(update_period));
  request.mutable_update_period()->set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(update_period % absl::Seconds(1))));
  return request;
}

class WatchQueueStatsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dir = MakeTempDir("watch_queue_stats_test_");
    std::ofstream(dir + "/api_keys") << "acme " << kAcme << "\n";
    auto server =
        ServerProcess::Start(BinaryPath("routing_service/routing_service"),
                             {"--data_dir=" + dir + "/data", "--api_keys_file=" + dir + "/api_keys",
                              "--metrics_listen=off", "--log_requests=false"});
    ASSERT_TRUE(server.ok()) << server.status();
    server_.emplace(*std::move(server));
    client_ = std::make_unique<Client>(server_->address());
  }

  void CreateQueue(const std::string& id) {
    v1::CreateQueueRequest request;
    request.set_queue_id(id);
    request.mutable_queue()->set_display_name(id);
    auto created = CALL(*client_, CreateQueue, kAcme, request);
    ASSERT_TRUE(created.ok()) << created.status();
  }

  std::optional<ServerProcess> server_;
  std::unique_ptr<Client> client_;
};

TEST_F(WatchQueueStatsTest, FirstUpdateAtOnceThenEveryPeriodWithWhatChanged) {
  CreateQueue("support");
  CreateQueue("billing");
  const absl::Time opened = absl::Now();
  Client::StatsWatch watch = client_->WatchQueueStats(
      kAcme, Watch({"queues/support", "queues/billing"}, absl::Seconds(1)));
  std::optional<v1::WatchQueueStatsResponse> update = watch.Next();
  ASSERT_TRUE(update.has_value()) << watch.Finish();
  // At once, not after a period; in request order, all at one time.
  EXPECT_LT(ComputeTime(*update) - opened, absl::Milliseconds(500));
  ASSERT_THAT(Queues(*update), ElementsAre("queues/support", "queues/billing"));
  EXPECT_EQ(update->queue_stats(0).tasks_waiting(), 0);
  EXPECT_EQ(update->queue_stats(0).interval().seconds(), 3600);  // the default window
  EXPECT_EQ(TimeUtil::TimestampToNanoseconds(update->queue_stats(1).compute_time()),
            TimeUtil::TimestampToNanoseconds(update->queue_stats(0).compute_time()));
  const absl::Time first = ComputeTime(*update);

  update = watch.Next();
  ASSERT_TRUE(update.has_value()) << watch.Finish();
  const absl::Duration gap = ComputeTime(*update) - first;
  EXPECT_GE(gap, absl::Milliseconds(900));
  EXPECT_LT(gap, absl::Milliseconds(2500));

  // No agent: the task waits, and the next update or the one after says so.
  v1::SubmitTaskRequest submit;
  submit.mutable_task()->set_channel(type::CHANNEL_CHAT);
  submit.mutable_task()->set_queue("queues/support");
  auto submitted = CALL(*client_, SubmitTask, kAcme, submit);
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  const absl::Time acknowledged = absl::Now();
  int waiting = 0;
  while (waiting == 0 && absl::Now() - acknowledged < absl::Seconds(5)) {
    update = watch.Next();
    ASSERT_TRUE(update.has_value()) << watch.Finish();
    waiting = update->queue_stats(0).tasks_waiting();
  }
  EXPECT_EQ(waiting, 1);
  EXPECT_LT(absl::Now() - acknowledged, absl::Milliseconds(2500));
  EXPECT_EQ(update->queue_stats(1).tasks_waiting(), 0);
  watch.Close();
}

TEST_F(WatchQueueStatsTest, AllQueuesIncludesQueuesCreatedLater) {
  CreateQueue("support");
  Client::StatsWatch watch = client_->WatchQueueStats(kAcme, Watch({}, absl::Seconds(1)));
  std::optional<v1::WatchQueueStatsResponse> update = watch.Next();
  ASSERT_TRUE(update.has_value()) << watch.Finish();
  EXPECT_THAT(Queues(*update), ElementsAre("queues/support"));
  CreateQueue("alerts");
  const absl::Time created = absl::Now();
  while (update->queue_stats_size() < 2 && absl::Now() - created < absl::Seconds(5)) {
    update = watch.Next();
    ASSERT_TRUE(update.has_value()) << watch.Finish();
  }
  EXPECT_THAT(Queues(*update), ElementsAre("queues/alerts", "queues/support"));  // by name
  EXPECT_LT(absl::Now() - created, absl::Milliseconds(2500));
  watch.Close();
}

TEST_F(WatchQueueStatsTest, BadRequestsEndTheStreamWithTheError) {
  CreateQueue("support");
  Client::StatsWatch unknown =
      client_->WatchQueueStats(kAcme, Watch({"queues/support", "queues/nope"}, absl::Seconds(1)));
  EXPECT_FALSE(unknown.Next().has_value());
  absl::Status status = unknown.Finish();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
  EXPECT_EQ(status.message(), "queues[1]: queues/nope does not exist");

  Client::StatsWatch too_often =
      client_->WatchQueueStats(kAcme, Watch({"queues/support"}, absl::Milliseconds(500)));
  EXPECT_FALSE(too_often.Next().has_value());
  status = too_often.Finish();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("update_period"));

  Client::StatsWatch no_key =
      client_->WatchQueueStats("not-a-key-0123456789abcdef", Watch({}, absl::Seconds(1)));
  EXPECT_FALSE(no_key.Next().has_value());
  EXPECT_EQ(no_key.Finish().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(WatchQueueStatsTest, ShutdownEndsStreamsWithUnavailableAtOnce) {
  CreateQueue("support");
  absl::Time signalled;
  {
    // One stream waits for its next update; another was cancelled meanwhile.
    Client::StatsWatch watch = client_->WatchQueueStats(kAcme, Watch({}, absl::Minutes(5)));
    ASSERT_TRUE(watch.Next().has_value()) << watch.Finish();
    Client::StatsWatch cancelled = client_->WatchQueueStats(kAcme, Watch({}, absl::Minutes(5)));
    ASSERT_TRUE(cancelled.Next().has_value()) << cancelled.Finish();
    cancelled.Close();

    signalled = absl::Now();
    server_->Signal(SIGTERM);
    EXPECT_FALSE(watch.Next().has_value());
    const absl::Status status = watch.Finish();
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
    // Well before the 20 s drain timeout would cut the stream.
    EXPECT_LT(absl::Now() - signalled, absl::Seconds(3));
  }
  // Hang up too: an open (idle) connection holds the exit back up to 5 s,
  // until the client's gRPC polls it and ACKs the GOAWAY's PING (see
  // Server::Shutdown in common/server/server.cc).
  client_.reset();
  EXPECT_EQ(server_->Wait(absl::Seconds(10)), 0) << server_->Stderr();
  EXPECT_LT(absl::Now() - signalled, absl::Seconds(5)) << server_->Stderr();
}

}  // namespace
}  // namespace cxp::routing
