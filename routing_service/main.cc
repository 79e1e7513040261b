// routing_service: serves cxp.routing.v1.RoutingService on the shared runtime.
#include "common/server/json_log.h"
#include "common/server/service_main.h"
#include "common/server/service_store.h"
#include "common/status/status_macros.h"
#include "routing_service/core/routing_core.h"
#include "routing_service/core/routing_store.h"
#include "routing_service/routing_service_impl.h"
#include "routing_service/routing_ticker.h"

int main(int argc, char** argv) {
  using cxp::server::ServerOptions;
  using cxp::server::ServiceSet;
  return cxp::server::RunServiceMain(
      {.name = "routing_service",
       .default_listen_address = "127.0.0.1:50052",
       .default_metrics_address = "127.0.0.1:9102",
       .build = [](const ServerOptions& options) -> absl::StatusOr<ServiceSet> {
         ASSIGN_OR_RETURN(auto rocks,
                          cxp::server::OpenServiceStore(
                              options, cxp::routing::RoutingStore::ColumnFamilies(), {}));
         ASSIGN_OR_RETURN(auto attached, cxp::routing::RoutingStore::Attach(*rocks));
         auto store = std::make_shared<cxp::routing::RoutingStore>(std::move(attached));
         auto core = std::make_shared<cxp::routing::RoutingCore>(
             *store, cxp::routing::RoutingCoreOptions{});
         // Every tenant's queues, agents and active tasks, before serving.
         RETURN_IF_ERROR(core->Recover());
         auto ticker =
             std::make_shared<cxp::routing::RoutingTicker>(*core, [](const absl::Status& status) {
               cxp::server::LogEvent("error", "routing_service",
                                     "routing timers: " + status.ToString());
             });
         ServiceSet set;
         auto service = std::make_unique<cxp::routing::RoutingServiceImpl>(options, *core);
         cxp::routing::RoutingServiceImpl* routing = service.get();
         set.Add(cxp::routing::v1::RoutingService::service_full_name(), std::move(service));
         // Desktops reconnect to the next instance; draining need not wait.
         set.on_shutdown = [routing] { routing->EndSessions(); };
         set.on_drained = [rocks, store, core, ticker] {
           ticker->Stop();
           (void)rocks->Close();
         };
         return set;
       }},
      argc, argv);
}
