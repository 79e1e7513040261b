#include "notify_service/delivery/http_provider_sender.h"

#include <cmath>
#include <cstdint>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "notify_service/delivery/curl_util.h"

namespace cxp::notify::delivery {
namespace {

using google::protobuf::Value;

bool HasLineBreak(absl::string_view text) {
  return absl::StrContains(text, '\r') || absl::StrContains(text, '\n');
}

absl::Status ValidateConfig(const HttpProviderConfig& config) {
  if (config.name.empty()) return absl::InvalidArgumentError("http_provider.name: must be set");
  const bool scheme_ok = absl::StartsWithIgnoreCase(config.url, "http://") ||
                         absl::StartsWithIgnoreCase(config.url, "https://");
  bool chars_ok = true;
  for (char c : config.url) chars_ok = chars_ok && c > 0x20 && c < 0x7f;
  if (!scheme_ok || !chars_ok) {
    return absl::InvalidArgumentError(
        "http_provider.url: must be an http or https URL without spaces or control characters");
  }
  bool name_ok = true;
  for (char c : config.auth_header_name) {
    name_ok = name_ok && c > 0x20 && c < 0x7f && c != ':';
  }
  if (!name_ok || (config.auth_header_name.empty() && !config.auth_header_value.empty())) {
    return absl::InvalidArgumentError(
        "http_provider.auth_header_name: must be a header name (set when a value is)");
  }
  if (HasLineBreak(config.auth_header_value)) {
    return absl::InvalidArgumentError("http_provider.auth_header_value: must not contain CR or LF");
  }
  if (!config.message_id_path.empty()) {
    for (absl::string_view step : absl::StrSplit(config.message_id_path, '.')) {
      if (step.empty()) {
        return absl::InvalidArgumentError(
            "http_provider.message_id_path: must be dot-separated non-empty keys");
      }
    }
  }
  if (config.connect_timeout <= absl::ZeroDuration() ||
      config.total_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("http_provider timeouts: must be positive");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> FindJsonField(absl::string_view json, absl::string_view dotted_path) {
  Value root;
  const auto parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), root.mutable_struct_value());
  if (!parsed.ok()) return absl::InvalidArgumentError("response: not a JSON object");
  const Value* current = &root;
  for (absl::string_view step : absl::StrSplit(dotted_path, '.')) {
    const Value* next = nullptr;
    size_t index = 0;
    if (current->has_struct_value()) {
      const auto& fields = current->struct_value().fields();
      if (auto it = fields.find(std::string(step)); it != fields.end()) next = &it->second;
    } else if (current->has_list_value() && absl::SimpleAtoi(step, &index) &&
               index < static_cast<size_t>(current->list_value().values_size())) {
      next = &current->list_value().values(static_cast<int>(index));
    }
    if (next == nullptr) {
      return absl::NotFoundError(absl::StrCat("response: no field \"", dotted_path, "\""));
    }
    current = next;
  }
  switch (current->kind_case()) {
    case Value::kStringValue:
      return current->string_value();
    case Value::kBoolValue:
      return std::string(current->bool_value() ? "true" : "false");
    case Value::kNumberValue: {
      const double number = current->number_value();
      if (std::trunc(number) == number && std::fabs(number) < 9.2e18) {
        return absl::StrCat(static_cast<int64_t>(number));
      }
      return absl::StrCat(number);
    }
    default:
      return absl::NotFoundError(
          absl::StrCat("response: field \"", dotted_path, "\" is not a string or number"));
  }
}

absl::StatusOr<HttpProviderSender> HttpProviderSender::Create(HttpProviderConfig config,
                                                              HttpClient& http_client,
                                                              Clock clock) {
  if (absl::Status status = ValidateConfig(config); !status.ok()) return status;
  return HttpProviderSender(std::move(config), http_client,
                            clock ? std::move(clock) : Clock(absl::Now));
}

DeliveryResult HttpProviderSender::Send(absl::string_view json_body) const {
  HttpRequest request;
  request.url = config_.url;
  if (!config_.auth_header_name.empty()) {
    request.headers.emplace_back(config_.auth_header_name, config_.auth_header_value);
  }
  request.body = std::string(json_body);
  request.connect_timeout = config_.connect_timeout;
  request.total_timeout = config_.total_timeout;
  absl::StatusOr<HttpResponse> response = http_client_->Post(request);
  if (!response.ok()) return internal::TransferFailure(response.status());
  if (HttpStatusOutcome(response->status) != DeliveryOutcome::kDelivered) {
    return HttpFailure(response->status, ParseRetryAfter(response->retry_after, clock_()),
                       response->body);
  }
  std::string detail = absl::StrCat("HTTP ", response->status);
  if (config_.message_id_path.empty()) return DeliveryResult::Delivered("", std::move(detail));
  absl::StatusOr<std::string> id = FindJsonField(response->body, config_.message_id_path);
  if (!id.ok()) {
    absl::StrAppend(&detail, "; message id unknown: ", id.status().message());
    return DeliveryResult::Delivered("", std::move(detail));
  }
  return DeliveryResult::Delivered(*std::move(id), std::move(detail));
}

}  // namespace cxp::notify::delivery
