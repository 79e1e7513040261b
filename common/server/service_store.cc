#include "common/server/service_store.h"

#include "absl/strings/str_cat.h"

namespace cxp::server {

absl::StatusOr<std::shared_ptr<store::RocksStore>> OpenServiceStore(
    const ServerOptions& options, std::vector<std::string> column_families,
    std::function<void(rocksdb::Options&)> tune_options) {
  store::RocksStoreOptions store_options;
  store_options.path = options.data_dir;
  store_options.column_families = std::move(column_families);
  store_options.sync_writes = options.sync_writes;
  store_options.tune_options = std::move(tune_options);
  absl::StatusOr<std::unique_ptr<store::RocksStore>> store = store::RocksStore::Open(store_options);
  if (!store.ok()) {
    return absl::Status(store.status().code(), absl::StrCat("data_dir ", options.data_dir, ": ",
                                                            store.status().message()));
  }
  return std::shared_ptr<store::RocksStore>(*std::move(store));
}

}  // namespace cxp::server
