// ChannelSenders — turns a DeliveryOrder (channel, address, rendered
// content) into a message for its channel and sends it through that
// channel's providers in order (delivery::ProviderChain), for the
// dispatcher's workers:
//
//   EMAIL              the email providers (SMTP). Message-ID
//                      "<notification id>@<from domain>": the same on every
//                      retry, so receiving systems can drop duplicates.
//                      MARKETING email carries the RFC 8058 one-click
//                      List-Unsubscribe headers with a signed link for the
//                      notification when `unsubscribe_links` is given.
//   SMS                the SMS providers' HTTP APIs, JSON body
//                      {"to": "+8210...", "text": "...", "reference": "<id>",
//                       "from": "<sender id, when configured>"}
//   PUSH               the push providers' HTTP APIs, JSON body
//                      {"token": "<device>", "title": ..., "body": ...,
//                       "data": {...}, "reference": "<id>"}
//   CHAT, SOCIAL, WEB  the tenant's webhook for the channel (Standard
//                      Webhooks), webhook-id = the notification id (stable
//                      across retries), JSON body
//                      {"type": "notification.message", "data": {
//                        "notification": "notifications/<id>",
//                        "channel": "CHAT", "to": "<address>",
//                        "customer": "customers/<id>" (when resolved),
//                        "template": ..., "template_version": 3,
//                        "language_code": "ko", "payload": {<rendered>}}}
//
// A channel without providers (or without a webhook for the tenant) is a
// permanent failure ("no providers configured"), so the notification moves
// on to its next channel at once.
//
// Threading: Send is const and thread-safe; it blocks for the providers'
// calls in turn (each bounded by its connect and total timeouts): call it
// from the dispatcher's worker threads only, never from gRPC threads.
// Ownership: owns its senders and their shared HTTP client.

#ifndef CXP_NOTIFY_SERVICE_DISPATCH_CHANNEL_SENDERS_H_
#define CXP_NOTIFY_SERVICE_DISPATCH_CHANNEL_SENDERS_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "notify_service/core/notify_core.h"
#include "notify_service/core/unsubscribe_token.h"
#include "notify_service/delivery/http_client.h"
#include "notify_service/delivery/http_provider_sender.h"
#include "notify_service/delivery/mime_message.h"
#include "notify_service/delivery/provider_chain.h"
#include "notify_service/delivery/smtp_sender.h"
#include "notify_service/delivery/webhook_sender.h"
#include "notify_service/dispatch/providers_config.h"

namespace cxp::notify::dispatch {

class ChannelSenders {
 public:
  using Clock = std::function<absl::Time()>;

  // INVALID_ARGUMENT naming the setting when `config` does not validate.
  // `clock` (default absl::Now) stamps Date headers, webhook timestamps and
  // unsubscribe links. `unsubscribe_links` null: no List-Unsubscribe.
  static absl::StatusOr<std::unique_ptr<ChannelSenders>> Create(
      ProvidersConfig config, Clock clock = nullptr,
      std::shared_ptr<const UnsubscribeLinks> unsubscribe_links = nullptr);
  ChannelSenders(const ChannelSenders&) = delete;
  ChannelSenders& operator=(const ChannelSenders&) = delete;

  // Sends `order` (order.send must be true) for `tenant`. The report names
  // the provider that delivered or refused (or the last one tried) and
  // whether it sends receipts.
  AttemptReport Send(const std::string& tenant, const DeliveryOrder& order) const;

  const ProvidersConfig& config() const { return config_; }

  // The bodies described in the header (exposed for tests).
  static std::string SmsBody(const DeliveryOrder& order, const HttpProvider& provider);
  static std::string PushBody(const DeliveryOrder& order);
  static std::string WebhookBody(const DeliveryOrder& order);

 private:
  ChannelSenders(ProvidersConfig config, Clock clock,
                 std::shared_ptr<const UnsubscribeLinks> unsubscribe_links);
  AttemptReport Report(const delivery::ChainResult& chain) const;

  const ProvidersConfig config_;
  const Clock clock_;
  const std::shared_ptr<const UnsubscribeLinks> unsubscribe_links_;  // may be null
  // Declared before the senders that borrow it.
  std::unique_ptr<delivery::HttpClient> http_client_;
  std::vector<std::unique_ptr<delivery::SmtpSender>> smtp_senders_;
  std::vector<std::unique_ptr<delivery::HttpProviderSender>> sms_senders_;
  std::vector<std::unique_ptr<delivery::HttpProviderSender>> push_senders_;
  std::unique_ptr<delivery::WebhookSender> webhook_sender_;
  delivery::ProviderChain<delivery::EmailMessage> email_chain_;
  // The JSON body differs per SMS provider ("from"): the chain's message is
  // the order, each provider builds its own body.
  delivery::ProviderChain<DeliveryOrder> sms_chain_;
  delivery::ProviderChain<std::string> push_chain_;
  absl::flat_hash_set<std::string> receipt_providers_;  // "sms:<name>", "push:<name>"
};

}  // namespace cxp::notify::dispatch

#endif  // CXP_NOTIFY_SERVICE_DISPATCH_CHANNEL_SENDERS_H_
