#include "notify_service/core/frequency_policy_text.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cxp::notify {
namespace {

namespace type = ::cxp::type::v1;
using ::testing::HasSubstr;

TEST(FrequencyPolicyTextTest, ParsesEntriesWithDeferAsTheDefaultAction) {
  absl::StatusOr<FrequencyPolicy> policy =
      ParseFrequencyPolicy(" marketing=2/24h, SERVICE=10/90m:drop ", "frequency_caps");
  ASSERT_TRUE(policy.ok()) << policy.status();
  ASSERT_EQ(policy->size(), 2u);
  const FrequencyCap& marketing = policy->at(type::PURPOSE_MARKETING);
  EXPECT_EQ(marketing.max_sends, 2);
  EXPECT_EQ(marketing.window, absl::Hours(24));
  EXPECT_EQ(marketing.action, FrequencyCap::Action::kDefer);
  const FrequencyCap& service = policy->at(type::PURPOSE_SERVICE);
  EXPECT_EQ(service.max_sends, 10);
  EXPECT_EQ(service.window, absl::Minutes(90));
  EXPECT_EQ(service.action, FrequencyCap::Action::kDrop);
  EXPECT_FALSE(policy->contains(type::PURPOSE_TRANSACTIONAL));

  absl::StatusOr<FrequencyPolicy> none = ParseFrequencyPolicy("", "frequency_caps");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(FrequencyPolicyTextTest, BadEntriesAreNamed) {
  const struct {
    const char* text;
    const char* problem;
  } cases[] = {
      {"marketing", "want PURPOSE=MAX/WINDOW"},
      {"spam=2/24h", "purpose must be"},
      {"unspecified=2/24h", "purpose must be"},
      {"marketing=0/24h", "positive count"},
      {"marketing=two/24h", "positive count"},
      {"marketing=2", "positive count"},
      {"marketing=2/soon", "WINDOW must be"},
      {"marketing=2/-1h", "WINDOW must be"},
      {"marketing=2/24h:later", "ACTION must be defer or drop"},
      {"marketing=2/24h:drop:x", "at most one :ACTION"},
      {"marketing=2/24h,marketing=3/1h", "purpose given twice"},
  };
  for (const auto& c : cases) {
    absl::StatusOr<FrequencyPolicy> policy = ParseFrequencyPolicy(c.text, "frequency_caps");
    ASSERT_FALSE(policy.ok()) << c.text;
    EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(policy.status().message(), HasSubstr("frequency_caps: \""));
    EXPECT_THAT(policy.status().message(), HasSubstr(c.problem)) << c.text;
  }
}

TEST(FrequencyPolicyTextTest, TenantFileGivesEachTenantItsLine) {
  absl::StatusOr<absl::flat_hash_map<std::string, FrequencyPolicy>> policies =
      ParseTenantFrequencyPolicies(
          "# caps per tenant\n"
          "acme marketing=1/24h:drop\n"
          "\n"
          "globex\tmarketing=3/168h, service=5/1h  # weekly\n",
          "tenant_frequency_caps_file");
  ASSERT_TRUE(policies.ok()) << policies.status();
  ASSERT_EQ(policies->size(), 2u);
  EXPECT_EQ(policies->at("acme").at(type::PURPOSE_MARKETING).action, FrequencyCap::Action::kDrop);
  EXPECT_EQ(policies->at("globex").at(type::PURPOSE_MARKETING).window, absl::Hours(7 * 24));
  EXPECT_EQ(policies->at("globex").at(type::PURPOSE_SERVICE).max_sends, 5);

  absl::StatusOr<absl::flat_hash_map<std::string, FrequencyPolicy>> no_policy =
      ParseTenantFrequencyPolicies("acme\n", "tenant_frequency_caps_file");
  EXPECT_THAT(no_policy.status().message(), HasSubstr("tenant_frequency_caps_file line 1"));
  absl::StatusOr<absl::flat_hash_map<std::string, FrequencyPolicy>> twice =
      ParseTenantFrequencyPolicies("acme marketing=1/1h\nacme service=1/1h\n", "f");
  EXPECT_THAT(twice.status().message(), HasSubstr("f line 2: tenant acme given twice"));
  absl::StatusOr<absl::flat_hash_map<std::string, FrequencyPolicy>> bad =
      ParseTenantFrequencyPolicies("acme marketing=1/1h:soon\n", "f");
  EXPECT_THAT(bad.status().message(), HasSubstr("f line 1: \"marketing=1/1h:soon\""));
}

}  // namespace
}  // namespace cxp::notify
