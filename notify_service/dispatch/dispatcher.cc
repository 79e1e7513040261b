#include "notify_service/dispatch/dispatcher.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"

namespace cxp::notify::dispatch {
namespace {

namespace v1 = ::cxp::notify::v1;
using google::protobuf::util::TimeUtil;

absl::Time ToTime(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(timestamp));
}

void StderrLog(absl::string_view level, absl::string_view message) {
  std::fprintf(stderr, "notify dispatcher %.*s: %.*s\n", static_cast<int>(level.size()),
               level.data(), static_cast<int>(message.size()), message.data());
}

}  // namespace

absl::StatusOr<std::unique_ptr<Dispatcher>> Dispatcher::Start(NotifyCore& core,
                                                              const ChannelSenders& senders,
                                                              CustomerSource& customers,
                                                              TimelineSink* timeline,
                                                              DispatcherOptions options) {
  if (options.workers < 1) return absl::InvalidArgumentError("dispatch workers: must be >= 1");
  if (options.max_claim_per_tenant < 1 || options.max_timeline_in_flight < 1) {
    return absl::InvalidArgumentError(
        "dispatch max_claim_per_tenant and max_timeline_in_flight: must be >= 1");
  }
  for (absl::Duration duration :
       {options.max_idle, options.stop_timeout, options.timeline_lease, options.timeline_retry_base,
        options.timeline_retry_cap, options.timeline_max_age}) {
    if (duration <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError("dispatch durations: must be positive");
    }
  }
  if (options.timeline_retry_base > options.timeline_retry_cap) {
    return absl::InvalidArgumentError(
        "dispatch timeline_retry_base: must not exceed timeline_retry_cap");
  }
  if (!options.log) options.log = StderrLog;
  std::unique_ptr<Dispatcher> dispatcher(
      new Dispatcher(core, senders, customers, timeline, std::move(options)));
  for (int i = 0; i < dispatcher->options_.workers; ++i) {
    dispatcher->workers_.emplace_back([d = dispatcher.get()] { d->WorkerLoop(); });
  }
  dispatcher->loop_ = std::thread([d = dispatcher.get()] { d->Loop(); });
  return dispatcher;
}

Dispatcher::Dispatcher(NotifyCore& core, const ChannelSenders& senders, CustomerSource& customers,
                       TimelineSink* timeline, DispatcherOptions options)
    : core_(core),
      senders_(senders),
      customers_(customers),
      timeline_(timeline),
      options_(std::move(options)) {}

Dispatcher::~Dispatcher() { Stop(); }

void Dispatcher::Log(absl::string_view level, absl::string_view message) const {
  options_.log(level, message);
}

void Dispatcher::Wake() {
  absl::MutexLock lock(&mu_);
  wake_ = true;
}

void Dispatcher::OnChange(const v1::Notification& notification) {
  const bool pending = notification.state() == v1::Notification::STATE_QUEUED ||
                       notification.state() == v1::Notification::STATE_SCHEDULED;
  if (pending && ToTime(notification.send_time()) <= absl::Now()) Wake();
}

size_t Dispatcher::ClaimBatch() const {
  return std::max<size_t>(1, static_cast<size_t>(options_.workers) / 4);
}

bool Dispatcher::Abandoned() const {
  absl::MutexLock lock(&mu_);
  return abandon_;
}

void Dispatcher::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    stopped_ = true;
    stopping_ = true;
  }
  if (loop_.joinable()) loop_.join();  // no more claims
  size_t unfinished = 0;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time deadline = absl::Now() + options_.stop_timeout;
    auto idle = [this]()
                    ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return queue_.empty() && running_ == 0; };
    if (!mu_.AwaitWithDeadline(absl::Condition(&idle), deadline)) {
      unfinished = static_cast<size_t>(running_) + queue_.size();
    }
    abandon_ = true;
    workers_exit_ = true;
  }
  // Logged without the lock: workers may go on meanwhile.
  if (unfinished > 0) {
    Log("warning", absl::StrCat("stop: ", unfinished, " deliveries still in flight after ",
                                absl::FormatDuration(options_.stop_timeout),
                                "; they start nothing new and their leases expire"));
  }
  for (std::thread& worker : workers_) worker.join();
  {
    absl::MutexLock lock(&mu_);
    // Claims never started: their leases expire and they are retried after
    // a restart.
    queue_.clear();
    auto appended = [this]()
                        ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return timeline_in_flight_ == 0; };
    mu_.Await(absl::Condition(&appended));  // the sink's deadline bounds it
  }
  SettleTimelineResults();
}

void Dispatcher::Loop() {
  size_t rotation = 0;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      wake_ = false;
    }
    SettleTimelineResults();
    const absl::Time next = Round(rotation++);
    absl::MutexLock lock(&mu_);
    auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return wake_ || stopping_; };
    mu_.AwaitWithDeadline(absl::Condition(&woken), next);
  }
}

absl::Time Dispatcher::Round(size_t rotation) {
  const absl::Time now = absl::Now();
  absl::Time next = now + options_.max_idle;
  absl::StatusOr<std::vector<std::string>> tenants = core_.Tenants();
  if (!tenants.ok()) {
    Log("error", absl::StrCat("listing tenants: ", tenants.status().ToString()));
    return next;
  }
  if (tenants->empty()) return next;
  std::rotate(tenants->begin(), tenants->begin() + (rotation % tenants->size()), tenants->end());
  bool more = false;
  for (const std::string& tenant : *tenants) {
    size_t free_workers = 0;
    size_t timeline_budget = 0;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return now;
      const size_t busy = queue_.size() + static_cast<size_t>(running_);
      free_workers = busy < static_cast<size_t>(options_.workers) ? options_.workers - busy : 0;
      timeline_budget = options_.max_timeline_in_flight > timeline_in_flight_
                            ? options_.max_timeline_in_flight - timeline_in_flight_
                            : 0;
    }
    if (free_workers > 0) {
      const size_t want = std::min(free_workers, options_.max_claim_per_tenant);
      absl::StatusOr<std::vector<Claim>> claims = core_.ClaimDue(tenant, want);
      if (!claims.ok()) {
        Log("error",
            absl::StrCat("claiming for tenant ", tenant, ": ", claims.status().ToString()));
      } else {
        if (claims->size() == want) more = true;
        absl::MutexLock lock(&mu_);
        for (Claim& claim : *claims) queue_.push_back({tenant, std::move(claim)});
      }
    }
    if (timeline_ != nullptr && timeline_budget > 0) {
      StartTimelineAppends(tenant, timeline_budget);
    }
  }
  if (more) return now;
  // Sleep until the earliest due work the loop can take on now; a worker
  // or timeline append that finishes wakes it for the rest.
  bool workers_free = false;
  bool appends_free = false;
  {
    absl::MutexLock lock(&mu_);
    workers_free =
        queue_.size() + static_cast<size_t>(running_) < static_cast<size_t>(options_.workers);
    appends_free = timeline_in_flight_ < options_.max_timeline_in_flight;
  }
  for (const std::string& tenant : *tenants) {
    if (workers_free) {
      absl::StatusOr<std::optional<absl::Time>> due = core_.NextDue(tenant);
      if (due.ok() && *due) next = std::min(next, **due);
    }
    if (timeline_ != nullptr && appends_free) {
      absl::StatusOr<std::optional<absl::Time>> append = core_.NextTimelineDue(tenant);
      if (append.ok() && *append) next = std::min(next, **append);
    }
  }
  return next;
}

void Dispatcher::WorkerLoop() {
  while (true) {
    Job job;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !queue_.empty() || workers_exit_;
      };
      mu_.Await(absl::Condition(&ready));
      if (queue_.empty() || abandon_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
    }
    Deliver(job);
    absl::MutexLock lock(&mu_);
    --running_;
    // Claim more once enough workers are free for a batch (or all are, when
    // nothing is left in the queue): one ClaimDue write then leases several
    // notifications instead of one per delivery.
    const size_t busy = queue_.size() + static_cast<size_t>(running_);
    const size_t free_workers = static_cast<size_t>(options_.workers) -
                                std::min(busy, static_cast<size_t>(options_.workers));
    if (free_workers >= ClaimBatch() || busy == 0) wake_ = true;
  }
}

void Dispatcher::Deliver(const Job& job) {
  const std::string& name = job.claim.notification.name();
  const CustomerView view = customers_.Lookup(job.tenant, job.claim.notification);
  if (Abandoned()) return;  // the lease expires; retried after a restart
  absl::StatusOr<DeliveryOrder> order = core_.BeginAttempt(job.tenant, job.claim, view);
  while (order.ok() && order->send) {
    const AttemptReport report = senders_.Send(job.tenant, *order);
    order = core_.RecordAttempt(job.tenant, *order, report, view);
    if (order.ok() && order->send && Abandoned()) return;  // next channel after a restart
  }
  if (!order.ok()) {
    // A lost claim means another round took the notification over (its
    // lease expired): nothing to do here.
    Log(absl::IsFailedPrecondition(order.status()) ? "warning" : "error",
        absl::StrCat("delivering ", name, " for tenant ", job.tenant, ": ",
                     order.status().ToString()));
  }
}

void Dispatcher::StartTimelineAppends(const std::string& tenant, size_t budget) {
  absl::StatusOr<std::vector<TimelineClaim>> claims =
      core_.ClaimTimelineAppends(tenant, budget, options_.timeline_lease);
  if (!claims.ok()) {
    Log("error", absl::StrCat("claiming timeline appends for tenant ", tenant, ": ",
                              claims.status().ToString()));
    return;
  }
  if (claims->empty()) return;
  std::vector<cxp::context::v1::AppendInteractionRequest> requests;
  requests.reserve(claims->size());
  for (const TimelineClaim& claim : *claims) requests.push_back(claim.request);
  {
    absl::MutexLock lock(&mu_);
    timeline_in_flight_ += claims->size();
  }
  timeline_->AppendAll(
      tenant, std::move(requests),
      [this, tenant, claims = *std::move(claims)](std::vector<absl::Status> answers) mutable {
        absl::MutexLock lock(&mu_);
        for (size_t i = 0; i < claims.size(); ++i) {
          absl::Status status = i < answers.size()
                                    ? std::move(answers[i])
                                    : absl::InternalError("timeline sink: no answer");
          timeline_results_.push_back({tenant, std::move(claims[i]), std::move(status)});
        }
        timeline_in_flight_ -= claims.size();
        // Settle the answers together, once the appends started together
        // are all in (else at the next round, within max_idle).
        if (timeline_in_flight_ == 0) wake_ = true;
      });
}

void Dispatcher::SettleTimelineResults() {
  std::vector<TimelineResult> results;
  {
    absl::MutexLock lock(&mu_);
    results.swap(timeline_results_);
  }
  const absl::Time now = absl::Now();
  // Rows to delete, per tenant: one write each.
  absl::flat_hash_map<std::string, std::vector<const TimelineClaim*>> finished;
  for (const TimelineResult& result : results) {
    const std::string& name = result.claim.notification_name;
    const absl::Status& status = result.status;
    if (status.ok()) {
      finished[result.tenant].push_back(&result.claim);
    } else if (absl::IsNotFound(status) || absl::IsInvalidArgument(status)) {
      Log("warning", absl::StrCat("timeline append of ", name, " for tenant ", result.tenant,
                                  " refused, dropped: ", status.ToString()));
      finished[result.tenant].push_back(&result.claim);
    } else {
      const absl::Time occurred = ToTime(result.claim.request.interaction().occur_time());
      const absl::Duration age = std::max(now - occurred, absl::ZeroDuration());
      absl::Status settled;
      if (age > options_.timeline_max_age) {
        Log("error",
            absl::StrCat("timeline append of ", name, " for tenant ", result.tenant,
                         " given up after ", absl::FormatDuration(age), ": ", status.ToString()));
        finished[result.tenant].push_back(&result.claim);
      } else {
        // The wait doubles with the entry's age: base, then about its age.
        const absl::Duration delay =
            std::clamp(age, options_.timeline_retry_base, options_.timeline_retry_cap);
        settled = core_.RetryTimelineAppend(result.tenant, result.claim, now + delay);
      }
      if (!settled.ok()) {
        Log("error",
            absl::StrCat("settling the timeline append of ", name, ": ", settled.ToString()));
      }
    }
  }
  for (const auto& [tenant, claims] : finished) {
    if (absl::Status settled = core_.FinishTimelineAppends(tenant, claims); !settled.ok()) {
      Log("error", absl::StrCat("settling ", claims.size(), " timeline appends for tenant ", tenant,
                                ": ", settled.ToString()));
    }
  }
}

}  // namespace cxp::notify::dispatch
