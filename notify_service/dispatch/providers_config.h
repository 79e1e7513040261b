// ProvidersConfig — which providers deliver each channel of notify_service,
// in failover order, read from flags (dispatch_flags.h) and/or a JSON file
// (--providers_config):
//
//   {
//     "email": [{"name": "smtp-main", "host": "smtp.example.com", "port": 587,
//                "starttls": "required",            // none | opportunistic | required
//                "implicit_tls": false,             // smtps:// (port 465)
//                "username": "cxp", "password_file": "/etc/cxp/smtp_password",
//                "from": "alerts@shop.example", "from_name": "Shop",
//                "ehlo_name": "notify.shop.example", "ca_file": "",
//                "connect_timeout": "10s", "total_timeout": "60s"}],
//     "sms":   [{"name": "sms-a", "url": "https://sms.example/v1/messages",
//                "auth_header_file": "/etc/cxp/sms_a_auth",   // "Authorization: Bearer ..."
//                "message_id_path": "message.id", "sends_receipts": true,
//                "from": "SHOP", "connect_timeout": "5s", "total_timeout": "15s"}],
//     "push":  [ ...as sms, without "from"... ],
//     "webhooks": [{"tenant": "acme", "channel": "CHAT",   // both optional
//                   "url": "https://hooks.acme.example/cxp",
//                   "secret_file": "/etc/cxp/acme_webhook_secret",   // whsec_...
//                   "connect_timeout": "5s", "total_timeout": "15s"}]
//   }
//
// Secrets come from files (password_file, auth_header_file, secret_file;
// the file's content without its trailing newline) or inline (password,
// auth_header, secret) — inline values suit tests, files suit Kubernetes
// secrets mounted as volumes. Several providers of a channel are tried in
// order (delivery::ProviderChain: failover on a transient failure). A
// webhook applies to the tenant it names (every tenant without "tenant")
// and the channel it names (CHAT, SOCIAL and WEB without "channel"); the
// most specific one wins: tenant and channel, tenant, channel, neither.
//
// Errors: INVALID_ARGUMENT naming the setting as a path, e.g.
// "providers_config: sms[1].url: must be an http or https URL" or
// "--smtp_port: must be from 1 to 65535"; unknown keys are refused (a typo
// would otherwise silently drop a setting). Secrets are never quoted.
//
// Plain values; thread-compatible.

#ifndef CXP_NOTIFY_SERVICE_DISPATCH_PROVIDERS_CONFIG_H_
#define CXP_NOTIFY_SERVICE_DISPATCH_PROVIDERS_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cxp/type/v1/channel.pb.h"
#include "notify_service/delivery/http_provider_sender.h"
#include "notify_service/delivery/smtp_sender.h"
#include "notify_service/delivery/webhook_sender.h"

namespace cxp::notify::dispatch {

struct EmailProvider {
  std::string name;  // in the attempt history
  delivery::SmtpConfig smtp;
};

// An SMS or push provider's HTTP API (delivery::HttpProviderSender).
struct HttpProvider {
  delivery::HttpProviderConfig http;  // http.name is the provider's name
  // Whether it reports delivery receipts (ReportDeliveryStatus); if not,
  // an accepted message counts as DELIVERED at once.
  bool sends_receipts = false;
  std::string from;  // SMS sender id or number; "" leaves it to the provider
};

struct WebhookTarget {
  std::string tenant;                                                   // "" = every tenant
  cxp::type::v1::Channel channel = cxp::type::v1::CHANNEL_UNSPECIFIED;  // = CHAT, SOCIAL, WEB
  delivery::WebhookEndpoint endpoint;
};

struct ProvidersConfig {
  std::vector<EmailProvider> email;
  std::vector<HttpProvider> sms;
  std::vector<HttpProvider> push;
  std::vector<WebhookTarget> webhooks;

  // The most specific webhook for `tenant` and `channel` (see the header),
  // or nullptr.
  const WebhookTarget* WebhookFor(absl::string_view tenant, cxp::type::v1::Channel channel) const;

  // The longest one delivery attempt on a channel can take: the sum of its
  // providers' total timeouts (each is tried in turn).
  absl::Duration LongestAttempt() const;

  // "email: smtp-main; sms: sms-a, sms-b; push: none; webhooks: 2" for the
  // start-up log (no secrets).
  std::string Summary() const;
};

// Checks every provider as its sender would (plus unique names per channel,
// no two webhooks for the same tenant and channel); errors name the setting
// under `source` ("providers_config").
absl::Status ValidateProvidersConfig(const ProvidersConfig& config, absl::string_view source);

// The JSON document above; `source` names it in errors. Durations are
// absl::ParseDuration strings ("10s", "1m30s"); unset timeouts get
// `default_connect_timeout` / `default_total_timeout`. Reads the secret
// files it names. Validated.
absl::StatusOr<ProvidersConfig> ParseProvidersConfig(absl::string_view json,
                                                     absl::string_view source,
                                                     absl::Duration default_connect_timeout,
                                                     absl::Duration default_total_timeout);
// ParseProvidersConfig of the file at `path`; errors name the file.
absl::StatusOr<ProvidersConfig> ReadProvidersConfigFile(const std::string& path,
                                                        absl::Duration default_connect_timeout,
                                                        absl::Duration default_total_timeout);

// A secret from a file: its content without trailing CR/LF and spaces.
// INVALID_ARGUMENT "<setting>: cannot read <path>: ..." or "<setting>: <path>
// is empty".
absl::StatusOr<std::string> ReadSecretFile(const std::string& path, absl::string_view setting);

// "Authorization: Bearer x" -> name and value (trimmed). INVALID_ARGUMENT
// naming `setting` without a ':' or with an empty name; never quotes the
// value.
absl::Status SplitAuthHeader(absl::string_view header, absl::string_view setting, std::string& name,
                             std::string& value);

// "none", "opportunistic", "required" (case-insensitive).
absl::StatusOr<delivery::StartTls> ParseStartTls(absl::string_view text, absl::string_view setting);

// "alerts@shop.example" or "Shop Alerts <alerts@shop.example>".
absl::StatusOr<delivery::EmailAddress> ParseFromAddress(absl::string_view text,
                                                        absl::string_view setting);

}  // namespace cxp::notify::dispatch

#endif  // CXP_NOTIFY_SERVICE_DISPATCH_PROVIDERS_CONFIG_H_
