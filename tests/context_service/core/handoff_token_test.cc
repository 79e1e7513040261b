#include "context_service/core/handoff_token.h"

#include <string>

#include "gtest/gtest.h"

namespace cxp::context {
namespace {

const std::string kKey(32, 'k');
constexpr char kId[] = "0123456789abcdef";

TEST(HandoffTokenTest, RoundTripsForItsTenant) {
  HandoffTokenCodec codec(kKey);
  const std::string token = codec.Mint("acme", kId);
  EXPECT_EQ(token.size(), 41u);
  EXPECT_EQ(
      token.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_."),
      std::string::npos)
      << token;
  absl::StatusOr<std::string> id = codec.Verify("acme", token);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, kId);
}

TEST(HandoffTokenTest, OtherTenantsForgeriesAndOtherKeysAreUnknown) {
  HandoffTokenCodec codec(kKey);
  const std::string token = codec.Mint("acme", kId);
  EXPECT_EQ(codec.Verify("globex", token).status().code(), absl::StatusCode::kNotFound);
  std::string tampered = token;
  tampered[5] = tampered[5] == 'a' ? 'b' : 'a';  // another handoff id, same MAC
  EXPECT_EQ(codec.Verify("acme", tampered).status().code(), absl::StatusCode::kNotFound);
  tampered = token;
  tampered.back() = tampered.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(codec.Verify("acme", tampered).status().code(), absl::StatusCode::kNotFound);
  HandoffTokenCodec other_key(std::string(32, 'x'));
  EXPECT_EQ(other_key.Verify("acme", token).status().code(), absl::StatusCode::kNotFound);
}

TEST(HandoffTokenTest, MalformedTokensAreInvalid) {
  HandoffTokenCodec codec(kKey);
  const std::string token = codec.Mint("acme", kId);
  for (const std::string& bad : {std::string(""), std::string("h1"), token.substr(1), token + "A",
                                 "h1" + std::string("0123456789ABCDEF") + token.substr(18),
                                 token.substr(0, 18) + "!" + token.substr(19)}) {
    EXPECT_EQ(codec.Verify("acme", bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace cxp::context
