// Merging duplicate customers as a partner meets it: the real context_service
// binary in a child process, called only through the generated
// cxp.context.v1.ContextService client. MergeCustomers / UnmergeCustomers /
// GetMergeRecord, reads through a survivor (profile, identities, consent,
// interactions, journeys, context view, export), the change stream, erasure
// of a survivor, and the automatic merge of --auto_merge_tenants.
//
// One server per suite (SetUpTestSuite); each test uses its own customer ids
// and identities. The automatic-merge test starts a second server with the
// flag.
#include <signal.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cxp/context/v1/context_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "tests/context_service/context_client.h"
#include "tests/testing/server_process.h"

namespace cxp::context {
namespace {

using ::cxp::testing::BinaryPath;
using ::cxp::testing::MakeTempDir;
using ::cxp::testing::ServerProcess;
using google::protobuf::util::MessageDifferencer;
using google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;
using v1::ContextService;
using v1::Interaction;
using v1::MergeRecord;
namespace type = ::cxp::type::v1;

// acme: every test but the automatic merge. automerge is listed in
// --auto_merge_tenants of the second server; manual is not.
constexpr char kAcme[] = "acme-merge-key-0123456789abcdef";
constexpr char kAutoMerge[] = "automerge-key-0123456789abcdef";
constexpr char kManual[] = "manual-merge-key-0123456789abcdef";

std::string WriteKeysFile(const std::string& dir) {
  const std::string path = dir + "/api_keys";
  std::ofstream out(path);
  out << "# merge test tenants\n"
      << "acme " << kAcme << "\n"
      << "automerge " << kAutoMerge << "\n"
      << "manual " << kManual << "\n";
  return path;
}

using ::cxp::context::testing::ByIdentity;
using ::cxp::context::testing::ByName;
using ::cxp::context::testing::Chat;
using ::cxp::context::testing::Client;
using ::cxp::context::testing::Email;
using ::cxp::context::testing::Name;
using ::cxp::context::testing::NowSeconds;
using ::cxp::context::testing::Phone;
using ::cxp::context::testing::ToAbsl;
using ::cxp::context::testing::ToTime;
using ::cxp::context::testing::Ts;

#define EXPECT_CODE(result, expected_code) \
  EXPECT_EQ((result).status().code(), (expected_code)) << (result).status()

// --------------------------------------------------------------- builders

v1::CreateCustomerRequest NewCustomer(const std::string& id,
                                      std::vector<type::Identity> identities = {}) {
  v1::CreateCustomerRequest request;
  request.set_customer_id(id);
  request.mutable_customer()->set_display_name("Customer " + id);
  for (const type::Identity& identity : identities) {
    *request.mutable_customer()->add_identities()->mutable_identity() = identity;
  }
  return request;
}

Interaction MakeInteraction(type::Channel channel, Interaction::Direction direction,
                            absl::Time occur, const std::string& summary = "") {
  Interaction interaction;
  interaction.set_channel(channel);
  interaction.set_direction(direction);
  interaction.set_type(channel == type::CHANNEL_VOICE ? "call" : "message");
  *interaction.mutable_occur_time() = Ts(occur);
  interaction.set_summary(summary);
  return interaction;
}

v1::AppendInteractionRequest AppendTo(const type::CustomerRef& ref,
                                      const Interaction& interaction) {
  v1::AppendInteractionRequest request;
  *request.mutable_customer() = ref;
  *request.mutable_interaction() = interaction;
  return request;
}

v1::ResolveCustomerRequest ResolveRequest(const type::Identity& identity) {
  v1::ResolveCustomerRequest request;
  *request.mutable_identity() = identity;
  return request;
}

v1::GetCustomerRequest GetRequest(const std::string& name) {
  v1::GetCustomerRequest request;
  request.set_name(name);
  return request;
}

v1::GetCustomerContextRequest ContextRequest(const type::CustomerRef& ref, int limit) {
  v1::GetCustomerContextRequest request;
  *request.mutable_customer() = ref;
  request.set_interaction_limit(limit);
  return request;
}

v1::MergeCustomersRequest MergeRequest(const std::string& survivor,
                                       const std::vector<std::string>& merged,
                                       const std::string& reason = "duplicate") {
  v1::MergeCustomersRequest request;
  request.set_customer(survivor);
  for (const std::string& name : merged) request.add_merged_customers(name);
  request.set_reason(reason);
  return request;
}

v1::UnmergeCustomersRequest UnmergeRequest(const std::string& record) {
  v1::UnmergeCustomersRequest request;
  request.set_name(record);
  return request;
}

v1::GetMergeRecordRequest MergeRecordRequest(const std::string& record) {
  v1::GetMergeRecordRequest request;
  request.set_name(record);
  return request;
}

// "customers/s/mergeRecords/r" -> "mergeRecords/r".
std::string ShortRecordName(const std::string& name) {
  return name.substr(name.find("mergeRecords/"));
}

v1::UpdateConsentRequest ConsentRequest(const std::string& customer, type::Channel channel,
                                        type::Purpose purpose, v1::ConsentState state) {
  v1::UpdateConsentRequest request;
  request.set_customer(customer);
  request.set_channel(channel);
  request.set_purpose(purpose);
  request.set_state(state);
  request.mutable_evidence()->set_source("web_form");
  return request;
}

std::vector<std::string> Names(const std::vector<Interaction>& interactions) {
  std::vector<std::string> names;
  for (const Interaction& interaction : interactions) names.push_back(interaction.name());
  return names;
}

template <typename Repeated>
std::vector<std::string> NamesOf(const Repeated& items) {
  std::vector<std::string> names;
  for (const auto& item : items) names.push_back(item.name());
  return names;
}

std::vector<std::string> IdentityValues(const v1::Customer& customer) {
  std::vector<std::string> values;
  for (const auto& linked : customer.identities()) values.push_back(linked.identity().value());
  return values;
}

// The state of one (channel, purpose) consent entry, UNSPECIFIED if none.
v1::ConsentState StateOf(const v1::Consent& consent, type::Channel channel, type::Purpose purpose) {
  for (const v1::ConsentEntry& entry : consent.entries()) {
    if (entry.channel() == channel && entry.purpose() == purpose) return entry.state();
  }
  return v1::CONSENT_STATE_UNSPECIFIED;
}

// Newest first by occur_time, ties by name (the server's order is by
// occur_time; these tests never use equal times).
std::vector<Interaction> NewestFirst(std::vector<Interaction> interactions) {
  std::stable_sort(interactions.begin(), interactions.end(),
                   [](const Interaction& a, const Interaction& b) {
                     return TimeUtil::TimestampToMicroseconds(a.occur_time()) >
                            TimeUtil::TimestampToMicroseconds(b.occur_time());
                   });
  return interactions;
}

// Empty if equal, else a description of the differences.
std::string Diff(const google::protobuf::Message& expected,
                 const google::protobuf::Message& actual) {
  std::string report;
  MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&report);
  if (differencer.Compare(expected, actual)) return "";
  return report.empty() ? "differ" : report;
}

// A profile without the fields every write changes.
v1::Customer WithoutVersion(v1::Customer customer) {
  customer.clear_etag();
  customer.clear_update_time();
  return customer;
}

void ExpectSameInteractions(const std::vector<Interaction>& expected,
                            const std::vector<Interaction>& actual) {
  ASSERT_EQ(Names(actual), Names(expected));
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(Diff(expected[i], actual[i]), "") << expected[i].name();
  }
}

// --------------------------------------------------------------- fixture

class MergeServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string dir = MakeTempDir("merge_service_test_");
    keys_file_ = new std::string(WriteKeysFile(dir));
    auto server = ServerProcess::Start(
        BinaryPath("context_service/context_service"),
        {"--data_dir=" + dir + "/data", "--api_keys_file=" + *keys_file_, "--log_requests=false"});
    if (!server.ok()) {
      start_error_ = new std::string(server.status().ToString());
      return;
    }
    server_ = new ServerProcess(*std::move(server));
    client_ = new Client(server_->address());
  }

  static void TearDownTestSuite() {
    delete client_;
    client_ = nullptr;
    if (server_ != nullptr) {
      server_->Signal(SIGTERM);
      EXPECT_EQ(server_->Wait(absl::Seconds(30)), 0) << server_->Stderr();
      delete server_;
      server_ = nullptr;
    }
  }

  void SetUp() override {
    ASSERT_NE(client_, nullptr) << "context_service did not start: "
                                << (start_error_ ? *start_error_ : "");
  }

  Client& client() { return *client_; }

  v1::Customer Create(const v1::CreateCustomerRequest& request, const std::string& key = kAcme) {
    auto response = CALL(client(), CreateCustomer, key, request);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? response->customer() : v1::Customer();
  }

  Interaction Append(const v1::AppendInteractionRequest& request) {
    auto response = CALL(client(), AppendInteraction, kAcme, request);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? response->interaction() : Interaction();
  }

  void SetConsent(const std::string& customer, type::Channel channel, type::Purpose purpose,
                  v1::ConsentState state) {
    auto response =
        CALL(client(), UpdateConsent, kAcme, ConsentRequest(customer, channel, purpose, state));
    EXPECT_TRUE(response.ok()) << response.status();
  }

  v1::Journey StartJourney(const std::string& customer, const std::string& journey_type) {
    v1::StartJourneyRequest start;
    start.set_parent(customer);
    start.mutable_journey()->set_type(journey_type);
    start.set_step("opened");
    start.set_channel(type::CHANNEL_CHAT);
    auto response = CALL(client(), StartJourney, kAcme, start);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? response->journey() : v1::Journey();
  }

  void SetPreferences(const std::string& customer, std::vector<type::Channel> order,
                      const std::string& language) {
    v1::UpdateContactPreferencesRequest update;
    v1::ContactPreferences& prefs = *update.mutable_contact_preferences();
    prefs.set_name(customer + "/contactPreferences");
    for (type::Channel channel : order) prefs.add_channel_order(channel);
    prefs.set_language_code(language);
    auto response = CALL(client(), UpdateContactPreferences, kAcme, update);
    EXPECT_TRUE(response.ok()) << response.status();
  }

  v1::MergeCustomersResponse Merge(const v1::MergeCustomersRequest& request) {
    auto response = CALL(client(), MergeCustomers, kAcme, request);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? *response : v1::MergeCustomersResponse();
  }

  // Every page of ListInteractions; checks pages stay within page_size.
  absl::StatusOr<std::vector<Interaction>> ListInteractions(const std::string& parent,
                                                            int page_size = 0) {
    std::vector<Interaction> all;
    v1::ListInteractionsRequest request;
    request.set_parent(parent);
    request.set_page_size(page_size);
    for (int page = 0; page < 1000; ++page) {
      auto response = CALL(client(), ListInteractions, kAcme, request);
      if (!response.ok()) return response.status();
      if (page_size > 0) {
        EXPECT_LE(response->interactions_size(), page_size);
      }
      for (const Interaction& interaction : response->interactions()) all.push_back(interaction);
      if (response->next_page_token().empty()) return all;
      request.set_page_token(response->next_page_token());
    }
    return absl::InternalError("too many pages");
  }

  // Every page of ListJourneys.
  absl::StatusOr<std::vector<v1::Journey>> ListJourneys(const std::string& parent) {
    std::vector<v1::Journey> all;
    v1::ListJourneysRequest request;
    request.set_parent(parent);
    for (int page = 0; page < 1000; ++page) {
      auto response = CALL(client(), ListJourneys, kAcme, request);
      if (!response.ok()) return response.status();
      for (const v1::Journey& journey : response->journeys()) all.push_back(journey);
      if (response->next_page_token().empty()) return all;
      request.set_page_token(response->next_page_token());
    }
    return absl::InternalError("too many pages");
  }

  absl::StatusOr<v1::Consent> GetConsent(const std::string& customer) {
    v1::GetConsentRequest request;
    request.set_name(customer + "/consent");
    auto response = CALL(client(), GetConsent, kAcme, request);
    if (!response.ok()) return response.status();
    return response->consent();
  }

  absl::StatusOr<v1::ContactPreferences> GetPreferences(const std::string& customer) {
    v1::GetContactPreferencesRequest request;
    request.set_name(customer + "/contactPreferences");
    auto response = CALL(client(), GetContactPreferences, kAcme, request);
    if (!response.ok()) return response.status();
    return response->contact_preferences();
  }

  // Everything the API shows of one customer.
  struct Snapshot {
    v1::Customer customer;
    std::vector<Interaction> interactions;
    v1::Consent consent;
    std::vector<v1::Journey> journeys;
    v1::ContactPreferences preferences;
    v1::CustomerContext context;
  };
  absl::StatusOr<Snapshot> Take(const std::string& name) {
    Snapshot snapshot;
    auto customer = CALL(client(), GetCustomer, kAcme, GetRequest(name));
    if (!customer.ok()) return customer.status();
    snapshot.customer = customer->customer();
    auto interactions = ListInteractions(name);
    if (!interactions.ok()) return interactions.status();
    snapshot.interactions = *std::move(interactions);
    auto consent = GetConsent(name);
    if (!consent.ok()) return consent.status();
    snapshot.consent = *std::move(consent);
    auto journeys = ListJourneys(name);
    if (!journeys.ok()) return journeys.status();
    snapshot.journeys = *std::move(journeys);
    auto preferences = GetPreferences(name);
    if (!preferences.ok()) return preferences.status();
    snapshot.preferences = *std::move(preferences);
    auto context = CALL(client(), GetCustomerContext, kAcme, ContextRequest(ByName(name), 100));
    if (!context.ok()) return context.status();
    snapshot.context = context->customer_context();
    return snapshot;
  }

  static inline ServerProcess* server_ = nullptr;
  static inline Client* client_ = nullptr;
  static inline std::string* start_error_ = nullptr;
  static inline std::string* keys_file_ = nullptr;
};

// ------------------------------------------------------- merge and unmerge

// Two profiles of one person, each with its own identities, history,
// consent, journey and preferences, are merged, read through the survivor,
// changed, and unmerged: both get back exactly what they had.
TEST_F(MergeServiceTest, MergeThenUnmergeRestoresBothProfilesExactly) {
  const std::string s = Name("mu-survivor");
  const std::string m = Name("mu-merged");
  const type::Identity s_email = Email("mu.survivor@example.com");
  const type::Identity s_phone = Phone("010-4100-0001");
  const type::Identity m_email = Email("mu.merged@example.com");
  const type::Identity m_phone = Phone("010-4100-0002");

  v1::CreateCustomerRequest create_s = NewCustomer("mu-survivor", {s_email, s_phone});
  (*create_s.mutable_customer()->mutable_attributes())["plan"].set_string_value("gold");
  Create(create_s);
  v1::CreateCustomerRequest create_m = NewCustomer("mu-merged", {m_email, m_phone});
  create_m.mutable_customer()->set_time_zone("Asia/Seoul");  // S has none
  create_m.mutable_customer()->set_tier("VIP");              // S has none
  (*create_m.mutable_customer()->mutable_attributes())["plan"].set_string_value("silver");
  (*create_m.mutable_customer()->mutable_attributes())["segment"].set_string_value("mu-b2c");
  Create(create_m);

  // Interleaved timelines over several channels, all in the last 30 days.
  // Each has one inbound contact on an assisted channel in the last 7 days
  // (no repeat contact alone, one together); M's is the newest.
  const absl::Time now = NowSeconds();
  auto add = [&](const std::string& name, type::Channel channel, Interaction::Direction direction,
                 absl::Duration ago, const std::string& agent = "") {
    Interaction interaction = MakeInteraction(channel, direction, now - ago, name);
    interaction.set_agent(agent);
    return Append(AppendTo(ByName(name), interaction));
  };
  constexpr auto kIn = Interaction::DIRECTION_INBOUND;
  constexpr auto kOut = Interaction::DIRECTION_OUTBOUND;
  add(m, type::CHANNEL_SMS, kIn, absl::Minutes(45), "agents/m-agent");
  add(s, type::CHANNEL_VOICE, kIn, absl::Hours(1), "agents/s-agent");
  add(s, type::CHANNEL_EMAIL, kOut, absl::Hours(3));
  add(m, type::CHANNEL_CHAT, kOut, absl::Hours(5));
  add(s, type::CHANNEL_CHAT, kOut, absl::Hours(48));
  add(m, type::CHANNEL_WEB, kIn, absl::Hours(24 * 10));
  add(s, type::CHANNEL_SOCIAL, kIn, absl::Hours(24 * 20));

  // S granted email marketing, M denied it later (and granted SMS
  // marketing); S denied chat marketing, M granted it later.
  SetConsent(s, type::CHANNEL_EMAIL, type::PURPOSE_MARKETING, v1::CONSENT_STATE_GRANTED);
  SetConsent(s, type::CHANNEL_CHAT, type::PURPOSE_MARKETING, v1::CONSENT_STATE_DENIED);
  SetConsent(s, type::CHANNEL_VOICE, type::PURPOSE_SERVICE, v1::CONSENT_STATE_GRANTED);
  SetConsent(m, type::CHANNEL_EMAIL, type::PURPOSE_MARKETING, v1::CONSENT_STATE_DENIED);
  SetConsent(m, type::CHANNEL_SMS, type::PURPOSE_MARKETING, v1::CONSENT_STATE_GRANTED);
  SetConsent(m, type::CHANNEL_CHAT, type::PURPOSE_MARKETING, v1::CONSENT_STATE_GRANTED);

  const v1::Journey s_journey = StartJourney(s, "card_replacement");
  const v1::Journey m_journey = StartJourney(m, "address_change");
  SetPreferences(s, {type::CHANNEL_EMAIL, type::CHANNEL_VOICE}, "en");
  SetPreferences(m, {type::CHANNEL_SMS}, "ko-KR");

  ASSERT_OK_AND_ASSIGN(before_s, Take(s));
  ASSERT_OK_AND_ASSIGN(before_m, Take(m));
  ASSERT_THAT(before_s.interactions, SizeIs(4));
  ASSERT_THAT(before_m.interactions, SizeIs(3));
  ASSERT_FALSE(before_s.context.computed_attributes().repeat_contact());
  ASSERT_FALSE(before_m.context.computed_attributes().repeat_contact());

  // ------------------------------------------------------------ merge
  ASSERT_OK_AND_ASSIGN(merged, CALL(client(), MergeCustomers, kAcme,
                                    MergeRequest(s, {m}, "same person, ticket 4711")));
  const MergeRecord record = merged.merge_record();
  EXPECT_THAT(record.name(), StartsWith(s + "/mergeRecords/"));
  EXPECT_EQ(record.surviving_customer(), s);
  EXPECT_THAT(record.merged_customers(), ElementsAre(m));
  EXPECT_EQ(record.state(), MergeRecord::STATE_MERGED);
  EXPECT_EQ(record.reason(), "same person, ticket 4711");
  EXPECT_TRUE(record.has_create_time());
  EXPECT_FALSE(record.has_unmerge_time());
  EXPECT_EQ(merged.customer().name(), s);

  ASSERT_OK_AND_ASSIGN(got_record,
                       CALL(client(), GetMergeRecord, kAcme, MergeRecordRequest(record.name())));
  EXPECT_EQ(Diff(record, got_record.merge_record()), "");
  ASSERT_OK_AND_ASSIGN(by_alias, CALL(client(), GetMergeRecord, kAcme,
                                      MergeRecordRequest(ShortRecordName(record.name()))));
  EXPECT_EQ(Diff(record, by_alias.merge_record()), "");

  // The merged customer stays readable, pointing at the survivor.
  ASSERT_OK_AND_ASSIGN(got_m, CALL(client(), GetCustomer, kAcme, GetRequest(m)));
  EXPECT_EQ(got_m.customer().merged_into(), s);
  EXPECT_THAT(got_m.customer().identities(), IsEmpty());
  // Its identities resolve to the survivor.
  for (const type::Identity& identity : {m_email, m_phone, s_email}) {
    ASSERT_OK_AND_ASSIGN(resolved,
                         CALL(client(), ResolveCustomer, kAcme, ResolveRequest(identity)));
    EXPECT_EQ(resolved.customer().name(), s) << identity.value();
  }
  // The survivor: its identities then M's; its own values kept, missing ones
  // filled from M.
  ASSERT_OK_AND_ASSIGN(got_s, CALL(client(), GetCustomer, kAcme, GetRequest(s)));
  EXPECT_EQ(Diff(merged.customer(), got_s.customer()), "");
  EXPECT_THAT(IdentityValues(got_s.customer()),
              ElementsAre("mu.survivor@example.com", "+821041000001", "mu.merged@example.com",
                          "+821041000002"));
  EXPECT_TRUE(got_s.customer().merged_into().empty());
  EXPECT_EQ(got_s.customer().display_name(), "Customer mu-survivor");
  EXPECT_EQ(got_s.customer().time_zone(), "Asia/Seoul");
  EXPECT_EQ(got_s.customer().tier(), "VIP");
  EXPECT_EQ(got_s.customer().attributes().at("plan").string_value(), "gold");
  ASSERT_TRUE(got_s.customer().attributes().contains("segment"));
  EXPECT_EQ(got_s.customer().attributes().at("segment").string_value(), "mu-b2c");

  // Consent: per (channel, purpose) the more restrictive answer wins.
  ASSERT_OK_AND_ASSIGN(merged_consent, GetConsent(s));
  EXPECT_EQ(StateOf(merged_consent, type::CHANNEL_EMAIL, type::PURPOSE_MARKETING),
            v1::CONSENT_STATE_DENIED);
  EXPECT_EQ(StateOf(merged_consent, type::CHANNEL_SMS, type::PURPOSE_MARKETING),
            v1::CONSENT_STATE_GRANTED);
  EXPECT_EQ(StateOf(merged_consent, type::CHANNEL_CHAT, type::PURPOSE_MARKETING),
            v1::CONSENT_STATE_DENIED);
  EXPECT_EQ(StateOf(merged_consent, type::CHANNEL_VOICE, type::PURPOSE_SERVICE),
            v1::CONSENT_STATE_GRANTED);
  EXPECT_THAT(merged_consent.entries(), SizeIs(4));

  // Interactions: both timelines, newest first, each once on any paging.
  std::vector<Interaction> both = before_s.interactions;
  both.insert(both.end(), before_m.interactions.begin(), before_m.interactions.end());
  const std::vector<Interaction> expected_merged = NewestFirst(both);
  ASSERT_OK_AND_ASSIGN(merged_list, ListInteractions(s));
  ExpectSameInteractions(expected_merged, merged_list);
  for (int page_size : {1, 2, 3}) {
    SCOPED_TRACE(absl::StrCat("page_size ", page_size));
    ASSERT_OK_AND_ASSIGN(paged, ListInteractions(s, page_size));
    EXPECT_EQ(Names(paged), Names(expected_merged));
  }
  // Journeys of both.
  ASSERT_OK_AND_ASSIGN(merged_journeys, ListJourneys(s));
  EXPECT_THAT(NamesOf(merged_journeys), UnorderedElementsAre(s_journey.name(), m_journey.name()));

  // The context view, named by the survivor, by the merged customer, or by
  // one of the merged customer's identities: the survivor's, with both
  // timelines, both open journeys and summed counts.
  const v1::ComputedAttributes& s_computed = before_s.context.computed_attributes();
  const v1::ComputedAttributes& m_computed = before_m.context.computed_attributes();
  for (const type::CustomerRef& ref : {ByName(s), ByName(m), ByIdentity(m_phone)}) {
    SCOPED_TRACE(ref.DebugString());
    ASSERT_OK_AND_ASSIGN(view, CALL(client(), GetCustomerContext, kAcme, ContextRequest(ref, 100)));
    const v1::CustomerContext& context = view.customer_context();
    EXPECT_EQ(Diff(got_s.customer(), context.customer()), "");
    EXPECT_EQ(NamesOf(context.recent_interactions()), Names(expected_merged));
    EXPECT_THAT(NamesOf(context.open_journeys()),
                UnorderedElementsAre(s_journey.name(), m_journey.name()));
    EXPECT_EQ(context.consent().name(), s + "/consent");
    EXPECT_EQ(Diff(merged_consent, context.consent()), "");
    const v1::ContactCounts& all = context.computed_attributes().all_channels();
    EXPECT_EQ(all.last_24_hours(), s_computed.all_channels().last_24_hours() +
                                       m_computed.all_channels().last_24_hours());
    EXPECT_EQ(all.last_7_days(),
              s_computed.all_channels().last_7_days() + m_computed.all_channels().last_7_days());
    EXPECT_EQ(all.last_30_days(),
              s_computed.all_channels().last_30_days() + m_computed.all_channels().last_30_days());
    EXPECT_EQ(all.last_30_days(), 7);
    EXPECT_EQ(all.last_7_days(), 5);
    EXPECT_EQ(all.last_24_hours(), 4);
    std::map<type::Channel, int> per_channel;
    for (const auto& channel : context.computed_attributes().channels()) {
      per_channel[channel.channel()] = channel.counts().last_30_days();
    }
    EXPECT_EQ(per_channel, (std::map<type::Channel, int>{{type::CHANNEL_VOICE, 1},
                                                         {type::CHANNEL_SMS, 1},
                                                         {type::CHANNEL_EMAIL, 1},
                                                         {type::CHANNEL_CHAT, 2},
                                                         {type::CHANNEL_WEB, 1},
                                                         {type::CHANNEL_SOCIAL, 1}}));
    // The newest contact, its agent and the repeat contact come from both.
    EXPECT_EQ(TimeUtil::TimestampToMicroseconds(context.computed_attributes().last_contact_time()),
              absl::ToUnixMicros(now - absl::Minutes(45)));
    EXPECT_EQ(context.computed_attributes().last_contact_channel(), type::CHANNEL_SMS);
    EXPECT_EQ(context.computed_attributes().last_agent(), "agents/m-agent");
    EXPECT_TRUE(context.computed_attributes().repeat_contact());
  }
  // A short view holds the newest of both timelines.
  ASSERT_OK_AND_ASSIGN(short_view,
                       CALL(client(), GetCustomerContext, kAcme, ContextRequest(ByName(m), 3)));
  const std::vector<std::string> merged_names = Names(expected_merged);
  EXPECT_EQ(NamesOf(short_view.customer_context().recent_interactions()),
            std::vector<std::string>(merged_names.begin(), merged_names.begin() + 3));
  // Filters apply across both timelines.
  {
    v1::ListInteractionsRequest chats;
    chats.set_parent(s);
    chats.set_filter("channel = CHAT");
    ASSERT_OK_AND_ASSIGN(chat_list, CALL(client(), ListInteractions, kAcme, chats));
    std::vector<std::string> expected_chats;
    for (const Interaction& interaction : expected_merged) {
      if (interaction.channel() == type::CHANNEL_CHAT) expected_chats.push_back(interaction.name());
    }
    EXPECT_THAT(expected_chats, SizeIs(2));
    EXPECT_EQ(NamesOf(chat_list.interactions()), expected_chats);
  }
  // Merged customers are not listed; the survivor is, with M's attribute.
  v1::ListCustomersRequest by_segment;
  by_segment.set_filter("attributes.segment = \"mu-b2c\"");
  ASSERT_OK_AND_ASSIGN(listed, CALL(client(), ListCustomers, kAcme, by_segment));
  EXPECT_THAT(NamesOf(listed.customers()), ElementsAre(s));

  // An append naming the merged customer lands on the survivor.
  const Interaction via_m = add(m, type::CHANNEL_CHAT, kIn, absl::Minutes(30));
  EXPECT_THAT(via_m.name(), StartsWith(s + "/interactions/"));
  // So does an append by one of its identities.
  ASSERT_OK_AND_ASSIGN(by_m_identity, CALL(client(), AppendInteraction, kAcme,
                                           AppendTo(ByIdentity(m_email),
                                                    MakeInteraction(type::CHANNEL_EMAIL,
                                                                    Interaction::DIRECTION_INBOUND,
                                                                    now - absl::Minutes(20)))));
  EXPECT_THAT(by_m_identity.interaction().name(), StartsWith(s + "/interactions/"));
  EXPECT_FALSE(by_m_identity.customer_created());
  // And one on the survivor itself.
  const Interaction on_s = add(s, type::CHANNEL_VOICE, kOut, absl::Minutes(10));
  ASSERT_OK_AND_ASSIGN(after_appends, ListInteractions(s, 2));
  ASSERT_THAT(after_appends, SizeIs(10));
  EXPECT_EQ(after_appends[0].name(), on_s.name());
  EXPECT_EQ(after_appends[1].name(), by_m_identity.interaction().name());
  EXPECT_EQ(after_appends[2].name(), via_m.name());

  // ---------------------------------------------------------- unmerge
  ASSERT_OK_AND_ASSIGN(unmerged,
                       CALL(client(), UnmergeCustomers, kAcme, UnmergeRequest(record.name())));
  EXPECT_EQ(unmerged.merge_record().state(), MergeRecord::STATE_UNMERGED);
  EXPECT_TRUE(unmerged.merge_record().has_unmerge_time());
  EXPECT_THAT(NamesOf(unmerged.customers()), ElementsAre(s, m));
  ASSERT_OK_AND_ASSIGN(after_s, Take(s));
  ASSERT_OK_AND_ASSIGN(after_m, Take(m));

  // M: exactly as before the merge.
  EXPECT_EQ(Diff(WithoutVersion(before_m.customer), WithoutVersion(after_m.customer)), "");
  EXPECT_TRUE(after_m.customer.merged_into().empty());
  EXPECT_NE(after_m.customer.etag(), before_m.customer.etag());
  ExpectSameInteractions(before_m.interactions, after_m.interactions);
  EXPECT_EQ(Diff(before_m.consent, after_m.consent), "");
  ASSERT_EQ(after_m.journeys.size(), before_m.journeys.size());
  for (size_t i = 0; i < before_m.journeys.size(); ++i) {
    EXPECT_EQ(Diff(before_m.journeys[i], after_m.journeys[i]), "");
  }
  EXPECT_EQ(Diff(before_m.preferences, after_m.preferences), "");
  // M's own context view again.
  EXPECT_EQ(after_m.context.customer().name(), m);
  EXPECT_EQ(NamesOf(after_m.context.recent_interactions()), Names(before_m.interactions));
  EXPECT_THAT(NamesOf(after_m.context.open_journeys()), ElementsAre(m_journey.name()));
  EXPECT_EQ(after_m.context.computed_attributes().all_channels().last_30_days(), 3);
  EXPECT_FALSE(after_m.context.computed_attributes().repeat_contact());

  // S: as before, plus what was appended to it while merged.
  EXPECT_EQ(Diff(WithoutVersion(before_s.customer), WithoutVersion(after_s.customer)), "");
  std::vector<Interaction> expected_s = {on_s, by_m_identity.interaction(), via_m};
  expected_s.insert(expected_s.end(), before_s.interactions.begin(), before_s.interactions.end());
  ExpectSameInteractions(expected_s, after_s.interactions);
  // Consent entries as before (the container's update_time moved with the
  // restore).
  EXPECT_EQ(after_s.consent.entries_size(), before_s.consent.entries_size());
  for (int i = 0; i < before_s.consent.entries_size() && i < after_s.consent.entries_size(); ++i) {
    EXPECT_EQ(Diff(before_s.consent.entries(i), after_s.consent.entries(i)), "") << i;
  }
  ASSERT_EQ(after_s.journeys.size(), before_s.journeys.size());
  for (size_t i = 0; i < before_s.journeys.size(); ++i) {
    EXPECT_EQ(Diff(before_s.journeys[i], after_s.journeys[i]), "");
  }
  EXPECT_EQ(Diff(before_s.preferences, after_s.preferences), "");
  EXPECT_EQ(after_s.context.customer().name(), s);
  EXPECT_EQ(NamesOf(after_s.context.recent_interactions()), Names(expected_s));
  EXPECT_THAT(NamesOf(after_s.context.open_journeys()), ElementsAre(s_journey.name()));
  EXPECT_EQ(after_s.context.computed_attributes().all_channels().last_30_days(), 7);

  ASSERT_OK_AND_ASSIGN(listed_after, CALL(client(), ListCustomers, kAcme, by_segment));
  EXPECT_THAT(NamesOf(listed_after.customers()), ElementsAre(m));

  // Identities resolve to their own customers again.
  for (const auto& [identity, owner] : std::vector<std::pair<type::Identity, std::string>>{
           {m_email, m}, {m_phone, m}, {s_email, s}, {s_phone, s}}) {
    ASSERT_OK_AND_ASSIGN(resolved,
                         CALL(client(), ResolveCustomer, kAcme, ResolveRequest(identity)));
    EXPECT_EQ(resolved.customer().name(), owner) << identity.value();
  }
  // M takes appends again.
  const Interaction back_on_m = add(m, type::CHANNEL_SMS, kIn, absl::Minutes(5));
  EXPECT_THAT(back_on_m.name(), StartsWith(m + "/interactions/"));

  ASSERT_OK_AND_ASSIGN(final_record,
                       CALL(client(), GetMergeRecord, kAcme, MergeRecordRequest(record.name())));
  EXPECT_EQ(final_record.merge_record().state(), MergeRecord::STATE_UNMERGED);
  EXPECT_TRUE(final_record.merge_record().has_unmerge_time());
  EXPECT_EQ(Diff(unmerged.merge_record(), final_record.merge_record()), "");
  EXPECT_EQ(final_record.merge_record().create_time().seconds(), record.create_time().seconds());
}

// Three timelines read through one survivor, with contacts at the very same
// instant in each: every page size returns each interaction exactly once,
// newest first; undoing the merge of two customers at once restores both.
TEST_F(MergeServiceTest, MergedTimelinesPageWithoutGapsOrRepeats) {
  const std::string s = Name("mt-s");
  const std::string a = Name("mt-a");
  const std::string b = Name("mt-b");
  Create(NewCustomer("mt-s", {Email("mt.s@example.com")}));
  Create(NewCustomer("mt-a", {Email("mt.a@example.com")}));
  Create(NewCustomer("mt-b", {Email("mt.b@example.com")}));
  const absl::Time now = NowSeconds();
  std::vector<Interaction> all;
  for (const std::string& name : {s, a, b}) {
    for (absl::Duration ago :
         {absl::Minutes(1), absl::Minutes(1), absl::Minutes(7), absl::Hours(2)}) {
      all.push_back(Append(AppendTo(
          ByName(name),
          MakeInteraction(type::CHANNEL_CHAT, Interaction::DIRECTION_INBOUND, now - ago))));
    }
  }
  all.push_back(
      Append(AppendTo(ByName(a), MakeInteraction(type::CHANNEL_SMS, Interaction::DIRECTION_INBOUND,
                                                 now - absl::Minutes(3)))));
  ASSERT_OK_AND_ASSIGN(before_a, ListInteractions(a));
  ASSERT_OK_AND_ASSIGN(before_b, ListInteractions(b));
  ASSERT_OK_AND_ASSIGN(a_profile, CALL(client(), GetCustomer, kAcme, GetRequest(a)));
  ASSERT_OK_AND_ASSIGN(b_profile, CALL(client(), GetCustomer, kAcme, GetRequest(b)));

  const v1::MergeCustomersResponse merged = Merge(MergeRequest(s, {a, b}));
  EXPECT_THAT(merged.merge_record().merged_customers(), ElementsAre(a, b));
  std::set<std::string> expected;
  for (const Interaction& interaction : all) expected.insert(interaction.name());
  ASSERT_EQ(expected.size(), 13u);
  ASSERT_OK_AND_ASSIGN(unpaged, ListInteractions(s));
  for (int page_size : {0, 1, 2, 3, 5, 13, 14}) {
    SCOPED_TRACE(absl::StrCat("page_size ", page_size));
    ASSERT_OK_AND_ASSIGN(paged, ListInteractions(s, page_size));
    EXPECT_EQ(Names(paged), Names(unpaged));
    std::set<std::string> seen;
    for (size_t i = 0; i < paged.size(); ++i) {
      EXPECT_TRUE(seen.insert(paged[i].name()).second) << "twice: " << paged[i].name();
      if (i > 0) {
        EXPECT_GE(TimeUtil::TimestampToMicroseconds(paged[i - 1].occur_time()),
                  TimeUtil::TimestampToMicroseconds(paged[i].occur_time()))
            << paged[i - 1].name() << " before " << paged[i].name();
      }
    }
    EXPECT_EQ(seen, expected);
  }
  ASSERT_OK_AND_ASSIGN(view,
                       CALL(client(), GetCustomerContext, kAcme, ContextRequest(ByName(b), 100)));
  EXPECT_EQ(NamesOf(view.customer_context().recent_interactions()), Names(unpaged));

  ASSERT_OK_AND_ASSIGN(undone, CALL(client(), UnmergeCustomers, kAcme,
                                    UnmergeRequest(merged.merge_record().name())));
  EXPECT_THAT(NamesOf(undone.customers()), ElementsAre(s, a, b));
  ASSERT_OK_AND_ASSIGN(after_a, ListInteractions(a));
  ASSERT_OK_AND_ASSIGN(after_b, ListInteractions(b));
  ExpectSameInteractions(before_a, after_a);
  ExpectSameInteractions(before_b, after_b);
  ASSERT_OK_AND_ASSIGN(after_s, ListInteractions(s));
  EXPECT_THAT(after_s, SizeIs(4));
  ASSERT_OK_AND_ASSIGN(a_back, CALL(client(), GetCustomer, kAcme, GetRequest(a)));
  ASSERT_OK_AND_ASSIGN(b_back, CALL(client(), GetCustomer, kAcme, GetRequest(b)));
  EXPECT_EQ(Diff(WithoutVersion(a_profile.customer()), WithoutVersion(a_back.customer())), "");
  EXPECT_EQ(Diff(WithoutVersion(b_profile.customer()), WithoutVersion(b_back.customer())), "");
}

// ------------------------------------------------------------------ errors

TEST_F(MergeServiceTest, MergeAndUnmergeErrors) {
  const std::string s = Name("me-s");
  const std::string a = Name("me-a");
  const std::string b = Name("me-b");
  const std::string t = Name("me-t");
  Create(NewCustomer("me-s", {Email("me.s@example.com")}));
  Create(NewCustomer("me-a", {Email("me.a@example.com")}));
  Create(NewCustomer("me-b", {Email("me.b@example.com")}));
  Create(NewCustomer("me-t", {Email("me.t@example.com")}));

  // Bad requests.
  EXPECT_ERROR(CALL(client(), MergeCustomers, kAcme, MergeRequest(s, {s})),
               absl::StatusCode::kInvalidArgument, "merged_customers[0]");
  EXPECT_ERROR(CALL(client(), MergeCustomers, kAcme, MergeRequest(s, {a, b, a})),
               absl::StatusCode::kInvalidArgument, "merged_customers[2]");
  EXPECT_ERROR(CALL(client(), MergeCustomers, kAcme, MergeRequest(s, {})),
               absl::StatusCode::kInvalidArgument, "merged_customers");
  std::vector<std::string> eleven;
  for (int i = 0; i < 11; ++i) eleven.push_back(Name(absl::StrCat("me-many-", i)));
  EXPECT_ERROR(CALL(client(), MergeCustomers, kAcme, MergeRequest(s, eleven)),
               absl::StatusCode::kInvalidArgument, "merged_customers");
  EXPECT_CODE(CALL(client(), MergeCustomers, kAcme, MergeRequest("customers/Bad Name", {a})),
              absl::StatusCode::kInvalidArgument);
  // Unknown customers.
  EXPECT_ERROR(CALL(client(), MergeCustomers, kAcme, MergeRequest(s, {a, Name("me-nobody")})),
               absl::StatusCode::kNotFound, "me-nobody");
  EXPECT_ERROR(CALL(client(), MergeCustomers, kAcme, MergeRequest(Name("me-nobody"), {a})),
               absl::StatusCode::kNotFound, "me-nobody");
  // ... and those failures changed nothing.
  ASSERT_OK_AND_ASSIGN(a_after_failures, CALL(client(), GetCustomer, kAcme, GetRequest(a)));
  EXPECT_TRUE(a_after_failures.customer().merged_into().empty());
  EXPECT_THAT(IdentityValues(a_after_failures.customer()), ElementsAre("me.a@example.com"));
  // Stale survivor etag.
  ASSERT_OK_AND_ASSIGN(s_now, CALL(client(), GetCustomer, kAcme, GetRequest(s)));
  v1::MergeCustomersRequest stale = MergeRequest(s, {a});
  stale.set_etag(s_now.customer().etag() + "0");
  EXPECT_CODE(CALL(client(), MergeCustomers, kAcme, stale), absl::StatusCode::kAborted);

  // Idempotent retry: same request_id, same record, one merge.
  v1::MergeCustomersRequest first = MergeRequest(s, {a}, "first");
  first.set_request_id("0c8f2f7e-8a43-4bde-9d55-3f2b7c1e6a01");
  first.set_etag(s_now.customer().etag());
  ASSERT_OK_AND_ASSIGN(merge_a, CALL(client(), MergeCustomers, kAcme, first));
  ASSERT_OK_AND_ASSIGN(retried, CALL(client(), MergeCustomers, kAcme, first));
  EXPECT_EQ(Diff(merge_a.merge_record(), retried.merge_record()), "");
  EXPECT_EQ(Diff(merge_a.customer(), retried.customer()), "");
  const std::string record_a = merge_a.merge_record().name();

  // Already merged: as merged customer, as survivor, or into something else.
  EXPECT_ERROR(CALL(client(), MergeCustomers, kAcme, MergeRequest(t, {a})),
               absl::StatusCode::kFailedPrecondition, "me-a");
  EXPECT_ERROR(CALL(client(), MergeCustomers, kAcme, MergeRequest(a, {t})),
               absl::StatusCode::kFailedPrecondition, "me-a");
  // A survivor cannot itself be merged away while it has merges.
  EXPECT_CODE(CALL(client(), MergeCustomers, kAcme, MergeRequest(t, {s})),
              absl::StatusCode::kFailedPrecondition);

  // A merged customer can be read but not changed.
  v1::UpdateCustomerRequest update;
  update.mutable_customer()->set_name(a);
  update.mutable_customer()->set_display_name("Renamed");
  update.mutable_update_mask()->add_paths("display_name");
  EXPECT_ERROR(CALL(client(), UpdateCustomer, kAcme, update), absl::StatusCode::kFailedPrecondition,
               "merged");
  v1::AddIdentityRequest add;
  add.set_customer(a);
  *add.mutable_identity() = Email("me.a.second@example.com");
  EXPECT_CODE(CALL(client(), AddIdentity, kAcme, add), absl::StatusCode::kFailedPrecondition);
  EXPECT_CODE(CALL(client(), UpdateConsent, kAcme,
                   ConsentRequest(a, type::CHANNEL_SMS, type::PURPOSE_MARKETING,
                                  v1::CONSENT_STATE_GRANTED)),
              absl::StatusCode::kFailedPrecondition);
  v1::StartJourneyRequest start;
  start.set_parent(a);
  start.mutable_journey()->set_type("complaint");
  EXPECT_CODE(CALL(client(), StartJourney, kAcme, start), absl::StatusCode::kFailedPrecondition);
  ASSERT_OK_AND_ASSIGN(a_merged, CALL(client(), GetCustomer, kAcme, GetRequest(a)));
  EXPECT_EQ(a_merged.customer().display_name(), "Customer me-a");
  EXPECT_EQ(a_merged.customer().merged_into(), s);

  // Neither side of a merge in effect can be deleted.
  v1::DeleteCustomerRequest delete_s;
  delete_s.set_name(s);
  EXPECT_ERROR(CALL(client(), DeleteCustomer, kAcme, delete_s),
               absl::StatusCode::kFailedPrecondition, "merged");
  v1::DeleteCustomerRequest delete_a;
  delete_a.set_name(a);
  EXPECT_CODE(CALL(client(), DeleteCustomer, kAcme, delete_a),
              absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(CALL(client(), GetCustomer, kAcme, GetRequest(s)).ok());
  EXPECT_TRUE(CALL(client(), GetCustomer, kAcme, GetRequest(a)).ok());

  // A second merge into the same survivor; the older one cannot be undone
  // first.
  ASSERT_OK_AND_ASSIGN(merge_b, CALL(client(), MergeCustomers, kAcme, MergeRequest(s, {b})));
  const std::string record_b = merge_b.merge_record().name();
  EXPECT_NE(record_a, record_b);
  EXPECT_ERROR(CALL(client(), UnmergeCustomers, kAcme, UnmergeRequest(record_a)),
               absl::StatusCode::kFailedPrecondition, ShortRecordName(record_b));
  ASSERT_OK_AND_ASSIGN(still_a,
                       CALL(client(), GetMergeRecord, kAcme, MergeRecordRequest(record_a)));
  EXPECT_EQ(still_a.merge_record().state(), MergeRecord::STATE_MERGED);
  ASSERT_OK_AND_ASSIGN(a_still_merged, CALL(client(), GetCustomer, kAcme, GetRequest(a)));
  EXPECT_EQ(a_still_merged.customer().merged_into(), s);

  // Bad and unknown record names.
  EXPECT_CODE(CALL(client(), UnmergeCustomers, kAcme, UnmergeRequest("mergeRecords")),
              absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(CALL(client(), UnmergeCustomers, kAcme, UnmergeRequest("mergeRecords/nope-1")),
              absl::StatusCode::kNotFound);
  EXPECT_CODE(CALL(client(), GetMergeRecord, kAcme, MergeRecordRequest("mergeRecords/nope-1")),
              absl::StatusCode::kNotFound);
  // The right record under another customer's name is not found.
  EXPECT_CODE(CALL(client(), UnmergeCustomers, kAcme,
                   UnmergeRequest(t + "/mergeRecords/" + record_b.substr(record_b.rfind('/') + 1))),
              absl::StatusCode::kNotFound);
  EXPECT_CODE(
      CALL(client(), GetMergeRecord, kAcme,
           MergeRecordRequest(t + "/mergeRecords/" + record_b.substr(record_b.rfind('/') + 1))),
      absl::StatusCode::kNotFound);

  // Newest first works; each only once.
  ASSERT_OK_AND_ASSIGN(
      undo_b, CALL(client(), UnmergeCustomers, kAcme, UnmergeRequest(ShortRecordName(record_b))));
  EXPECT_EQ(undo_b.merge_record().state(), MergeRecord::STATE_UNMERGED);
  EXPECT_ERROR(CALL(client(), UnmergeCustomers, kAcme, UnmergeRequest(record_b)),
               absl::StatusCode::kFailedPrecondition, "already undone");
  ASSERT_OK_AND_ASSIGN(undo_a, CALL(client(), UnmergeCustomers, kAcme, UnmergeRequest(record_a)));
  EXPECT_EQ(undo_a.merge_record().state(), MergeRecord::STATE_UNMERGED);
  EXPECT_ERROR(CALL(client(), UnmergeCustomers, kAcme, UnmergeRequest(record_a)),
               absl::StatusCode::kFailedPrecondition, "already undone");

  // The retried request id still answers with the first result, not a new
  // merge.
  ASSERT_OK_AND_ASSIGN(late_retry, CALL(client(), MergeCustomers, kAcme, first));
  EXPECT_EQ(late_retry.merge_record().name(), record_a);
  ASSERT_OK_AND_ASSIGN(a_free, CALL(client(), GetCustomer, kAcme, GetRequest(a)));
  EXPECT_TRUE(a_free.customer().merged_into().empty());

  // With no merge in effect, both can be changed and deleted again.
  update.mutable_customer()->set_name(a);
  EXPECT_TRUE(CALL(client(), UpdateCustomer, kAcme, update).ok());
  EXPECT_TRUE(CALL(client(), DeleteCustomer, kAcme, delete_s).ok());
}

// ----------------------------------------------------------- change stream

TEST_F(MergeServiceTest, WatchChangesReportsMergeAndUnmerge) {
  const std::string s = Name("mw-s");
  const std::string m = Name("mw-m");
  Create(NewCustomer("mw-s", {Email("mw.s@example.com")}));
  Create(NewCustomer("mw-m", {Email("mw.m@example.com")}));

  v1::WatchChangesRequest request;
  request.set_customer(s);
  request.add_kinds(v1::CHANGE_KIND_CUSTOMERS_MERGED);
  request.add_kinds(v1::CHANGE_KIND_CUSTOMERS_UNMERGED);
  // A short deadline: a missing event fails the test instead of hanging it.
  Client::Watch watch = client().WatchChanges(kAcme, request, absl::Seconds(10));
  const v1::MergeCustomersResponse merged = Merge(MergeRequest(s, {m}, "watch me"));
  ASSERT_OK_AND_ASSIGN(unmerged, CALL(client(), UnmergeCustomers, kAcme,
                                      UnmergeRequest(merged.merge_record().name())));

  std::optional<v1::ChangeEvent> merge_event = watch.Next();
  ASSERT_TRUE(merge_event.has_value());
  EXPECT_EQ(merge_event->kind(), v1::CHANGE_KIND_CUSTOMERS_MERGED);
  EXPECT_EQ(merge_event->customer(), s);
  ASSERT_EQ(merge_event->payload_case(), v1::ChangeEvent::kMergeRecord);
  EXPECT_EQ(Diff(merged.merge_record(), merge_event->merge_record()), "");
  EXPECT_EQ(merge_event->merge_record().state(), MergeRecord::STATE_MERGED);
  EXPECT_THAT(merge_event->merge_record().merged_customers(), ElementsAre(m));

  std::optional<v1::ChangeEvent> unmerge_event = watch.Next();
  ASSERT_TRUE(unmerge_event.has_value());
  EXPECT_EQ(unmerge_event->kind(), v1::CHANGE_KIND_CUSTOMERS_UNMERGED);
  EXPECT_EQ(unmerge_event->customer(), s);
  ASSERT_EQ(unmerge_event->payload_case(), v1::ChangeEvent::kMergeRecord);
  EXPECT_EQ(Diff(unmerged.merge_record(), unmerge_event->merge_record()), "");
  EXPECT_EQ(unmerge_event->merge_record().state(), MergeRecord::STATE_UNMERGED);
  EXPECT_TRUE(unmerge_event->merge_record().has_unmerge_time());
  EXPECT_GT(unmerge_event->sequence(), merge_event->sequence());
  watch.Close();

  // A watcher of every kind from the start sees them too, in order among
  // the survivor's other changes.
  v1::WatchChangesRequest replay;
  replay.set_after_sequence(0);
  replay.set_customer(s);
  Client::Watch all = client().WatchChanges(kAcme, replay, absl::Seconds(5));
  std::vector<v1::ChangeKind> kinds;
  while (std::optional<v1::ChangeEvent> event = all.Next()) {
    kinds.push_back(event->kind());
    if (event->kind() == v1::CHANGE_KIND_CUSTOMERS_UNMERGED) break;
  }
  all.Close();
  EXPECT_THAT(kinds, ElementsAre(v1::CHANGE_KIND_CUSTOMER_CREATED, v1::CHANGE_KIND_CUSTOMERS_MERGED,
                                 v1::CHANGE_KIND_CUSTOMERS_UNMERGED));
}

// ----------------------------------------------------------------- erasure

TEST_F(MergeServiceTest, EraseSurvivorErasesMergedCustomersToo) {
  const std::string s = Name("mx-s");
  const std::string m = Name("mx-m");
  const std::vector<type::Identity> identities = {Email("mx.s@example.com"), Phone("010-4300-0001"),
                                                  Email("mx.m@example.com"),
                                                  Phone("010-4300-0002")};
  Create(NewCustomer("mx-s", {identities[0], identities[1]}));
  Create(NewCustomer("mx-m", {identities[2], identities[3]}));
  const absl::Time now = NowSeconds();
  Append(AppendTo(ByName(s), MakeInteraction(type::CHANNEL_VOICE, Interaction::DIRECTION_INBOUND,
                                             now - absl::Hours(1))));
  Append(AppendTo(ByName(m), MakeInteraction(type::CHANNEL_CHAT, Interaction::DIRECTION_INBOUND,
                                             now - absl::Hours(2))));
  Append(AppendTo(ByName(m), MakeInteraction(type::CHANNEL_SMS, Interaction::DIRECTION_OUTBOUND,
                                             now - absl::Hours(3))));
  SetConsent(m, type::CHANNEL_SMS, type::PURPOSE_MARKETING, v1::CONSENT_STATE_GRANTED);
  StartJourney(m, "claim");
  const v1::MergeCustomersResponse merged = Merge(MergeRequest(s, {m}));
  const std::string record = merged.merge_record().name();
  ASSERT_FALSE(record.empty());

  // The merged customer itself cannot be erased: the survivor must be.
  v1::EraseCustomerRequest erase_m;
  erase_m.set_name(m);
  EXPECT_CODE(CALL(client(), EraseCustomer, kAcme, erase_m), absl::StatusCode::kFailedPrecondition);

  v1::EraseCustomerRequest erase;
  erase.set_name(s);
  erase.set_reason("DSR-merge-1");
  ASSERT_OK_AND_ASSIGN(erased, CALL(client(), EraseCustomer, kAcme, erase));
  const v1::ErasureReceipt& receipt = erased.erasure_receipt();
  EXPECT_EQ(receipt.customer(), s);
  EXPECT_THAT(receipt.merged_customers(), ElementsAre(m));
  std::map<std::string, int64_t> counts;
  for (const v1::ErasedItemCount& item : receipt.erased_items()) {
    counts[item.item_type()] = item.count();
  }
  EXPECT_GE(counts["merge_records"], 1);
  EXPECT_EQ(counts["profile"], 2);
  EXPECT_EQ(counts["identities"], 4);
  EXPECT_EQ(counts["interactions"], 3);
  EXPECT_EQ(counts["journeys"], 1);

  for (const std::string& name : {s, m}) {
    SCOPED_TRACE(name);
    EXPECT_CODE(CALL(client(), GetCustomer, kAcme, GetRequest(name)), absl::StatusCode::kNotFound);
    EXPECT_CODE(ListInteractions(name), absl::StatusCode::kNotFound);
    EXPECT_CODE(ListJourneys(name), absl::StatusCode::kNotFound);
    EXPECT_CODE(GetConsent(name), absl::StatusCode::kNotFound);
    EXPECT_CODE(CALL(client(), GetCustomerContext, kAcme, ContextRequest(ByName(name), 10)),
                absl::StatusCode::kNotFound);
    EXPECT_CODE(client().Export(kAcme, name), absl::StatusCode::kNotFound);
  }
  for (const type::Identity& identity : identities) {
    EXPECT_CODE(CALL(client(), ResolveCustomer, kAcme, ResolveRequest(identity)),
                absl::StatusCode::kNotFound)
        << identity.value();
  }
  EXPECT_CODE(CALL(client(), GetMergeRecord, kAcme, MergeRecordRequest(record)),
              absl::StatusCode::kNotFound);
  EXPECT_CODE(CALL(client(), GetMergeRecord, kAcme, MergeRecordRequest(ShortRecordName(record))),
              absl::StatusCode::kNotFound);
  EXPECT_CODE(CALL(client(), UnmergeCustomers, kAcme, UnmergeRequest(record)),
              absl::StatusCode::kNotFound);
  // Names of erased customers are never reused; their identities are free.
  EXPECT_ERROR(CALL(client(), CreateCustomer, kAcme, NewCustomer("mx-m")),
               absl::StatusCode::kAlreadyExists, "erased");
  EXPECT_ERROR(CALL(client(), CreateCustomer, kAcme, NewCustomer("mx-s")),
               absl::StatusCode::kAlreadyExists, "erased");
  EXPECT_TRUE(CALL(client(), CreateCustomer, kAcme, NewCustomer("mx-new", {identities[2]})).ok());
}

// ------------------------------------------------------------------ export

TEST_F(MergeServiceTest, ExportOfSurvivorIncludesMergedCustomers) {
  const std::string s = Name("mp-s");
  const std::string m = Name("mp-m");
  Create(NewCustomer("mp-s", {Email("mp.s@example.com")}));
  Create(NewCustomer("mp-m", {Email("mp.m@example.com")}));
  const absl::Time now = NowSeconds();
  std::set<std::string> s_interactions, m_interactions;
  for (int i = 0; i < 3; ++i) {
    s_interactions.insert(Append(AppendTo(ByName(s), MakeInteraction(type::CHANNEL_WEB,
                                                                     Interaction::DIRECTION_INBOUND,
                                                                     now - absl::Minutes(2 * i))))
                              .name());
    m_interactions.insert(
        Append(
            AppendTo(ByName(m), MakeInteraction(type::CHANNEL_CHAT, Interaction::DIRECTION_INBOUND,
                                                now - absl::Minutes(2 * i + 1))))
            .name());
  }
  const v1::Journey m_journey = StartJourney(m, "onboarding");
  const v1::MergeCustomersResponse merged = Merge(MergeRequest(s, {m}, "export"));

  ASSERT_OK_AND_ASSIGN(items, client().Export(kAcme, s));
  ASSERT_FALSE(items.empty());
  EXPECT_EQ(items[0].customer().name(), s);
  std::vector<std::string> profiles;
  std::vector<MergeRecord> records;
  std::set<std::string> interactions;
  std::vector<std::string> journeys;
  std::vector<std::string> consents;
  for (const v1::ExportCustomerResponse& item : items) {
    switch (item.item_case()) {
      case v1::ExportCustomerResponse::kCustomer:
        profiles.push_back(item.customer().name());
        break;
      case v1::ExportCustomerResponse::kMergeRecord:
        records.push_back(item.merge_record());
        break;
      case v1::ExportCustomerResponse::kInteraction:
        EXPECT_TRUE(interactions.insert(item.interaction().name()).second)
            << "twice: " << item.interaction().name();
        break;
      case v1::ExportCustomerResponse::kJourney:
        journeys.push_back(item.journey().name());
        break;
      case v1::ExportCustomerResponse::kConsent:
        consents.push_back(item.consent().name());
        break;
      default:
        break;
    }
  }
  EXPECT_THAT(profiles, ElementsAre(s, m));
  ASSERT_THAT(records, SizeIs(1));
  EXPECT_EQ(Diff(merged.merge_record(), records[0]), "");
  std::set<std::string> expected = s_interactions;
  expected.insert(m_interactions.begin(), m_interactions.end());
  EXPECT_EQ(interactions, expected);
  EXPECT_THAT(journeys, ElementsAre(m_journey.name()));
  EXPECT_THAT(consents, ElementsAre(s + "/consent", m + "/consent"));
  // M's profile item is the merged one.
  for (const v1::ExportCustomerResponse& item : items) {
    if (item.has_customer() && item.customer().name() == m) {
      EXPECT_EQ(item.customer().merged_into(), s);
    }
  }
}

// ---------------------------------------------------------- automatic merge

// A chat visitor, created anonymously, verifies a phone number an older
// customer holds: with --auto_merge_tenants the two become one, the older
// profile surviving; without it the call fails with ALREADY_EXISTS.
TEST_F(MergeServiceTest, VerifiedIdentityOfAnotherCustomerMergesAutomatically) {
  const std::string dir = MakeTempDir("merge_service_auto_");
  auto started =
      ServerProcess::Start(BinaryPath("context_service/context_service"),
                           {"--data_dir=" + dir + "/data", "--api_keys_file=" + *keys_file_,
                            "--log_requests=false", "--auto_merge_tenants=automerge"});
  ASSERT_TRUE(started.ok()) << started.status();
  ServerProcess auto_server = *std::move(started);
  Client auto_client(auto_server.address());

  // Sets up Y (older, with phone P unverified) and X (newer, anonymous,
  // created by a chat message) in `tenant` of `on`, then verifies P on X.
  struct Setup {
    std::string x, y;
    absl::StatusOr<v1::AddIdentityResponse> added;
  };
  auto scenario = [](Client& on, const std::string& key, const std::string& prefix) {
    Setup setup;
    const type::Identity phone = Phone("010-4400-0001");
    auto y =
        on.Call(&ContextService::Stub::CreateCustomer, NewCustomer(prefix + "-y", {phone}), key);
    EXPECT_TRUE(y.ok()) << y.status();
    setup.y = Name(prefix + "-y");
    v1::AppendInteractionRequest chat =
        AppendTo(ByIdentity(Chat("webchat", prefix + "-visitor")),
                 MakeInteraction(type::CHANNEL_CHAT, Interaction::DIRECTION_INBOUND, NowSeconds()));
    chat.set_create_customer_if_missing(true);
    auto x = on.Call(&ContextService::Stub::AppendInteraction, chat, key);
    EXPECT_TRUE(x.ok()) << x.status();
    if (x.ok()) {
      EXPECT_TRUE(x->customer_created());
      const std::string name = x->interaction().name();
      setup.x = name.substr(0, name.find("/interactions/"));
    }
    v1::AddIdentityRequest add;
    add.set_customer(setup.x);
    *add.mutable_identity() = phone;
    add.set_verified(true);
    setup.added = on.Call(&ContextService::Stub::AddIdentity, add, key);
    return setup;
  };

  // Enabled tenant: X is merged into the older Y.
  const Setup merged = scenario(auto_client, kAutoMerge, "am");
  ASSERT_TRUE(merged.added.ok()) << merged.added.status();
  const v1::Customer& survivor = merged.added->customer();
  EXPECT_EQ(survivor.name(), merged.y);
  bool phone_verified = false;
  for (const auto& linked : survivor.identities()) {
    if (linked.identity().value() == "+821044000001") phone_verified = linked.verified();
  }
  EXPECT_TRUE(phone_verified) << survivor.DebugString();
  EXPECT_THAT(IdentityValues(survivor), UnorderedElementsAre("+821044000001", "am-visitor"));
  ASSERT_OK_AND_ASSIGN(x_now, CALL(auto_client, GetCustomer, kAutoMerge, GetRequest(merged.x)));
  EXPECT_EQ(x_now.customer().merged_into(), merged.y);
  ASSERT_OK_AND_ASSIGN(by_chat, CALL(auto_client, ResolveCustomer, kAutoMerge,
                                     ResolveRequest(Chat("webchat", "am-visitor"))));
  EXPECT_EQ(by_chat.customer().name(), merged.y);
  // X's chat message reads through Y.
  v1::ListInteractionsRequest list;
  list.set_parent(merged.y);
  ASSERT_OK_AND_ASSIGN(y_interactions, CALL(auto_client, ListInteractions, kAutoMerge, list));
  ASSERT_THAT(y_interactions.interactions(), SizeIs(1));
  EXPECT_THAT(y_interactions.interactions(0).name(), StartsWith(merged.x + "/interactions/"));

  // The merge is recorded like MergeCustomers, with an automatic reason.
  v1::WatchChangesRequest watch_request;
  watch_request.set_after_sequence(0);
  watch_request.set_customer(merged.y);
  watch_request.add_kinds(v1::CHANGE_KIND_CUSTOMERS_MERGED);
  Client::Watch watch = auto_client.WatchChanges(kAutoMerge, watch_request, absl::Seconds(10));
  std::optional<v1::ChangeEvent> event = watch.Next();
  watch.Close();
  ASSERT_TRUE(event.has_value());
  ASSERT_EQ(event->payload_case(), v1::ChangeEvent::kMergeRecord);
  ASSERT_OK_AND_ASSIGN(record, CALL(auto_client, GetMergeRecord, kAutoMerge,
                                    MergeRecordRequest(event->merge_record().name())));
  EXPECT_EQ(record.merge_record().surviving_customer(), merged.y);
  EXPECT_THAT(record.merge_record().merged_customers(), ElementsAre(merged.x));
  EXPECT_EQ(record.merge_record().state(), MergeRecord::STATE_MERGED);
  EXPECT_THAT(record.merge_record().reason(), StartsWith("automatic"));
  // ... and can be undone like one: X gets its chat handle back, the phone
  // stays verified with Y.
  ASSERT_OK_AND_ASSIGN(undone, CALL(auto_client, UnmergeCustomers, kAutoMerge,
                                    UnmergeRequest(record.merge_record().name())));
  ASSERT_THAT(undone.customers(), SizeIs(2));
  EXPECT_THAT(IdentityValues(undone.customers(0)), ElementsAre("+821044000001"));
  EXPECT_THAT(IdentityValues(undone.customers(1)), ElementsAre("am-visitor"));

  // The older customer survives also when it is the one verifying.
  {
    const type::Identity phone = Phone("010-4400-0002");
    ASSERT_TRUE(CALL(auto_client, CreateCustomer, kAutoMerge, NewCustomer("am-old")).ok());
    ASSERT_TRUE(CALL(auto_client, CreateCustomer, kAutoMerge, NewCustomer("am-new", {phone})).ok());
    v1::AddIdentityRequest add;
    add.set_customer(Name("am-old"));
    *add.mutable_identity() = phone;
    add.set_verified(true);
    ASSERT_OK_AND_ASSIGN(added, CALL(auto_client, AddIdentity, kAutoMerge, add));
    EXPECT_EQ(added.customer().name(), Name("am-old"));
    ASSERT_THAT(added.customer().identities(), SizeIs(1));
    EXPECT_TRUE(added.customer().identities(0).verified());
    ASSERT_OK_AND_ASSIGN(newer,
                         CALL(auto_client, GetCustomer, kAutoMerge, GetRequest(Name("am-new"))));
    EXPECT_EQ(newer.customer().merged_into(), Name("am-old"));
  }

  // An unverified link still fails, flag or not.
  {
    ASSERT_TRUE(CALL(auto_client, CreateCustomer, kAutoMerge,
                     NewCustomer("am-u1", {Phone("010-4400-0003")}))
                    .ok());
    ASSERT_TRUE(CALL(auto_client, CreateCustomer, kAutoMerge, NewCustomer("am-u2")).ok());
    v1::AddIdentityRequest add;
    add.set_customer(Name("am-u2"));
    *add.mutable_identity() = Phone("010-4400-0003");
    EXPECT_CODE(CALL(auto_client, AddIdentity, kAutoMerge, add), absl::StatusCode::kAlreadyExists);
  }

  // A tenant not in the flag, and a server without the flag: ALREADY_EXISTS,
  // and nothing merged.
  struct Off {
    Client* on;
    const char* key;
    const char* prefix;
  };
  for (const Off& off : {Off{&auto_client, kManual, "mn"}, Off{&client(), kAcme, "mo"}}) {
    SCOPED_TRACE(off.prefix);
    const Setup refused = scenario(*off.on, off.key, off.prefix);
    EXPECT_CODE(refused.added, absl::StatusCode::kAlreadyExists);
    auto x = off.on->Call(&ContextService::Stub::GetCustomer, GetRequest(refused.x), off.key);
    ASSERT_TRUE(x.ok()) << x.status();
    EXPECT_TRUE(x->customer().merged_into().empty());
    auto y = off.on->Call(&ContextService::Stub::GetCustomer, GetRequest(refused.y), off.key);
    ASSERT_TRUE(y.ok()) << y.status();
    ASSERT_THAT(y->customer().identities(), SizeIs(1));
    EXPECT_FALSE(y->customer().identities(0).verified());
  }

  auto_server.Signal(SIGTERM);
  EXPECT_EQ(auto_server.Wait(absl::Seconds(30)), 0) << auto_server.Stderr();
}

}  // namespace
}  // namespace cxp::context
