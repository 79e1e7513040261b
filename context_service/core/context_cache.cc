#include "context_service/core/context_cache.h"

#include <functional>
#include <utility>

#include "absl/hash/hash.h"

namespace cxp::context {
namespace {

void DeleteEntry(const rocksdb::Slice& /*key*/, void* value) {
  delete static_cast<CachedContext*>(value);
}

size_t Charge(const std::string& key, const CachedContext& entry) {
  // Strings plus a rough allowance for the stats message and bookkeeping.
  return key.size() + entry.customer.size() + entry.consent.size() + entry.preferences.size() +
         entry.head.size() + entry.head_ends.size() * sizeof(uint32_t) +
         entry.open_journeys.size() + entry.stats.SpaceUsedLong() + 256;
}

}  // namespace

ContextCache::ContextCache(size_t capacity_bytes)
    : epochs_(new std::atomic<uint64_t>[kEpochStripes]) {
  for (size_t i = 0; i < kEpochStripes; ++i) epochs_[i].store(0, std::memory_order_relaxed);
  if (capacity_bytes > 0) cache_ = rocksdb::NewLRUCache(capacity_bytes);
}

ContextCache::Pinned::Pinned(Pinned&& other) noexcept
    : cache_(std::exchange(other.cache_, nullptr)),
      handle_(std::exchange(other.handle_, nullptr)),
      entry_(std::exchange(other.entry_, nullptr)) {}

ContextCache::Pinned& ContextCache::Pinned::operator=(Pinned&& other) noexcept {
  if (this != &other) {
    if (handle_ != nullptr) cache_->Release(handle_);
    cache_ = std::exchange(other.cache_, nullptr);
    handle_ = std::exchange(other.handle_, nullptr);
    entry_ = std::exchange(other.entry_, nullptr);
  }
  return *this;
}

ContextCache::Pinned::~Pinned() {
  if (handle_ != nullptr) cache_->Release(handle_);
}

std::string ContextCache::Key(const std::string& tenant, const std::string& id) {
  std::string key;
  key.reserve(tenant.size() + id.size() + 1);
  key.append(tenant).push_back('\0');  // tenants hold no NUL
  key.append(id);
  return key;
}

ContextCache::Pinned ContextCache::Lookup(const std::string& key) const {
  if (cache_ == nullptr) return Pinned();
  rocksdb::Cache::Handle* handle = cache_->Lookup(key);
  if (handle == nullptr) return Pinned();
  return Pinned(cache_.get(), handle, static_cast<const CachedContext*>(cache_->Value(handle)));
}

std::atomic<uint64_t>& ContextCache::EpochOf(const std::string& key) const {
  return epochs_[absl::HashOf(key) % kEpochStripes];
}

uint64_t ContextCache::Epoch(const std::string& key) const {
  return EpochOf(key).load(std::memory_order_acquire);
}

void ContextCache::Insert(const std::string& key, uint64_t epoch, CachedContext entry) {
  if (cache_ == nullptr) return;
  auto owned = std::make_unique<CachedContext>(std::move(entry));
  const size_t charge = Charge(key, *owned);
  if (EpochOf(key).load(std::memory_order_acquire) != epoch) return;
  if (cache_->Insert(key, owned.get(), charge, &DeleteEntry).ok()) owned.release();
  // An invalidation may have slipped in between the check and the insert.
  if (EpochOf(key).load(std::memory_order_acquire) != epoch) cache_->Erase(key);
}

void ContextCache::Invalidate(const std::string& key) {
  EpochOf(key).fetch_add(1, std::memory_order_acq_rel);
  if (cache_ != nullptr) cache_->Erase(key);
}

}  // namespace cxp::context
