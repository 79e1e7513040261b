// Test support: a NotifyStore on a real RocksDB in a temp dir, reopenable
// on the same directory (as after a restart or a crash).

#ifndef CXP_TESTS_NOTIFY_SERVICE_CORE_NOTIFY_STORE_FIXTURE_H_
#define CXP_TESTS_NOTIFY_SERVICE_CORE_NOTIFY_STORE_FIXTURE_H_

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "notify_service/core/notify_store.h"
#include "tests/testing/server_process.h"

namespace cxp::notify::testing {

class NotifyStoreFixture : public ::testing::Test {
 protected:
  // Opens (or reopens) the store in dir_.
  void OpenStore() {
    store::RocksStoreOptions options;
    options.path = dir_ + "/db";
    options.column_families = NotifyStore::ColumnFamilies();
    auto rocks = store::RocksStore::Open(options);
    ASSERT_TRUE(rocks.ok()) << rocks.status();
    rocks_ = *std::move(rocks);
    auto store = NotifyStore::Attach(*rocks_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::make_unique<NotifyStore>(*std::move(store));
  }

  void CloseStore() {
    store_.reset();
    ASSERT_TRUE(rocks_->Close().ok());
    rocks_.reset();
  }

  std::string dir_ = cxp::testing::MakeTempDir("notify_store_");
  std::unique_ptr<store::RocksStore> rocks_;
  std::unique_ptr<NotifyStore> store_;
};

}  // namespace cxp::notify::testing

#endif  // CXP_TESTS_NOTIFY_SERVICE_CORE_NOTIFY_STORE_FIXTURE_H_
