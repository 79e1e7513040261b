// Dispatcher — notify_service's delivery loop: one thread that sleeps until
// the earliest due work of any tenant (NotifyCore::NextDue and
// NextTimelineDue), or until Wake(), claims due notifications under leases
// (NotifyCore::ClaimDue, never more than there are idle workers) and hands
// each to a bounded pool of worker threads. A finishing worker wakes the
// loop once a quarter of the workers (at least one) are idle, or all are, so
// claims are leased in batches rather than one write per delivery. A worker
// delivers one claim:
//
//   CustomerSource::Lookup      the customer's current view (deadline;
//                               unanswered -> BeginAttempt requeues it)
//   NotifyCore::BeginAttempt    consent, quiet hours, rendering
//   ChannelSenders::Send        the channel's providers (blocking libcurl
//                               with connect and total timeouts, only here)
//   NotifyCore::RecordAttempt   delivered / retry later / next channel at
//                               once (then Send again under the same claim)
//
// Timeline: each DELIVERED notification has a timeline append row
// (NotifyCore); the loop leases due rows and hands them to the
// TimelineSink together (AppendAll, asynchronous; at most
// max_timeline_in_flight at once; their answers are settled together when
// the last of them is in, or at the next round),
// then deletes a row once context_service took it (or refused it for good: NOT_FOUND,
// INVALID_ARGUMENT; logged), else retries it later with a delay that
// doubles with the entry's age (timeline_retry_base .. timeline_retry_cap),
// giving up (logged) after timeline_max_age. Delivery never waits for it.
//
// Stop(): no new claims; in-flight deliveries get `stop_timeout` to finish.
// After that, workers start nothing new (no BeginAttempt, no next channel):
// those claims stay SENDING until their lease expires and are delivered
// after a restart, with the same webhook-id / Message-ID. A provider call
// already in progress is awaited (it is bounded by its total timeout) and
// recorded. Then the in-flight timeline appends are awaited (bounded by the
// sink's deadline) and their rows settled. Stop() returns with every thread
// joined; the destructor calls it.
//
// Errors: a failing step is logged (options.log) and the loop carries on;
// what was not recorded is retried from the outbox when its lease expires.
// Threading: Wake() and Stop() are thread-safe (not from a worker).
// Ownership: borrows the core, senders, customer source and timeline sink,
// which must outlive Stop().

#ifndef CXP_NOTIFY_SERVICE_DISPATCH_DISPATCHER_H_
#define CXP_NOTIFY_SERVICE_DISPATCH_DISPATCHER_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "notify_service/core/notify_core.h"
#include "notify_service/dispatch/channel_senders.h"
#include "notify_service/dispatch/context_adapters.h"

namespace cxp::notify::dispatch {

struct DispatcherOptions {
  int workers = 8;  // concurrent deliveries (each one blocking provider call at a time)
  // Most notifications claimed from one tenant per round (rounds rotate
  // over tenants, so one busy tenant does not starve the others).
  size_t max_claim_per_tenant = 32;
  // Longest sleep without a Wake(): bounds how late work is picked up when
  // nobody calls Wake() (e.g. a send that did not).
  absl::Duration max_idle = absl::Seconds(2);
  absl::Duration stop_timeout = absl::Seconds(10);
  size_t max_timeline_in_flight = 64;
  // How long a leased timeline row waits for the sink's answer before it is
  // due again (longer than the sink's deadline).
  absl::Duration timeline_lease = absl::Seconds(30);
  absl::Duration timeline_retry_base = absl::Seconds(1);
  absl::Duration timeline_retry_cap = absl::Minutes(10);
  // context_service honours request ids for 24 h: later retries could add
  // a second entry, so they stop (logged) at this age.
  absl::Duration timeline_max_age = absl::Hours(23);
  // level ("info", "warning", "error") and message; default: stderr.
  std::function<void(absl::string_view level, absl::string_view message)> log;
};

class Dispatcher {
 public:
  // INVALID_ARGUMENT for workers < 1, max_claim_per_tenant < 1,
  // max_timeline_in_flight < 1 or non-positive durations. `timeline` may be
  // nullptr: timeline rows are then left alone.
  static absl::StatusOr<std::unique_ptr<Dispatcher>> Start(NotifyCore& core,
                                                           const ChannelSenders& senders,
                                                           CustomerSource& customers,
                                                           TimelineSink* timeline,
                                                           DispatcherOptions options);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Look for due work now (after a send or redrive that queued some).
  void Wake();
  // A NotifyCore change sink can forward every change here: wakes the loop
  // when `notification` is due now (QUEUED or SCHEDULED with send_time
  // passed).
  void OnChange(const cxp::notify::v1::Notification& notification);
  void Stop();

 private:
  struct Job {
    std::string tenant;
    Claim claim;
  };
  struct TimelineResult {
    std::string tenant;
    TimelineClaim claim;
    absl::Status status;
  };

  Dispatcher(NotifyCore& core, const ChannelSenders& senders, CustomerSource& customers,
             TimelineSink* timeline, DispatcherOptions options);
  void Loop();
  // One round over every tenant; returns when the loop should look again.
  absl::Time Round(size_t rotation);
  void WorkerLoop();
  void Deliver(const Job& job);
  void StartTimelineAppends(const std::string& tenant, size_t budget);
  void SettleTimelineResults();
  // Free workers that make a worker wake the loop to claim more: a quarter
  // of them (at least one), so claims are leased in batches.
  size_t ClaimBatch() const;
  bool Abandoned() const;
  void Log(absl::string_view level, absl::string_view message) const;

  NotifyCore& core_;
  const ChannelSenders& senders_;
  CustomerSource& customers_;
  TimelineSink* const timeline_;
  const DispatcherOptions options_;

  mutable absl::Mutex mu_;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;  // no new claims
  bool workers_exit_ ABSL_GUARDED_BY(mu_) = false;
  bool abandon_ ABSL_GUARDED_BY(mu_) = false;  // stop_timeout passed
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<Job> queue_ ABSL_GUARDED_BY(mu_);
  int running_ ABSL_GUARDED_BY(mu_) = 0;
  size_t timeline_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<TimelineResult> timeline_results_ ABSL_GUARDED_BY(mu_);

  std::thread loop_;
  std::vector<std::thread> workers_;
};

}  // namespace cxp::notify::dispatch

#endif  // CXP_NOTIFY_SERVICE_DISPATCH_DISPATCHER_H_
