// ChangeFeed — the read side of context_service's change log, behind
// WatchChanges: where a watcher starts, and the next events it may see.
//
// A watch is a cursor over one tenant's log plus a filter (kinds, one
// customer). Next() returns events after the cursor up to the sequencer's
// watermark (ChangeSequencer: everything at or below it is durable and no
// smaller number can still appear), so a watcher that resumes after the
// last sequence it processed gets no gap and no duplicate.
//
// Errors: INVALID_ARGUMENT for a bad request (field named); OUT_OF_RANGE
// when events after the cursor were purged by retention (the client must
// resynchronise with the List methods, then watch from now).
//
// Threading: thread-safe; a Watch belongs to one caller at a time. Next()
// reads RocksDB: call it where blocking is allowed. Ownership: borrows the
// ContextStore, which must outlive it.

#ifndef CXP_CONTEXT_SERVICE_CORE_CHANGE_FEED_H_
#define CXP_CONTEXT_SERVICE_CORE_CHANGE_FEED_H_

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "context_service/core/context_store.h"
#include "cxp/context/v1/change_event.pb.h"
#include "cxp/context/v1/context_service.pb.h"

namespace cxp::context {

class ChangeFeed {
 public:
  explicit ChangeFeed(const ContextStore& store) : store_(store) {}

  struct Watch {
    std::string tenant;
    int64_t cursor = 0;    // last sequence delivered or skipped
    std::set<int> kinds;   // empty: all
    std::string customer;  // "customers/{id}", empty: all
    size_t max_batch = 1;  // events per response (max_batch_size, at least 1)
  };
  static constexpr int kMaxBatchSize = 1000;

  // Validates the request and places the cursor: after `after_sequence`
  // when given, else at the watermark (changes committed from now on).
  absl::StatusOr<Watch> Open(const std::string& tenant,
                             const v1::WatchChangesRequest& request) const;

  // Appends to `events` the watch's next events (at most `max_events`,
  // examining at most `max_scan` log rows) and moves the cursor past what
  // it examined. Nothing appended and cursor == watermark: caught up, wait
  // with ChangeSequencer::AwaitAbove(cursor).
  absl::Status Next(Watch& watch, size_t max_events, size_t max_scan,
                    std::vector<v1::ChangeEvent>& events) const;

  ChangeSequencer& sequencer() const { return store_.sequencer(); }

 private:
  const ContextStore& store_;
};

}  // namespace cxp::context

#endif  // CXP_CONTEXT_SERVICE_CORE_CHANGE_FEED_H_
