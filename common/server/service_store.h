// OpenServiceStore — a service's RocksDB store, opened from the shared flags
// (--data_dir, --sync_writes) so every service keeps data the same way.
//
// Ownership: the caller owns the store and closes it after the server has
// drained (ServiceSet::on_drained). Errors: those of RocksStore::Open, with
// the data directory named.

#ifndef CXP_COMMON_SERVER_SERVICE_STORE_H_
#define CXP_COMMON_SERVER_SERVICE_STORE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/server/server.h"
#include "common/store/rocks_store.h"

namespace cxp::server {

// `tune_options` (optional) adjusts RocksDB options before opening, e.g. to
// install a compaction filter; see RocksStoreOptions::tune_options.
absl::StatusOr<std::shared_ptr<store::RocksStore>> OpenServiceStore(
    const ServerOptions& options, std::vector<std::string> column_families,
    std::function<void(rocksdb::Options&)> tune_options = nullptr);

// A random 32-byte secret kept in the store's default family under `name`:
// made on first start, the same after every restart, so what it signs (page
// tokens, handoff tokens) stays valid. Errors: those of the store.
absl::StatusOr<std::string> StoredSecret(store::RocksStore& rocks, const std::string& name);

}  // namespace cxp::server

#endif  // CXP_COMMON_SERVER_SERVICE_STORE_H_
