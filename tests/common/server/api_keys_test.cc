#include "common/server/api_keys.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cxp::server {
namespace {

using ::testing::HasSubstr;

TEST(ApiKeyRegistryTest, MapsKeysToTenants) {
  auto registry = ApiKeyRegistry::Parse(
      "# comment\n\nacme  key-aaaaaaaaaaaaaaaa   # trailing comment\nglobex\tkey-bbbbbbbbbbbbbbbb\n"
      "acme key-cccccccccccccccc\n");
  ASSERT_TRUE(registry.ok()) << registry.status();
  EXPECT_EQ(registry->size(), 3u);
  EXPECT_EQ(registry->TenantForKey("key-aaaaaaaaaaaaaaaa"), "acme");
  EXPECT_EQ(registry->TenantForKey("key-cccccccccccccccc"), "acme");
  EXPECT_EQ(registry->TenantForKey("key-bbbbbbbbbbbbbbbb"), "globex");
  EXPECT_EQ(registry->TenantForKey("key-aaaaaaaaaaaaaaa"), std::nullopt);
  EXPECT_EQ(registry->TenantForKey(""), std::nullopt);
}

TEST(ApiKeyRegistryTest, RejectsMalformedLinesNamingTheLine) {
  struct Case {
    const char* contents;
    const char* message;
  } cases[] = {
      {"acme\n", "line 1: expected"},
      {"# ok\nacme key-aaaaaaaaaaaaaaaa extra\n", "line 2: expected"},
      {"Acme key-aaaaaaaaaaaaaaaa\n", "invalid tenant id"},
      {"-acme key-aaaaaaaaaaaaaaaa\n", "invalid tenant id"},
      {"acme short\n", "shorter than 16"},
      {"acme key-aaaaaaaaaaaaaaaa\nglobex key-aaaaaaaaaaaaaaaa\n", "line 2: key listed twice"},
  };
  for (const Case& c : cases) {
    auto registry = ApiKeyRegistry::Parse(c.contents);
    ASSERT_FALSE(registry.ok()) << c.contents;
    EXPECT_EQ(registry.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(registry.status().message()), HasSubstr(c.message)) << c.contents;
  }
}

TEST(ApiKeyRegistryTest, MissingFileIsNotFound) {
  EXPECT_EQ(ApiKeyRegistry::LoadFile("/nonexistent/keys").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(TenantIdTest, Validity) {
  EXPECT_TRUE(IsValidTenantId("acme"));
  EXPECT_TRUE(IsValidTenantId("a1-b_c"));
  EXPECT_TRUE(IsValidTenantId(std::string(63, 'a')));
  EXPECT_FALSE(IsValidTenantId(std::string(64, 'a')));
  EXPECT_FALSE(IsValidTenantId(""));
  EXPECT_FALSE(IsValidTenantId("_acme"));
  EXPECT_FALSE(IsValidTenantId("ac/me"));
  EXPECT_FALSE(IsValidTenantId(std::string("ac\0me", 5)));
}

}  // namespace
}  // namespace cxp::server
