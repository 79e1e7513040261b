#include "notify_service/delivery/provider_chain.h"

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"

namespace cxp::notify::delivery {

ChainResult RunProviderChain(absl::Span<const std::string> provider_names,
                             absl::FunctionRef<DeliveryResult(size_t)> send) {
  ChainResult chain;
  if (provider_names.empty()) {
    chain.result = DeliveryResult::Permanent("no providers configured");
    return chain;
  }
  std::optional<absl::Duration> retry_after;
  bool every_provider_gave_retry_after = true;
  std::string summary;
  for (size_t index = 0; index < provider_names.size(); ++index) {
    DeliveryResult result = send(index);
    chain.attempts.push_back({provider_names[index], result});
    if (!result.transient()) {
      if (result.delivered()) chain.delivered_by = provider_names[index];
      chain.result = std::move(result);
      return chain;
    }
    if (result.retry_after.has_value()) {
      retry_after = std::min(retry_after.value_or(absl::InfiniteDuration()), *result.retry_after);
    } else {
      every_provider_gave_retry_after = false;
    }
    absl::StrAppend(&summary, index == 0 ? "" : "; ", provider_names[index], ": ", result.detail);
  }
  if (provider_names.size() == 1) {
    chain.result = chain.attempts.front().result;
    return chain;
  }
  chain.result = DeliveryResult::Transient(
      absl::StrCat("all ", provider_names.size(), " providers failed: ", summary),
      every_provider_gave_retry_after ? retry_after : std::nullopt);
  return chain;
}

}  // namespace cxp::notify::delivery
