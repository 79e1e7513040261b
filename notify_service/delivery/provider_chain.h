// ProviderChain — the providers of one channel, tried in order within one
// delivery attempt:
//
//   delivered           stop: that provider delivered.
//   transient failure   the provider is down or throttling: try the next
//                       provider for the same attempt.
//   permanent failure   stop: the message itself is refused (a bad number, an
//                       unknown address), which another provider of the
//                       same channel would refuse too; the caller falls back
//                       to the next channel.
//
// When every provider failed transiently, the chain's result is transient
// (the notification waits for its backoff) and carries a Retry-After only
// when every provider gave one: the smallest, the time when the first of
// them expects to take traffic again. The result lists what each provider
// returned, for the notification's attempt history.
//
// No circuit breaker: a provider that is down is tried first again on the
// next attempt, costing at most its connect timeout.
//
// Ownership: the chain owns its send functions (which usually borrow a
// sender, which must outlive the chain). Threading: Send is const and
// thread-safe when the send functions are (SmtpSender, WebhookSender and
// HttpProviderSender are); it blocks for the providers' calls in turn, so it
// runs on the dispatcher's worker pool like the senders.

#ifndef CXP_NOTIFY_SERVICE_DELIVERY_PROVIDER_CHAIN_H_
#define CXP_NOTIFY_SERVICE_DELIVERY_PROVIDER_CHAIN_H_

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/types/span.h"
#include "notify_service/delivery/delivery_result.h"

namespace cxp::notify::delivery {

// What one provider returned within an attempt.
struct ProviderAttempt {
  std::string provider;
  DeliveryResult result;
};

struct ChainResult {
  // The attempt's outcome: the delivering provider's result, the refusing
  // provider's, or an all-transient summary ("all 2 providers failed:
  // sms-a: HTTP 503; sms-b: connection refused").
  DeliveryResult result;
  std::string delivered_by;               // the provider's name when delivered
  std::vector<ProviderAttempt> attempts;  // in the order tried
};

// The chain's rule over providers named `provider_names`, calling
// `send(i)` for provider i in order until one delivers or refuses
// permanently. No providers: permanent "no providers configured".
ChainResult RunProviderChain(absl::Span<const std::string> provider_names,
                             absl::FunctionRef<DeliveryResult(size_t)> send);

template <typename Message>
class ProviderChain {
 public:
  using SendFunction = std::function<DeliveryResult(const Message&)>;

  // Appends a provider; names should be unique within the chain.
  ProviderChain& Add(std::string name, SendFunction send) {
    names_.push_back(std::move(name));
    sends_.push_back(std::move(send));
    return *this;
  }

  size_t size() const { return names_.size(); }

  ChainResult Send(const Message& message) const {
    return RunProviderChain(names_, [&](size_t index) { return sends_[index](message); });
  }

 private:
  std::vector<std::string> names_;
  std::vector<SendFunction> sends_;
};

}  // namespace cxp::notify::delivery

#endif  // CXP_NOTIFY_SERVICE_DELIVERY_PROVIDER_CHAIN_H_
