#include "notify_service/dispatch/trigger_consumer.h"

#include <algorithm>
#include <iterator>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cxp/context/v1/context_service.pb.h"
#include "notify_service/dispatch/context_adapters.h"

namespace cxp::notify::dispatch {
namespace {

namespace ctx = ::cxp::context::v1;

}  // namespace

std::unique_ptr<TriggerConsumer> TriggerConsumer::Start(const NotifyStore& store,
                                                        NotifyConfigCore& config,
                                                        TriggerProcessor& processor,
                                                        const client::ContextClient& client,
                                                        TriggerConsumerOptions options) {
  std::unique_ptr<TriggerConsumer> consumer(
      new TriggerConsumer(store, config, processor, client, std::move(options)));
  consumer->supervisor_ = std::thread([c = consumer.get()] { c->Supervise(); });
  return consumer;
}

TriggerConsumer::TriggerConsumer(const NotifyStore& store, NotifyConfigCore& config,
                                 TriggerProcessor& processor, const client::ContextClient& client,
                                 TriggerConsumerOptions options)
    : store_(store),
      config_(config),
      processor_(processor),
      client_(client),
      options_(std::move(options)) {}

TriggerConsumer::~TriggerConsumer() { Stop(); }

void TriggerConsumer::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    for (grpc::ClientContext* stream : open_streams_) stream->TryCancel();
  }
  if (supervisor_.joinable()) supervisor_.join();
  // The supervisor has ended: no thread is added any more.
  absl::flat_hash_map<std::string, std::thread> threads;
  {
    absl::MutexLock lock(&mu_);
    threads.swap(tenant_threads_);
  }
  for (auto& [tenant, thread] : threads) thread.join();
}

void TriggerConsumer::Log(absl::string_view level, absl::string_view message) const {
  if (options_.log) options_.log(level, message);
}

bool TriggerConsumer::Sleep(absl::Duration duration) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stopping_), duration);
  return !stopping_;
}

void TriggerConsumer::Supervise() {
  do {
    absl::StatusOr<std::vector<std::string>> tenants = store_.ConfiguredTenants();
    if (!tenants.ok()) {
      Log("error",
          absl::StrCat("trigger consumer: cannot list tenants: ", tenants.status().ToString()));
      continue;
    }
    for (const std::string& tenant : *tenants) {
      {
        absl::MutexLock lock(&mu_);
        if (stopping_ || tenant_threads_.contains(tenant)) continue;
      }
      absl::StatusOr<std::shared_ptr<const TriggerMatcher>> matcher = config_.Matcher(tenant);
      if (!matcher.ok() || (*matcher)->size() == 0) continue;
      absl::MutexLock lock(&mu_);
      if (stopping_) break;
      tenant_threads_.emplace(tenant, std::thread([this, tenant] { Consume(tenant); }));
    }
  } while (Sleep(options_.tenant_poll_interval));
}

void TriggerConsumer::Consume(const std::string& tenant) {
  absl::Duration backoff = options_.min_backoff;
  bool from_now = false;
  for (;;) {
    if (FollowOnce(tenant, from_now)) backoff = options_.min_backoff;
    if (!Sleep(backoff)) return;
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

bool TriggerConsumer::FollowOnce(const std::string& tenant, bool& from_now) {
  absl::StatusOr<int64_t> after = processor_.ResumeAfter(tenant);
  if (!after.ok()) {
    Log("error", absl::StrCat("trigger consumer of ", tenant,
                              ": cannot read its position: ", after.status().ToString()));
    return false;
  }
  ctx::WatchChangesRequest request;
  if (!from_now) request.set_after_sequence(*after);
  request.set_max_batch_size(options_.max_batch_size);
  grpc::ClientContext context;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return false;
    open_streams_.insert(&context);
  }
  bool processed_any = false;
  absl::Status status;
  auto reader = client_.WatchChanges(tenant, context, request);
  if (!reader.ok()) {
    status = reader.status();
  } else {
    ctx::WatchChangesResponse response;
    while ((*reader)->Read(&response)) {
      std::vector<ctx::ChangeEvent> events;
      if (response.change_events_size() > 0) {
        events.assign(std::make_move_iterator(response.mutable_change_events()->begin()),
                      std::make_move_iterator(response.mutable_change_events()->end()));
      } else {
        events.push_back(std::move(*response.mutable_change_event()));
      }
      absl::StatusOr<TriggerOutcome> outcome = processor_.Process(
          tenant, events, [&](const std::string& customer) { return LookUp(tenant, customer); });
      if (!outcome.ok()) {
        status = outcome.status();
        context.TryCancel();
        break;
      }
      processed_any = true;
      from_now = false;
    }
    const grpc::Status finished = (*reader)->Finish();
    if (status.ok()) {
      status = absl::Status(static_cast<absl::StatusCode>(finished.error_code()),
                            absl::StrCat("context_service: ", finished.error_message()));
    }
  }
  {
    absl::MutexLock lock(&mu_);
    open_streams_.erase(&context);
    if (stopping_) return processed_any;
  }
  if (absl::IsOutOfRange(status)) {
    from_now = true;
    Log(*after == 0 ? "warning" : "error",
        absl::StrCat("trigger consumer of ", tenant, ": changes after ", *after,
                     " were purged by context_service before they were processed; their "
                     "triggers cannot fire. Watching from now: ",
                     status.ToString()));
  } else {
    Log("warning", absl::StrCat("trigger consumer of ", tenant, ": change stream ended (",
                                status.ToString(), "); reconnecting"));
  }
  return processed_any;
}

TriggerCustomer TriggerConsumer::LookUp(const std::string& tenant,
                                        const std::string& customer_name) const {
  cxp::type::v1::CustomerRef customer;
  customer.set_customer(customer_name);
  const absl::StatusOr<ctx::GetCustomerContextResponse> answer =
      GetCustomerContextWithin(client_, tenant, customer, options_.lookup_timeout);
  TriggerCustomer result;
  if (std::optional<CustomerView> view = CustomerView::FromAnswer(answer, customer)) {
    result.view = *std::move(view);
    result.profile = answer->customer_context().customer();
  } else if (absl::IsNotFound(answer.status())) {
    result.view = CustomerView();  // erased since: nothing may be sent
  }
  return result;
}

}  // namespace cxp::notify::dispatch
