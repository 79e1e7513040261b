// context_service: serves cxp.context.v1.ContextService on the shared runtime.
#include "common/server/service_main.h"
#include "common/server/service_store.h"
#include "context_service/context_service_impl.h"

int main(int argc, char** argv) {
  using cxp::server::ServerOptions;
  using cxp::server::ServiceSet;
  return cxp::server::RunServiceMain(
      {.name = "context_service",
       .default_listen_address = "127.0.0.1:50051",
       .default_metrics_address = "127.0.0.1:9101",
       .build = [](const ServerOptions& options) -> absl::StatusOr<ServiceSet> {
         auto store = cxp::server::OpenServiceStore(options, {});
         if (!store.ok()) return store.status();
         ServiceSet set;
         set.Add(cxp::context::v1::ContextService::service_full_name(),
                 std::make_unique<cxp::context::ContextServiceImpl>(options, **store));
         set.on_drained = [store = *store] { (void)store->Close(); };
         return set;
       }},
      argc, argv);
}
