// Flags of notify_service's dispatcher and providers (Abseil flags), for
// notify_service/main.cc. ProvidersConfigFromFlags() and
// DispatcherOptionsFromFlags() read them after absl::ParseCommandLine().
//
//   --providers_config=FILE       JSON providers file (providers_config.h)
//   --smtp_host, --smtp_port, --smtp_starttls, --smtp_implicit_tls,
//   --smtp_user, --smtp_password_file, --smtp_from, --smtp_ca_file
//                                 one SMTP provider ("smtp")
//   --webhook_url, --webhook_secret_file
//                                 the webhook of every tenant for CHAT,
//                                 SOCIAL and WEB
//   --sms_provider_url, --sms_provider_auth_header_file,
//   --sms_provider_message_id_path, --sms_provider_from
//                                 one SMS provider ("sms")
//   --push_provider_url, --push_provider_auth_header_file,
//   --push_provider_message_id_path
//                                 one push provider ("push")
//   --delivery_connect_timeout, --delivery_timeout
//                                 provider timeouts unless the file sets them
//   --dispatch_workers, --dispatch_stop_timeout, --dispatch_context_timeout
//   --dispatch_lease, --dispatch_retry_base, --dispatch_retry_cap
//                                 the core's lease and retry backoff
//
// A channel is configured by the flags or by the file, not both (an error
// names the flag). Secrets come from files only, never from the command
// line (visible in `ps`).

#ifndef CXP_NOTIFY_SERVICE_DISPATCH_DISPATCH_FLAGS_H_
#define CXP_NOTIFY_SERVICE_DISPATCH_DISPATCH_FLAGS_H_

#include <string>

#include "absl/flags/declare.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "notify_service/core/notify_core.h"
#include "notify_service/dispatch/dispatcher.h"
#include "notify_service/dispatch/providers_config.h"

ABSL_DECLARE_FLAG(std::string, providers_config);
ABSL_DECLARE_FLAG(std::string, smtp_host);
ABSL_DECLARE_FLAG(int, smtp_port);
ABSL_DECLARE_FLAG(std::string, smtp_starttls);
ABSL_DECLARE_FLAG(bool, smtp_implicit_tls);
ABSL_DECLARE_FLAG(std::string, smtp_user);
ABSL_DECLARE_FLAG(std::string, smtp_password_file);
ABSL_DECLARE_FLAG(std::string, smtp_from);
ABSL_DECLARE_FLAG(std::string, smtp_ca_file);
ABSL_DECLARE_FLAG(std::string, webhook_url);
ABSL_DECLARE_FLAG(std::string, webhook_secret_file);
ABSL_DECLARE_FLAG(std::string, sms_provider_url);
ABSL_DECLARE_FLAG(std::string, sms_provider_auth_header_file);
ABSL_DECLARE_FLAG(std::string, sms_provider_message_id_path);
ABSL_DECLARE_FLAG(std::string, sms_provider_from);
ABSL_DECLARE_FLAG(std::string, push_provider_url);
ABSL_DECLARE_FLAG(std::string, push_provider_auth_header_file);
ABSL_DECLARE_FLAG(std::string, push_provider_message_id_path);
ABSL_DECLARE_FLAG(absl::Duration, delivery_connect_timeout);
ABSL_DECLARE_FLAG(absl::Duration, delivery_timeout);
ABSL_DECLARE_FLAG(int, dispatch_workers);
ABSL_DECLARE_FLAG(absl::Duration, dispatch_stop_timeout);
ABSL_DECLARE_FLAG(absl::Duration, dispatch_context_timeout);
ABSL_DECLARE_FLAG(absl::Duration, dispatch_lease);
ABSL_DECLARE_FLAG(absl::Duration, dispatch_retry_base);
ABSL_DECLARE_FLAG(absl::Duration, dispatch_retry_cap);

namespace cxp::notify::dispatch {

// The providers the flags and --providers_config name, validated.
// INVALID_ARGUMENT naming the flag or the file's setting.
absl::StatusOr<ProvidersConfig> ProvidersConfigFromFlags();

// workers and stop_timeout from the flags; INVALID_ARGUMENT naming the flag.
absl::StatusOr<DispatcherOptions> DispatcherOptionsFromFlags();

// Sets options.lease and options.backoff's base and cap from the flags
// (other fields untouched); INVALID_ARGUMENT naming the flag.
absl::Status ApplyCoreFlags(NotifyCoreOptions& options);

}  // namespace cxp::notify::dispatch

#endif  // CXP_NOTIFY_SERVICE_DISPATCH_DISPATCH_FLAGS_H_
