#include "notify_service/dispatch/dispatch_flags.h"

#include <utility>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

ABSL_FLAG(std::string, providers_config, "",
          "JSON file of delivery providers per channel, several per channel in failover order "
          "(email: SMTP; sms, push: HTTP provider APIs; webhooks per tenant and channel); see "
          "notify_service/dispatch/providers_config.h. A channel is set here or by the "
          "--smtp_* / --webhook_* / --sms_provider_* / --push_provider_* flags, not both.");
ABSL_FLAG(std::string, smtp_host, "", "SMTP server for email; empty: no email provider by flag.");
ABSL_FLAG(int, smtp_port, 587, "SMTP server port.");
ABSL_FLAG(std::string, smtp_starttls, "required",
          "STARTTLS: none, opportunistic or required (use required outside tests).");
ABSL_FLAG(bool, smtp_implicit_tls, false, "SMTP over TLS from the first byte (smtps, port 465).");
ABSL_FLAG(std::string, smtp_user, "", "SMTP AUTH user; empty: no AUTH.");
ABSL_FLAG(std::string, smtp_password_file, "", "File holding the SMTP AUTH password.");
ABSL_FLAG(std::string, smtp_from, "",
          "Sender of notification email: 'alerts@shop.example' or 'Shop <alerts@shop.example>'.");
ABSL_FLAG(std::string, smtp_ca_file, "", "PEM CA bundle for the SMTP server; empty: the system's.");
ABSL_FLAG(std::string, webhook_url, "",
          "Webhook endpoint of every tenant for CHAT, SOCIAL and WEB notifications (Standard "
          "Webhooks, webhook-id = notification id); per-tenant endpoints go in "
          "--providers_config.");
ABSL_FLAG(std::string, webhook_secret_file, "",
          "File holding the webhook signing secret (whsec_<base64>).");
ABSL_FLAG(std::string, sms_provider_url, "", "SMS provider HTTP API (JSON POST).");
ABSL_FLAG(std::string, sms_provider_auth_header_file, "",
          "File holding the SMS provider's auth header line, e.g. 'Authorization: Bearer ...'.");
ABSL_FLAG(std::string, sms_provider_message_id_path, "",
          "Dotted path of the provider's message id in its JSON answer, e.g. 'message.id'.");
ABSL_FLAG(std::string, sms_provider_from, "", "SMS sender id or number sent as 'from'.");
ABSL_FLAG(std::string, push_provider_url, "", "Push provider HTTP API (JSON POST).");
ABSL_FLAG(std::string, push_provider_auth_header_file, "",
          "File holding the push provider's auth header line.");
ABSL_FLAG(std::string, push_provider_message_id_path, "",
          "Dotted path of the push provider's message id in its JSON answer.");
ABSL_FLAG(absl::Duration, delivery_connect_timeout, absl::Seconds(5),
          "Connect timeout of every provider call (unless --providers_config sets one).");
ABSL_FLAG(absl::Duration, delivery_timeout, absl::Seconds(30),
          "Total timeout of one provider call (unless --providers_config sets one).");
ABSL_FLAG(int, dispatch_workers, 128,
          "Deliveries in flight at once (blocking provider calls). More workers also mean "
          "larger batches of recipient lookups and timeline appends to context_service.");
ABSL_FLAG(absl::Duration, dispatch_stop_timeout, absl::Seconds(10),
          "On shutdown, how long in-flight deliveries may finish; unfinished ones are delivered "
          "after the restart once their lease expires (same webhook-id). Keep below "
          "--drain_timeout.");
ABSL_FLAG(absl::Duration, dispatch_context_timeout, absl::Seconds(2),
          "Deadline of the customer-context lookup before each delivery; without an answer the "
          "notification waits a minute and is tried again.");
ABSL_FLAG(absl::Duration, dispatch_lease, absl::Minutes(2),
          "How long a claimed notification stays SENDING before it is claimed again, e.g. after "
          "a crash mid-delivery (then sent again with the same webhook-id / Message-ID). Must "
          "exceed the longest attempt: --dispatch_context_timeout plus the providers' total "
          "timeouts of a channel.");
ABSL_FLAG(absl::Duration, dispatch_retry_base, absl::Seconds(2),
          "Retry backoff after a temporary delivery failure: the n-th retry waits a random time "
          "up to min(--dispatch_retry_cap, base * 2^(n-1)).");
ABSL_FLAG(absl::Duration, dispatch_retry_cap, absl::Minutes(30),
          "Longest wait between retries of a channel (see --dispatch_retry_base).");

namespace cxp::notify::dispatch {
namespace {

absl::Status Invalid(absl::string_view flag, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", problem));
}

absl::Status Both(absl::string_view channel, absl::string_view flag) {
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, ": ", channel,
                   " providers are set in --providers_config too; set them in one place"));
}

absl::StatusOr<HttpProvider> HttpFromFlags(absl::string_view name, const std::string& url,
                                           const std::string& auth_file, const std::string& id_path,
                                           absl::string_view prefix) {
  HttpProvider provider;
  provider.http.name = std::string(name);
  provider.http.url = url;
  if (!auth_file.empty()) {
    const std::string flag = absl::StrCat("--", prefix, "_auth_header_file");
    ASSIGN_OR_RETURN(std::string header, ReadSecretFile(auth_file, flag));
    RETURN_IF_ERROR(SplitAuthHeader(header, flag, provider.http.auth_header_name,
                                    provider.http.auth_header_value));
  }
  provider.http.message_id_path = id_path;
  provider.http.connect_timeout = absl::GetFlag(FLAGS_delivery_connect_timeout);
  provider.http.total_timeout = absl::GetFlag(FLAGS_delivery_timeout);
  return provider;
}

}  // namespace

absl::StatusOr<ProvidersConfig> ProvidersConfigFromFlags() {
  const absl::Duration connect = absl::GetFlag(FLAGS_delivery_connect_timeout);
  const absl::Duration total = absl::GetFlag(FLAGS_delivery_timeout);
  if (connect <= absl::ZeroDuration())
    return Invalid("delivery_connect_timeout", "must be positive");
  if (total <= absl::ZeroDuration()) return Invalid("delivery_timeout", "must be positive");
  ProvidersConfig config;
  const std::string file = absl::GetFlag(FLAGS_providers_config);
  if (!file.empty()) {
    ASSIGN_OR_RETURN(config, ReadProvidersConfigFile(file, connect, total));
  }
  if (const std::string host = absl::GetFlag(FLAGS_smtp_host); !host.empty()) {
    if (!config.email.empty()) return Both("email", "smtp_host");
    EmailProvider provider;
    provider.name = "smtp";
    provider.smtp.host = host;
    provider.smtp.port = absl::GetFlag(FLAGS_smtp_port);
    if (provider.smtp.port < 1 || provider.smtp.port > 65535) {
      return Invalid("smtp_port", "must be from 1 to 65535");
    }
    ASSIGN_OR_RETURN(provider.smtp.starttls,
                     ParseStartTls(absl::GetFlag(FLAGS_smtp_starttls), "--smtp_starttls"));
    provider.smtp.implicit_tls = absl::GetFlag(FLAGS_smtp_implicit_tls);
    provider.smtp.username = absl::GetFlag(FLAGS_smtp_user);
    if (const std::string path = absl::GetFlag(FLAGS_smtp_password_file); !path.empty()) {
      ASSIGN_OR_RETURN(provider.smtp.password, ReadSecretFile(path, "--smtp_password_file"));
    }
    ASSIGN_OR_RETURN(provider.smtp.from,
                     ParseFromAddress(absl::GetFlag(FLAGS_smtp_from), "--smtp_from"));
    provider.smtp.ca_file = absl::GetFlag(FLAGS_smtp_ca_file);
    provider.smtp.connect_timeout = connect;
    provider.smtp.total_timeout = total;
    config.email.push_back(std::move(provider));
  }
  if (const std::string url = absl::GetFlag(FLAGS_webhook_url); !url.empty()) {
    for (const WebhookTarget& target : config.webhooks) {
      if (target.tenant.empty() && target.channel == cxp::type::v1::CHANNEL_UNSPECIFIED) {
        return Both("the global webhook", "webhook_url");
      }
    }
    WebhookTarget target;
    target.endpoint.url = url;
    const std::string secret_file = absl::GetFlag(FLAGS_webhook_secret_file);
    if (secret_file.empty()) return Invalid("webhook_secret_file", "required with --webhook_url");
    ASSIGN_OR_RETURN(target.endpoint.secret, ReadSecretFile(secret_file, "--webhook_secret_file"));
    target.endpoint.connect_timeout = connect;
    target.endpoint.total_timeout = total;
    config.webhooks.push_back(std::move(target));
  }
  if (const std::string url = absl::GetFlag(FLAGS_sms_provider_url); !url.empty()) {
    if (!config.sms.empty()) return Both("sms", "sms_provider_url");
    ASSIGN_OR_RETURN(
        HttpProvider provider,
        HttpFromFlags("sms", url, absl::GetFlag(FLAGS_sms_provider_auth_header_file),
                      absl::GetFlag(FLAGS_sms_provider_message_id_path), "sms_provider"));
    provider.from = absl::GetFlag(FLAGS_sms_provider_from);
    config.sms.push_back(std::move(provider));
  }
  if (const std::string url = absl::GetFlag(FLAGS_push_provider_url); !url.empty()) {
    if (!config.push.empty()) return Both("push", "push_provider_url");
    ASSIGN_OR_RETURN(
        HttpProvider provider,
        HttpFromFlags("push", url, absl::GetFlag(FLAGS_push_provider_auth_header_file),
                      absl::GetFlag(FLAGS_push_provider_message_id_path), "push_provider"));
    config.push.push_back(std::move(provider));
  }
  RETURN_IF_ERROR(ValidateProvidersConfig(config, "providers (flags)"));
  return config;
}

absl::StatusOr<DispatcherOptions> DispatcherOptionsFromFlags() {
  DispatcherOptions options;
  options.workers = absl::GetFlag(FLAGS_dispatch_workers);
  if (options.workers < 1 || options.workers > 1024) {
    return Invalid("dispatch_workers", "must be from 1 to 1024");
  }
  options.stop_timeout = absl::GetFlag(FLAGS_dispatch_stop_timeout);
  if (options.stop_timeout <= absl::ZeroDuration()) {
    return Invalid("dispatch_stop_timeout", "must be positive");
  }
  if (absl::GetFlag(FLAGS_dispatch_context_timeout) <= absl::ZeroDuration()) {
    return Invalid("dispatch_context_timeout", "must be positive");
  }
  return options;
}

absl::Status ApplyCoreFlags(NotifyCoreOptions& options) {
  options.lease = absl::GetFlag(FLAGS_dispatch_lease);
  if (options.lease <= absl::ZeroDuration()) return Invalid("dispatch_lease", "must be positive");
  options.backoff.base = absl::GetFlag(FLAGS_dispatch_retry_base);
  options.backoff.cap = absl::GetFlag(FLAGS_dispatch_retry_cap);
  if (options.backoff.base <= absl::ZeroDuration()) {
    return Invalid("dispatch_retry_base", "must be positive");
  }
  if (options.backoff.cap < options.backoff.base) {
    return Invalid("dispatch_retry_cap", "must not be below --dispatch_retry_base");
  }
  return absl::OkStatus();
}

}  // namespace cxp::notify::dispatch
