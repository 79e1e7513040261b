// Test helper: a fresh directory under ::testing::TempDir(), removed with its
// contents on destruction. Not thread-safe; one per test.
#ifndef CXP_TESTS_COMMON_STORE_SCOPED_TEMP_DIR_H_
#define CXP_TESTS_COMMON_STORE_SCOPED_TEMP_DIR_H_

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

#include "gtest/gtest.h"

namespace cxp::store::testing {

class ScopedTempDir {
 public:
  ScopedTempDir() {
    std::string pattern = ::testing::TempDir() + "cxp_store_XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed for " << pattern;
    }
    path_ = pattern;
  }
  ~ScopedTempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScopedTempDir(const ScopedTempDir&) = delete;
  ScopedTempDir& operator=(const ScopedTempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace cxp::store::testing

#endif  // CXP_TESTS_COMMON_STORE_SCOPED_TEMP_DIR_H_
