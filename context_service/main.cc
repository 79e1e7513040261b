// context_service: serves cxp.context.v1.ContextService on the shared runtime.
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/idempotency/expired_response_filter.h"
#include "common/server/json_log.h"
#include "common/server/service_main.h"
#include "common/server/service_store.h"
#include "common/status/status_macros.h"
#include "context_service/context_service_impl.h"
#include "context_service/core/retention.h"

ABSL_FLAG(std::string, default_phone_region, "KR",
          "ISO 3166-1 region used to read phone numbers written in national "
          "format (e.g. 010-1234-5678 with KR is +821012345678), unless the "
          "identity carries its own region_code.");

ABSL_FLAG(int, context_cache_mb, 256,
          "Memory in MiB for assembled customer views (GetCustomerContext "
          "answers from it without reading storage; writes invalidate). "
          "Size it to the customers active at once; 0 turns it off.");

ABSL_FLAG(absl::Duration, change_retention, absl::Hours(24 * 7),
          "How long WatchChanges can replay: change events older than this are "
          "purged, and a watcher resuming from before them gets OUT_OF_RANGE.");

ABSL_FLAG(absl::Duration, change_purge_interval, absl::Minutes(1),
          "How often the retention purges (change log, interactions) run.");

ABSL_FLAG(std::string, interaction_retention, "",
          "Per-tenant maximum age of interactions, e.g. \"acme=365d,*=730d\" (* is "
          "every other tenant); older ones are purged continuously. Empty keeps "
          "everything.");

ABSL_FLAG(std::string, handoff_key_file, "",
          "File holding the HMAC key (at least 32 bytes) that signs handoff "
          "tokens; give every replica the same file (e.g. a Kubernetes Secret). "
          "Empty: a random key kept in the data directory.");

ABSL_FLAG(std::vector<std::string>, auto_merge_tenants, {},
          "Tenants with automatic merge, comma-separated (* = every tenant): "
          "AddIdentity with verified=true of an identity another customer holds "
          "merges the two (the longer-known profile survives, recorded like "
          "MergeCustomers) instead of failing with ALREADY_EXISTS. Off by default.");

int main(int argc, char** argv) {
  using cxp::server::ServerOptions;
  using cxp::server::ServiceSet;
  return cxp::server::RunServiceMain(
      {.name = "context_service",
       .default_listen_address = "127.0.0.1:50051",
       .default_metrics_address = "127.0.0.1:9101",
       .build = [](const ServerOptions& options) -> absl::StatusOr<ServiceSet> {
         // Idempotency records are dropped by compactions once expired.
         auto expiry = std::make_shared<cxp::idempotency::ExpiredResponseFilterFactory>(
             [] { return absl::Now(); });
         ASSIGN_OR_RETURN(auto rocks,
                          cxp::server::OpenServiceStore(
                              options, cxp::context::ContextStore::ColumnFamilies(),
                              [expiry](rocksdb::Options& rocksdb_options) {
                                cxp::context::ContextStore::ConfigureOptions(rocksdb_options);
                                rocksdb_options.compaction_filter_factory = expiry;
                              }));
         ASSIGN_OR_RETURN(rocksdb::ColumnFamilyHandle * requests, rocks->ColumnFamily("requests"));
         expiry->set_column_family_id(requests->GetID());
         const int cache_mb = absl::GetFlag(FLAGS_context_cache_mb);
         if (cache_mb < 0) {
           return absl::InvalidArgumentError(
               absl::StrCat("context_cache_mb: must be >= 0 (MiB), got ", cache_mb));
         }
         ASSIGN_OR_RETURN(auto store, cxp::context::ContextStore::Attach(
                                          *rocks, static_cast<size_t>(cache_mb) << 20));
         RETURN_IF_ERROR(store.MigrateLayout([](const std::string& step) {
           cxp::server::LogEvent("info", "context_service", step);
         }));
         // Page tokens are signed with a key kept in the store, so they stay
         // valid across restarts.
         ASSIGN_OR_RETURN(const std::string token_key,
                          cxp::server::StoredSecret(*rocks, "page_token_key"));
         std::string handoff_key;
         if (const std::string path = absl::GetFlag(FLAGS_handoff_key_file); !path.empty()) {
           std::ifstream file(path, std::ios::binary);
           if (!file) return absl::InvalidArgumentError("handoff_key_file: cannot read " + path);
           handoff_key.assign(std::istreambuf_iterator<char>(file), {});
           while (!handoff_key.empty() &&
                  (handoff_key.back() == '\n' || handoff_key.back() == '\r')) {
             handoff_key.pop_back();
           }
           if (handoff_key.size() < 32) {
             return absl::InvalidArgumentError(
                 absl::StrCat("handoff_key_file: ", path, " holds ", handoff_key.size(),
                              " bytes; a handoff key needs at least 32"));
           }
         } else {
           ASSIGN_OR_RETURN(handoff_key, cxp::server::StoredSecret(*rocks, "handoff_key"));
         }
         auto shared_store = std::make_shared<cxp::context::ContextStore>(std::move(store));
         ASSIGN_OR_RETURN(
             std::shared_ptr<cxp::context::ContextCore> core,
             cxp::context::ContextCore::Create(
                 *shared_store, {.default_phone_region = absl::GetFlag(FLAGS_default_phone_region),
                                 .page_token_key = token_key,
                                 .handoff_key = handoff_key,
                                 .auto_merge_tenants = absl::GetFlag(FLAGS_auto_merge_tenants)}));
         auto changes = std::make_shared<cxp::context::ChangeFeed>(*shared_store);
         const absl::Duration retention = absl::GetFlag(FLAGS_change_retention);
         const absl::Duration purge_interval = absl::GetFlag(FLAGS_change_purge_interval);
         if (retention <= absl::ZeroDuration() || purge_interval <= absl::ZeroDuration()) {
           return absl::InvalidArgumentError(
               "change_retention and change_purge_interval: must be positive durations");
         }
         ASSIGN_OR_RETURN(
             cxp::context::InteractionRetentionPolicy interaction_retention,
             cxp::context::ParseInteractionRetention(absl::GetFlag(FLAGS_interaction_retention)));
         auto retention_thread = std::make_shared<cxp::context::Retention>(
             *shared_store, *core,
             cxp::context::RetentionOptions{.change_retention = retention,
                                            .interactions = std::move(interaction_retention),
                                            .interval = purge_interval,
                                            .log = [](const std::string& line) {
                                              cxp::server::LogEvent("info", "context_service",
                                                                    line);
                                            }});
         ServiceSet set;
         set.Add(cxp::context::v1::ContextService::service_full_name(),
                 std::make_unique<cxp::context::ContextServiceImpl>(options, *core, *changes));
         // Open WatchChanges streams end (UNAVAILABLE, resume) instead of
         // holding the drain for its whole timeout.
         set.on_shutdown = [shared_store] { shared_store->sequencer().Stop(); };
         // The core and store live until the server has drained.
         set.on_drained = [rocks, shared_store, core, changes, retention_thread] {
           retention_thread->Stop();
           (void)rocks->Close();
         };
         return set;
       }},
      argc, argv);
}
