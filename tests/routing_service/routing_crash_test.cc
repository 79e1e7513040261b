// routing_service under SIGKILL: threads submit tasks (and cancel some) as
// fast as they can, the process is killed mid-load, restarted on the same
// data directory and checked through the generated client. Every task whose
// submission was acknowledged is there, in the state its last acknowledged
// change left it; the queue holds no task nobody submitted (at most the
// submissions whose reply the kill cut off). Three kill/restart cycles,
// checks cumulative.
#include <signal.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "cxp/routing/v1/routing_service.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "tests/testing/server_process.h"

namespace cxp::routing {
namespace {

using ::cxp::testing::BinaryPath;
using ::cxp::testing::MakeTempDir;
using ::cxp::testing::ServerProcess;
using v1::RoutingService;
namespace type = ::cxp::type::v1;

constexpr int kCycles = 3;
constexpr int kThreads = 4;
constexpr absl::Duration kLoadTime = absl::Milliseconds(1500);

template <typename Request, typename Response>
absl::StatusOr<Response> Call(RoutingService::Stub& stub,
                              grpc::Status (RoutingService::Stub::*method)(grpc::ClientContext*,
                                                                           const Request&,
                                                                           Response*),
                              const Request& request) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  Response response;
  const grpc::Status status = (stub.*method)(&context, request, &response);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  }
  return response;
}

TEST(RoutingCrashTest, AcknowledgedTasksSurviveSigkill) {
  const std::string dir = MakeTempDir("routing_crash_test_");
  const std::vector<std::string> flags = {"--data_dir=" + dir + "/data", "--metrics_listen=off",
                                          "--log_requests=false", "--context_service="};
  std::map<std::string, v1::Task::State> acknowledged;  // task -> last acknowledged state
  int unacknowledged = 0;                               // submissions whose reply the kill cut off
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    auto server = ServerProcess::Start(BinaryPath("routing_service/routing_service"), flags);
    ASSERT_TRUE(server.ok()) << server.status();
    auto stub = RoutingService::NewStub(
        grpc::CreateChannel(server->address(), grpc::InsecureChannelCredentials()));

    // What the earlier cycles acknowledged is all there.
    for (const auto& [name, state] : acknowledged) {
      v1::GetTaskRequest get;
      get.set_name(name);
      auto got = Call(*stub, &RoutingService::Stub::GetTask, get);
      ASSERT_TRUE(got.ok()) << "cycle " << cycle << ": " << name << ": " << got.status();
      EXPECT_EQ(got->task().state(), state) << name;
    }
    if (cycle == 0) {
      v1::CreateQueueRequest queue;
      queue.set_queue_id("support");
      queue.mutable_queue()->set_display_name("Support");
      ASSERT_TRUE(Call(*stub, &RoutingService::Stub::CreateQueue, queue).ok());
    } else {
      // Nothing waits that nobody submitted: the queued acknowledged tasks,
      // plus at most the submissions cut off by a kill.
      int queued = 0;
      for (const auto& [name, state] : acknowledged) queued += state == v1::Task::STATE_QUEUED;
      v1::GetQueueStatsRequest stats;
      stats.set_queue("queues/support");
      auto got = Call(*stub, &RoutingService::Stub::GetQueueStats, stats);
      ASSERT_TRUE(got.ok()) << got.status();
      EXPECT_GE(got->queue_stats().tasks_waiting(), queued);
      EXPECT_LE(got->queue_stats().tasks_waiting(), queued + unacknowledged);
    }

    std::mutex mu;
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; !stop.load(); ++i) {
          v1::SubmitTaskRequest submit;
          submit.mutable_task()->set_channel(type::CHANNEL_CHAT);
          submit.mutable_task()->set_queue("queues/support");
          auto submitted = Call(*stub, &RoutingService::Stub::SubmitTask, submit);
          if (!submitted.ok()) {
            std::lock_guard<std::mutex> lock(mu);
            ++unacknowledged;
            return;  // the server is gone
          }
          {
            std::lock_guard<std::mutex> lock(mu);
            acknowledged[submitted->task().name()] = submitted->task().state();
          }
          if ((i + t) % 3 != 0) continue;
          v1::CancelTaskRequest cancel;
          cancel.set_name(submitted->task().name());
          auto cancelled = Call(*stub, &RoutingService::Stub::CancelTask, cancel);
          if (!cancelled.ok()) return;  // a cut-off cancel may or may not have landed
          std::lock_guard<std::mutex> lock(mu);
          acknowledged[submitted->task().name()] = v1::Task::STATE_CANCELLED;
        }
      });
    }
    absl::SleepFor(kLoadTime);
    server->Signal(SIGKILL);
    stop = true;
    for (std::thread& thread : threads) thread.join();
    ASSERT_TRUE(server->Wait(absl::Seconds(10)).has_value());
    // A cancel cut off by the kill leaves the task QUEUED or CANCELLED:
    // re-read those at the next start instead of guessing.
    std::vector<std::string> unsure;
    for (auto& [name, state] : acknowledged) {
      if (state == v1::Task::STATE_QUEUED) unsure.push_back(name);
    }
    auto restarted = ServerProcess::Start(BinaryPath("routing_service/routing_service"), flags);
    ASSERT_TRUE(restarted.ok()) << restarted.status();
    auto check = RoutingService::NewStub(
        grpc::CreateChannel(restarted->address(), grpc::InsecureChannelCredentials()));
    for (const std::string& name : unsure) {
      v1::GetTaskRequest get;
      get.set_name(name);
      auto got = Call(*check, &RoutingService::Stub::GetTask, get);
      ASSERT_TRUE(got.ok()) << name << ": " << got.status();
      ASSERT_TRUE(got->task().state() == v1::Task::STATE_QUEUED ||
                  got->task().state() == v1::Task::STATE_CANCELLED)
          << name;
      acknowledged[name] = got->task().state();
    }
    restarted->Signal(SIGTERM);
    ASSERT_EQ(restarted->Wait(absl::Seconds(30)), 0);
  }
  EXPECT_GT(acknowledged.size(), 100u) << "the load should have submitted many tasks";
}

}  // namespace
}  // namespace cxp::routing
