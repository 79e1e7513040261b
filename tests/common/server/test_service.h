// TestServiceImpl — the runtime tests' service, written the way real CXP
// services are: each handler is a HandleUnary() hand-off to plain code.
// Values live in memory, keyed by tenant, so tests can check isolation.

#ifndef CXP_TESTS_COMMON_SERVER_TEST_SERVICE_H_
#define CXP_TESTS_COMMON_SERVER_TEST_SERVICE_H_

#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/server/handler_pool.h"
#include "tests/common/server/test_service.grpc.pb.h"

namespace cxp::testing {

class TestServiceImpl final : public cxp::testing::v1::TestService::CallbackService {
 public:
  explicit TestServiceImpl(int threads = 4) : pool_(threads) {}

  grpc::ServerUnaryReactor* WhoAmI(grpc::CallbackServerContext* context,
                                   const v1::WhoAmIRequest* request,
                                   v1::WhoAmIResponse* response) override;
  grpc::ServerUnaryReactor* PutValue(grpc::CallbackServerContext* context,
                                     const v1::PutValueRequest* request,
                                     v1::PutValueResponse* response) override;
  grpc::ServerUnaryReactor* GetValue(grpc::CallbackServerContext* context,
                                     const v1::GetValueRequest* request,
                                     v1::GetValueResponse* response) override;
  grpc::ServerUnaryReactor* Sleep(grpc::CallbackServerContext* context,
                                  const v1::SleepRequest* request,
                                  v1::SleepResponse* response) override;
  grpc::ServerUnaryReactor* Flaky(grpc::CallbackServerContext* context,
                                  const v1::FlakyRequest* request,
                                  v1::FlakyResponse* response) override;

 private:
  cxp::server::HandlerPool pool_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::pair<std::string, std::string>, std::string> values_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, int> flaky_attempts_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cxp::testing

#endif  // CXP_TESTS_COMMON_SERVER_TEST_SERVICE_H_
