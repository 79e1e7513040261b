#include "common/server/service_store.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/paging/page_token.h"
#include "common/status/status_macros.h"

namespace cxp::server {

absl::StatusOr<std::shared_ptr<store::RocksStore>> OpenServiceStore(
    const ServerOptions& options, std::vector<std::string> column_families,
    std::function<void(rocksdb::Options&)> tune_options) {
  // Checked here, where it is used, so a bad value stops startup before any
  // data is opened (the caller logs "cannot start: ..." and exits 1).
  if (options.block_cache_mb < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("block_cache_mb: must be >= 1 (MiB), got ", options.block_cache_mb));
  }
  store::RocksStoreOptions store_options;
  store_options.path = options.data_dir;
  store_options.column_families = std::move(column_families);
  store_options.sync_writes = options.sync_writes;
  store_options.block_cache_bytes = static_cast<size_t>(options.block_cache_mb) << 20;
  store_options.tune_options = std::move(tune_options);
  absl::StatusOr<std::unique_ptr<store::RocksStore>> store = store::RocksStore::Open(store_options);
  if (!store.ok()) {
    return absl::Status(store.status().code(), absl::StrCat("data_dir ", options.data_dir, ": ",
                                                            store.status().message()));
  }
  return std::shared_ptr<store::RocksStore>(*std::move(store));
}

absl::StatusOr<std::string> StoredSecret(store::RocksStore& rocks, const std::string& name) {
  ASSIGN_OR_RETURN(std::optional<std::string> secret, rocks.Get(rocks.DefaultColumnFamily(), name));
  if (!secret) {
    secret = paging::PageTokenCodec::RandomKey();
    RETURN_IF_ERROR(rocks.Put(rocks.DefaultColumnFamily(), name, *secret));
  }
  return *std::move(secret);
}

}  // namespace cxp::server
