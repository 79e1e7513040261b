// TriggerConsumer — follows context_service's change stream (WatchChanges)
// for every tenant that has trigger rules and hands each response's events
// to the TriggerProcessor (core/trigger_processor.h), which sends and
// stores how far it got. Proactive notifications start here.
//
// Tenants: a supervisor thread looks every `tenant_poll_interval` for
// tenants with enabled rules (NotifyConfigCore::Matcher) and starts one
// consumer thread for each new one; a thread keeps running when its rules
// are later disabled (it then only moves the position on).
//
// Resume point: each stream opens after the stored sequence. A tenant that
// never processed an event starts from the oldest change context_service
// still keeps (after_sequence 0): a rule fires only for changes made after
// it was created (trigger_matcher.h), so history sends nothing, and changes
// made between a rule's creation and its tenant's first stream are not
// missed. When context_service has purged changes the consumer has not
// processed (OUT_OF_RANGE), nothing can bring them back: it logs an error
// naming the gap and watches from now.
//
// Failures: a stream that ends (context_service restarting, a network
// error, a storage error while processing) is opened again after a backoff
// (min_backoff doubling to max_backoff, reset by the next processed
// response), from the stored sequence, so events are neither lost nor sent
// twice (the processor's idempotency keys).
//
// Threading: each tenant's thread blocks on its own stream (gRPC's sync
// client API, on threads of its own, never a callback thread) and on
// customer lookups with `lookup_timeout`. Stop() cancels the streams and
// joins every thread; it is idempotent and also run by the destructor.
// Ownership: borrows the store, the processor, the config core and the
// client, which must outlive the consumer.

#ifndef CXP_NOTIFY_SERVICE_DISPATCH_TRIGGER_CONSUMER_H_
#define CXP_NOTIFY_SERVICE_DISPATCH_TRIGGER_CONSUMER_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/client/context_client.h"
#include "grpcpp/grpcpp.h"
#include "notify_service/core/notify_config_core.h"
#include "notify_service/core/notify_store.h"
#include "notify_service/core/trigger_processor.h"

namespace cxp::notify::dispatch {

struct TriggerConsumerOptions {
  absl::Duration tenant_poll_interval = absl::Seconds(2);
  // Deadline of a customer lookup; without an answer the sends are accepted
  // and judged at delivery.
  absl::Duration lookup_timeout = absl::Seconds(2);
  absl::Duration min_backoff = absl::Milliseconds(500);
  absl::Duration max_backoff = absl::Seconds(30);
  // Events per WatchChanges response (and per processed batch).
  int max_batch_size = 100;
  std::function<void(absl::string_view level, absl::string_view message)> log;
};

class TriggerConsumer {
 public:
  // Starts the supervisor; tenants are found on its first pass.
  static std::unique_ptr<TriggerConsumer> Start(const NotifyStore& store, NotifyConfigCore& config,
                                                TriggerProcessor& processor,
                                                const client::ContextClient& client,
                                                TriggerConsumerOptions options);
  ~TriggerConsumer();
  TriggerConsumer(const TriggerConsumer&) = delete;
  TriggerConsumer& operator=(const TriggerConsumer&) = delete;

  void Stop();

 private:
  TriggerConsumer(const NotifyStore& store, NotifyConfigCore& config, TriggerProcessor& processor,
                  const client::ContextClient& client, TriggerConsumerOptions options);
  void Supervise();
  void Consume(const std::string& tenant);
  // One stream from the stored position until it ends; true when it
  // processed at least one response. `from_now` opens it without a
  // position (after OUT_OF_RANGE) and is cleared once a response came.
  bool FollowOnce(const std::string& tenant, bool& from_now);
  TriggerCustomer LookUp(const std::string& tenant, const std::string& customer_name) const;
  // Waits `duration` or until Stop; false once stopping.
  bool Sleep(absl::Duration duration);
  void Log(absl::string_view level, absl::string_view message) const;

  const NotifyStore& store_;
  NotifyConfigCore& config_;
  TriggerProcessor& processor_;
  const client::ContextClient& client_;
  const TriggerConsumerOptions options_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // The open streams' contexts, to cancel them on Stop.
  absl::flat_hash_set<grpc::ClientContext*> open_streams_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::thread> tenant_threads_ ABSL_GUARDED_BY(mu_);
  std::thread supervisor_;
};

}  // namespace cxp::notify::dispatch

#endif  // CXP_NOTIFY_SERVICE_DISPATCH_TRIGGER_CONSUMER_H_
