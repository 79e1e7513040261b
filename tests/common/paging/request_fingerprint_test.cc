#include "common/paging/request_fingerprint.h"

#include <string>

#include "gtest/gtest.h"

namespace cxp::paging {
namespace {

TEST(RequestFingerprintTest, StableKnownValues) {
  // SHA-256 over 8-byte little-endian length + bytes per part, first 16
  // bytes in hex; pinned so a change of algorithm (which would invalidate
  // every outstanding token) is deliberate.
  EXPECT_EQ(RequestFingerprint({"ListTasks", "tenants/t1", "state = QUEUED"}),
            "5b226c7d11da239cb808a8161671558f");
  EXPECT_EQ(RequestFingerprint({}), "e3b0c44298fc1c149afbf4c8996fb924");
}

TEST(RequestFingerprintTest, DeterministicAndSensitive) {
  const std::string a = RequestFingerprint({"ListTasks", "tenants/t1", ""});
  EXPECT_EQ(a.size(), 32u);
  EXPECT_EQ(a, RequestFingerprint({"ListTasks", "tenants/t1", ""}));
  EXPECT_NE(a, RequestFingerprint({"ListTasks", "tenants/t2", ""}));
  EXPECT_NE(a, RequestFingerprint({"ListTasks", "tenants/t1"}));
  EXPECT_NE(a, RequestFingerprint({"ListQueues", "tenants/t1", ""}));
}

TEST(RequestFingerprintTest, PartBoundariesMatter) {
  EXPECT_NE(RequestFingerprint({"ab", "c"}), RequestFingerprint({"a", "bc"}));
  EXPECT_NE(RequestFingerprint({"abc"}), RequestFingerprint({"abc", ""}));
  EXPECT_NE(RequestFingerprint({std::string("a\0b", 3)}), RequestFingerprint({"a", "b"}));
}

}  // namespace
}  // namespace cxp::paging
