// StripedLocks — serialises read-modify-write sequences on the same logical
// keys (a customer, an identity, a request id) without a lock per key.
//
// A fixed array of mutexes; a key hashes to one stripe. ScopedStripeLock
// takes the stripes of several keys at once, always in ascending stripe
// order, so two callers locking overlapping key sets never deadlock. Two
// unrelated keys may share a stripe: that only costs concurrency, never
// correctness. Take all the keys an operation needs in one ScopedStripeLock;
// taking a second one while holding the first can deadlock.
//
// Threading: thread-safe. Ownership: ScopedStripeLock borrows the
// StripedLocks, which must outlive it.

#ifndef CXP_COMMON_STORE_STRIPED_LOCKS_H_
#define CXP_COMMON_STORE_STRIPED_LOCKS_H_

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace cxp::store {

class StripedLocks {
 public:
  explicit StripedLocks(size_t stripes = 4096);
  StripedLocks(const StripedLocks&) = delete;
  StripedLocks& operator=(const StripedLocks&) = delete;

  size_t StripeOf(const std::string& key) const;
  absl::Mutex& stripe(size_t index) { return stripes_[index]; }
  size_t size() const { return size_; }

 private:
  const size_t size_;
  std::unique_ptr<absl::Mutex[]> stripes_;
};

class ScopedStripeLock {
 public:
  ScopedStripeLock(StripedLocks& locks, const std::vector<std::string>& keys);
  ScopedStripeLock(const ScopedStripeLock&) = delete;
  ScopedStripeLock& operator=(const ScopedStripeLock&) = delete;
  ~ScopedStripeLock();

 private:
  StripedLocks& locks_;
  std::vector<size_t> held_;  // ascending, unique
};

}  // namespace cxp::store

#endif  // CXP_COMMON_STORE_STRIPED_LOCKS_H_
