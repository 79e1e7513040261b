// Test support: a RoutingStore on a real RocksDB in a temp dir, reopenable
// on the same directory (as after a restart or a crash).

#ifndef CXP_TESTS_ROUTING_SERVICE_CORE_ROUTING_STORE_FIXTURE_H_
#define CXP_TESTS_ROUTING_SERVICE_CORE_ROUTING_STORE_FIXTURE_H_

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "routing_service/core/routing_store.h"
#include "tests/testing/server_process.h"

namespace cxp::routing::testing {

class RoutingStoreFixture : public ::testing::Test {
 protected:
  // Opens (or reopens) the store in dir_.
  void OpenStore() {
    store::RocksStoreOptions options;
    options.path = dir_ + "/db";
    options.column_families = RoutingStore::ColumnFamilies();
    auto rocks = store::RocksStore::Open(options);
    ASSERT_TRUE(rocks.ok()) << rocks.status();
    rocks_ = *std::move(rocks);
    auto store = RoutingStore::Attach(*rocks_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::make_unique<RoutingStore>(*std::move(store));
  }

  void CloseStore() {
    store_.reset();
    ASSERT_TRUE(rocks_->Close().ok());
    rocks_.reset();
  }

  std::string dir_ = cxp::testing::MakeTempDir("routing_store_");
  std::unique_ptr<store::RocksStore> rocks_;
  std::unique_ptr<RoutingStore> store_;
};

}  // namespace cxp::routing::testing

#endif  // CXP_TESTS_ROUTING_SERVICE_CORE_ROUTING_STORE_FIXTURE_H_
