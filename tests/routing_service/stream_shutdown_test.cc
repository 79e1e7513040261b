// RoutingServiceImpl's streams at shutdown, in process so the window
// between EndSessions() and the server stopping can be held open (in the
// real binary it lasts microseconds): open AgentSession and WatchQueueStats
// streams end with UNAVAILABLE, and streams opened after EndSessions() are
// refused with UNAVAILABLE at once instead of waiting out the drain.
#include <fstream>
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/server/server.h"
#include "cxp/routing/v1/routing_service.grpc.pb.h"
#include "gtest/gtest.h"
#include "routing_service/context_enricher.h"
#include "routing_service/core/routing_core.h"
#include "routing_service/routing_service_impl.h"
#include "tests/routing_service/core/routing_store_fixture.h"
#include "tests/routing_service/routing_client.h"

namespace cxp::routing {
namespace {

using ::cxp::routing::testing::Client;
namespace type = ::cxp::type::v1;

constexpr char kAcme[] = "acme-routing-key-0123456789abcdef";

class StreamShutdownTest : public testing::RoutingStoreFixture {
 protected:
  void SetUp() override {
    OpenStore();
    core_ = std::make_unique<RoutingCore>(*store_, RoutingCoreOptions{});
    ASSERT_TRUE(core_->Recover().ok());
    auto enricher = ContextEnricher::Create({});  // no context_service
    ASSERT_TRUE(enricher.ok()) << enricher.status();
    enricher_ = *std::move(enricher);
    std::ofstream(dir_ + "/api_keys") << "acme " << kAcme << "\n";
    server::ServerOptions options{.service_name = "routing_service",
                                  .listen_address = "127.0.0.1:0",
                                  .api_keys_file = dir_ + "/api_keys",
                                  .log_requests = false,
                                  .worker_threads = 4};
    service_ = std::make_unique<RoutingServiceImpl>(options, *core_, *enricher_);
    auto server =
        server::Server::Start(options, {{v1::RoutingService::service_full_name(), service_.get()}});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    client_ = std::make_unique<Client>("127.0.0.1:" + std::to_string(server_->port()));

    v1::CreateQueueRequest queue;
    queue.set_queue_id("support");
    queue.mutable_queue()->set_display_name("Support");
    ASSERT_TRUE(CALL(*client_, CreateQueue, kAcme, queue).ok());
    v1::CreateAgentRequest agent;
    agent.set_agent_id("lee");
    agent.mutable_agent()->set_display_name("Lee");
    agent.mutable_agent()->add_queues("queues/support");
    v1::ChannelCapacity& chat = *agent.mutable_agent()->add_channel_capacities();
    chat.set_channel(type::CHANNEL_CHAT);
    chat.set_max_tasks(1);
    ASSERT_TRUE(CALL(*client_, CreateAgent, kAcme, agent).ok());
  }

  void TearDown() override {
    client_.reset();
    if (server_ != nullptr) server_->Shutdown(absl::Seconds(5));
    server_.reset();
    service_.reset();
    core_.reset();
    if (rocks_ != nullptr) CloseStore();
  }

  // An AgentSession for agents/lee with a 10 s deadline.
  struct Session {
    std::unique_ptr<grpc::ClientContext> context = std::make_unique<grpc::ClientContext>();
    std::unique_ptr<grpc::ClientReader<v1::AgentSessionResponse>> reader;
  };
  Session OpenSession() {
    Session session;
    session.context->AddMetadata("authorization", std::string("Bearer ") + kAcme);
    session.context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    v1::AgentSessionRequest request;
    request.set_agent("agents/lee");
    session.reader = client_->stub().AgentSession(session.context.get(), request);
    return session;
  }

  std::unique_ptr<RoutingCore> core_;
  std::unique_ptr<ContextEnricher> enricher_;
  std::unique_ptr<RoutingServiceImpl> service_;
  std::unique_ptr<server::Server> server_;
  std::unique_ptr<Client> client_;
};

TEST_F(StreamShutdownTest, OpenStreamsEndWithUnavailable) {
  Session session = OpenSession();
  v1::AgentSessionResponse event;
  ASSERT_TRUE(session.reader->Read(&event));  // the snapshot: it is open
  v1::WatchQueueStatsRequest request;
  request.mutable_update_period()->set_seconds(60);
  Client::StatsWatch watch = client_->WatchQueueStats(kAcme, request);
  ASSERT_TRUE(watch.Next().has_value()) << watch.Finish();

  const absl::Time ended = absl::Now();
  service_->EndSessions();
  while (session.reader->Read(&event)) {
  }
  const grpc::Status status = session.reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_FALSE(watch.Next().has_value());
  EXPECT_EQ(watch.Finish().code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(absl::Now() - ended, absl::Seconds(2));
}

// A desktop (or wallboard) that connects after shutdown started, while the
// server still accepts calls: refused at once, no session opened.
TEST_F(StreamShutdownTest, StreamsOpenedAfterShutdownStartedAreRefusedAtOnce) {
  service_->EndSessions();

  const absl::Time opened = absl::Now();
  Session session = OpenSession();
  v1::AgentSessionResponse event;
  EXPECT_FALSE(session.reader->Read(&event)) << "got an event: " << event.ShortDebugString();
  const grpc::Status status = session.reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_LT(absl::Now() - opened, absl::Seconds(2));

  v1::WatchQueueStatsRequest request;
  request.mutable_update_period()->set_seconds(60);
  Client::StatsWatch watch = client_->WatchQueueStats(kAcme, request);
  EXPECT_FALSE(watch.Next().has_value());
  EXPECT_EQ(watch.Finish().code(), absl::StatusCode::kUnavailable);

  // The refused desktop opened no session: an available agent gets no offer.
  v1::SetAgentStateRequest available;
  available.set_name("agents/lee");
  available.set_state(v1::AGENT_STATE_AVAILABLE);
  ASSERT_TRUE(CALL(*client_, SetAgentState, kAcme, available).ok());
  v1::SubmitTaskRequest submit;
  submit.mutable_task()->set_channel(type::CHANNEL_CHAT);
  submit.mutable_task()->set_queue("queues/support");
  auto submitted = CALL(*client_, SubmitTask, kAcme, submit);
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  EXPECT_EQ(submitted->task().state(), v1::Task::STATE_QUEUED);
}

}  // namespace
}  // namespace cxp::routing
