// notify_service: serves cxp.notify.v1.NotifyService on the shared runtime.
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/client/context_client.h"
#include "common/idempotency/expired_response_filter.h"
#include "common/server/json_log.h"
#include "common/server/service_main.h"
#include "common/server/service_store.h"
#include "common/status/status_macros.h"
#include "notify_service/context_gateway.h"
#include "notify_service/core/frequency_policy_text.h"
#include "notify_service/core/notify_config_core.h"
#include "notify_service/core/notify_core.h"
#include "notify_service/core/notify_store.h"
#include "notify_service/core/retention.h"
#include "notify_service/core/trigger_processor.h"
#include "notify_service/dispatch/channel_senders.h"
#include "notify_service/dispatch/context_adapters.h"
#include "notify_service/dispatch/dispatch_flags.h"
#include "notify_service/dispatch/dispatcher.h"
#include "notify_service/dispatch/trigger_consumer.h"
#include "notify_service/notify_service_impl.h"
#include "notify_service/unsubscribe/unsubscribe_server.h"
#include "notify_service/watch_notifications_reactor.h"

ABSL_FLAG(std::string, context_service, "127.0.0.1:50051",
          "context_service address: contact points, consent and preferences of each recipient "
          "(SendNotification), consent changes of inbound keywords (ReceiveInboundMessage). "
          "Empty turns it off: sends are accepted unjudged and inbound messages are refused "
          "(UNAVAILABLE).");
ABSL_FLAG(absl::Duration, context_timeout, absl::Milliseconds(100),
          "Deadline of the recipient lookup of one send; without an answer in time the send is "
          "accepted and judged at delivery.");
ABSL_FLAG(absl::Duration, context_write_timeout, absl::Seconds(2),
          "Deadline of each context_service call of an inbound message (resolve or create the "
          "sender, set consent).");
ABSL_FLAG(std::string, context_api_keys_file, "",
          "API keys for context_service per notify tenant, one '<tenant> <key>' per line (# "
          "comments); empty: calls carry no key (single-tenant local setups).");
ABSL_FLAG(std::string, context_tls_ca, "", "PEM CA bundle: reach context_service over TLS.");
ABSL_FLAG(std::string, frequency_caps, "",
          "Frequency caps per customer, comma-separated PURPOSE=MAX/WINDOW[:defer|drop], e.g. "
          "'marketing=2/24h,service=10/1h:drop': at most MAX sends of that purpose to one "
          "customer within any WINDOW, then the next is deferred until a slot frees (default) or "
          "dropped (FAILED, FREQUENCY_CAPPED). Empty: no caps.");
ABSL_FLAG(std::string, tenant_frequency_caps_file, "",
          "Per-tenant frequency caps, one '<tenant> <caps as in --frequency_caps>' line per tenant "
          "(# comments); a listed tenant gets its line instead of --frequency_caps.");
ABSL_FLAG(std::string, default_time_zone, "UTC",
          "IANA time zone for the quiet hours of customers without a time zone of their own.");
ABSL_FLAG(std::string, unsubscribe_listen, "",
          "HTTP address (host:port) of the one-click unsubscribe endpoint of marketing email "
          "(path /unsubscribe, RFC 8058); needs --unsubscribe_base_url. Empty: off, marketing "
          "email carries no List-Unsubscribe.");
ABSL_FLAG(std::string, unsubscribe_base_url, "",
          "Public https URL of the unsubscribe endpoint that links in email use, e.g. "
          "https://notify.example.com/unsubscribe (behind an ingress it differs from "
          "--unsubscribe_listen).");

ABSL_FLAG(absl::Duration, notification_retention, absl::Hours(24 * 90),
          "How long terminal notifications (DELIVERED, FAILED, DEAD_LETTERED, CANCELLED, EXPIRED, "
          "REPLACED) are kept after their last change; older ones are purged in the background "
          "with their idempotency-key, replace-key and provider-message-id rows, and so are "
          "trigger last-sent rows older than both this and their rule's cooldown. 0 keeps "
          "everything. At least the idempotency-key TTL (24h).");
ABSL_FLAG(absl::Duration, retention_interval, absl::Hours(1),
          "How often the --notification_retention purge runs.");

int main(int argc, char** argv) {
  using cxp::server::ServerOptions;
  using cxp::server::ServiceSet;
  return cxp::server::RunServiceMain(
      {.name = "notify_service",
       .default_listen_address = "127.0.0.1:50053",
       .default_metrics_address = "127.0.0.1:9103",
       .build = [](const ServerOptions& options) -> absl::StatusOr<ServiceSet> {
         // Idempotency records (request_id answers) are dropped by
         // compactions once expired.
         auto expiry = std::make_shared<cxp::idempotency::ExpiredResponseFilterFactory>(
             [] { return absl::Now(); });
         ASSIGN_OR_RETURN(auto rocks, cxp::server::OpenServiceStore(
                                          options, cxp::notify::NotifyStore::ColumnFamilies(),
                                          [expiry](rocksdb::Options& rocksdb_options) {
                                            rocksdb_options.compaction_filter_factory = expiry;
                                          }));
         ASSIGN_OR_RETURN(rocksdb::ColumnFamilyHandle * requests,
                          rocks->ColumnFamily(cxp::notify::NotifyStore::kRequestsFamily));
         expiry->set_column_family_id(requests->GetID());
         ASSIGN_OR_RETURN(auto attached, cxp::notify::NotifyStore::Attach(*rocks));
         auto store = std::make_shared<cxp::notify::NotifyStore>(std::move(attached));
         // Page tokens are signed with a key kept in the store, so they stay
         // valid across restarts.
         ASSIGN_OR_RETURN(std::string token_key,
                          cxp::server::StoredSecret(*rocks, "page_token_key"));
         cxp::notify::NotifyCoreOptions core_options{
             .page_token_key = token_key,
             .default_time_zone = absl::GetFlag(FLAGS_default_time_zone)};
         // The lease and the retry backoff: --dispatch_lease, --dispatch_retry_*.
         RETURN_IF_ERROR(cxp::notify::dispatch::ApplyCoreFlags(core_options));
         const absl::Duration lease = core_options.lease;
         // Frequency caps: the flag's policy, or a tenant's line in the file.
         ASSIGN_OR_RETURN(core_options.default_frequency_policy,
                          cxp::notify::ParseFrequencyPolicy(absl::GetFlag(FLAGS_frequency_caps),
                                                            "frequency_caps"));
         if (const std::string path = absl::GetFlag(FLAGS_tenant_frequency_caps_file);
             !path.empty()) {
           std::ifstream file(path);
           if (!file) {
             return absl::InvalidArgumentError(
                 absl::StrCat("tenant_frequency_caps_file: cannot read ", path));
           }
           std::stringstream content;
           content << file.rdbuf();
           ASSIGN_OR_RETURN(core_options.frequency_policies,
                            cxp::notify::ParseTenantFrequencyPolicies(
                                content.str(), "tenant_frequency_caps_file"));
         }
         const absl::Duration retention = absl::GetFlag(FLAGS_notification_retention);
         const absl::Duration retention_interval = absl::GetFlag(FLAGS_retention_interval);
         if (retention != absl::ZeroDuration() && retention < core_options.idempotency_key_ttl) {
           return absl::InvalidArgumentError(
               absl::StrCat("notification_retention: must be 0 (keep everything) or at least the "
                            "idempotency-key TTL (",
                            absl::FormatDuration(core_options.idempotency_key_ttl), "), got ",
                            absl::FormatDuration(retention)));
         }
         if (retention_interval <= absl::ZeroDuration()) {
           return absl::InvalidArgumentError("retention_interval: must be a positive duration");
         }
         ASSIGN_OR_RETURN(std::shared_ptr<cxp::notify::NotifyCore> core,
                          cxp::notify::NotifyCore::Create(*store, std::move(core_options)));
         // Notifications stored before the template-use rows existed get
         // theirs (once), so DeleteTemplate sees every pending one.
         ASSIGN_OR_RETURN(const size_t indexed, core->IndexTemplateUses());
         if (indexed > 0) {
           cxp::server::LogEvent(
               "info", "notify_service",
               absl::StrCat("indexed the templates of ", indexed, " pending notifications"));
         }
         // Retention: old terminal notifications and cooldown rows are
         // purged in the background (none when --notification_retention=0).
         std::shared_ptr<cxp::notify::NotifyRetention> retention_thread;
         if (retention > absl::ZeroDuration()) {
           retention_thread = std::make_shared<cxp::notify::NotifyRetention>(
               *store, *core,
               cxp::notify::NotifyRetentionOptions{.retention = retention,
                                                   .interval = retention_interval,
                                                   .log = [](const std::string& line) {
                                                     cxp::server::LogEvent("info", "notify_service",
                                                                           line);
                                                   }});
         }
         auto config = std::make_shared<cxp::notify::NotifyConfigCore>(
             *store, cxp::notify::NotifyConfigCoreOptions{.page_token_key = token_key});
         ASSIGN_OR_RETURN(auto keys,
                          cxp::client::ReadTenantKeys(absl::GetFlag(FLAGS_context_api_keys_file),
                                                      "context_api_keys_file"));
         ASSIGN_OR_RETURN(std::shared_ptr<cxp::notify::ContextGateway> context,
                          cxp::notify::ContextGateway::Create(
                              {.target = absl::GetFlag(FLAGS_context_service),
                               .lookup_timeout = absl::GetFlag(FLAGS_context_timeout),
                               .write_timeout = absl::GetFlag(FLAGS_context_write_timeout),
                               .keys = std::move(keys),
                               .tls_ca_file = absl::GetFlag(FLAGS_context_tls_ca)}));
         // Delivery: the dispatcher claims due notifications and sends them
         // through the configured providers on its own worker threads. It
         // asks context_service for each recipient's current contact points
         // and consent, so without context_service nothing is delivered.
         namespace dispatch = cxp::notify::dispatch;
         ASSIGN_OR_RETURN(dispatch::ProvidersConfig providers,
                          dispatch::ProvidersConfigFromFlags());
         ASSIGN_OR_RETURN(dispatch::DispatcherOptions dispatch_options,
                          dispatch::DispatcherOptionsFromFlags());
         const absl::Duration longest_attempt =
             providers.LongestAttempt() + absl::GetFlag(FLAGS_dispatch_context_timeout);
         if (longest_attempt >= lease) {
           return absl::InvalidArgumentError(absl::StrCat(
               "delivery_timeout: one attempt may take ", absl::FormatDuration(longest_attempt),
               " (providers and the context lookup), more than the lease of a claimed "
               "notification (--dispatch_lease=",
               absl::FormatDuration(lease), ")"));
         }
         // One-click unsubscribe: links signed with a key kept in the store
         // (valid across restarts), served by a small HTTP listener.
         std::shared_ptr<const cxp::notify::UnsubscribeLinks> unsubscribe_links;
         std::shared_ptr<cxp::notify::UnsubscribeServer> unsubscribe_server;
         if (absl::GetFlag(FLAGS_unsubscribe_listen).empty() !=
             absl::GetFlag(FLAGS_unsubscribe_base_url).empty()) {
           return absl::InvalidArgumentError(
               "--unsubscribe_listen and --unsubscribe_base_url: set both or neither");
         }
         if (!absl::GetFlag(FLAGS_unsubscribe_listen).empty()) {
           ASSIGN_OR_RETURN(std::string unsubscribe_key,
                            cxp::server::StoredSecret(*rocks, "unsubscribe_token_key"));
           ASSIGN_OR_RETURN(
               cxp::notify::UnsubscribeLinks links,
               cxp::notify::UnsubscribeLinks::Create(std::move(unsubscribe_key),
                                                     absl::GetFlag(FLAGS_unsubscribe_base_url)));
           unsubscribe_links =
               std::make_shared<const cxp::notify::UnsubscribeLinks>(std::move(links));
           ASSIGN_OR_RETURN(unsubscribe_server,
                            cxp::notify::UnsubscribeServer::Start(
                                {.listen_address = absl::GetFlag(FLAGS_unsubscribe_listen),
                                 .wait_timeout = 4 * absl::GetFlag(FLAGS_context_write_timeout) +
                                                 absl::Seconds(1)},
                                *unsubscribe_links, *context));
           cxp::server::LogEvent(
               "info", "notify_service",
               absl::StrCat("unsubscribe links served on port ", unsubscribe_server->port()));
         }
         ASSIGN_OR_RETURN(
             std::shared_ptr<dispatch::ChannelSenders> senders,
             dispatch::ChannelSenders::Create(std::move(providers), nullptr, unsubscribe_links));
         std::shared_ptr<dispatch::CustomerSource> customers;
         std::shared_ptr<dispatch::TimelineSink> timeline;
         std::shared_ptr<dispatch::Dispatcher> dispatcher;
         std::shared_ptr<cxp::notify::TriggerProcessor> trigger_processor;
         std::shared_ptr<dispatch::TriggerConsumer> triggers;
         if (const cxp::client::ContextClient* client = context->client(); client != nullptr) {
           customers = std::make_shared<dispatch::ContextCustomerSource>(
               *client, absl::GetFlag(FLAGS_dispatch_context_timeout));
           timeline = std::make_shared<dispatch::ContextTimelineSink>(*client, absl::Seconds(5));
           dispatch_options.log = [](absl::string_view level, absl::string_view message) {
             cxp::server::LogEvent(level, "notify_service", message);
           };
           auto log = dispatch_options.log;
           ASSIGN_OR_RETURN(dispatcher,
                            dispatch::Dispatcher::Start(*core, *senders, *customers, timeline.get(),
                                                        std::move(dispatch_options)));
           // Trigger rules: context_service's change stream, per tenant
           // with rules, resumed from the stored position after a restart.
           trigger_processor =
               std::make_shared<cxp::notify::TriggerProcessor>(*core, *config, *store, log);
           triggers = dispatch::TriggerConsumer::Start(
               *store, *config, *trigger_processor, *client,
               {.lookup_timeout = absl::GetFlag(FLAGS_dispatch_context_timeout), .log = log});
         } else {
           cxp::server::LogEvent("warning", "notify_service",
                                 "no --context_service: notifications are accepted but not "
                                 "delivered (recipients cannot be looked up), and trigger "
                                 "rules do not fire (no change stream)");
         }

         // Every committed change goes to the open WatchNotifications
         // streams, and wakes the dispatcher when it made work due now.
         auto watchers = std::make_shared<cxp::notify::NotificationWatchers>();
         core->SetChangeSink([watchers, dispatcher](const std::string& tenant,
                                                    const cxp::notify::v1::Notification& changed) {
           watchers->Publish(tenant, changed);
           if (dispatcher != nullptr) dispatcher->OnChange(changed);
         });

         ServiceSet set;
         auto service = std::make_unique<cxp::notify::NotifyServiceImpl>(options, *core, *config,
                                                                         *context, *watchers);
         cxp::notify::NotifyServiceImpl* notify = service.get();
         set.Add(cxp::notify::v1::NotifyService::service_full_name(), std::move(service));
         // Watchers reconnect to the next instance; draining need not wait.
         // Deliveries in flight get --dispatch_stop_timeout; what they leave
         // is claimed again after a restart, once its lease expires.
         set.on_shutdown = [notify, dispatcher, triggers, unsubscribe_server, retention_thread] {
           if (retention_thread != nullptr) retention_thread->Stop();
           if (unsubscribe_server != nullptr) unsubscribe_server->Stop();
           notify->EndStreams();
           if (triggers != nullptr) triggers->Stop();
           if (dispatcher != nullptr) dispatcher->Stop();
         };
         set.on_drained = [rocks, store, core, config, context, watchers, dispatcher, senders,
                           customers, timeline, trigger_processor, triggers, unsubscribe_links,
                           unsubscribe_server, retention_thread] {
           if (retention_thread != nullptr) retention_thread->Stop();
           if (unsubscribe_server != nullptr) unsubscribe_server->Stop();
           if (triggers != nullptr) triggers->Stop();
           if (dispatcher != nullptr) dispatcher->Stop();
           core->SetChangeSink(nullptr);
           (void)rocks->Close();
         };
         return set;
       }},
      argc, argv);
}
