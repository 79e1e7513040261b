#include "notify_service/dispatch/channel_senders.h"

#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "common/validation/resource_id.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "notify_service/core/channel_plan.h"
#include "notify_service/validation/template_validation.h"

namespace cxp::notify::dispatch {
namespace {

namespace v1 = ::cxp::notify::v1;
namespace type = ::cxp::type::v1;
using google::protobuf::Struct;
using google::protobuf::Value;

void Put(Struct& object, const std::string& key, const std::string& value) {
  (*object.mutable_fields())[key].set_string_value(value);
}

std::string ToJson(const Struct& object) {
  // The same writer as the payload's size check (fast, keys sorted).
  absl::StatusOr<std::string> json = validation::PayloadJson(object);
  if (json.ok()) return *std::move(json);
  // Not JSON as it stands (a non-finite number): protobuf's printer decides.
  std::string fallback;
  (void)google::protobuf::util::MessageToJsonString(object, &fallback);
  return fallback;
}

std::string NotificationId(const DeliveryOrder& order) {
  return std::string(cxp::validation::ResourceIdOf(order.notification.name()));
}

delivery::DeliveryResult WrongContent(const DeliveryOrder& order) {
  return delivery::DeliveryResult::Permanent(
      absl::StrCat("no ", ChannelLabel(order.target.channel), " content in the order"));
}

bool IsWebhookChannel(type::Channel channel) {
  return channel == type::CHANNEL_CHAT || channel == type::CHANNEL_SOCIAL ||
         channel == type::CHANNEL_WEB;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ChannelSenders>> ChannelSenders::Create(
    ProvidersConfig config, Clock clock,
    std::shared_ptr<const UnsubscribeLinks> unsubscribe_links) {
  if (absl::Status status = ValidateProvidersConfig(config, "providers"); !status.ok()) {
    return status;
  }
  std::unique_ptr<ChannelSenders> senders(
      new ChannelSenders(std::move(config), clock ? std::move(clock) : Clock(absl::Now),
                         std::move(unsubscribe_links)));
  const ProvidersConfig& cfg = senders->config_;
  for (const EmailProvider& provider : cfg.email) {
    absl::StatusOr<delivery::SmtpSender> sender =
        delivery::SmtpSender::Create(provider.smtp, senders->clock_);
    if (!sender.ok()) return sender.status();
    senders->smtp_senders_.push_back(std::make_unique<delivery::SmtpSender>(*std::move(sender)));
    const delivery::SmtpSender* smtp = senders->smtp_senders_.back().get();
    senders->email_chain_.Add(provider.name, [smtp](const delivery::EmailMessage& message) {
      return smtp->Send(message);
    });
  }
  for (const HttpProvider& provider : cfg.sms) {
    absl::StatusOr<delivery::HttpProviderSender> sender = delivery::HttpProviderSender::Create(
        provider.http, *senders->http_client_, senders->clock_);
    if (!sender.ok()) return sender.status();
    senders->sms_senders_.push_back(
        std::make_unique<delivery::HttpProviderSender>(*std::move(sender)));
    const delivery::HttpProviderSender* http = senders->sms_senders_.back().get();
    const HttpProvider* config_entry = &provider;
    senders->sms_chain_.Add(provider.http.name, [http, config_entry](const DeliveryOrder& order) {
      return http->Send(SmsBody(order, *config_entry));
    });
    if (provider.sends_receipts) senders->receipt_providers_.insert("sms:" + provider.http.name);
  }
  for (const HttpProvider& provider : cfg.push) {
    absl::StatusOr<delivery::HttpProviderSender> sender = delivery::HttpProviderSender::Create(
        provider.http, *senders->http_client_, senders->clock_);
    if (!sender.ok()) return sender.status();
    senders->push_senders_.push_back(
        std::make_unique<delivery::HttpProviderSender>(*std::move(sender)));
    const delivery::HttpProviderSender* http = senders->push_senders_.back().get();
    senders->push_chain_.Add(provider.http.name,
                             [http](const std::string& body) { return http->Send(body); });
    if (provider.sends_receipts) senders->receipt_providers_.insert("push:" + provider.http.name);
  }
  return senders;
}

ChannelSenders::ChannelSenders(ProvidersConfig config, Clock clock,
                               std::shared_ptr<const UnsubscribeLinks> unsubscribe_links)
    : config_(std::move(config)),
      clock_(std::move(clock)),
      unsubscribe_links_(std::move(unsubscribe_links)),
      http_client_(std::make_unique<delivery::HttpClient>()),
      webhook_sender_(std::make_unique<delivery::WebhookSender>(*http_client_, clock_)) {}

AttemptReport ChannelSenders::Report(const delivery::ChainResult& chain) const {
  AttemptReport report;
  report.result = chain.result;
  if (!chain.delivered_by.empty()) {
    report.provider = chain.delivered_by;
  } else if (!chain.attempts.empty()) {
    report.provider = chain.attempts.back().provider;
  }
  return report;
}

AttemptReport ChannelSenders::Send(const std::string& tenant, const DeliveryOrder& order) const {
  const type::Channel channel = order.target.channel;
  const auto& content = order.content.content;
  if (channel == type::CHANNEL_EMAIL) {
    const auto* email = std::get_if<v1::EmailContent>(&content);
    if (email == nullptr) return {.provider = "", .result = WrongContent(order)};
    delivery::EmailMessage message;
    message.to.address = order.target.address;
    message.subject = email->subject();
    message.text_body = email->text_body();
    message.html_body = email->html_body();
    // One-click unsubscribe (RFC 8058) for marketing only: transactional
    // and service mail is not something to unsubscribe from.
    if (unsubscribe_links_ != nullptr && order.notification.purpose() == type::PURPOSE_MARKETING) {
      message.list_unsubscribe_url = unsubscribe_links_->UrlFor(
          UnsubscribeClaimFor(tenant, order.notification, order.target.address, clock_()));
    }
    if (!config_.email.empty()) {
      // Every provider of the chain sees the same Message-ID; the domain is
      // the first provider's sender domain.
      const std::string& from = config_.email.front().smtp.from.address;
      message.message_id =
          absl::StrCat(NotificationId(order), "@", from.substr(from.find('@') + 1));
    }
    return Report(email_chain_.Send(message));
  }
  if (channel == type::CHANNEL_SMS) {
    if (std::get_if<v1::SmsContent>(&content) == nullptr) {
      return {.provider = "", .result = WrongContent(order)};
    }
    AttemptReport report = Report(sms_chain_.Send(order));
    report.provider_sends_receipts =
        report.result.delivered() && receipt_providers_.contains("sms:" + report.provider);
    return report;
  }
  if (channel == type::CHANNEL_PUSH) {
    if (std::get_if<v1::PushContent>(&content) == nullptr) {
      return {.provider = "", .result = WrongContent(order)};
    }
    AttemptReport report = Report(push_chain_.Send(PushBody(order)));
    report.provider_sends_receipts =
        report.result.delivered() && receipt_providers_.contains("push:" + report.provider);
    return report;
  }
  if (IsWebhookChannel(channel)) {
    if (std::get_if<v1::WebhookContent>(&content) == nullptr) {
      return {.provider = "", .result = WrongContent(order)};
    }
    const WebhookTarget* target = config_.WebhookFor(tenant, channel);
    if (target == nullptr) {
      return {.provider = "webhook",
              .result = delivery::DeliveryResult::Permanent(
                  absl::StrCat("no webhook configured for tenant ", tenant, " and channel ",
                               ChannelLabel(channel)))};
    }
    delivery::WebhookMessage message;
    message.webhook_id = NotificationId(order);
    message.json_body = WebhookBody(order);
    return {.provider = "webhook", .result = webhook_sender_->Send(target->endpoint, message)};
  }
  return {.provider = "",
          .result = delivery::DeliveryResult::Permanent(
              absl::StrCat(ChannelLabel(channel), " is not a notification channel"))};
}

std::string ChannelSenders::SmsBody(const DeliveryOrder& order, const HttpProvider& provider) {
  const auto* sms = std::get_if<v1::SmsContent>(&order.content.content);
  Struct body;
  Put(body, "to", order.target.address);
  Put(body, "text", sms != nullptr ? sms->text() : "");
  Put(body, "reference", NotificationId(order));
  if (!provider.from.empty()) Put(body, "from", provider.from);
  return ToJson(body);
}

std::string ChannelSenders::PushBody(const DeliveryOrder& order) {
  const auto* push = std::get_if<v1::PushContent>(&order.content.content);
  Struct body;
  Put(body, "token", order.target.address);
  Put(body, "reference", NotificationId(order));
  if (push != nullptr) {
    Put(body, "title", push->title());
    Put(body, "body", push->body());
    Struct& data = *(*body.mutable_fields())["data"].mutable_struct_value();
    for (const auto& [key, value] : push->data()) Put(data, key, value);
  }
  return ToJson(body);
}

std::string ChannelSenders::WebhookBody(const DeliveryOrder& order) {
  const auto* webhook = std::get_if<v1::WebhookContent>(&order.content.content);
  Struct body;
  Put(body, "type", "notification.message");
  Struct& data = *(*body.mutable_fields())["data"].mutable_struct_value();
  Put(data, "notification", order.notification.name());
  Put(data, "channel", ChannelLabel(order.target.channel));
  Put(data, "to", order.target.address);
  if (!order.notification.resolved_customer().empty()) {
    Put(data, "customer", order.notification.resolved_customer());
  }
  Put(data, "template", order.content.template_name);
  (*data.mutable_fields())["template_version"].set_number_value(
      static_cast<double>(order.content.template_version));
  Put(data, "language_code", order.content.language_code);
  if (webhook != nullptr) {
    *(*data.mutable_fields())["payload"].mutable_struct_value() = webhook->payload();
  }
  return ToJson(body);
}

}  // namespace cxp::notify::dispatch
