// context_service: serves cxp.context.v1.ContextService on the shared runtime.
#include "common/server/service_main.h"
#include "common/server/service_store.h"
#include "common/status/status_macros.h"
#include "context_service/context_service_impl.h"

int main(int argc, char** argv) {
  using cxp::server::ServerOptions;
  using cxp::server::ServiceSet;
  return cxp::server::RunServiceMain(
      {.name = "context_service",
       .default_listen_address = "127.0.0.1:50051",
       .default_metrics_address = "127.0.0.1:9101",
       .build = [](const ServerOptions& options) -> absl::StatusOr<ServiceSet> {
         ASSIGN_OR_RETURN(auto store, cxp::server::OpenServiceStore(options, {}));
         ServiceSet set;
         set.Add(cxp::context::v1::ContextService::service_full_name(),
                 std::make_unique<cxp::context::ContextServiceImpl>(options, *store));
         set.on_drained = [store] { (void)store->Close(); };
         return set;
       }},
      argc, argv);
}
