// Test support: RoutingCore without a server on a real RocksDB in a temp
// dir, with a fake clock (now_), restartable on the same directory, and
// helpers that send requests as a client would.

#ifndef CXP_TESTS_ROUTING_SERVICE_CORE_ROUTING_CORE_FIXTURE_H_
#define CXP_TESTS_ROUTING_SERVICE_CORE_ROUTING_CORE_FIXTURE_H_

#include <memory>
#include <string>

#include "absl/time/civil_time.h"
#include "gtest/gtest.h"
#include "routing_service/core/routing_core.h"
#include "tests/routing_service/core/routing_store_fixture.h"

namespace cxp::routing::testing {

namespace type = ::cxp::type::v1;

inline constexpr char kTenant[] = "acme";

class RoutingCoreTest : public RoutingStoreFixture {
 protected:
  void SetUp() override { Open(); }

  void Open() {
    OpenStore();
    core_ = std::make_unique<RoutingCore>(*store_,
                                          RoutingCoreOptions{.clock = [this] { return now_; }});
    absl::Status recovered = core_->Recover();
    ASSERT_TRUE(recovered.ok()) << recovered;
  }

  // As after a crash: the same data directory, new process state.
  void Restart() {
    core_.reset();
    CloseStore();
    Open();
  }

  void CreateQueue(const std::string& id) {
    v1::CreateQueueRequest request;
    request.set_queue_id(id);
    request.mutable_queue()->set_display_name("Support");
    v1::CreateQueueResponse response;
    absl::Status status = core_->CreateQueue(kTenant, request, response);
    ASSERT_TRUE(status.ok()) << status;
    EXPECT_EQ(response.queue().name(), "queues/" + id);
    EXPECT_EQ(response.queue().priority(), 5);  // default applied
  }

  void CreateAgent(const std::string& id, const std::string& queue) {
    v1::CreateAgentRequest request;
    request.set_agent_id(id);
    request.mutable_agent()->set_display_name("Agent " + id);
    request.mutable_agent()->add_queues("queues/" + queue);
    request.mutable_agent()->add_language_codes("ko-KR");
    v1::ChannelCapacity& voice = *request.mutable_agent()->add_channel_capacities();
    voice.set_channel(type::CHANNEL_VOICE);
    voice.set_max_tasks(1);
    v1::CreateAgentResponse response;
    absl::Status status = core_->CreateAgent(kTenant, request, response);
    ASSERT_TRUE(status.ok()) << status;
    EXPECT_EQ(response.agent().presence().state(), v1::AGENT_STATE_OFFLINE);
  }

  void Available(const std::string& id) {
    v1::SetAgentStateRequest request;
    request.set_name("agents/" + id);
    request.set_state(v1::AGENT_STATE_AVAILABLE);
    v1::SetAgentStateResponse response;
    ASSERT_TRUE(core_->SetAgentState(kTenant, request, response).ok());
    ASSERT_TRUE(core_->OpenSession(kTenant, "agents/" + id).ok());
  }

  absl::StatusOr<v1::Task> Submit(const std::string& queue) {
    v1::SubmitTaskRequest request;
    request.mutable_task()->set_channel(type::CHANNEL_VOICE);
    request.mutable_task()->set_queue("queues/" + queue);
    request.mutable_task()->set_language_code("ko-kr");
    v1::SubmitTaskResponse response;
    absl::Status status = core_->SubmitTask(
        kTenant, request, {.looked_up = false, .skip_reason = "no customer on task"}, response);
    if (!status.ok()) return status;
    return response.task();
  }

  v1::Task Get(const std::string& name) {
    v1::GetTaskRequest request;
    request.set_name(name);
    v1::GetTaskResponse response;
    absl::Status status = core_->GetTask(kTenant, request, response);
    EXPECT_TRUE(status.ok()) << status;
    return response.task();
  }

  absl::Time now_ = absl::FromCivil(absl::CivilSecond(2026, 12, 2, 10, 0, 0), absl::UTCTimeZone());
  std::unique_ptr<RoutingCore> core_;
};

}  // namespace cxp::routing::testing

#endif  // CXP_TESTS_ROUTING_SERVICE_CORE_ROUTING_CORE_FIXTURE_H_
