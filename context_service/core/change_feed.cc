#include "context_service/core/change_feed.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/status/errors.h"
#include "common/status/status_macros.h"
#include "context_service/validation/profile_validation.h"

namespace cxp::context {

absl::StatusOr<ChangeFeed::Watch> ChangeFeed::Open(const std::string& tenant,
                                                   const v1::WatchChangesRequest& request) const {
  Watch watch;
  watch.tenant = tenant;
  for (int i = 0; i < request.kinds_size(); ++i) {
    const int kind = request.kinds(i);
    if (kind == v1::CHANGE_KIND_UNSPECIFIED || !v1::ChangeKind_IsValid(kind)) {
      return InvalidArgument(absl::StrCat("kinds[", i, "]"),
                             absl::StrCat("must be a known ChangeKind, got ", kind));
    }
    watch.kinds.insert(kind);
  }
  if (!request.customer().empty()) {
    absl::string_view id = request.customer();
    if (!absl::ConsumePrefix(&id, "customers/")) {
      return InvalidArgument("customer", "must be customers/{customer}");
    }
    RETURN_IF_ERROR(validation::ValidateCustomerId(id, "customer"));
    watch.customer = request.customer();
  }
  if (request.max_batch_size() < 0 || request.max_batch_size() > kMaxBatchSize) {
    return InvalidArgument("max_batch_size", absl::StrCat("must be 0 to ", kMaxBatchSize, ", got ",
                                                          request.max_batch_size()));
  }
  watch.max_batch = static_cast<size_t>(std::max(1, request.max_batch_size()));
  if (request.has_after_sequence()) {
    if (request.after_sequence() < 0) {
      return InvalidArgument("after_sequence", "must not be negative");
    }
    watch.cursor = request.after_sequence();
    ASSIGN_OR_RETURN(const int64_t purged, store_.PurgedChangesUpTo(tenant));
    if (purged > watch.cursor) {
      return absl::OutOfRangeError(absl::StrCat(
          "after_sequence: events up to ", purged,
          " were purged by retention; resynchronise with the List methods, then watch from now"));
    }
  } else {
    watch.cursor = store_.sequencer().watermark();
  }
  return watch;
}

absl::Status ChangeFeed::Next(Watch& watch, size_t max_events, size_t max_scan,
                              std::vector<v1::ChangeEvent>& events) const {
  const int64_t watermark = store_.sequencer().watermark();
  if (watermark <= watch.cursor) return absl::OkStatus();
  // Retention may have purged past the cursor since the last read.
  ASSIGN_OR_RETURN(const int64_t purged, store_.PurgedChangesUpTo(watch.tenant));
  if (purged > watch.cursor) {
    return absl::OutOfRangeError(
        absl::StrCat("events after ", watch.cursor, " up to ", purged,
                     " were purged by retention before this watcher read them; resynchronise "
                     "with the List methods, then watch from now"));
  }
  size_t scanned = 0;
  int64_t last_seen = watch.cursor;
  RETURN_IF_ERROR(store_.ReadChanges(
      watch.tenant, watch.cursor, watermark, max_scan, [&](const v1::ChangeEvent& event) {
        ++scanned;
        last_seen = event.sequence();
        const bool wanted = (watch.kinds.empty() || watch.kinds.count(event.kind()) > 0) &&
                            (watch.customer.empty() || watch.customer == event.customer());
        if (wanted) events.push_back(event);
        return events.size() < max_events;
      }));
  // Rows below the watermark that the read did not reach are still to come
  // unless the read went through all of them.
  const bool reached_watermark = scanned < max_scan && events.size() < max_events;
  watch.cursor = reached_watermark ? watermark : last_seen;
  return absl::OkStatus();
}

}  // namespace cxp::context
