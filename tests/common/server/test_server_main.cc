// cxp_test_server: TestService on the shared runtime, as a real process, for
// tests of signals and process-level behaviour.
#include "common/server/service_main.h"
#include "tests/common/server/test_service.h"

int main(int argc, char** argv) {
  return cxp::server::RunServiceMain(
      {.name = "test_service",
       .default_listen_address = "127.0.0.1:0",
       .default_metrics_address = "",
       .build = [](const cxp::server::ServerOptions&) -> absl::StatusOr<cxp::server::ServiceSet> {
         cxp::server::ServiceSet set;
         set.Add(cxp::testing::v1::TestService::service_full_name(),
                 std::make_unique<cxp::testing::TestServiceImpl>());
         return set;
       }},
      argc, argv);
}
