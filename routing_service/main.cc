// routing_service: serves cxp.routing.v1.RoutingService on the shared runtime.
#include "common/server/service_main.h"
#include "common/server/service_store.h"
#include "common/status/status_macros.h"
#include "routing_service/routing_service_impl.h"

int main(int argc, char** argv) {
  using cxp::server::ServerOptions;
  using cxp::server::ServiceSet;
  return cxp::server::RunServiceMain(
      {.name = "routing_service",
       .default_listen_address = "127.0.0.1:50052",
       .default_metrics_address = "127.0.0.1:9102",
       .build = [](const ServerOptions& options) -> absl::StatusOr<ServiceSet> {
         ASSIGN_OR_RETURN(auto store, cxp::server::OpenServiceStore(options, {}));
         ServiceSet set;
         set.Add(cxp::routing::v1::RoutingService::service_full_name(),
                 std::make_unique<cxp::routing::RoutingServiceImpl>(options, *store));
         set.on_drained = [store] { (void)store->Close(); };
         return set;
       }},
      argc, argv);
}
