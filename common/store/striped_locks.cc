#include "common/store/striped_locks.h"

#include <algorithm>
#include <functional>

namespace cxp::store {

StripedLocks::StripedLocks(size_t stripes)
    : size_(std::max<size_t>(1, stripes)), stripes_(new absl::Mutex[size_]) {}

size_t StripedLocks::StripeOf(const std::string& key) const {
  return std::hash<std::string>{}(key) % size_;
}

ScopedStripeLock::ScopedStripeLock(StripedLocks& locks, const std::vector<std::string>& keys)
    : locks_(locks) {
  held_.reserve(keys.size());
  for (const std::string& key : keys) held_.push_back(locks.StripeOf(key));
  std::sort(held_.begin(), held_.end());
  held_.erase(std::unique(held_.begin(), held_.end()), held_.end());
  for (size_t index : held_) locks_.stripe(index).Lock();
}

ScopedStripeLock::~ScopedStripeLock() {
  for (auto it = held_.rbegin(); it != held_.rend(); ++it) locks_.stripe(*it).Unlock();
}

}  // namespace cxp::store
