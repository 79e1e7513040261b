// ContextCache — recently read single customer views, so GetCustomerContext
// (the platform's hottest read: routing, notify and agent desktops call it
// on every contact) usually touches no storage at all and runs on the
// reactor thread.
//
// An entry holds what the view needs in ready-to-send form: the profile,
// consent and preferences as serialized API messages, the parsed contact
// statistics (the time windows are computed per read) and the interaction
// head row. It is bounded by bytes (LRU, RocksDB's sharded LRUCache).
//
// Coherence: ContextStore::Commit calls Invalidate() for every customer a
// batch touches, after the write. A reader that misses remembers the
// customer's invalidation epoch before reading the store and inserts only if
// no invalidation happened since, so a view read before a write can never be
// inserted after it.
//
// Threading: thread-safe. Entries are immutable and stay valid while a
// Pinned refers to them, also after eviction or invalidation.

#ifndef CXP_CONTEXT_SERVICE_CORE_CONTEXT_CACHE_H_
#define CXP_CONTEXT_SERVICE_CORE_CONTEXT_CACHE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "context_service/core/records.pb.h"
#include "rocksdb/cache.h"

namespace cxp::context {

// The computed attributes of an entry, serialized without compute_time,
// reused while the clock stays inside [from, until) (ComputedAttributesValidity).
struct ComputedMemo {
  absl::Mutex mu;
  std::string attributes ABSL_GUARDED_BY(mu);
  absl::Time from ABSL_GUARDED_BY(mu) = absl::InfiniteFuture();
  absl::Time until ABSL_GUARDED_BY(mu) = absl::InfinitePast();
};

struct CachedContext {
  std::string customer;     // serialized v1::Customer (name and etag set)
  std::string consent;      // serialized v1::Consent
  std::string preferences;  // serialized v1::ContactPreferences
  storage::ContactStats stats;
  std::string head;                 // interaction head row (interaction_head.h)
  std::vector<uint32_t> head_ends;  // byte offset after each head entry
  std::string open_journeys;        // CustomerContext.open_journeys entries, in wire form
  std::shared_ptr<ComputedMemo> computed = std::make_shared<ComputedMemo>();
};

class ContextCache {
 public:
  // capacity_bytes == 0 disables caching (every lookup misses).
  explicit ContextCache(size_t capacity_bytes);
  ContextCache(const ContextCache&) = delete;
  ContextCache& operator=(const ContextCache&) = delete;

  // A looked-up entry, kept alive while this lives.
  class Pinned {
   public:
    Pinned() = default;
    Pinned(Pinned&& other) noexcept;
    Pinned& operator=(Pinned&& other) noexcept;
    ~Pinned();
    explicit operator bool() const { return handle_ != nullptr; }
    const CachedContext& operator*() const { return *entry_; }
    const CachedContext* operator->() const { return entry_; }

   private:
    friend class ContextCache;
    Pinned(rocksdb::Cache* cache, rocksdb::Cache::Handle* handle, const CachedContext* entry)
        : cache_(cache), handle_(handle), entry_(entry) {}
    rocksdb::Cache* cache_ = nullptr;
    rocksdb::Cache::Handle* handle_ = nullptr;
    const CachedContext* entry_ = nullptr;
  };

  static std::string Key(const std::string& tenant, const std::string& id);

  Pinned Lookup(const std::string& key) const;
  // Take before reading the store for an Insert of `key`.
  uint64_t Epoch(const std::string& key) const;
  // Caches `entry` unless `key` was invalidated after `epoch` was taken.
  void Insert(const std::string& key, uint64_t epoch, CachedContext entry);
  void Invalidate(const std::string& key);

  bool enabled() const { return cache_ != nullptr; }

 private:
  static constexpr size_t kEpochStripes = 4096;
  std::atomic<uint64_t>& EpochOf(const std::string& key) const;

  std::shared_ptr<rocksdb::Cache> cache_;
  mutable std::unique_ptr<std::atomic<uint64_t>[]> epochs_;
};

}  // namespace cxp::context

#endif  // CXP_CONTEXT_SERVICE_CORE_CONTEXT_CACHE_H_
