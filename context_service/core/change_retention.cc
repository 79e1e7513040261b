#include "context_service/core/change_retention.h"

#include <pthread.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace cxp::context {

ChangeRetention::ChangeRetention(const ContextStore& store, ChangeRetentionOptions options)
    : store_(store), options_(std::move(options)), thread_([this] {
        pthread_setname_np(pthread_self(), "cxp-retention");
        Loop();
      }) {}

ChangeRetention::~ChangeRetention() { Stop(); }

void ChangeRetention::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

absl::StatusOr<size_t> ChangeRetention::PurgeOnce() const {
  const absl::Time cutoff = options_.clock() - options_.retention;
  size_t total = 0;
  while (true) {
    absl::StatusOr<size_t> purged = store_.PurgeChangesBefore(cutoff, options_.batch_rows);
    if (!purged.ok()) return purged.status();
    total += *purged;
    if (*purged < options_.batch_rows) return total;
  }
}

void ChangeRetention::Loop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), options_.interval);
      if (stopping_) return;
    }
    absl::StatusOr<size_t> purged = PurgeOnce();
    if (!purged.ok()) {
      options_.log(absl::StrCat("change retention: ", purged.status().ToString()));
    } else if (*purged > 0) {
      options_.log(absl::StrCat("change retention: purged ", *purged, " events older than ",
                                absl::FormatDuration(options_.retention)));
    }
  }
}

}  // namespace cxp::context
