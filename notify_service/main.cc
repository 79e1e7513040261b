// notify_service: serves cxp.notify.v1.NotifyService on the shared runtime.
#include "common/server/service_main.h"
#include "common/server/service_store.h"
#include "common/status/status_macros.h"
#include "notify_service/notify_service_impl.h"

int main(int argc, char** argv) {
  using cxp::server::ServerOptions;
  using cxp::server::ServiceSet;
  return cxp::server::RunServiceMain(
      {.name = "notify_service",
       .default_listen_address = "127.0.0.1:50053",
       .default_metrics_address = "127.0.0.1:9103",
       .build = [](const ServerOptions& options) -> absl::StatusOr<ServiceSet> {
         ASSIGN_OR_RETURN(auto store, cxp::server::OpenServiceStore(options, {}));
         ServiceSet set;
         set.Add(cxp::notify::v1::NotifyService::service_full_name(),
                 std::make_unique<cxp::notify::NotifyServiceImpl>(options, *store));
         set.on_drained = [store] { (void)store->Close(); };
         return set;
       }},
      argc, argv);
}
