// ContextCore without a server: a real RocksDB in a temp dir, a fake clock.
#include "context_service/core/context_core.h"

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/server/service_store.h"
#include "common/store/key_codec.h"
#include "context_service/core/change_feed.h"
#include "context_service/core/retention.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "tests/testing/server_process.h"

namespace cxp::context {
namespace {

using google::protobuf::util::TimeUtil;
using ::testing::HasSubstr;

constexpr char kTenant[] = "acme";

cxp::type::v1::Identity Phone(const std::string& value) {
  cxp::type::v1::Identity identity;
  identity.set_kind(cxp::type::v1::IDENTITY_KIND_PHONE);
  identity.set_value(value);
  return identity;
}

cxp::type::v1::Identity Email(const std::string& value) {
  cxp::type::v1::Identity identity;
  identity.set_kind(cxp::type::v1::IDENTITY_KIND_EMAIL);
  identity.set_value(value);
  return identity;
}

class ContextCoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  void Open() {
    store::RocksStoreOptions options;
    options.path = dir_ + "/db";
    options.column_families = ContextStore::ColumnFamilies();
    options.tune_options = [](rocksdb::Options& rocks_options) {
      ContextStore::ConfigureOptions(rocks_options);
    };
    auto rocks = store::RocksStore::Open(options);
    ASSERT_TRUE(rocks.ok()) << rocks.status();
    rocks_ = *std::move(rocks);
    auto store = ContextStore::Attach(*rocks_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::make_unique<ContextStore>(*std::move(store));
    auto core = ContextCore::Create(*store_, {.clock = [this] { return now_; }});
    ASSERT_TRUE(core.ok()) << core.status();
    core_ = *std::move(core);
  }

  void Reopen() {
    core_.reset();
    store_.reset();
    rocks_.reset();
    Open();
  }

  v1::Customer Create(const std::string& id, std::vector<cxp::type::v1::Identity> identities = {},
                      const std::string& tier = "") {
    v1::CreateCustomerRequest request;
    request.set_customer_id(id);
    request.mutable_customer()->set_display_name("Kim Minji " + id);
    request.mutable_customer()->set_tier(tier);
    for (auto& identity : identities)
      *request.mutable_customer()->add_identities()->mutable_identity() = identity;
    v1::CreateCustomerResponse response;
    absl::Status status = core_->CreateCustomer(kTenant, request, response);
    EXPECT_TRUE(status.ok()) << status;
    return response.customer();
  }

  absl::StatusOr<v1::Interaction> Append(
      const std::string& customer, cxp::type::v1::Channel channel, absl::Time when,
      const std::string& agent = "", const std::string& request_id = "",
      v1::Interaction::Direction direction = v1::Interaction::DIRECTION_INBOUND) {
    v1::AppendInteractionRequest request;
    request.mutable_customer()->set_customer(customer);
    request.set_request_id(request_id);
    v1::Interaction& interaction = *request.mutable_interaction();
    interaction.set_channel(channel);
    interaction.set_direction(direction);
    interaction.set_type("message");
    interaction.set_agent(agent);
    *interaction.mutable_occur_time() = TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(when));
    v1::AppendInteractionResponse response;
    absl::Status status = core_->AppendInteraction(kTenant, request, response);
    if (!status.ok()) return status;
    return response.interaction();
  }

  // UpdateConsent of customers/<id> for marketing on `channel`.
  absl::Status SetMarketingConsent(const std::string& id, cxp::type::v1::Channel channel,
                                   v1::ConsentState state, const std::string& source) {
    v1::UpdateConsentRequest request;
    request.set_customer("customers/" + id);
    request.set_channel(channel);
    request.set_purpose(cxp::type::v1::PURPOSE_MARKETING);
    request.set_state(state);
    request.mutable_evidence()->set_source(source);
    v1::UpdateConsentResponse response;
    return core_->UpdateConsent(kTenant, request, response);
  }

  // UpdateContactPreferences of customers/<id>: SMS first.
  v1::ContactPreferences PreferSms(const std::string& id) {
    v1::UpdateContactPreferencesRequest request;
    request.mutable_contact_preferences()->set_name("customers/" + id + "/contactPreferences");
    request.mutable_contact_preferences()->add_channel_order(cxp::type::v1::CHANNEL_SMS);
    v1::UpdateContactPreferencesResponse response;
    absl::Status status = core_->UpdateContactPreferences(kTenant, request, response);
    EXPECT_TRUE(status.ok()) << status;
    return response.contact_preferences();
  }

  v1::CustomerContext Context(const cxp::type::v1::CustomerRef& ref, int limit = 0) {
    v1::GetCustomerContextRequest request;
    *request.mutable_customer() = ref;
    request.set_interaction_limit(limit);
    v1::GetCustomerContextResponse response;
    absl::Status status = core_->GetCustomerContext(kTenant, request, response);
    EXPECT_TRUE(status.ok()) << status;
    return response.customer_context();
  }

  std::string dir_ = cxp::testing::MakeTempDir("context_core_");
  absl::Time now_ =
      absl::FromCivil(absl::CivilSecond(2026, 11, 23, 10, 30, 0), absl::UTCTimeZone());
  std::unique_ptr<store::RocksStore> rocks_;
  std::unique_ptr<ContextStore> store_;
  std::unique_ptr<ContextCore> core_;
};

TEST_F(ContextCoreTest, CreateGetAndResolveByAnyChannelsIdentity) {
  v1::Customer created =
      Create("c1", {Phone("010-1234-5678"), Email("  Minji@Example.COM ")}, "VIP");
  EXPECT_EQ(created.name(), "customers/c1");
  EXPECT_EQ(created.identities(0).identity().value(), "+821012345678");
  EXPECT_EQ(created.identities(1).identity().value(), "minji@example.com");
  EXPECT_FALSE(created.etag().empty());

  for (const auto& identity : {Phone("+82 10 1234 5678"), Email("MINJI@example.com")}) {
    v1::ResolveCustomerRequest request;
    *request.mutable_identity() = identity;
    v1::ResolveCustomerResponse response;
    ASSERT_TRUE(core_->ResolveCustomer(kTenant, request, response).ok());
    EXPECT_EQ(response.customer().name(), "customers/c1");
    EXPECT_EQ(response.customer().tier(), "VIP");
  }
  v1::ResolveCustomerRequest other_tenant;
  *other_tenant.mutable_identity() = Phone("010-1234-5678");
  v1::ResolveCustomerResponse response;
  EXPECT_EQ(core_->ResolveCustomer("globex", other_tenant, response).code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ContextCoreTest, InvalidInputNamesTheFieldAndWritesNothing) {
  v1::CreateCustomerRequest request;
  request.set_customer_id("c1");
  *request.mutable_customer()->add_identities()->mutable_identity() = Phone("12");
  v1::CreateCustomerResponse response;
  absl::Status status = core_->CreateCustomer(kTenant, request, response);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("customer.identities[0].identity"));
  v1::GetCustomerRequest get;
  get.set_name("customers/c1");
  v1::GetCustomerResponse got;
  EXPECT_EQ(core_->GetCustomer(kTenant, get, got).code(), absl::StatusCode::kNotFound);
}

TEST_F(ContextCoreTest, IdentityBelongsToOneCustomer) {
  Create("c1", {Phone("010-1234-5678")});
  v1::CreateCustomerRequest request;
  request.set_customer_id("c2");
  *request.mutable_customer()->add_identities()->mutable_identity() = Phone("+821012345678");
  v1::CreateCustomerResponse response;
  EXPECT_EQ(core_->CreateCustomer(kTenant, request, response).code(),
            absl::StatusCode::kAlreadyExists);

  Create("c3");
  v1::AddIdentityRequest add;
  add.set_customer("customers/c3");
  *add.mutable_identity() = Phone("01012345678");
  v1::AddIdentityResponse added;
  EXPECT_EQ(core_->AddIdentity(kTenant, add, added).code(), absl::StatusCode::kAlreadyExists);
  // c2 was never created and c3 is unchanged.
  v1::GetCustomerRequest get;
  get.set_name("customers/c3");
  v1::GetCustomerResponse got;
  ASSERT_TRUE(core_->GetCustomer(kTenant, get, got).ok());
  EXPECT_EQ(got.customer().identities_size(), 0);

  v1::RemoveIdentityRequest remove;
  remove.set_customer("customers/c1");
  *remove.mutable_identity() = Phone("010-1234-5678");
  v1::RemoveIdentityResponse removed;
  ASSERT_TRUE(core_->RemoveIdentity(kTenant, remove, removed).ok());
  EXPECT_TRUE(core_->AddIdentity(kTenant, add, added).ok());
  EXPECT_EQ(added.customer().identities(0).identity().value(), "+821012345678");
}

TEST_F(ContextCoreTest, UpdateWithMaskAndStaleEtagIsAborted) {
  v1::Customer created = Create("c1");
  v1::UpdateCustomerRequest request;
  request.mutable_customer()->set_name("customers/c1");
  request.mutable_customer()->set_tier("VIP");
  request.mutable_customer()->set_display_name("ignored: not in mask");
  request.mutable_customer()->set_etag(created.etag());
  request.mutable_update_mask()->add_paths("tier");
  v1::UpdateCustomerResponse response;
  ASSERT_TRUE(core_->UpdateCustomer(kTenant, request, response).ok());
  EXPECT_EQ(response.customer().tier(), "VIP");
  EXPECT_EQ(response.customer().display_name(), created.display_name());
  EXPECT_NE(response.customer().etag(), created.etag());
  // The same (now stale) etag again.
  EXPECT_EQ(core_->UpdateCustomer(kTenant, request, response).code(), absl::StatusCode::kAborted);
  request.mutable_update_mask()->set_paths(0, "identities");
  request.mutable_customer()->clear_etag();
  EXPECT_EQ(core_->UpdateCustomer(kTenant, request, response).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ContextCoreTest, CreateWithRequestIdIsIdempotent) {
  v1::CreateCustomerRequest request;
  request.set_request_id("9b2f6c1e-0000-4000-8000-000000000001");
  request.mutable_customer()->set_display_name("Lee");
  v1::CreateCustomerResponse first, second;
  ASSERT_TRUE(core_->CreateCustomer(kTenant, request, first).ok());
  ASSERT_TRUE(core_->CreateCustomer(kTenant, request, second).ok());
  EXPECT_EQ(first.customer().name(), second.customer().name());
  v1::ListCustomersResponse list;
  ASSERT_TRUE(core_->ListCustomers(kTenant, {}, list).ok());
  EXPECT_EQ(list.customers_size(), 1);
  request.mutable_customer()->set_display_name("Park");
  EXPECT_EQ(core_->CreateCustomer(kTenant, request, second).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ContextCoreTest, AppendIsIdempotentAndTimelineIsNewestFirstAndStable) {
  Create("c1");
  const absl::Time t = now_ - absl::Hours(1);
  auto first = Append("customers/c1", cxp::type::v1::CHANNEL_VOICE, t, "agents/a1", "req-1");
  ASSERT_TRUE(first.ok()) << first.status();
  auto retried = Append("customers/c1", cxp::type::v1::CHANNEL_VOICE, t, "agents/a1", "req-1");
  ASSERT_TRUE(retried.ok());
  EXPECT_EQ(first->name(), retried->name());
  auto same_time = Append("customers/c1", cxp::type::v1::CHANNEL_CHAT, t);
  auto older = Append("customers/c1", cxp::type::v1::CHANNEL_EMAIL, t - absl::Hours(5));
  auto newer = Append("customers/c1", cxp::type::v1::CHANNEL_SMS, t + absl::Minutes(10));
  ASSERT_TRUE(same_time.ok() && older.ok() && newer.ok());

  v1::ListInteractionsRequest request;
  request.set_parent("customers/c1");
  v1::ListInteractionsResponse response;
  ASSERT_TRUE(core_->ListInteractions(kTenant, request, response).ok());
  ASSERT_EQ(response.interactions_size(), 4);
  EXPECT_EQ(response.interactions(0).name(), newer->name());
  EXPECT_EQ(response.interactions(1).name(), same_time->name());  // later append first on ties
  EXPECT_EQ(response.interactions(2).name(), first->name());
  EXPECT_EQ(response.interactions(3).name(), older->name());
}

TEST_F(ContextCoreTest, ListInteractionsPagesAndFilters) {
  Create("c1");
  for (int i = 0; i < 25; ++i) {
    ASSERT_TRUE(Append("customers/c1",
                       i % 2 ? cxp::type::v1::CHANNEL_CHAT : cxp::type::v1::CHANNEL_VOICE,
                       now_ - absl::Minutes(100 - i))
                    .ok());
  }
  v1::ListInteractionsRequest request;
  request.set_parent("customers/c1");
  request.set_page_size(5);
  request.set_filter("channel = CHAT");
  std::vector<std::string> names;
  do {
    v1::ListInteractionsResponse response;
    ASSERT_TRUE(core_->ListInteractions(kTenant, request, response).ok());
    for (const auto& interaction : response.interactions()) {
      EXPECT_EQ(interaction.channel(), cxp::type::v1::CHANNEL_CHAT);
      names.push_back(interaction.name());
    }
    request.set_page_token(response.next_page_token());
  } while (!request.page_token().empty());
  EXPECT_EQ(names.size(), 12u);
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), 12u);

  // A time window narrows the scan; a token cannot be reused with another filter.
  request.set_page_token("");
  request.set_filter(absl::StrCat("occur_time >= \"", absl::FormatTime(now_ - absl::Minutes(80)),
                                  "\" AND occur_time < \"",
                                  absl::FormatTime(now_ - absl::Minutes(78)), "\""));
  v1::ListInteractionsResponse window;
  ASSERT_TRUE(core_->ListInteractions(kTenant, request, window).ok());
  EXPECT_EQ(window.interactions_size(), 2);
  request.set_filter("channel = VOICE");
  request.set_page_size(1);
  v1::ListInteractionsResponse page;
  ASSERT_TRUE(core_->ListInteractions(kTenant, request, page).ok());
  request.set_page_token(page.next_page_token());
  request.set_filter("channel = CHAT");
  EXPECT_EQ(core_->ListInteractions(kTenant, request, page).code(),
            absl::StatusCode::kInvalidArgument);
  request.set_filter("colour = RED");
  request.set_page_token("");
  EXPECT_EQ(core_->ListInteractions(kTenant, request, page).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ContextCoreTest, AppendByUnknownIdentityCreatesOnlyWhenAsked) {
  v1::AppendInteractionRequest request;
  *request.mutable_customer()->mutable_identity() = Phone("010-9999-0000");
  request.mutable_interaction()->set_channel(cxp::type::v1::CHANNEL_VOICE);
  request.mutable_interaction()->set_direction(v1::Interaction::DIRECTION_INBOUND);
  request.mutable_interaction()->set_type("call");
  v1::AppendInteractionResponse response;
  EXPECT_EQ(core_->AppendInteraction(kTenant, request, response).code(),
            absl::StatusCode::kNotFound);
  request.set_create_customer_if_missing(true);
  ASSERT_TRUE(core_->AppendInteraction(kTenant, request, response).ok());
  EXPECT_TRUE(response.customer_created());
  v1::AppendInteractionResponse again;
  ASSERT_TRUE(core_->AppendInteraction(kTenant, request, again).ok());
  EXPECT_FALSE(again.customer_created());
  cxp::type::v1::CustomerRef ref;
  *ref.mutable_identity() = Phone("+821099990000");
  v1::CustomerContext context = Context(ref);
  EXPECT_EQ(context.recent_interactions_size(), 2);
  EXPECT_EQ(context.customer().identities(0).identity().value(), "+821099990000");
}

TEST_F(ContextCoreTest, CustomerContextHasEverythingAndCountersMatch) {
  Create("c1", {Phone("010-1234-5678")}, "VIP");
  ASSERT_TRUE(
      Append("customers/c1", cxp::type::v1::CHANNEL_VOICE, now_ - absl::Hours(2), "agents/kim")
          .ok());
  ASSERT_TRUE(Append("customers/c1", cxp::type::v1::CHANNEL_CHAT, now_ - absl::Hours(30)).ok());
  ASSERT_TRUE(
      Append("customers/c1", cxp::type::v1::CHANNEL_EMAIL, now_ - absl::Hours(24 * 10)).ok());
  ASSERT_TRUE(Append("customers/c1", cxp::type::v1::CHANNEL_SMS, now_ - absl::Hours(24 * 40), "",
                     "", v1::Interaction::DIRECTION_OUTBOUND)
                  .ok());

  ASSERT_TRUE(
      SetMarketingConsent("c1", cxp::type::v1::CHANNEL_SMS, v1::CONSENT_STATE_DENIED, "sms-keyword")
          .ok());

  cxp::type::v1::CustomerRef ref;
  *ref.mutable_identity() = Phone("01012345678");
  v1::CustomerContext context = Context(ref, 2);
  EXPECT_EQ(context.customer().tier(), "VIP");
  ASSERT_EQ(context.recent_interactions_size(), 2);
  EXPECT_EQ(context.recent_interactions(0).channel(), cxp::type::v1::CHANNEL_VOICE);
  ASSERT_EQ(context.consent().entries_size(), 1);
  EXPECT_EQ(context.consent().entries(0).state(), v1::CONSENT_STATE_DENIED);
  const v1::ComputedAttributes& computed = context.computed_attributes();
  EXPECT_EQ(computed.all_channels().last_24_hours(), 1);
  EXPECT_EQ(computed.all_channels().last_7_days(), 2);
  EXPECT_EQ(computed.all_channels().last_30_days(), 3);
  EXPECT_EQ(computed.last_agent(), "agents/kim");
  EXPECT_EQ(computed.last_contact_channel(), cxp::type::v1::CHANNEL_VOICE);
  EXPECT_TRUE(computed.repeat_contact());  // inbound 2 h and 30 h ago

  // The counters are kept on write and survive a restart.
  Reopen();
  EXPECT_EQ(Context(ref).computed_attributes().all_channels().last_30_days(), 3);
  // A day later the 24 h window is empty.
  now_ += absl::Hours(24);
  EXPECT_EQ(Context(ref).computed_attributes().all_channels().last_24_hours(), 0);
}

TEST_F(ContextCoreTest, ConsentHistoryIsKept) {
  Create("c1");
  for (auto state :
       {v1::CONSENT_STATE_GRANTED, v1::CONSENT_STATE_DENIED, v1::CONSENT_STATE_UNSPECIFIED}) {
    ASSERT_TRUE(SetMarketingConsent("c1", cxp::type::v1::CHANNEL_EMAIL, state, "web-form").ok());
    now_ += absl::Minutes(1);
  }
  v1::ListConsentHistoryRequest request;
  request.set_parent("customers/c1");
  v1::ListConsentHistoryResponse response;
  ASSERT_TRUE(core_->ListConsentHistory(kTenant, request, response).ok());
  ASSERT_EQ(response.consent_changes_size(), 3);
  EXPECT_EQ(response.consent_changes(0).state(), v1::CONSENT_STATE_UNSPECIFIED);
  EXPECT_EQ(response.consent_changes(0).previous_state(), v1::CONSENT_STATE_DENIED);
  EXPECT_EQ(response.consent_changes(2).state(), v1::CONSENT_STATE_GRANTED);
  request.set_filter("state = DENIED");
  v1::ListConsentHistoryResponse denied;
  ASSERT_TRUE(core_->ListConsentHistory(kTenant, request, denied).ok());
  EXPECT_EQ(denied.consent_changes_size(), 1);
}

TEST_F(ContextCoreTest, PreferencesUseEtags) {
  Create("c1");
  v1::UpdateContactPreferencesRequest request;
  v1::ContactPreferences& preferences = *request.mutable_contact_preferences();
  preferences.set_name("customers/c1/contactPreferences");
  preferences.add_channel_order(cxp::type::v1::CHANNEL_CHAT);
  preferences.add_channel_order(cxp::type::v1::CHANNEL_SMS);
  preferences.set_language_code("ko-kr");
  v1::UpdateContactPreferencesResponse response;
  ASSERT_TRUE(core_->UpdateContactPreferences(kTenant, request, response).ok());
  EXPECT_EQ(response.contact_preferences().language_code(), "ko-KR");
  const std::string etag = response.contact_preferences().etag();
  preferences.set_etag("stale");
  EXPECT_EQ(core_->UpdateContactPreferences(kTenant, request, response).code(),
            absl::StatusCode::kAborted);
  preferences.set_etag(etag);
  EXPECT_TRUE(core_->UpdateContactPreferences(kTenant, request, response).ok());
}

TEST_F(ContextCoreTest, ListCustomersNewestFirstWithFilter) {
  for (int i = 0; i < 7; ++i) {
    Create(absl::StrCat("c", i), {}, i % 3 == 0 ? "VIP" : "standard");
    now_ += absl::Seconds(1);
  }
  v1::ListCustomersRequest request;
  request.set_filter("tier = \"VIP\"");
  request.set_page_size(2);
  std::vector<std::string> names;
  do {
    v1::ListCustomersResponse response;
    ASSERT_TRUE(core_->ListCustomers(kTenant, request, response).ok());
    for (const auto& customer : response.customers()) names.push_back(customer.name());
    request.set_page_token(response.next_page_token());
  } while (!request.page_token().empty());
  EXPECT_THAT(names, ::testing::ElementsAre("customers/c6", "customers/c3", "customers/c0"));
  v1::ListCustomersResponse other;
  ASSERT_TRUE(core_->ListCustomers("globex", {}, other).ok());
  EXPECT_EQ(other.customers_size(), 0);
}

TEST_F(ContextCoreTest, DeleteRemovesEverything) {
  v1::Customer created = Create("c1", {Phone("010-1234-5678")});
  ASSERT_TRUE(Append("customers/c1", cxp::type::v1::CHANNEL_VOICE, now_).ok());
  v1::DeleteCustomerRequest request;
  request.set_name("customers/c1");
  request.set_etag("999");
  v1::DeleteCustomerResponse response;
  EXPECT_EQ(core_->DeleteCustomer(kTenant, request, response).code(), absl::StatusCode::kAborted);
  request.set_etag(created.etag());
  ASSERT_TRUE(core_->DeleteCustomer(kTenant, request, response).ok());
  v1::ResolveCustomerRequest resolve;
  *resolve.mutable_identity() = Phone("010-1234-5678");
  v1::ResolveCustomerResponse resolved;
  EXPECT_EQ(core_->ResolveCustomer(kTenant, resolve, resolved).code(), absl::StatusCode::kNotFound);
  // Re-creating the id starts from an empty timeline.
  Create("c1");
  v1::ListInteractionsRequest list;
  list.set_parent("customers/c1");
  v1::ListInteractionsResponse listed;
  ASSERT_TRUE(core_->ListInteractions(kTenant, list, listed).ok());
  EXPECT_EQ(listed.interactions_size(), 0);
  cxp::type::v1::CustomerRef ref;
  ref.set_customer("customers/c1");
  EXPECT_EQ(Context(ref).recent_interactions_size(), 0);  // the head went with the customer
  ASSERT_TRUE(Append("customers/c1", cxp::type::v1::CHANNEL_CHAT, now_).ok());
  EXPECT_EQ(Context(ref).recent_interactions_size(), 1);
}

// ------------------------------------------------------------------ journeys

v1::StartJourneyRequest NewJourney(const std::string& customer_id, const std::string& journey_id,
                                   const std::string& type = "missed_delivery",
                                   const std::string& step = "reported") {
  v1::StartJourneyRequest request;
  request.set_parent("customers/" + customer_id);
  request.set_journey_id(journey_id);
  request.mutable_journey()->set_type(type);
  request.mutable_journey()->set_display_name("Parcel did not arrive");
  (*request.mutable_journey()->mutable_attributes())["parcel_id"].set_string_value("P-1");
  request.set_step(step);
  request.set_channel(cxp::type::v1::CHANNEL_VOICE);
  return request;
}

v1::AdvanceJourneyRequest Advance(const std::string& name, const std::string& step,
                                  v1::Journey::State state, const std::string& etag = "") {
  v1::AdvanceJourneyRequest request;
  request.set_name(name);
  request.set_step(step);
  request.set_state(state);
  request.set_channel(cxp::type::v1::CHANNEL_CHAT);
  request.set_etag(etag);
  return request;
}

TEST_F(ContextCoreTest, JourneyStartsAdvancesWithEtagsAndEnds) {
  Create("c1");
  v1::StartJourneyResponse started;
  ASSERT_TRUE(core_->StartJourney(kTenant, NewJourney("c1", "j1"), started).ok());
  const v1::Journey& journey = started.journey();
  EXPECT_EQ(journey.name(), "customers/c1/journeys/j1");
  EXPECT_EQ(journey.state(), v1::Journey::STATE_OPEN);
  EXPECT_EQ(journey.step(), "reported");
  EXPECT_EQ(journey.etag(), "1");
  ASSERT_EQ(journey.transitions_size(), 1);
  EXPECT_EQ(journey.transitions(0).channel(), cxp::type::v1::CHANNEL_VOICE);
  EXPECT_FALSE(journey.has_end_time());

  now_ += absl::Minutes(5);
  v1::AdvanceJourneyRequest advance =
      Advance(journey.name(), "redelivery_booked", v1::Journey::STATE_WAITING_ON_CUSTOMER, "1");
  (*advance.mutable_attributes())["order_number"].set_string_value("O-9");
  advance.set_note("customer picks a slot");
  v1::AdvanceJourneyResponse advanced;
  ASSERT_TRUE(core_->AdvanceJourney(kTenant, advance, advanced).ok());
  EXPECT_EQ(advanced.journey().etag(), "2");
  EXPECT_EQ(advanced.journey().step(), "redelivery_booked");
  EXPECT_EQ(advanced.journey().attributes().at("parcel_id").string_value(), "P-1");  // kept
  EXPECT_EQ(advanced.journey().attributes().at("order_number").string_value(), "O-9");
  ASSERT_EQ(advanced.journey().transitions_size(), 2);
  EXPECT_EQ(advanced.journey().transitions(1).channel(), cxp::type::v1::CHANNEL_CHAT);
  EXPECT_EQ(advanced.journey().transitions(1).note(), "customer picks a slot");
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(advanced.journey().update_time()),
            absl::ToUnixMicros(now_));

  // A stale etag is ABORTED and changes nothing.
  v1::AdvanceJourneyResponse ignored;
  EXPECT_EQ(core_->AdvanceJourney(kTenant, Advance(journey.name(), "x", {}, "1"), ignored).code(),
            absl::StatusCode::kAborted);
  // Neither step nor state: INVALID_ARGUMENT.
  absl::Status empty = core_->AdvanceJourney(kTenant, Advance(journey.name(), "", {}), ignored);
  EXPECT_EQ(empty.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(empty.message()), HasSubstr("step"));
  v1::GetJourneyRequest get;
  get.set_name(journey.name());
  v1::GetJourneyResponse got;
  ASSERT_TRUE(core_->GetJourney(kTenant, get, got).ok());
  EXPECT_TRUE(
      google::protobuf::util::MessageDifferencer::Equals(got.journey(), advanced.journey()));

  // Only the step changes: the state stays; then resolving ends it.
  ASSERT_TRUE(
      core_->AdvanceJourney(kTenant, Advance(journey.name(), "slot_chosen", {}), advanced).ok());
  EXPECT_EQ(advanced.journey().state(), v1::Journey::STATE_WAITING_ON_CUSTOMER);
  ASSERT_TRUE(core_
                  ->AdvanceJourney(
                      kTenant, Advance(journey.name(), "", v1::Journey::STATE_RESOLVED), advanced)
                  .ok());
  EXPECT_EQ(advanced.journey().step(), "slot_chosen");
  EXPECT_TRUE(advanced.journey().has_end_time());
  absl::Status finished =
      core_->AdvanceJourney(kTenant, Advance(journey.name(), "", v1::Journey::STATE_OPEN), ignored);
  EXPECT_EQ(finished.code(), absl::StatusCode::kFailedPrecondition) << finished;

  get.set_name("customers/c1/journeys/nope");
  EXPECT_EQ(core_->GetJourney(kTenant, get, got).code(), absl::StatusCode::kNotFound);
  get.set_name("customers/c1/cases/j1");
  EXPECT_EQ(core_->GetJourney(kTenant, get, got).code(), absl::StatusCode::kInvalidArgument);
  // Another tenant sees nothing.
  get.set_name(journey.name());
  EXPECT_EQ(core_->GetJourney("other", get, got).code(), absl::StatusCode::kNotFound);
}

TEST_F(ContextCoreTest, StartJourneyErrorsChangeNothingAndRetriesStartOnce) {
  Create("c1");
  v1::StartJourneyResponse response;
  EXPECT_EQ(core_->StartJourney(kTenant, NewJourney("nobody", "j1"), response).code(),
            absl::StatusCode::kNotFound);
  absl::Status bad_type =
      core_->StartJourney(kTenant, NewJourney("c1", "j1", "Missed Delivery"), response);
  EXPECT_EQ(bad_type.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad_type.message()), HasSubstr("journey.type"));
  v1::StartJourneyRequest terminal = NewJourney("c1", "j1");
  terminal.set_state(v1::Journey::STATE_RESOLVED);
  EXPECT_EQ(core_->StartJourney(kTenant, terminal, response).code(),
            absl::StatusCode::kInvalidArgument);

  v1::StartJourneyRequest request = NewJourney("c1", "");
  request.set_request_id("0b8e5c3e-7a4f-4e0b-9a51-6f3c2a1d9e77");
  v1::StartJourneyResponse first, retried;
  ASSERT_TRUE(core_->StartJourney(kTenant, request, first).ok());
  ASSERT_TRUE(core_->StartJourney(kTenant, request, retried).ok());
  EXPECT_EQ(first.journey().name(), retried.journey().name());
  EXPECT_EQ(
      core_->StartJourney(kTenant, NewJourney("c1", first.journey().name().substr(22)), response)
          .code(),
      absl::StatusCode::kAlreadyExists);
  v1::ListJourneysRequest list;
  list.set_parent("customers/c1");
  v1::ListJourneysResponse listed;
  ASSERT_TRUE(core_->ListJourneys(kTenant, list, listed).ok());
  EXPECT_EQ(listed.journeys_size(), 1);  // the failed and retried starts added nothing
}

TEST_F(ContextCoreTest, ListJourneysMostRecentlyUpdatedFirstPagedAndFiltered) {
  Create("c1");
  Create("c2");
  v1::StartJourneyResponse started;
  for (const char* id : {"j1", "j2", "j3"}) {
    ASSERT_TRUE(core_->StartJourney(kTenant, NewJourney("c1", id), started).ok());
    now_ += absl::Seconds(1);
  }
  ASSERT_TRUE(
      core_->StartJourney(kTenant, NewJourney("c2", "k1", "card_replacement"), started).ok());
  now_ += absl::Seconds(1);
  v1::AdvanceJourneyResponse advanced;
  ASSERT_TRUE(core_
                  ->AdvanceJourney(kTenant,
                                   Advance("customers/c1/journeys/j1", "approved",
                                           v1::Journey::STATE_WAITING_ON_BUSINESS),
                                   advanced)
                  .ok());

  auto list_all = [&](const std::string& parent, const std::string& filter) {
    std::vector<std::string> names;
    v1::ListJourneysRequest request;
    request.set_parent(parent);
    request.set_filter(filter);
    request.set_page_size(2);
    for (int page = 0; page < 10; ++page) {
      v1::ListJourneysResponse response;
      absl::Status status = core_->ListJourneys(kTenant, request, response);
      EXPECT_TRUE(status.ok()) << status;
      for (const v1::Journey& journey : response.journeys()) names.push_back(journey.name());
      if (response.next_page_token().empty()) break;
      request.set_page_token(response.next_page_token());
    }
    return names;
  };
  EXPECT_THAT(list_all("customers/c1", ""),
              ::testing::ElementsAre("customers/c1/journeys/j1", "customers/c1/journeys/j3",
                                     "customers/c1/journeys/j2"));
  EXPECT_THAT(list_all("customers/-", ""),
              ::testing::ElementsAre("customers/c1/journeys/j1", "customers/c2/journeys/k1",
                                     "customers/c1/journeys/j3", "customers/c1/journeys/j2"));
  EXPECT_THAT(list_all("customers/-", "state = WAITING_ON_BUSINESS"),
              ::testing::ElementsAre("customers/c1/journeys/j1"));
  EXPECT_THAT(
      list_all("customers/-", "type = \"card_replacement\" AND attributes.parcel_id = \"P-1\""),
      ::testing::ElementsAre("customers/c2/journeys/k1"));

  v1::ListJourneysRequest request;
  request.set_parent("customers/nobody");
  v1::ListJourneysResponse response;
  EXPECT_EQ(core_->ListJourneys(kTenant, request, response).code(), absl::StatusCode::kNotFound);
  request.set_parent("customers/c1");
  request.set_filter("colour = \"red\"");
  EXPECT_EQ(core_->ListJourneys(kTenant, request, response).code(),
            absl::StatusCode::kInvalidArgument);
  request.set_filter("");
  request.set_parent("customers/-");
  ASSERT_TRUE(core_->ListJourneys("other", request, response).ok());
  EXPECT_EQ(response.journeys_size(), 0);  // tenant isolation
}

TEST_F(ContextCoreTest, OpenJourneysAppearInTheCustomerViewAndFollowChanges) {
  Create("c1");
  cxp::type::v1::CustomerRef ref;
  ref.set_customer("customers/c1");
  EXPECT_EQ(Context(ref).open_journeys_size(), 0);
  v1::StartJourneyResponse started;
  ASSERT_TRUE(core_->StartJourney(kTenant, NewJourney("c1", "j1"), started).ok());
  now_ += absl::Seconds(1);
  ASSERT_TRUE(core_->StartJourney(kTenant, NewJourney("c1", "j2"), started).ok());
  v1::CustomerContext context = Context(ref);  // cached from here on
  ASSERT_EQ(context.open_journeys_size(), 2);
  EXPECT_EQ(context.open_journeys(0).name(), "customers/c1/journeys/j2");

  now_ += absl::Seconds(1);
  v1::AdvanceJourneyResponse advanced;
  ASSERT_TRUE(core_
                  ->AdvanceJourney(kTenant,
                                   Advance("customers/c1/journeys/j1", "slot_chosen",
                                           v1::Journey::STATE_WAITING_ON_CUSTOMER),
                                   advanced)
                  .ok());
  context = Context(ref);
  ASSERT_EQ(context.open_journeys_size(), 2);
  EXPECT_EQ(context.open_journeys(0).name(), "customers/c1/journeys/j1");  // updated last
  EXPECT_EQ(context.open_journeys(0).step(), "slot_chosen");
  EXPECT_EQ(context.open_journeys(0).etag(), "2");
  ASSERT_EQ(context.open_journeys(0).transitions_size(), 1);  // only the latest
  EXPECT_EQ(context.open_journeys(0).transitions(0).step(), "slot_chosen");

  ASSERT_TRUE(
      core_
          ->AdvanceJourney(kTenant,
                           Advance("customers/c1/journeys/j2", "", v1::Journey::STATE_ABANDONED),
                           advanced)
          .ok());
  context = Context(ref);
  ASSERT_EQ(context.open_journeys_size(), 1);
  EXPECT_EQ(context.open_journeys(0).name(), "customers/c1/journeys/j1");
  Reopen();  // from storage, not the cache
  EXPECT_EQ(Context(ref).open_journeys_size(), 1);
}

TEST_F(ContextCoreTest, AtMostAHundredOpenJourneysAndTheViewShowsTwenty) {
  Create("c1");
  v1::StartJourneyResponse started;
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(core_->StartJourney(kTenant, NewJourney("c1", absl::StrCat("j", i)), started).ok());
    now_ += absl::Milliseconds(1);
  }
  absl::Status full = core_->StartJourney(kTenant, NewJourney("c1", "j100"), started);
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted) << full;
  cxp::type::v1::CustomerRef ref;
  ref.set_customer("customers/c1");
  v1::CustomerContext context = Context(ref);
  ASSERT_EQ(context.open_journeys_size(), 20);
  EXPECT_EQ(context.open_journeys(0).name(), "customers/c1/journeys/j99");
  // Ending one makes room.
  v1::AdvanceJourneyResponse advanced;
  ASSERT_TRUE(core_
                  ->AdvanceJourney(
                      kTenant, Advance("customers/c1/journeys/j0", "", v1::Journey::STATE_RESOLVED),
                      advanced)
                  .ok());
  EXPECT_TRUE(core_->StartJourney(kTenant, NewJourney("c1", "j100"), started).ok());
}

TEST_F(ContextCoreTest, InteractionsReferenceExistingJourneys) {
  Create("c1");
  v1::StartJourneyResponse started;
  ASSERT_TRUE(core_->StartJourney(kTenant, NewJourney("c1", "j1"), started).ok());
  v1::AppendInteractionRequest request;
  request.mutable_customer()->set_customer("customers/c1");
  request.mutable_interaction()->set_channel(cxp::type::v1::CHANNEL_CHAT);
  request.mutable_interaction()->set_direction(v1::Interaction::DIRECTION_INBOUND);
  request.mutable_interaction()->set_type("message");
  request.mutable_interaction()->set_journey("customers/c1/journeys/j1");
  v1::AppendInteractionResponse appended;
  ASSERT_TRUE(core_->AppendInteraction(kTenant, request, appended).ok());
  request.mutable_interaction()->set_journey("customers/c1/journeys/j2");
  absl::Status missing = core_->AppendInteraction(kTenant, request, appended);
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound) << missing;
  EXPECT_THAT(std::string(missing.message()), HasSubstr("interaction.journey"));
  v1::ListInteractionsRequest list;
  list.set_parent("customers/c1");
  list.set_filter("journey = \"customers/c1/journeys/j1\"");
  v1::ListInteractionsResponse listed;
  ASSERT_TRUE(core_->ListInteractions(kTenant, list, listed).ok());
  EXPECT_EQ(listed.interactions_size(), 1);
}

TEST_F(ContextCoreTest, DeletingACustomerRemovesItsJourneys) {
  Create("c1");
  Create("c2");
  v1::StartJourneyResponse started;
  ASSERT_TRUE(core_->StartJourney(kTenant, NewJourney("c1", "j1"), started).ok());
  ASSERT_TRUE(core_->StartJourney(kTenant, NewJourney("c2", "k1"), started).ok());
  v1::DeleteCustomerRequest erase;
  erase.set_name("customers/c1");
  v1::DeleteCustomerResponse erased;
  ASSERT_TRUE(core_->DeleteCustomer(kTenant, erase, erased).ok());
  v1::GetJourneyRequest get;
  get.set_name("customers/c1/journeys/j1");
  v1::GetJourneyResponse got;
  EXPECT_EQ(core_->GetJourney(kTenant, get, got).code(), absl::StatusCode::kNotFound);
  v1::ListJourneysRequest list;
  list.set_parent("customers/-");
  v1::ListJourneysResponse listed;
  ASSERT_TRUE(core_->ListJourneys(kTenant, list, listed).ok());
  ASSERT_EQ(listed.journeys_size(), 1);
  EXPECT_EQ(listed.journeys(0).name(), "customers/c2/journeys/k1");
  // The tenant-wide index holds no row of the deleted customer either.
  int rows = 0;
  ASSERT_TRUE(
      store_
          ->ScanJourneysByTime(kTenant, "", "", 100,
                               [&](const std::string&, const ContextStore::JourneyIndexEntry&) {
                                 ++rows;
                                 return true;
                               })
          .ok());
  EXPECT_EQ(rows, 1);
  Create("c1");  // a re-created id starts without journeys
  cxp::type::v1::CustomerRef ref;
  ref.set_customer("customers/c1");
  EXPECT_EQ(Context(ref).open_journeys_size(), 0);
}

// ------------------------------------------------------------ change stream

// Everything a watch yields until it has `count` events or `wait` passed
// (events reach watchers once their WAL fsync is done, on another thread).
std::vector<v1::ChangeEvent> Drain(const ChangeFeed& feed, ChangeFeed::Watch& watch, size_t count,
                                   absl::Status* error = nullptr,
                                   absl::Duration wait = absl::Seconds(10)) {
  std::vector<v1::ChangeEvent> events;
  const absl::Time give_up = absl::Now() + wait;
  while (events.size() < count && absl::Now() < give_up) {
    absl::Status status = feed.Next(watch, 3, 1000, events);  // small batches on purpose
    if (!status.ok()) {
      if (error != nullptr) *error = status;
      break;
    }
    if (events.size() < count) absl::SleepFor(absl::Milliseconds(2));
  }
  return events;
}

std::vector<int> Kinds(const std::vector<v1::ChangeEvent>& events) {
  std::vector<int> kinds;
  for (const v1::ChangeEvent& event : events) kinds.push_back(event.kind());
  return kinds;
}

// A batch of `count` chat messages for customers/<id>, a minute apart
// from `first`.
v1::BatchAppendInteractionsRequest ChatTranscript(const std::string& id, int count,
                                                  absl::Time first) {
  v1::BatchAppendInteractionsRequest request;
  request.mutable_customer()->set_customer("customers/" + id);
  for (int i = 0; i < count; ++i) {
    v1::Interaction& message = *request.add_interactions();
    message.set_channel(cxp::type::v1::CHANNEL_CHAT);
    message.set_direction(i % 2 ? v1::Interaction::DIRECTION_OUTBOUND
                                : v1::Interaction::DIRECTION_INBOUND);
    message.set_type("message");
    message.set_summary(absl::StrCat("line ", i));
    *message.mutable_occur_time() =
        TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(first + absl::Minutes(i)));
  }
  return request;
}

TEST_F(ContextCoreTest, BatchAppendIsAllOrNothingNumberedInOrderWithAnEventEach) {
  ChangeFeed feed(*store_);
  Create("c1");
  v1::StartJourneyResponse started;
  ASSERT_TRUE(core_->StartJourney(kTenant, NewJourney("c1", "j1"), started).ok());
  ASSERT_TRUE(Append("customers/c1", cxp::type::v1::CHANNEL_VOICE, now_ - absl::Hours(2)).ok());
  // As the gRPC edge does before it acknowledges a write; then watch from now.
  absl::Notification durable;
  core_->AfterDurable([&](absl::Status) { durable.Notify(); });
  ASSERT_TRUE(durable.WaitForNotificationWithTimeout(absl::Seconds(10)));
  absl::StatusOr<ChangeFeed::Watch> watch = feed.Open(kTenant, {});
  ASSERT_TRUE(watch.ok()) << watch.status();

  v1::BatchAppendInteractionsRequest request = ChatTranscript("c1", 3, now_ - absl::Hours(1));
  request.mutable_interactions(1)->set_journey("customers/c1/journeys/j1");
  request.set_request_id("5f0c6c1e-2b4a-4d7e-9a53-2f1a0b7c9d11");
  v1::BatchAppendInteractionsResponse response;
  ASSERT_TRUE(core_->BatchAppendInteractions(kTenant, request, response).ok());
  ASSERT_EQ(response.interactions_size(), 3);
  EXPECT_FALSE(response.customer_created());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(response.interactions(i).name(),
              absl::StrFormat("customers/c1/interactions/%016x", i + 2));
    EXPECT_EQ(response.interactions(i).summary(), absl::StrCat("line ", i));
  }
  EXPECT_EQ(response.interactions(1).journey(), "customers/c1/journeys/j1");

  // One event per interaction, in order.
  std::vector<v1::ChangeEvent> events = Drain(feed, *watch, 3);
  ASSERT_EQ(events.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(events[i].kind(), v1::CHANGE_KIND_INTERACTION_APPENDED);
    EXPECT_EQ(events[i].interaction().name(), response.interactions(i).name());
    if (i > 0) {
      EXPECT_GT(events[i].sequence(), events[i - 1].sequence());
    }
  }

  // A retry replays the first answer and appends nothing.
  v1::BatchAppendInteractionsResponse retried;
  ASSERT_TRUE(core_->BatchAppendInteractions(kTenant, request, retried).ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(retried, response));
  EXPECT_TRUE(Drain(feed, *watch, 1, nullptr, absl::Milliseconds(200)).empty());

  // Bad input anywhere in a batch changes nothing and names the interaction.
  auto expect_refused = [&](const v1::BatchAppendInteractionsRequest& bad, absl::StatusCode code,
                            const std::string& field) {
    v1::BatchAppendInteractionsResponse ignored;
    absl::Status status = core_->BatchAppendInteractions(kTenant, bad, ignored);
    EXPECT_EQ(status.code(), code) << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr(field));
  };
  v1::BatchAppendInteractionsRequest unknown_journey = ChatTranscript("c1", 3, now_);
  unknown_journey.mutable_interactions(2)->set_journey("customers/c1/journeys/j9");
  expect_refused(unknown_journey, absl::StatusCode::kNotFound, "interactions[2].journey");
  v1::BatchAppendInteractionsRequest no_channel = ChatTranscript("c1", 3, now_);
  no_channel.mutable_interactions(1)->clear_channel();
  expect_refused(no_channel, absl::StatusCode::kInvalidArgument, "interactions[1].channel");
  v1::BatchAppendInteractionsRequest other_customer = ChatTranscript("c1", 2, now_);
  other_customer.mutable_interactions(0)->set_journey("customers/c2/journeys/k1");
  expect_refused(other_customer, absl::StatusCode::kInvalidArgument, "interactions[0].journey");
  expect_refused(ChatTranscript("c1", 0, now_), absl::StatusCode::kInvalidArgument, "interactions");
  expect_refused(ChatTranscript("c1", ContextCore::kMaxBatchAppend + 1, now_),
                 absl::StatusCode::kInvalidArgument, "at most 100");
  expect_refused(ChatTranscript("c404", 2, now_), absl::StatusCode::kNotFound, "c404");
  EXPECT_TRUE(Drain(feed, *watch, 1, nullptr, absl::Milliseconds(200)).empty());

  v1::ListInteractionsRequest list;
  list.set_parent("customers/c1");
  v1::ListInteractionsResponse listed;
  ASSERT_TRUE(core_->ListInteractions(kTenant, list, listed).ok());
  ASSERT_EQ(listed.interactions_size(), 4);
  EXPECT_EQ(listed.interactions(0).name(), response.interactions(2).name());  // newest first
  cxp::type::v1::CustomerRef ref;
  ref.set_customer("customers/c1");
  v1::CustomerContext context = Context(ref);
  EXPECT_EQ(context.recent_interactions_size(), 4);
  EXPECT_EQ(context.recent_interactions(0).name(), response.interactions(2).name());

  // By an identity nobody has yet: one new customer holds the whole batch.
  v1::BatchAppendInteractionsRequest by_phone = ChatTranscript("unused", 2, now_);
  *by_phone.mutable_customer()->mutable_identity() = Phone("010-5555-0101");
  by_phone.set_create_customer_if_missing(true);
  v1::BatchAppendInteractionsResponse created;
  ASSERT_TRUE(core_->BatchAppendInteractions(kTenant, by_phone, created).ok());
  EXPECT_TRUE(created.customer_created());
  ASSERT_EQ(created.interactions_size(), 2);
  const std::string customer = created.interactions(0).name().substr(
      0, created.interactions(0).name().find("/interactions/"));
  EXPECT_THAT(created.interactions(1).name(), ::testing::StartsWith(customer + "/"));
  cxp::type::v1::CustomerRef phone_ref;
  *phone_ref.mutable_identity() = Phone("+821055550101");
  EXPECT_EQ(Context(phone_ref).recent_interactions_size(), 2);
}

TEST_F(ContextCoreTest, EveryWriteRecordsItsChangeEventInCommitOrder) {
  ChangeFeed feed(*store_);
  v1::WatchChangesRequest request;
  request.set_after_sequence(0);
  absl::StatusOr<ChangeFeed::Watch> watch = feed.Open(kTenant, request);
  ASSERT_TRUE(watch.ok()) << watch.status();

  v1::Customer created = Create("c1", {Phone("010-1234-5678")});
  v1::UpdateCustomerRequest update;
  update.mutable_customer()->set_name("customers/c1");
  update.mutable_customer()->set_tier("VIP");
  update.mutable_update_mask()->add_paths("tier");
  v1::UpdateCustomerResponse updated;
  ASSERT_TRUE(core_->UpdateCustomer(kTenant, update, updated).ok());
  v1::AddIdentityRequest add;
  add.set_customer("customers/c1");
  *add.mutable_identity() = Email("minji@example.com");
  v1::AddIdentityResponse added;
  ASSERT_TRUE(core_->AddIdentity(kTenant, add, added).ok());
  v1::RemoveIdentityRequest remove;
  remove.set_customer("customers/c1");
  *remove.mutable_identity() = Email("minji@example.com");
  v1::RemoveIdentityResponse removed;
  ASSERT_TRUE(core_->RemoveIdentity(kTenant, remove, removed).ok());
  absl::StatusOr<v1::Interaction> appended =
      Append("customers/c1", cxp::type::v1::CHANNEL_CHAT, now_);
  ASSERT_TRUE(appended.ok());
  ASSERT_TRUE(
      SetMarketingConsent("c1", cxp::type::v1::CHANNEL_SMS, v1::CONSENT_STATE_GRANTED, "web_form")
          .ok());
  const v1::ContactPreferences preferred = PreferSms("c1");
  v1::StartJourneyResponse started;
  ASSERT_TRUE(core_->StartJourney(kTenant, NewJourney("c1", "j1"), started).ok());
  v1::AdvanceJourneyResponse advanced;
  ASSERT_TRUE(
      core_
          ->AdvanceJourney(kTenant,
                           Advance("customers/c1/journeys/j1", "done", v1::Journey::STATE_RESOLVED),
                           advanced)
          .ok());
  // A new caller by phone: the created customer comes before its interaction.
  v1::AppendInteractionRequest anonymous;
  *anonymous.mutable_customer()->mutable_identity() = Phone("010-9999-0000");
  anonymous.set_create_customer_if_missing(true);
  anonymous.mutable_interaction()->set_channel(cxp::type::v1::CHANNEL_VOICE);
  anonymous.mutable_interaction()->set_direction(v1::Interaction::DIRECTION_INBOUND);
  anonymous.mutable_interaction()->set_type("call");
  v1::AppendInteractionResponse anonymous_appended;
  ASSERT_TRUE(core_->AppendInteraction(kTenant, anonymous, anonymous_appended).ok());
  v1::DeleteCustomerRequest erase;
  erase.set_name("customers/c1");
  v1::DeleteCustomerResponse erased;
  ASSERT_TRUE(core_->DeleteCustomer(kTenant, erase, erased).ok());
  // A failed write records nothing.
  v1::DeleteCustomerResponse ignored;
  ASSERT_FALSE(core_->DeleteCustomer(kTenant, erase, ignored).ok());

  std::vector<v1::ChangeEvent> events = Drain(feed, *watch, 12);
  EXPECT_THAT(Kinds(events),
              ::testing::ElementsAre(
                  v1::CHANGE_KIND_CUSTOMER_CREATED, v1::CHANGE_KIND_CUSTOMER_UPDATED,
                  v1::CHANGE_KIND_IDENTITY_ADDED, v1::CHANGE_KIND_IDENTITY_REMOVED,
                  v1::CHANGE_KIND_INTERACTION_APPENDED, v1::CHANGE_KIND_CONSENT_UPDATED,
                  v1::CHANGE_KIND_CONTACT_PREFERENCES_UPDATED, v1::CHANGE_KIND_JOURNEY_STARTED,
                  v1::CHANGE_KIND_JOURNEY_ADVANCED, v1::CHANGE_KIND_CUSTOMER_CREATED,
                  v1::CHANGE_KIND_INTERACTION_APPENDED, v1::CHANGE_KIND_CUSTOMER_DELETED));
  ASSERT_EQ(events.size(), 12u);
  for (size_t i = 1; i < events.size(); ++i) {
    EXPECT_GT(events[i].sequence(), events[i - 1].sequence());
  }
  EXPECT_EQ(events[0].customer(), "customers/c1");
  EXPECT_EQ(events[0].customer_snapshot().etag(), created.etag());
  EXPECT_EQ(events[1].customer_snapshot().tier(), "VIP");
  EXPECT_EQ(events[1].customer_snapshot().etag(), updated.customer().etag());
  EXPECT_EQ(events[2].identity().value(), "minji@example.com");
  EXPECT_EQ(events[4].interaction().name(), appended->name());
  EXPECT_EQ(events[5].consent_change().state(), v1::CONSENT_STATE_GRANTED);
  EXPECT_EQ(events[6].contact_preferences().etag(), preferred.etag());
  EXPECT_EQ(events[8].journey().state(), v1::Journey::STATE_RESOLVED);
  EXPECT_EQ(events[9].customer(),
            anonymous_appended.interaction().name().substr(
                0, anonymous_appended.interaction().name().find("/interactions/")));
  EXPECT_EQ(events[11].payload_case(), v1::ChangeEvent::PAYLOAD_NOT_SET);
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(events[11].change_time()), absl::ToUnixMicros(now_));
  // And nothing else.
  EXPECT_TRUE(Drain(feed, *watch, 1, nullptr, absl::Milliseconds(200)).empty());
}

TEST_F(ContextCoreTest, WatchesResumeWithoutGapsAndFilter) {
  ChangeFeed feed(*store_);
  Create("c1");
  // As the gRPC edge does before it acknowledges a write.
  absl::Notification durable;
  core_->AfterDurable([&](absl::Status) { durable.Notify(); });
  ASSERT_TRUE(durable.WaitForNotificationWithTimeout(absl::Seconds(10)));
  // A watch from now does not see what was acknowledged before it.
  absl::StatusOr<ChangeFeed::Watch> from_now = feed.Open(kTenant, {});
  ASSERT_TRUE(from_now.ok());
  absl::SleepFor(absl::Milliseconds(50));
  std::vector<v1::ChangeEvent> none;
  ASSERT_TRUE(feed.Next(*from_now, 10, 100, none).ok());
  EXPECT_TRUE(none.empty());

  Create("c2");
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(
        Append(i % 2 == 0 ? "customers/c1" : "customers/c2", cxp::type::v1::CHANNEL_SMS, now_)
            .ok());
  }
  std::vector<v1::ChangeEvent> all = Drain(feed, *from_now, 6);
  ASSERT_EQ(all.size(), 6u);
  EXPECT_EQ(all[0].kind(), v1::CHANGE_KIND_CUSTOMER_CREATED);

  // A client that processed up to the third event resumes with the rest,
  // exactly once each.
  v1::WatchChangesRequest resume;
  resume.set_after_sequence(all[2].sequence());
  absl::StatusOr<ChangeFeed::Watch> resumed = feed.Open(kTenant, resume);
  ASSERT_TRUE(resumed.ok());
  std::vector<v1::ChangeEvent> rest = Drain(feed, *resumed, 3);
  ASSERT_EQ(rest.size(), 3u);
  EXPECT_EQ(rest[0].sequence(), all[3].sequence());
  EXPECT_EQ(rest[2].sequence(), all[5].sequence());

  v1::WatchChangesRequest filtered;
  filtered.set_after_sequence(0);
  filtered.add_kinds(v1::CHANGE_KIND_INTERACTION_APPENDED);
  filtered.set_customer("customers/c2");
  absl::StatusOr<ChangeFeed::Watch> c2_appends = feed.Open(kTenant, filtered);
  ASSERT_TRUE(c2_appends.ok());
  std::vector<v1::ChangeEvent> c2 = Drain(feed, *c2_appends, 2);
  ASSERT_EQ(c2.size(), 2u);
  for (const v1::ChangeEvent& event : c2) {
    EXPECT_EQ(event.customer(), "customers/c2");
    EXPECT_EQ(event.kind(), v1::CHANGE_KIND_INTERACTION_APPENDED);
  }

  // Another tenant's watch sees none of it.
  absl::StatusOr<ChangeFeed::Watch> other = feed.Open("other", resume);
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(Drain(feed, *other, 1, nullptr, absl::Milliseconds(200)).empty());

  v1::WatchChangesRequest bad;
  bad.add_kinds(v1::CHANGE_KIND_UNSPECIFIED);
  EXPECT_THAT(std::string(feed.Open(kTenant, bad).status().message()), HasSubstr("kinds[0]"));
  bad = v1::WatchChangesRequest();
  bad.set_customer("c1");
  EXPECT_EQ(feed.Open(kTenant, bad).status().code(), absl::StatusCode::kInvalidArgument);
  bad = v1::WatchChangesRequest();
  bad.set_after_sequence(-1);
  EXPECT_EQ(feed.Open(kTenant, bad).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ContextCoreTest, RetentionPurgesOldEventsAndWatchersBehindThemAreOutOfRange) {
  ChangeFeed feed(*store_);
  Create("c1");
  ASSERT_TRUE(Append("customers/c1", cxp::type::v1::CHANNEL_SMS, now_).ok());
  v1::WatchChangesRequest from_start;
  from_start.set_after_sequence(0);
  absl::StatusOr<ChangeFeed::Watch> early = feed.Open(kTenant, from_start);
  ASSERT_TRUE(early.ok());
  std::vector<v1::ChangeEvent> old_events = Drain(feed, *early, 2);
  ASSERT_EQ(old_events.size(), 2u);
  early->cursor = 0;  // as if it had not read them yet

  now_ += absl::Hours(24 * 8);
  ASSERT_TRUE(Append("customers/c1", cxp::type::v1::CHANNEL_SMS, now_).ok());
  Retention retention(*store_, *core_,
                      {.change_retention = absl::Hours(24 * 7),
                       .interval = absl::Hours(1),
                       .batch_rows = 1,  // several batches
                       .clock = [this] { return now_; }});
  absl::StatusOr<size_t> purged = retention.PurgeChangesOnce();
  ASSERT_TRUE(purged.ok()) << purged.status();
  EXPECT_EQ(*purged, 2u);
  ASSERT_TRUE(retention.PurgeChangesOnce().ok());  // idempotent
  EXPECT_EQ(*retention.PurgeChangesOnce(), 0u);

  EXPECT_EQ(feed.Open(kTenant, from_start).status().code(), absl::StatusCode::kOutOfRange);
  absl::Status behind;
  EXPECT_TRUE(Drain(feed, *early, 1, &behind).empty());
  EXPECT_EQ(behind.code(), absl::StatusCode::kOutOfRange) << behind;
  // From the last purged event on, nothing is missing.
  v1::WatchChangesRequest from_floor;
  from_floor.set_after_sequence(old_events[1].sequence());
  absl::StatusOr<ChangeFeed::Watch> caught_up = feed.Open(kTenant, from_floor);
  ASSERT_TRUE(caught_up.ok()) << caught_up.status();
  std::vector<v1::ChangeEvent> recent = Drain(feed, *caught_up, 1);
  ASSERT_EQ(recent.size(), 1u);
  EXPECT_EQ(recent[0].kind(), v1::CHANGE_KIND_INTERACTION_APPENDED);
  // The per-customer index of the purged events went with them.
  int index_rows = 0;
  ASSERT_TRUE(rocks_
                  ->ScanPrefix(*rocks_->ColumnFamily("customer_state"),
                               store::KeyBuilder(kTenant).AddString("c1").AddFixedBytes("e").key(),
                               store::RocksStore::kNoLimit,
                               [&](std::string_view, std::string_view) {
                                 ++index_rows;
                                 return true;
                               })
                  .ok());
  EXPECT_EQ(index_rows, 1);

  // Numbers never go back, even once everything is purged and the store
  // reopened.
  const int64_t last = recent[0].sequence();
  now_ += absl::Hours(24 * 8);
  ASSERT_EQ(*retention.PurgeChangesOnce(), 1u);
  retention.Stop();
  Reopen();
  ChangeFeed reopened(*store_);
  v1::WatchChangesRequest after_last;
  after_last.set_after_sequence(last);
  absl::StatusOr<ChangeFeed::Watch> next = reopened.Open(kTenant, after_last);
  ASSERT_TRUE(next.ok()) << next.status();
  ASSERT_TRUE(Append("customers/c1", cxp::type::v1::CHANNEL_SMS, now_).ok());
  std::vector<v1::ChangeEvent> after = Drain(reopened, *next, 1);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_GT(after[0].sequence(), last);
}

// ----------------------------------------------------------------- handoffs

v1::CreateHandoffRequest NewHandoff(const cxp::type::v1::CustomerRef& customer) {
  v1::CreateHandoffRequest request;
  *request.mutable_customer() = customer;
  request.set_assurance_level(v1::ASSURANCE_LEVEL_OTP);
  request.set_intent("missed_delivery");
  request.set_summary("Parcel P-4711 not delivered; customer verified by SMS code.");
  request.set_source_channel(cxp::type::v1::CHANNEL_CHAT);
  return request;
}

v1::RedeemHandoffRequest Redeem(const std::string& token) {
  v1::RedeemHandoffRequest request;
  request.set_token(token);
  request.set_channel(cxp::type::v1::CHANNEL_VOICE);
  return request;
}

TEST_F(ContextCoreTest, HandoffCarriesTheCustomerToTheNextChannelOnce) {
  Create("c1", {Phone("010-1234-5678")});
  ASSERT_TRUE(Append("customers/c1", cxp::type::v1::CHANNEL_CHAT, now_).ok());
  v1::StartJourneyResponse started;
  ASSERT_TRUE(core_->StartJourney(kTenant, NewJourney("c1", "j1"), started).ok());
  cxp::type::v1::CustomerRef by_phone;
  *by_phone.mutable_identity() = Phone("+82 10-1234-5678");
  v1::CreateHandoffRequest create = NewHandoff(by_phone);
  create.set_journey("customers/c1/journeys/j1");
  v1::CreateHandoffResponse created;
  ASSERT_TRUE(core_->CreateHandoff(kTenant, create, created).ok());
  EXPECT_LE(created.token().size(), 128u);
  EXPECT_THAT(created.handoff().name(), ::testing::StartsWith("customers/c1/handoffs/"));
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(created.handoff().expire_time()),
            absl::ToUnixMicros(now_ + absl::Minutes(10)));

  now_ += absl::Minutes(2);
  v1::RedeemHandoffResponse redeemed;
  ASSERT_TRUE(core_->RedeemHandoff(kTenant, Redeem(created.token()), redeemed).ok());
  EXPECT_EQ(redeemed.handoff().assurance_level(), v1::ASSURANCE_LEVEL_OTP);
  EXPECT_EQ(redeemed.handoff().journey(), "customers/c1/journeys/j1");
  EXPECT_EQ(redeemed.handoff().redeem_channel(), cxp::type::v1::CHANNEL_VOICE);
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(redeemed.handoff().redeem_time()),
            absl::ToUnixMicros(now_));
  EXPECT_EQ(redeemed.customer_context().customer().name(), "customers/c1");
  EXPECT_EQ(redeemed.customer_context().recent_interactions_size(), 1);
  EXPECT_EQ(redeemed.customer_context().open_journeys_size(), 1);

  v1::RedeemHandoffResponse again;
  absl::Status reused = core_->RedeemHandoff(kTenant, Redeem(created.token()), again);
  EXPECT_EQ(reused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(reused.message()), HasSubstr("already redeemed"));
  EXPECT_FALSE(again.has_customer_context());  // nothing leaks
}

TEST_F(ContextCoreTest, ExpiredForgedAndOtherTenantsHandoffsAreRefused) {
  Create("c1");
  cxp::type::v1::CustomerRef ref;
  ref.set_customer("customers/c1");
  v1::CreateHandoffRequest create = NewHandoff(ref);
  create.mutable_ttl()->set_seconds(30);
  v1::CreateHandoffResponse created;
  ASSERT_TRUE(core_->CreateHandoff(kTenant, create, created).ok());
  v1::RedeemHandoffResponse redeemed;
  EXPECT_EQ(core_->RedeemHandoff("other", Redeem(created.token()), redeemed).code(),
            absl::StatusCode::kNotFound);
  std::string forged = created.token();
  forged[forged.size() - 2] = forged[forged.size() - 2] == 'A' ? 'B' : 'A';
  EXPECT_EQ(core_->RedeemHandoff(kTenant, Redeem(forged), redeemed).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(core_->RedeemHandoff(kTenant, Redeem("not-a-token"), redeemed).code(),
            absl::StatusCode::kInvalidArgument);
  now_ += absl::Seconds(31);
  absl::Status expired = core_->RedeemHandoff(kTenant, Redeem(created.token()), redeemed);
  EXPECT_EQ(expired.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(expired.message()), HasSubstr("expired"));

  // A deleted customer's handoffs go with it.
  ASSERT_TRUE(core_->CreateHandoff(kTenant, NewHandoff(ref), created).ok());
  v1::DeleteCustomerRequest erase;
  erase.set_name("customers/c1");
  v1::DeleteCustomerResponse erased;
  ASSERT_TRUE(core_->DeleteCustomer(kTenant, erase, erased).ok());
  EXPECT_EQ(core_->RedeemHandoff(kTenant, Redeem(created.token()), redeemed).code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ContextCoreTest, CreateHandoffValidatesAndRetriesReturnTheSameToken) {
  Create("c1");
  Create("c2");
  v1::StartJourneyResponse started;
  ASSERT_TRUE(core_->StartJourney(kTenant, NewJourney("c2", "j1"), started).ok());
  cxp::type::v1::CustomerRef ref;
  ref.set_customer("customers/c1");
  v1::CreateHandoffResponse created;
  auto code_of = [&](const v1::CreateHandoffRequest& request) {
    return core_->CreateHandoff(kTenant, request, created).code();
  };
  v1::CreateHandoffRequest bad = NewHandoff(ref);
  bad.mutable_ttl()->set_seconds(10);
  EXPECT_EQ(code_of(bad), absl::StatusCode::kInvalidArgument);
  bad = NewHandoff(ref);
  bad.set_assurance_level(v1::ASSURANCE_LEVEL_UNSPECIFIED);
  EXPECT_EQ(code_of(bad), absl::StatusCode::kInvalidArgument);
  bad = NewHandoff(ref);
  bad.set_source_channel(cxp::type::v1::CHANNEL_UNSPECIFIED);
  EXPECT_EQ(code_of(bad), absl::StatusCode::kInvalidArgument);
  bad = NewHandoff(ref);
  bad.set_journey("customers/c2/journeys/j1");
  EXPECT_EQ(code_of(bad), absl::StatusCode::kInvalidArgument);
  bad = NewHandoff(ref);
  bad.set_journey("customers/c1/journeys/nope");
  EXPECT_EQ(code_of(bad), absl::StatusCode::kNotFound);
  bad = NewHandoff(ref);
  bad.mutable_customer()->set_customer("customers/nobody");
  EXPECT_EQ(code_of(bad), absl::StatusCode::kNotFound);

  v1::CreateHandoffRequest retried = NewHandoff(ref);
  retried.set_request_id("7c1e2d3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f");
  v1::CreateHandoffResponse first, second;
  ASSERT_TRUE(core_->CreateHandoff(kTenant, retried, first).ok());
  ASSERT_TRUE(core_->CreateHandoff(kTenant, retried, second).ok());
  EXPECT_EQ(first.token(), second.token());
}

TEST_F(ContextCoreTest, ConcurrentRedeemsOfOneTokenHaveOneWinner) {
  Create("c1");
  cxp::type::v1::CustomerRef ref;
  ref.set_customer("customers/c1");
  v1::CreateHandoffResponse created;
  ASSERT_TRUE(core_->CreateHandoff(kTenant, NewHandoff(ref), created).ok());
  std::atomic<int> winners{0}, refused{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      v1::RedeemHandoffResponse response;
      absl::Status status = core_->RedeemHandoff(kTenant, Redeem(created.token()), response);
      if (status.ok()) ++winners;
      if (status.code() == absl::StatusCode::kFailedPrecondition) ++refused;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(winners.load(), 1);
  EXPECT_EQ(refused.load(), 7);
}

TEST_F(ContextCoreTest, InteractionRetentionPurgesOldInteractionsPerTenant) {
  for (const char* id : {"c1", "c2", "c3"}) Create(id);
  // c1: two old and one recent; c2: only recent; c3: only old.
  ASSERT_TRUE(
      Append("customers/c1", cxp::type::v1::CHANNEL_SMS, now_ - absl::Hours(24 * 400)).ok());
  ASSERT_TRUE(
      Append("customers/c1", cxp::type::v1::CHANNEL_SMS, now_ - absl::Hours(24 * 380)).ok());
  ASSERT_TRUE(
      Append("customers/c1", cxp::type::v1::CHANNEL_CHAT, now_ - absl::Hours(24 * 10)).ok());
  ASSERT_TRUE(Append("customers/c2", cxp::type::v1::CHANNEL_CHAT, now_ - absl::Hours(1)).ok());
  ASSERT_TRUE(
      Append("customers/c3", cxp::type::v1::CHANNEL_VOICE, now_ - absl::Hours(24 * 500)).ok());
  cxp::type::v1::CustomerRef c1, c3;
  c1.set_customer("customers/c1");
  c3.set_customer("customers/c3");
  EXPECT_EQ(Context(c1).recent_interactions_size(), 3);  // cached before the purge

  absl::StatusOr<InteractionRetentionPolicy> policy =
      ParseInteractionRetention("other=30d, acme=365d");
  ASSERT_TRUE(policy.ok()) << policy.status();
  Retention retention(*store_, *core_,
                      {.interactions = *policy,
                       .interval = absl::Hours(1),
                       .batch_customers = 2,  // several batches
                       .clock = [this] { return now_; }});
  absl::StatusOr<int64_t> purged = retention.PurgeInteractionsOnce();
  ASSERT_TRUE(purged.ok()) << purged.status();
  EXPECT_EQ(*purged, 3);
  EXPECT_EQ(*retention.PurgeInteractionsOnce(), 0);

  v1::ListInteractionsRequest list;
  list.set_parent("customers/c1");
  v1::ListInteractionsResponse listed;
  ASSERT_TRUE(core_->ListInteractions(kTenant, list, listed).ok());
  ASSERT_EQ(listed.interactions_size(), 1);
  EXPECT_EQ(listed.interactions(0).channel(), cxp::type::v1::CHANNEL_CHAT);
  EXPECT_EQ(Context(c1).recent_interactions_size(), 1);  // the head and cache follow
  EXPECT_EQ(Context(c1, 50).recent_interactions_size(), 1);
  EXPECT_EQ(Context(c3).recent_interactions_size(), 0);
  // Appends go on numbering from where they were.
  absl::StatusOr<v1::Interaction> next = Append("customers/c3", cxp::type::v1::CHANNEL_SMS, now_);
  ASSERT_TRUE(next.ok());
  EXPECT_THAT(next->name(), ::testing::EndsWith("0000000000000002"));
  EXPECT_EQ(Context(c3).recent_interactions_size(), 1);

  // A tenant without a policy keeps everything.
  absl::StatusOr<InteractionRetentionPolicy> none = ParseInteractionRetention("other=1d");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->For(kTenant).has_value());
  EXPECT_EQ(*ParseInteractionRetention("*=720h")->For(kTenant), absl::Hours(720));
  for (const char* bad : {"acme", "acme=soon", "=3d", "acme=-1d"}) {
    EXPECT_EQ(ParseInteractionRetention(bad).status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST_F(ContextCoreTest, ReadsGoOnWhileRetentionPurges) {
  constexpr int kCustomers = 60;
  for (int i = 0; i < kCustomers; ++i) {
    const std::string id = absl::StrCat("r", i);
    Create(id);
    for (int j = 0; j < 5; ++j) {
      ASSERT_TRUE(
          Append("customers/" + id, cxp::type::v1::CHANNEL_SMS, now_ - absl::Hours(24 * (100 + j)))
              .ok());
    }
    ASSERT_TRUE(Append("customers/" + id, cxp::type::v1::CHANNEL_CHAT, now_).ok());
  }
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0}, failures{0}, torn{0};
  std::thread reader([&] {
    for (int i = 0; !stop.load(); i = (i + 1) % kCustomers) {
      v1::ListInteractionsRequest list;
      list.set_parent(absl::StrCat("customers/r", i));
      v1::ListInteractionsResponse listed;
      if (!core_->ListInteractions(kTenant, list, listed).ok()) ++failures;
      // A customer is purged in one batch: 6 before, 1 after, nothing between.
      if (listed.interactions_size() != 6 && listed.interactions_size() != 1) ++torn;
      ++reads;
    }
  });
  Retention retention(*store_, *core_,
                      {.interactions = *ParseInteractionRetention("*=30d"),
                       .interval = absl::Hours(1),
                       .batch_customers = 7,
                       .clock = [this] { return now_; }});
  absl::StatusOr<int64_t> purged = retention.PurgeInteractionsOnce();
  absl::SleepFor(absl::Milliseconds(20));
  stop = true;
  reader.join();
  ASSERT_TRUE(purged.ok()) << purged.status();
  EXPECT_EQ(*purged, kCustomers * 5);
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(torn.load(), 0);
}

// -------------------------------------------------------------------- erasure

TEST_F(ContextCoreTest, ErasureLeavesNothingReadableAndKeepsAReceipt) {
  Create("c1", {Phone("010-1234-5678"), Email("minji@example.com")});
  Create("c2");
  ASSERT_TRUE(Append("customers/c1", cxp::type::v1::CHANNEL_CHAT, now_).ok());
  ASSERT_TRUE(Append("customers/c1", cxp::type::v1::CHANNEL_VOICE, now_).ok());
  ASSERT_TRUE(Append("customers/c2", cxp::type::v1::CHANNEL_SMS, now_).ok());
  ASSERT_TRUE(
      SetMarketingConsent("c1", cxp::type::v1::CHANNEL_SMS, v1::CONSENT_STATE_GRANTED, "web_form")
          .ok());
  PreferSms("c1");
  v1::StartJourneyResponse started;
  ASSERT_TRUE(core_->StartJourney(kTenant, NewJourney("c1", "j1"), started).ok());
  cxp::type::v1::CustomerRef ref;
  ref.set_customer("customers/c1");
  v1::CreateHandoffResponse handoff;
  ASSERT_TRUE(core_->CreateHandoff(kTenant, NewHandoff(ref), handoff).ok());

  v1::EraseCustomerRequest erase;
  erase.set_name("customers/c1");
  erase.set_reason("DSR-2026-0042");
  erase.set_request_id("3e5a7c9b-1d2f-4a6b-8c0d-2e4f6a8b0c1d");
  v1::EraseCustomerResponse erased;
  ASSERT_TRUE(core_->EraseCustomer(kTenant, erase, erased).ok());
  const v1::ErasureReceipt& receipt = erased.erasure_receipt();
  EXPECT_THAT(receipt.name(), ::testing::StartsWith("erasureReceipts/"));
  EXPECT_EQ(receipt.customer(), "customers/c1");
  EXPECT_EQ(receipt.reason(), "DSR-2026-0042");
  std::map<std::string, int64_t> counts;
  for (const v1::ErasedItemCount& item : receipt.erased_items())
    counts[item.item_type()] = item.count();
  EXPECT_EQ(counts["profile"], 1);
  EXPECT_EQ(counts["identities"], 2);
  EXPECT_EQ(counts["interactions"], 2);
  EXPECT_EQ(counts["consent"], 1);
  EXPECT_EQ(counts["consent_history"], 1);
  EXPECT_EQ(counts["contact_preferences"], 1);
  EXPECT_EQ(counts["journeys"], 1);
  EXPECT_EQ(counts["handoffs"], 1);
  EXPECT_EQ(counts["change_events"], 6);  // created, 2 appends, consent, preferences, journey
  const std::string text = receipt.DebugString();
  EXPECT_EQ(text.find("1234"), std::string::npos);  // no personal data
  EXPECT_EQ(text.find("minji"), std::string::npos);

  // A retry gets the same receipt.
  v1::EraseCustomerResponse retried;
  ASSERT_TRUE(core_->EraseCustomer(kTenant, erase, retried).ok());
  EXPECT_EQ(retried.erasure_receipt().name(), receipt.name());

  // Nothing is readable any more.
  v1::GetCustomerRequest get;
  get.set_name("customers/c1");
  v1::GetCustomerResponse got;
  EXPECT_EQ(core_->GetCustomer(kTenant, get, got).code(), absl::StatusCode::kNotFound);
  v1::ResolveCustomerRequest resolve;
  *resolve.mutable_identity() = Email("minji@example.com");
  v1::ResolveCustomerResponse resolved;
  EXPECT_EQ(core_->ResolveCustomer(kTenant, resolve, resolved).code(), absl::StatusCode::kNotFound);
  v1::GetCustomerContextRequest view;
  *view.mutable_customer() = ref;
  v1::GetCustomerContextResponse viewed;
  EXPECT_EQ(core_->GetCustomerContext(kTenant, view, viewed).code(), absl::StatusCode::kNotFound);
  v1::ListInteractionsRequest timeline;
  timeline.set_parent("customers/c1");
  v1::ListInteractionsResponse listed;
  EXPECT_EQ(core_->ListInteractions(kTenant, timeline, listed).code(), absl::StatusCode::kNotFound);
  v1::ListJourneysRequest journeys;
  journeys.set_parent("customers/-");
  v1::ListJourneysResponse all_journeys;
  ASSERT_TRUE(core_->ListJourneys(kTenant, journeys, all_journeys).ok());
  EXPECT_EQ(all_journeys.journeys_size(), 0);
  v1::ListCustomersRequest customers;
  v1::ListCustomersResponse all_customers;
  ASSERT_TRUE(core_->ListCustomers(kTenant, customers, all_customers).ok());
  ASSERT_EQ(all_customers.customers_size(), 1);
  EXPECT_EQ(all_customers.customers(0).name(), "customers/c2");
  v1::RedeemHandoffResponse redeemed;
  EXPECT_EQ(core_->RedeemHandoff(kTenant, Redeem(handoff.token()), redeemed).code(),
            absl::StatusCode::kNotFound);
  // The change stream keeps c2's events and only the payload-free erasure
  // of c1.
  ChangeFeed feed(*store_);
  v1::WatchChangesRequest from_start;
  from_start.set_after_sequence(0);
  absl::StatusOr<ChangeFeed::Watch> watch = feed.Open(kTenant, from_start);
  ASSERT_TRUE(watch.ok());
  std::vector<v1::ChangeEvent> events = Drain(feed, *watch, 3);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].customer(), "customers/c2");
  EXPECT_EQ(events[1].customer(), "customers/c2");
  EXPECT_EQ(events[2].kind(), v1::CHANGE_KIND_CUSTOMER_ERASED);
  EXPECT_EQ(events[2].payload_case(), v1::ChangeEvent::PAYLOAD_NOT_SET);

  // The name is never reused; unknown customers are not found.
  v1::CreateCustomerRequest again;
  again.set_customer_id("c1");
  v1::CreateCustomerResponse recreated;
  absl::Status reuse = core_->CreateCustomer(kTenant, again, recreated);
  EXPECT_EQ(reuse.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(reuse.message()), HasSubstr("erased"));
  erase.set_name("customers/nobody");
  erase.clear_request_id();
  EXPECT_EQ(core_->EraseCustomer(kTenant, erase, erased).code(), absl::StatusCode::kNotFound);
}

TEST_F(ContextCoreTest, ExportPagesThroughEverythingStoredAboutTheCustomer) {
  Create("c1", {Phone("010-1234-5678"), Email("minji@example.com")});
  ASSERT_TRUE(
      SetMarketingConsent("c1", cxp::type::v1::CHANNEL_SMS, v1::CONSENT_STATE_GRANTED, "web_form")
          .ok());
  ASSERT_TRUE(
      SetMarketingConsent("c1", cxp::type::v1::CHANNEL_SMS, v1::CONSENT_STATE_DENIED, "sms_stop")
          .ok());
  v1::StartJourneyResponse started;
  ASSERT_TRUE(core_->StartJourney(kTenant, NewJourney("c1", "j1"), started).ok());
  ASSERT_TRUE(core_->StartJourney(kTenant, NewJourney("c1", "j2"), started).ok());
  cxp::type::v1::CustomerRef ref;
  ref.set_customer("customers/c1");
  v1::CreateHandoffResponse handoff;
  ASSERT_TRUE(core_->CreateHandoff(kTenant, NewHandoff(ref), handoff).ok());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(Append("customers/c1", cxp::type::v1::CHANNEL_CHAT, now_ - absl::Minutes(i)).ok());
  }

  v1::ExportCustomerRequest request;
  request.set_name("customers/c1");
  ContextCore::ExportCursor cursor;
  std::vector<v1::ExportCustomerResponse> items;
  bool done = false;
  int pages = 0;
  while (!done && pages < 100) {
    const size_t before = items.size();
    ASSERT_TRUE(core_->ExportCustomer(kTenant, request, cursor, 3, items, done).ok());
    EXPECT_LE(items.size() - before, 3u);
    ++pages;
  }
  ASSERT_TRUE(done);
  EXPECT_GT(pages, 4);
  std::vector<int> order;
  for (const v1::ExportCustomerResponse& item : items) order.push_back(item.item_case());
  using Item = v1::ExportCustomerResponse;
  EXPECT_THAT(order, ::testing::ElementsAre(
                         Item::kCustomer, Item::kConsent, Item::kContactPreferences,
                         Item::kConsentChange, Item::kConsentChange, Item::kJourney, Item::kJourney,
                         Item::kHandoff, Item::kInteraction, Item::kInteraction, Item::kInteraction,
                         Item::kInteraction, Item::kInteraction));
  EXPECT_EQ(items[0].customer().identities_size(), 2);
  EXPECT_EQ(items[3].consent_change().state(), v1::CONSENT_STATE_DENIED);  // newest first
  EXPECT_EQ(items[7].handoff().name(), handoff.handoff().name());
  EXPECT_GT(TimeUtil::TimestampToMicroseconds(items[8].interaction().occur_time()),
            TimeUtil::TimestampToMicroseconds(items[12].interaction().occur_time()));

  request.set_name("customers/nobody");
  ContextCore::ExportCursor fresh;
  std::vector<v1::ExportCustomerResponse> none;
  EXPECT_EQ(core_->ExportCustomer(kTenant, request, fresh, 10, none, done).code(),
            absl::StatusCode::kNotFound);
}

// Appends number and count from the customer's stats row: a rejected
// append changes nothing, a deleted and re-created customer starts again at
// 1, and a reopened store goes on where the last commit left off.
TEST_F(ContextCoreTest, AppendsNumberFromTheCommittedStatsRow) {
  Create("c1", {Email("minji@example.com")});
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(Append("customers/c1", cxp::type::v1::CHANNEL_SMS, now_).ok());
  }
  // Rejected after the stats row was read (the journey check of an append by
  // identity needs the resolved customer).
  v1::AppendInteractionRequest bad;
  *bad.mutable_customer()->mutable_identity() = Email("minji@example.com");
  bad.mutable_interaction()->set_channel(cxp::type::v1::CHANNEL_SMS);
  bad.mutable_interaction()->set_direction(v1::Interaction::DIRECTION_INBOUND);
  bad.mutable_interaction()->set_type("message");
  bad.mutable_interaction()->set_journey("customers/c2/journeys/j1");
  v1::AppendInteractionResponse ignored;
  EXPECT_EQ(core_->AppendInteraction(kTenant, bad, ignored).code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<v1::Interaction> fourth = Append("customers/c1", cxp::type::v1::CHANNEL_SMS, now_);
  ASSERT_TRUE(fourth.ok()) << fourth.status();
  EXPECT_EQ(fourth->name(), "customers/c1/interactions/0000000000000004");

  v1::DeleteCustomerRequest remove;
  remove.set_name("customers/c1");
  v1::DeleteCustomerResponse removed;
  ASSERT_TRUE(core_->DeleteCustomer(kTenant, remove, removed).ok());
  EXPECT_EQ(Append("customers/c1", cxp::type::v1::CHANNEL_SMS, now_).status().code(),
            absl::StatusCode::kNotFound);
  Create("c1");
  absl::StatusOr<v1::Interaction> first = Append("customers/c1", cxp::type::v1::CHANNEL_SMS, now_);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->name(), "customers/c1/interactions/0000000000000001");

  Reopen();
  absl::StatusOr<v1::Interaction> second = Append("customers/c1", cxp::type::v1::CHANNEL_SMS, now_);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->name(), "customers/c1/interactions/0000000000000002");
  cxp::type::v1::CustomerRef ref;
  ref.set_customer("customers/c1");
  EXPECT_EQ(Context(ref).recent_interactions_size(), 2);
}

// Every write a customer view shows is visible in the next read, although
// the view is cached after the first one.
TEST_F(ContextCoreTest, CachedViewFollowsEveryWrite) {
  v1::Customer created = Create("c1");
  cxp::type::v1::CustomerRef ref;
  ref.set_customer("customers/c1");
  EXPECT_EQ(Context(ref).customer().tier(), "");  // now cached

  v1::UpdateCustomerRequest update;
  update.mutable_customer()->set_name("customers/c1");
  update.mutable_customer()->set_tier("VIP");
  update.mutable_update_mask()->add_paths("tier");
  v1::UpdateCustomerResponse updated;
  ASSERT_TRUE(core_->UpdateCustomer(kTenant, update, updated).ok());
  EXPECT_EQ(Context(ref).customer().tier(), "VIP");
  EXPECT_EQ(Context(ref).customer().etag(), updated.customer().etag());

  v1::AddIdentityRequest add;
  add.set_customer("customers/c1");
  *add.mutable_identity() = Email("Minji@Example.com");
  v1::AddIdentityResponse added;
  ASSERT_TRUE(core_->AddIdentity(kTenant, add, added).ok());
  EXPECT_EQ(Context(ref).customer().identities_size(), 1);

  ASSERT_TRUE(Append("customers/c1", cxp::type::v1::CHANNEL_CHAT, now_).ok());
  v1::CustomerContext context = Context(ref);
  EXPECT_EQ(context.recent_interactions_size(), 1);
  EXPECT_EQ(context.computed_attributes().all_channels().last_24_hours(), 1);

  ASSERT_TRUE(
      SetMarketingConsent("c1", cxp::type::v1::CHANNEL_EMAIL, v1::CONSENT_STATE_GRANTED, "web-form")
          .ok());
  EXPECT_EQ(Context(ref).consent().entries_size(), 1);

  v1::UpdateContactPreferencesRequest preferences;
  preferences.mutable_contact_preferences()->set_name("customers/c1/contactPreferences");
  preferences.mutable_contact_preferences()->set_language_code("ko-KR");
  v1::UpdateContactPreferencesResponse preferred;
  ASSERT_TRUE(core_->UpdateContactPreferences(kTenant, preferences, preferred).ok());
  EXPECT_EQ(Context(ref).contact_preferences().language_code(), "ko-KR");

  v1::DeleteCustomerRequest remove;
  remove.set_name("customers/c1");
  v1::DeleteCustomerResponse removed;
  ASSERT_TRUE(core_->DeleteCustomer(kTenant, remove, removed).ok());
  v1::GetCustomerContextRequest request;
  *request.mutable_customer() = ref;
  v1::GetCustomerContextResponse response;
  EXPECT_EQ(core_->GetCustomerContext(kTenant, request, response).code(),
            absl::StatusCode::kNotFound);
}

// The names of the newest `limit` interactions as ListInteractions has them.
std::vector<std::string> TimelineNames(ContextCore& core, const std::string& parent, int limit) {
  v1::ListInteractionsRequest request;
  request.set_parent(parent);
  request.set_page_size(limit);
  v1::ListInteractionsResponse response;
  EXPECT_TRUE(core.ListInteractions(kTenant, request, response).ok());
  std::vector<std::string> names;
  for (const v1::Interaction& interaction : response.interactions())
    names.push_back(interaction.name());
  return names;
}

std::vector<std::string> ContextNames(const v1::CustomerContext& context) {
  std::vector<std::string> names;
  for (const v1::Interaction& interaction : context.recent_interactions())
    names.push_back(interaction.name());
  return names;
}

// The context's interactions come from the head (up to its capacity) or
// the timeline (beyond it); either way they are exactly the timeline's
// newest, in its order, whatever order the occur times were appended in.
TEST_F(ContextCoreTest, ContextInteractionsAreTheTimelinesNewestForEveryLimit) {
  Create("c1");
  cxp::type::v1::CustomerRef ref;
  ref.set_customer("customers/c1");
  // Backdated, future-dated and equal occur times, with flushes in between
  // so the head's merges also happen in flushes and compactions.
  for (int i = 0; i < 45; ++i) {
    const absl::Time when = now_ - absl::Minutes((i * 37) % 50) + absl::Seconds(i % 3 == 0 ? 0 : i);
    ASSERT_TRUE(Append("customers/c1", cxp::type::v1::CHANNEL_CHAT, when).ok());
    if (i % 10 == 9) {
      ASSERT_TRUE(rocks_->Flush().ok());
    }
  }
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round == 0 ? "before reopen" : "after reopen and compaction");
    for (int limit : {1, 10, 20, 32, 33, 45, 100}) {
      SCOPED_TRACE(absl::StrCat("limit ", limit));
      const v1::CustomerContext context = Context(ref, limit);
      EXPECT_EQ(ContextNames(context), TimelineNames(*core_, "customers/c1", limit));
      // The wire form the gRPC edge sends parses into the same view.
      v1::GetCustomerContextRequest request;
      *request.mutable_customer() = ref;
      request.set_interaction_limit(limit);
      absl::StatusOr<std::string> encoded = core_->GetCustomerContextEncoded(kTenant, request);
      ASSERT_TRUE(encoded.ok()) << encoded.status();
      v1::GetCustomerContextResponse decoded;
      ASSERT_TRUE(decoded.ParseFromString(*encoded));
      EXPECT_TRUE(
          google::protobuf::util::MessageDifferencer::Equals(decoded.customer_context(), context));
    }
    Reopen();
    ASSERT_TRUE(rocks_->db()->CompactRange(rocksdb::CompactRangeOptions(), nullptr, nullptr).ok());
  }
}

// A store written before interaction heads existed (layout 1) gets them
// built by MigrateLayout, and the context reads the same afterwards.
// Rewrites the store as data layout `version` (1: no heads, timeline in the
// interactions family; 2: with heads, same timeline), as an older binary
// left it — except for `keep_moved`'s timeline, as a migration killed
// halfway leaves a store.
void RewindLayout(store::RocksStore& rocks, int version, const std::string& keep_moved = "") {
  rocksdb::ColumnFamilyHandle* state = rocks.ColumnFamily("customer_state").value();
  rocksdb::ColumnFamilyHandle* interactions = rocks.ColumnFamily("interactions").value();
  rocksdb::WriteBatch old_layout;
  ASSERT_TRUE(rocks
                  .ScanPrefix(state, "", store::RocksStore::kNoLimit,
                              [&](std::string_view key, std::string_view value) {
                                store::KeyReader reader(key);
                                const std::string tenant = reader.ReadString().value();
                                const std::string id = reader.ReadString().value();
                                const std::string_view tag = reader.ReadFixedBytes(1).value();
                                if (tag == "t" && id != keep_moved) {
                                  EXPECT_TRUE(old_layout
                                                  .Put(interactions,
                                                       store::KeyBuilder(tenant)
                                                           .AddString(id)
                                                           .AddFixedBytes(reader.remaining())
                                                           .key(),
                                                       value)
                                                  .ok());
                                  EXPECT_TRUE(old_layout.Delete(state, key).ok());
                                } else if (tag == "h" && version == 1) {
                                  EXPECT_TRUE(old_layout.Delete(state, key).ok());
                                }
                                return true;
                              })
                  .ok());
  if (version == 1) {
    ASSERT_TRUE(old_layout.Delete(rocks.DefaultColumnFamily(), "context_layout_version").ok());
  } else {
    ASSERT_TRUE(old_layout.Put(rocks.DefaultColumnFamily(), "context_layout_version", "2").ok());
  }
  ASSERT_TRUE(rocks.Write(&old_layout).ok());
}

// "1", "2", or "2-cut-short" (layout 2 with one customer's rows moved).
class MigrationTest : public ContextCoreTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(MigrationTest, OldStoresComeToTheCurrentLayout) {
  for (const char* id : {"c1", "c2", "c3"}) {
    Create(id);
    for (int i = 0; i < 40; ++i) {
      ASSERT_TRUE(Append(absl::StrCat("customers/", id), cxp::type::v1::CHANNEL_EMAIL,
                         now_ - absl::Minutes(i * 7 % 41))
                      .ok());
    }
  }
  Create("empty");
  std::map<std::string, std::vector<std::string>> timelines;
  for (const char* id : {"c1", "c2", "c3"}) {
    timelines[id] = TimelineNames(*core_, absl::StrCat("customers/", id), 100);
    ASSERT_EQ(timelines[id].size(), 40u);
  }
  RewindLayout(*rocks_, GetParam() == "1" ? 1 : 2, GetParam() == "2-cut-short" ? "c3" : "");
  ASSERT_FALSE(HasFatalFailure());
  Reopen();  // nothing cached from before the rewind

  std::vector<std::string> steps;
  ASSERT_TRUE(store_->MigrateLayout([&](const std::string& step) { steps.push_back(step); }).ok());
  EXPECT_FALSE(steps.empty());
  for (const char* id : {"c1", "c2", "c3"}) {
    const std::string name = absl::StrCat("customers/", id);
    EXPECT_EQ(TimelineNames(*core_, name, 100), timelines[id]);
    cxp::type::v1::CustomerRef ref;
    ref.set_customer(name);
    EXPECT_EQ(ContextNames(Context(ref, 32)), TimelineNames(*core_, name, 32));
  }
  // The old family is empty, and appends go on from the moved timeline.
  rocksdb::ColumnFamilyHandle* interactions = rocks_->ColumnFamily("interactions").value();
  int left = 0;
  ASSERT_TRUE(rocks_
                  ->ScanPrefix(interactions, "", store::RocksStore::kNoLimit,
                               [&](std::string_view, std::string_view) {
                                 ++left;
                                 return true;
                               })
                  .ok());
  EXPECT_EQ(left, 0);
  absl::StatusOr<v1::Interaction> next = Append("customers/c1", cxp::type::v1::CHANNEL_SMS, now_);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->name(), "customers/c1/interactions/0000000000000029");  // the 41st
  EXPECT_EQ(TimelineNames(*core_, "customers/c1", 1).front(), next->name());
  // Current stores are left alone.
  steps.clear();
  ASSERT_TRUE(store_->MigrateLayout([&](const std::string& step) { steps.push_back(step); }).ok());
  EXPECT_TRUE(steps.empty());
}

INSTANTIATE_TEST_SUITE_P(FromLayout, MigrationTest, ::testing::Values("1", "2", "2-cut-short"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           absl::StrReplaceAll({{"-", "_"}}, &name);
                           return name;
                         });

// ------------------------------------------------------------------ merges

class MergeTest : public ContextCoreTest {
 protected:
  absl::StatusOr<v1::MergeCustomersResponse> Merge(const std::string& survivor,
                                                   std::vector<std::string> merged) {
    v1::MergeCustomersRequest request;
    request.set_customer("customers/" + survivor);
    for (const std::string& id : merged) request.add_merged_customers("customers/" + id);
    request.set_reason("same person");
    v1::MergeCustomersResponse response;
    absl::Status status = core_->MergeCustomers(kTenant, request, response);
    if (!status.ok()) return status;
    return response;
  }

  absl::Status Unmerge(const std::string& record) {
    v1::UnmergeCustomersRequest request;
    request.set_name(record);
    v1::UnmergeCustomersResponse response;
    return core_->UnmergeCustomers(kTenant, request, response);
  }

  // Every interaction of `id`, paging `page_size` at a time; `between` runs
  // after the first page.
  std::vector<v1::Interaction> ListAll(const std::string& id, int page_size,
                                       const std::function<void()>& between = nullptr) {
    std::vector<v1::Interaction> all;
    v1::ListInteractionsRequest request;
    request.set_parent("customers/" + id);
    request.set_page_size(page_size);
    for (int page = 0; page < 100; ++page) {
      v1::ListInteractionsResponse response;
      absl::Status status = core_->ListInteractions(kTenant, request, response);
      EXPECT_TRUE(status.ok()) << status;
      all.insert(all.end(), response.interactions().begin(), response.interactions().end());
      if (response.next_page_token().empty()) break;
      if (page == 0 && between) between();
      request.set_page_token(response.next_page_token());
    }
    return all;
  }

  std::map<std::pair<int, int>, v1::ConsentState> Consent(const std::string& id) {
    v1::GetConsentRequest request;
    request.set_name("customers/" + id + "/consent");
    v1::GetConsentResponse response;
    EXPECT_TRUE(core_->GetConsent(kTenant, request, response).ok());
    std::map<std::pair<int, int>, v1::ConsentState> states;
    for (const auto& entry : response.consent().entries()) {
      states[{entry.channel(), entry.purpose()}] = entry.state();
    }
    return states;
  }
};

TEST_F(MergeTest, SurvivorTimelinePagesInOneOrderAcrossCustomers) {
  Create("s1");
  Create("m1");
  Create("m2");
  // Interleaved times, and equal times on different customers.
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(
        Append("customers/s1", cxp::type::v1::CHANNEL_VOICE, now_ - absl::Minutes(10 * i)).ok());
    ASSERT_TRUE(
        Append("customers/m1", cxp::type::v1::CHANNEL_CHAT, now_ - absl::Minutes(10 * i + 5)).ok());
    ASSERT_TRUE(
        Append("customers/m2", cxp::type::v1::CHANNEL_SMS, now_ - absl::Minutes(10 * i)).ok());
  }
  ASSERT_TRUE(Merge("s1", {"m1", "m2"}).ok());
  for (const int page_size : {1, 2, 5, 50}) {
    const std::vector<v1::Interaction> all = ListAll("s1", page_size);
    ASSERT_EQ(all.size(), 18u) << "page size " << page_size;
    std::set<std::string> names;
    for (size_t i = 0; i < all.size(); ++i) {
      names.insert(all[i].name());
      if (i > 0) {
        EXPECT_GE(TimeUtil::TimestampToMicroseconds(all[i - 1].occur_time()),
                  TimeUtil::TimestampToMicroseconds(all[i].occur_time()));
      }
    }
    EXPECT_EQ(names.size(), 18u) << "no duplicates with page size " << page_size;
  }
  // A merged customer's own list is its own timeline.
  EXPECT_EQ(ListAll("m1", 50).size(), 6u);
}

TEST_F(MergeTest, PageTokenSurvivesAnUnmergeBetweenPages) {
  Create("s1");
  Create("m1");
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(Append("customers/s1", cxp::type::v1::CHANNEL_VOICE, now_ - absl::Minutes(i)).ok());
    ASSERT_TRUE(Append("customers/m1", cxp::type::v1::CHANNEL_CHAT, now_ - absl::Minutes(i)).ok());
  }
  auto merged_or = Merge("s1", {"m1"});
  ASSERT_TRUE(merged_or.ok()) << merged_or.status();
  const v1::MergeCustomersResponse merged = *merged_or;
  const std::vector<v1::Interaction> all =
      ListAll("s1", 3, [&] { EXPECT_TRUE(Unmerge(merged.merge_record().name()).ok()); });
  // The first page mixed both; the rest is the survivor's own, none twice.
  std::set<std::string> names;
  for (const auto& interaction : all) EXPECT_TRUE(names.insert(interaction.name()).second);
  int own = 0;
  for (const auto& interaction : all) own += absl::StartsWith(interaction.name(), "customers/s1/");
  EXPECT_EQ(own, 4);
}

TEST_F(MergeTest, MoreRestrictiveConsentWinsAndUnmergeKeepsLaterDecisions) {
  Create("s1");
  Create("m1");
  using cxp::type::v1::CHANNEL_EMAIL;
  using cxp::type::v1::CHANNEL_SMS;
  using cxp::type::v1::PURPOSE_MARKETING;
  ASSERT_TRUE(SetMarketingConsent("s1", CHANNEL_EMAIL, v1::CONSENT_STATE_GRANTED, "web").ok());
  ASSERT_TRUE(SetMarketingConsent("s1", CHANNEL_SMS, v1::CONSENT_STATE_DENIED, "web").ok());
  ASSERT_TRUE(SetMarketingConsent("m1", CHANNEL_EMAIL, v1::CONSENT_STATE_DENIED, "ivr").ok());
  ASSERT_TRUE(SetMarketingConsent("m1", CHANNEL_SMS, v1::CONSENT_STATE_GRANTED, "ivr").ok());
  ASSERT_TRUE(
      SetMarketingConsent("m1", cxp::type::v1::CHANNEL_PUSH, v1::CONSENT_STATE_GRANTED, "app")
          .ok());
  now_ += absl::Minutes(1);
  auto merged_or = Merge("s1", {"m1"});
  ASSERT_TRUE(merged_or.ok()) << merged_or.status();
  const v1::MergeCustomersResponse merged = *merged_or;
  auto consent = Consent("s1");
  EXPECT_EQ((consent[{CHANNEL_EMAIL, PURPOSE_MARKETING}]), v1::CONSENT_STATE_DENIED);  // m1's
  EXPECT_EQ((consent[{CHANNEL_SMS, PURPOSE_MARKETING}]), v1::CONSENT_STATE_DENIED);    // kept
  EXPECT_EQ((consent[{cxp::type::v1::CHANNEL_PUSH, PURPOSE_MARKETING}]),
            v1::CONSENT_STATE_GRANTED);  // only m1 had one

  // The survivor's history tells how its consent came to be.
  v1::ListConsentHistoryRequest history;
  history.set_parent("customers/s1");
  v1::ListConsentHistoryResponse changes;
  ASSERT_TRUE(core_->ListConsentHistory(kTenant, history, changes).ok());
  ASSERT_EQ(changes.consent_changes_size(), 4);  // 2 own + 2 from the merge
  EXPECT_EQ(changes.consent_changes(0).evidence().source(), "app");

  // A decision taken on the survivor after the merge outlives the unmerge.
  now_ += absl::Minutes(1);
  ASSERT_TRUE(
      SetMarketingConsent("s1", cxp::type::v1::CHANNEL_PUSH, v1::CONSENT_STATE_DENIED, "agent")
          .ok());
  ASSERT_TRUE(Unmerge(merged.merge_record().name()).ok());
  consent = Consent("s1");
  EXPECT_EQ((consent[{CHANNEL_EMAIL, PURPOSE_MARKETING}]), v1::CONSENT_STATE_GRANTED);
  EXPECT_EQ((consent[{CHANNEL_SMS, PURPOSE_MARKETING}]), v1::CONSENT_STATE_DENIED);
  EXPECT_EQ((consent[{cxp::type::v1::CHANNEL_PUSH, PURPOSE_MARKETING}]), v1::CONSENT_STATE_DENIED);
  consent = Consent("m1");
  EXPECT_EQ((consent[{CHANNEL_EMAIL, PURPOSE_MARKETING}]), v1::CONSENT_STATE_DENIED);
  EXPECT_EQ(consent.size(), 3u);
}

TEST_F(MergeTest, SurvivorViewReadsThroughAndIsNeverStale) {
  Create("s1", {Phone("010-1111-2222")});
  Create("m1", {Email("m1@example.com")});
  ASSERT_TRUE(
      Append("customers/s1", cxp::type::v1::CHANNEL_VOICE, now_ - absl::Hours(2), "agent-a").ok());
  ASSERT_TRUE(
      Append("customers/m1", cxp::type::v1::CHANNEL_CHAT, now_ - absl::Hours(1), "agent-b").ok());
  v1::StartJourneyRequest start;
  start.set_parent("customers/m1");
  start.set_journey_id("parcel");
  start.mutable_journey()->set_type("missed_delivery");
  start.set_step("reported");
  v1::StartJourneyResponse started;
  ASSERT_TRUE(core_->StartJourney(kTenant, start, started).ok());

  cxp::type::v1::CustomerRef survivor;
  survivor.set_customer("customers/s1");
  EXPECT_EQ(Context(survivor).recent_interactions_size(), 1);  // cached before the merge
  ASSERT_TRUE(Merge("s1", {"m1"}).ok());

  v1::CustomerContext view = Context(survivor);
  ASSERT_EQ(view.recent_interactions_size(), 2);
  EXPECT_THAT(view.recent_interactions(0).name(), ::testing::StartsWith("customers/m1/"));
  EXPECT_EQ(view.computed_attributes().all_channels().last_24_hours(), 2);
  EXPECT_EQ(view.computed_attributes().last_agent(), "agent-b");
  ASSERT_EQ(view.open_journeys_size(), 1);
  EXPECT_EQ(view.customer().identities_size(), 2);

  // Naming the merged customer, by name or by its (moved) identity, gives
  // the survivor's view.
  cxp::type::v1::CustomerRef merged;
  merged.set_customer("customers/m1");
  EXPECT_EQ(Context(merged).customer().name(), "customers/s1");
  cxp::type::v1::CustomerRef by_email;
  *by_email.mutable_identity() = Email("m1@example.com");
  EXPECT_EQ(Context(by_email).customer().name(), "customers/s1");

  // The merged customer's journey moves on: the survivor's view shows it.
  v1::AdvanceJourneyRequest advance;
  advance.set_name(started.journey().name());
  advance.set_step("rescheduled");
  v1::AdvanceJourneyResponse advanced;
  ASSERT_TRUE(core_->AdvanceJourney(kTenant, advance, advanced).ok());
  EXPECT_EQ(Context(survivor).open_journeys(0).step(), "rescheduled");

  // An append naming the merged customer lands on the survivor, and may
  // continue the merged customer's journey.
  v1::AppendInteractionRequest append;
  append.mutable_customer()->set_customer("customers/m1");
  append.mutable_interaction()->set_channel(cxp::type::v1::CHANNEL_EMAIL);
  append.mutable_interaction()->set_direction(v1::Interaction::DIRECTION_INBOUND);
  append.mutable_interaction()->set_type("message");
  append.mutable_interaction()->set_journey(started.journey().name());
  v1::AppendInteractionResponse appended;
  ASSERT_TRUE(core_->AppendInteraction(kTenant, append, appended).ok());
  EXPECT_THAT(appended.interaction().name(), ::testing::StartsWith("customers/s1/"));
  EXPECT_EQ(Context(survivor).recent_interactions_size(), 3);
}

TEST_F(MergeTest, OrderAndChainRules) {
  Create("s1");
  Create("m1");
  Create("m2");
  Create("x1");
  auto first_or = Merge("s1", {"m1"});
  ASSERT_TRUE(first_or.ok()) << first_or.status();
  const v1::MergeCustomersResponse first = *first_or;
  auto second_or = Merge("s1", {"m2"});
  ASSERT_TRUE(second_or.ok()) << second_or.status();
  const v1::MergeCustomersResponse second = *second_or;
  EXPECT_EQ(Merge("x1", {"m1"}).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Merge("m1", {"x1"}).status().code(), absl::StatusCode::kFailedPrecondition);
  // A survivor is merged into nothing; others may be merged into it.
  EXPECT_EQ(Merge("x1", {"s1"}).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Merge("s1", {"s1"}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Merge("s1", {"nobody"}).status().code(), absl::StatusCode::kNotFound);

  absl::Status older = Unmerge(first.merge_record().name());
  EXPECT_EQ(older.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(older.message(), HasSubstr(second.merge_record().name()));
  ASSERT_TRUE(Unmerge(second.merge_record().name()).ok());
  ASSERT_TRUE(Unmerge(first.merge_record().name()).ok());
  EXPECT_EQ(Unmerge(first.merge_record().name()).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Unmerge("mergeRecords/unknown").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Unmerge("customers/x1" + first.merge_record().name().substr(
                                         first.merge_record().name().find("/mergeRecords/")))
                .code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(Unmerge("merges/1").code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(MergeTest, VerifiedIdentityMergesAutomaticallyWhereTurnedOn) {
  Create("known", {Phone("010-5555-6666")});
  now_ += absl::Hours(1);
  Create("anonymous", {Email("chat-4821@anon.example.com")});
  v1::AddIdentityRequest add;
  add.set_customer("customers/anonymous");
  *add.mutable_identity() = Phone("010-5555-6666");
  add.set_verified(true);
  v1::AddIdentityResponse added;
  EXPECT_EQ(core_->AddIdentity(kTenant, add, added).code(), absl::StatusCode::kAlreadyExists);

  auto automatic = ContextCore::Create(
      *store_, {.clock = [this] { return now_; }, .auto_merge_tenants = {kTenant}});
  ASSERT_TRUE(automatic.ok());
  add.set_verified(false);  // unverified proves nothing
  EXPECT_EQ((*automatic)->AddIdentity(kTenant, add, added).code(),
            absl::StatusCode::kAlreadyExists);
  add.set_verified(true);
  ASSERT_TRUE((*automatic)->AddIdentity(kTenant, add, added).ok());
  EXPECT_EQ(added.customer().name(), "customers/known");  // the longer-known one survives
  EXPECT_EQ(added.customer().identities_size(), 2);
  for (const auto& linked : added.customer().identities()) {
    if (linked.identity().kind() == cxp::type::v1::IDENTITY_KIND_PHONE) {
      EXPECT_TRUE(linked.verified());
    }
  }
  v1::GetCustomerRequest get;
  get.set_name("customers/anonymous");
  v1::GetCustomerResponse got;
  ASSERT_TRUE(core_->GetCustomer(kTenant, get, got).ok());
  EXPECT_EQ(got.customer().merged_into(), "customers/known");
  EXPECT_TRUE(got.customer().identities().empty());
}

TEST_F(ContextCoreTest, BulkAppendGivesEachRequestItsOwnOutcome) {
  Create("c1");
  Create("c2");
  auto append_to = [&](const std::string& customer, const std::string& request_id) {
    v1::AppendInteractionRequest request;
    request.mutable_customer()->set_customer(customer);
    request.set_request_id(request_id);
    v1::Interaction& interaction = *request.mutable_interaction();
    interaction.set_channel(cxp::type::v1::CHANNEL_SMS);
    interaction.set_direction(v1::Interaction::DIRECTION_OUTBOUND);
    interaction.set_type("notification");
    *interaction.mutable_occur_time() =
        TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(now_ - absl::Minutes(1)));
    return request;
  };
  v1::BulkAppendInteractionsRequest bulk;
  *bulk.add_requests() = append_to("customers/c1", "7d3c1a52-9e0b-4f55-8a41-0c2b6f1d9e01");
  *bulk.add_requests() = append_to("customers/nobody", "");
  *bulk.add_requests() = append_to("customers/c2", "");
  bulk.mutable_requests(2)->mutable_interaction()->clear_channel();
  *bulk.add_requests() = append_to("customers/c2", "");

  v1::BulkAppendInteractionsResponse response;
  ASSERT_TRUE(core_->BulkAppendInteractions(kTenant, bulk, response).ok());
  ASSERT_EQ(response.outcomes_size(), 4);
  EXPECT_EQ(response.outcomes(0).code(), 0) << response.outcomes(0).message();
  EXPECT_TRUE(absl::StartsWith(response.outcomes(0).response().interaction().name(),
                               "customers/c1/interactions/"));
  EXPECT_EQ(response.outcomes(1).code(), static_cast<int>(absl::StatusCode::kNotFound));
  EXPECT_THAT(response.outcomes(1).message(), HasSubstr("customers/nobody"));
  EXPECT_FALSE(response.outcomes(1).has_response());
  EXPECT_EQ(response.outcomes(2).code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_TRUE(absl::StartsWith(response.outcomes(2).message(), "requests[2].interaction.channel"))
      << response.outcomes(2).message();
  EXPECT_EQ(response.outcomes(3).code(), 0) << response.outcomes(3).message();
  EXPECT_TRUE(absl::StartsWith(response.outcomes(3).response().interaction().name(),
                               "customers/c2/interactions/"));
  cxp::type::v1::CustomerRef c1;
  c1.set_customer("customers/c1");
  cxp::type::v1::CustomerRef c2;
  c2.set_customer("customers/c2");
  EXPECT_EQ(Context(c1).recent_interactions_size(), 1);
  EXPECT_EQ(Context(c2).recent_interactions_size(), 1);

  // A retried request_id answers the first append again and adds nothing.
  v1::BulkAppendInteractionsRequest retry;
  *retry.add_requests() = bulk.requests(0);
  v1::BulkAppendInteractionsResponse retried;
  ASSERT_TRUE(core_->BulkAppendInteractions(kTenant, retry, retried).ok());
  ASSERT_EQ(retried.outcomes_size(), 1);
  EXPECT_EQ(retried.outcomes(0).response().interaction().name(),
            response.outcomes(0).response().interaction().name());
  EXPECT_EQ(Context(c1).recent_interactions_size(), 1);

  // A malformed batch fails as a whole and appends nothing.
  v1::BulkAppendInteractionsResponse unused;
  absl::Status empty = core_->BulkAppendInteractions(kTenant, {}, unused);
  EXPECT_TRUE(absl::IsInvalidArgument(empty)) << empty;
  EXPECT_THAT(std::string(empty.message()), HasSubstr("requests"));
  v1::BulkAppendInteractionsRequest too_many;
  for (int i = 0; i < ContextCore::kMaxBulk + 1; ++i) {
    *too_many.add_requests() = append_to("customers/c2", "");
  }
  absl::Status oversized = core_->BulkAppendInteractions(kTenant, too_many, unused);
  EXPECT_TRUE(absl::IsInvalidArgument(oversized)) << oversized;
  EXPECT_THAT(std::string(oversized.message()), HasSubstr("at most 100"));
  EXPECT_EQ(Context(c2).recent_interactions_size(), 1);
}

TEST_F(ContextCoreTest, BatchGetCustomerContextsAnswersEachCustomerAsGetWould) {
  Create("c1", {Phone("+821012345678")});
  Create("c2");
  ASSERT_TRUE(Append("customers/c2", cxp::type::v1::CHANNEL_CHAT, now_ - absl::Hours(1)).ok());
  ASSERT_TRUE(Append("customers/c2", cxp::type::v1::CHANNEL_VOICE, now_ - absl::Minutes(5)).ok());
  cxp::type::v1::CustomerRef c1;
  c1.set_customer("customers/c1");
  cxp::type::v1::CustomerRef nobody;
  nobody.set_customer("customers/nobody");
  cxp::type::v1::CustomerRef c2;
  c2.set_customer("customers/c2");
  cxp::type::v1::CustomerRef c1_by_phone;
  *c1_by_phone.mutable_identity() = Phone("+821012345678");
  cxp::type::v1::CustomerRef unset;

  v1::BatchGetCustomerContextsRequest request;
  for (const cxp::type::v1::CustomerRef* ref : {&c1, &nobody, &c2, &c1_by_phone, &unset}) {
    *request.add_customers() = *ref;
  }
  request.set_interaction_limit(1);
  absl::StatusOr<std::string> encoded = core_->BatchGetCustomerContextsEncoded(kTenant, request);
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  v1::BatchGetCustomerContextsResponse response;
  ASSERT_TRUE(response.ParseFromString(*encoded));
  ASSERT_EQ(response.outcomes_size(), 5);

  using google::protobuf::util::MessageDifferencer;
  EXPECT_EQ(response.outcomes(0).code(), 0) << response.outcomes(0).message();
  EXPECT_TRUE(MessageDifferencer::Equals(response.outcomes(0).customer_context(), Context(c1, 1)));
  EXPECT_EQ(response.outcomes(1).code(), static_cast<int>(absl::StatusCode::kNotFound));
  EXPECT_TRUE(absl::StartsWith(response.outcomes(1).message(), "customers[1]"))
      << response.outcomes(1).message();
  EXPECT_FALSE(response.outcomes(1).has_customer_context());
  EXPECT_EQ(response.outcomes(2).code(), 0);
  const v1::CustomerContext& second = response.outcomes(2).customer_context();
  EXPECT_EQ(second.customer().name(), "customers/c2");
  ASSERT_EQ(second.recent_interactions_size(), 1);  // the limit holds
  EXPECT_EQ(second.recent_interactions(0).channel(), cxp::type::v1::CHANNEL_VOICE);
  EXPECT_EQ(response.outcomes(3).code(), 0);
  EXPECT_EQ(response.outcomes(3).customer_context().customer().name(), "customers/c1");
  EXPECT_EQ(response.outcomes(4).code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_TRUE(absl::StartsWith(response.outcomes(4).message(), "customers[4]"))
      << response.outcomes(4).message();

  // A malformed batch fails as a whole.
  absl::StatusOr<std::string> empty = core_->BatchGetCustomerContextsEncoded(kTenant, {});
  EXPECT_TRUE(absl::IsInvalidArgument(empty.status())) << empty.status();
  v1::BatchGetCustomerContextsRequest negative;
  *negative.add_customers() = c1;
  negative.set_interaction_limit(-1);
  absl::StatusOr<std::string> bad_limit = core_->BatchGetCustomerContextsEncoded(kTenant, negative);
  EXPECT_TRUE(absl::IsInvalidArgument(bad_limit.status())) << bad_limit.status();
  EXPECT_THAT(std::string(bad_limit.status().message()), HasSubstr("interaction_limit"));
  v1::BatchGetCustomerContextsRequest too_many;
  for (int i = 0; i < ContextCore::kMaxBulk + 1; ++i) *too_many.add_customers() = c1;
  EXPECT_TRUE(
      absl::IsInvalidArgument(core_->BatchGetCustomerContextsEncoded(kTenant, too_many).status()));
}

}  // namespace
}  // namespace cxp::context
