// routing_service: serves cxp.routing.v1.RoutingService on the shared runtime.
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/client/context_client.h"
#include "common/idempotency/expired_response_filter.h"
#include "common/server/json_log.h"
#include "common/server/periodic_worker.h"
#include "common/server/service_main.h"
#include "common/server/service_store.h"
#include "common/status/status_macros.h"
#include "routing_service/context_enricher.h"
#include "routing_service/core/routing_core.h"
#include "routing_service/core/routing_store.h"
#include "routing_service/routing_service_impl.h"
#include "routing_service/routing_ticker.h"

ABSL_FLAG(std::string, context_service, "127.0.0.1:50051",
          "context_service address for customer context on SubmitTask (VIP tier, last agent, "
          "language); empty turns enrichment off. Tasks are routed without context, saying why, "
          "when it is slow or down.");
ABSL_FLAG(absl::Duration, context_timeout, absl::Milliseconds(50),
          "Deadline of the customer-context lookup of one SubmitTask.");
ABSL_FLAG(std::string, context_api_keys_file, "",
          "API keys for context_service per routing tenant, one '<tenant> <key>' per line (# "
          "comments); empty: calls carry no key (single-tenant local setups).");
ABSL_FLAG(std::string, context_tls_ca, "", "PEM CA bundle: reach context_service over TLS.");
ABSL_FLAG(absl::Duration, task_retention, absl::Hours(24 * 30),
          "How long ended tasks stay readable (GetTask, ListTasks) before they are purged.");
ABSL_FLAG(absl::Duration, task_purge_interval, absl::Hours(1),
          "How often ended tasks older than --task_retention are purged (the first pass runs a "
          "minute after start).");

int main(int argc, char** argv) {
  using cxp::server::ServerOptions;
  using cxp::server::ServiceSet;
  return cxp::server::RunServiceMain(
      {.name = "routing_service",
       .default_listen_address = "127.0.0.1:50052",
       .default_metrics_address = "127.0.0.1:9102",
       .build = [](const ServerOptions& options) -> absl::StatusOr<ServiceSet> {
         const absl::Duration retention = absl::GetFlag(FLAGS_task_retention);
         const absl::Duration purge_interval = absl::GetFlag(FLAGS_task_purge_interval);
         if (retention <= absl::ZeroDuration() || purge_interval <= absl::ZeroDuration()) {
           return absl::InvalidArgumentError(
               "task_retention and task_purge_interval: must be positive durations");
         }
         // Idempotency records are dropped by compactions once expired.
         auto expiry = std::make_shared<cxp::idempotency::ExpiredResponseFilterFactory>(
             [] { return absl::Now(); });
         ASSIGN_OR_RETURN(auto rocks, cxp::server::OpenServiceStore(
                                          options, cxp::routing::RoutingStore::ColumnFamilies(),
                                          [expiry](rocksdb::Options& rocksdb_options) {
                                            rocksdb_options.compaction_filter_factory = expiry;
                                          }));
         ASSIGN_OR_RETURN(rocksdb::ColumnFamilyHandle * requests,
                          rocks->ColumnFamily(cxp::routing::RoutingStore::kRequestsFamily));
         expiry->set_column_family_id(requests->GetID());
         ASSIGN_OR_RETURN(auto attached, cxp::routing::RoutingStore::Attach(*rocks));
         auto store = std::make_shared<cxp::routing::RoutingStore>(std::move(attached));
         // Page tokens are signed with a key kept in the store, so they stay
         // valid across restarts.
         ASSIGN_OR_RETURN(std::string token_key,
                          cxp::server::StoredSecret(*rocks, "page_token_key"));
         auto core = std::make_shared<cxp::routing::RoutingCore>(
             *store, cxp::routing::RoutingCoreOptions{.page_token_key = std::move(token_key),
                                                      .task_retention = retention});
         // Every tenant's queues, agents and active tasks, before serving.
         RETURN_IF_ERROR(core->Recover());
         ASSIGN_OR_RETURN(auto keys,
                          cxp::client::ReadTenantKeys(absl::GetFlag(FLAGS_context_api_keys_file),
                                                      "context_api_keys_file"));
         ASSIGN_OR_RETURN(std::shared_ptr<cxp::routing::ContextEnricher> enricher,
                          cxp::routing::ContextEnricher::Create(
                              {.target = absl::GetFlag(FLAGS_context_service),
                               .timeout = absl::GetFlag(FLAGS_context_timeout),
                               .keys = std::move(keys),
                               .tls_ca_file = absl::GetFlag(FLAGS_context_tls_ca)}));
         auto ticker =
             std::make_shared<cxp::routing::RoutingTicker>(*core, [](const absl::Status& status) {
               cxp::server::LogEvent("error", "routing_service",
                                     "routing timers: " + status.ToString());
             });
         auto purger = std::make_shared<cxp::server::PeriodicWorker>(
             "cxp-task-purge",
             [core, purge_interval] {
               absl::StatusOr<size_t> purged = core->PurgeEndedTasks();
               if (!purged.ok()) {
                 cxp::server::LogEvent("error", "routing_service",
                                       "task purge: " + purged.status().ToString());
               } else if (*purged > 0) {
                 cxp::server::LogEvent("info", "routing_service",
                                       absl::StrCat("purged ", *purged, " ended tasks"));
               }
               return absl::Now() + purge_interval;
             },
             absl::Now() + absl::Minutes(1));
         ServiceSet set;
         auto service =
             std::make_unique<cxp::routing::RoutingServiceImpl>(options, *core, *enricher);
         cxp::routing::RoutingServiceImpl* routing = service.get();
         set.Add(cxp::routing::v1::RoutingService::service_full_name(), std::move(service));
         // Desktops reconnect to the next instance; draining need not wait.
         set.on_shutdown = [routing] { routing->EndSessions(); };
         set.on_drained = [rocks, store, core, ticker, purger, enricher] {
           ticker->Stop();
           purger->Stop();
           (void)rocks->Close();
         };
         return set;
       }},
      argc, argv);
}
