// MergeCustomers and UnmergeCustomers under SIGKILL: context_service is
// killed while threads merge and unmerge groups of customers (and append
// interactions to them), restarted on the same data directory, and checked
// through the API. Each merge or unmerge must be all or nothing: the merged
// customers' profiles (merged_into, identities), the identity index, the
// survivor's profile (identities, copied tier), the survivor's consent, the
// merge record, the survivor's read-through list, the stored idempotent
// response and the change event agree on one state. Every merge, unmerge and
// append whose OK reply arrived is there; one whose reply was lost is either
// wholly there or wholly absent. Three kill/restart cycles, checks cumulative.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cxp/context/v1/context_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "tests/testing/server_process.h"

namespace cxp::context {
namespace {

using ::cxp::testing::BinaryPath;
using ::cxp::testing::MakeTempDir;
using ::cxp::testing::ServerProcess;
using google::protobuf::util::TimeUtil;
using v1::ContextService;
using v1::MergeRecord;
namespace type = ::cxp::type::v1;

constexpr char kKey[] = "merge-crash-key-0123456789abcdef";
constexpr int kCycles = 3;
constexpr int kGroups = 12;
// Merge threads own groups (g % kMergeThreads), so each knows its groups'
// state exactly; append threads write to any group, racing the merges.
constexpr int kMergeThreads = 4;
constexpr int kAppendThreads = 2;
constexpr int kInitialInteractions = 3;
constexpr int kContextLimit = 100;

// ------------------------------------------------------------------ client

class Client {
 public:
  explicit Client(const std::string& address)
      : stub_(ContextService::NewStub(
            grpc::CreateChannel(address, grpc::InsecureChannelCredentials()))) {}

  template <typename Request, typename Response>
  absl::StatusOr<Response> Call(grpc::Status (ContextService::Stub::*method)(grpc::ClientContext*,
                                                                             const Request&,
                                                                             Response*),
                                const Request& request) {
    grpc::ClientContext context;
    Prepare(context, absl::Seconds(20));
    Response response;
    const grpc::Status status = (stub_.get()->*method)(&context, request, &response);
    if (!status.ok()) return ToAbsl(status);
    return response;
  }

  // Change events of `kinds` from the start of the log, up to and including
  // the first one `last` accepts (or an error after 60 s).
  absl::StatusOr<std::vector<v1::ChangeEvent>> ReadChangesThrough(
      const std::vector<v1::ChangeKind>& kinds,
      const std::function<bool(const v1::ChangeEvent&)>& last) {
    grpc::ClientContext context;
    Prepare(context, absl::Seconds(60));
    v1::WatchChangesRequest request;
    request.set_after_sequence(0);
    for (v1::ChangeKind kind : kinds) request.add_kinds(kind);
    auto reader = stub_->WatchChanges(&context, request);
    std::vector<v1::ChangeEvent> events;
    bool done = false;
    v1::WatchChangesResponse response;
    while (!done && reader->Read(&response)) {
      events.push_back(response.change_event());
      done = last(events.back());
    }
    context.TryCancel();
    while (reader->Read(&response)) {
    }
    const grpc::Status status = reader->Finish();
    if (!done) return status.ok() ? absl::DataLossError("change log ended early") : ToAbsl(status);
    return events;
  }

 private:
  static absl::Status ToAbsl(const grpc::Status& status) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  }
  static void Prepare(grpc::ClientContext& context, absl::Duration deadline) {
    context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    context.AddMetadata("authorization", std::string("Bearer ") + kKey);
  }

  std::unique_ptr<ContextService::Stub> stub_;
};

#define CALL(client, Method, request) (client).Call(&ContextService::Stub::Method, (request))

// ------------------------------------------------------------------- model

type::Identity Email(const std::string& value) {
  type::Identity identity;
  identity.set_kind(type::IDENTITY_KIND_EMAIL);
  identity.set_value(value);
  return identity;
}

type::Identity Phone(const std::string& value) {
  type::Identity identity;
  identity.set_kind(type::IDENTITY_KIND_PHONE);
  identity.set_value(value);
  return identity;
}

// As the server stores it (the test only uses already normalised inputs).
std::string IdentityKey(const type::Identity& identity) {
  return absl::StrCat(identity.kind(), "|", identity.namespace_(), "|", identity.value());
}

// "customers/{id}" of an interaction name "customers/{id}/interactions/{n}".
std::string CustomerOf(const std::string& interaction_name) {
  return interaction_name.substr(0, interaction_name.find("/interactions/"));
}

// Consent as (channel, purpose) -> state.
using ConsentMap = std::map<std::pair<int, int>, int>;

ConsentMap ToMap(const v1::Consent& consent) {
  ConsentMap map;
  for (const v1::ConsentEntry& entry : consent.entries()) {
    map[{entry.channel(), entry.purpose()}] = entry.state();
  }
  return map;
}

struct Member {
  std::string name;  // customers/{id}
  std::vector<type::Identity> identities;
  std::string tier;    // the survivor has none: a merge copies one
  ConsentMap consent;  // MARKETING decisions it was created with
};

struct Merge {
  v1::MergeCustomersRequest request;  // as sent: a retry replays it
  std::string record;                 // merge record name
  std::vector<int> members;           // indexes into Group::members, as listed
};

// A survivor (members[0]) and one or two customers that merge into it, one
// merge at a time or both at once.
struct Group {
  std::vector<Member> members;

  // Merge state as the test knows it: written by the group's merge thread
  // during the load, by the test thread between cycles.
  std::vector<Merge> in_effect;        // oldest first
  std::vector<Merge> undone;           // acknowledged unmerges
  std::optional<Merge> pending_merge;  // sent when the server died, reply lost
  bool pending_unmerge = false;        // of in_effect.back(), reply lost

  // Interactions, appended by several threads.
  std::mutex mu;
  std::map<std::string, std::string> acked;  // interaction name -> tag (case_id)
  std::set<std::string> sent;                // every tag sent

  std::set<int> Merged() const {
    std::set<int> merged;
    for (const Merge& merge : in_effect) merged.insert(merge.members.begin(), merge.members.end());
    return merged;
  }
  // The member whose timeline and identities `member`'s now are.
  int Root(int member) const { return Merged().count(member) > 0 ? 0 : member; }

  // The survivor's tier: the first one a merge in effect copied.
  std::string SurvivorTier() const {
    for (const Merge& merge : in_effect) {
      for (int member : merge.members) {
        if (!members[member].tier.empty()) return members[member].tier;
      }
    }
    return "";
  }

  // The survivor's consent: a DENIED of a merged customer beats its GRANTED,
  // decisions it lacks are added.
  ConsentMap SurvivorConsent() const {
    ConsentMap consent = members[0].consent;
    for (const Merge& merge : in_effect) {
      for (int member : merge.members) {
        for (const auto& [key, state] : members[member].consent) {
          auto it = consent.find(key);
          if (it == consent.end() ||
              (state == v1::CONSENT_STATE_DENIED && it->second != v1::CONSENT_STATE_DENIED)) {
            consent[key] = state;
          }
        }
      }
    }
    return consent;
  }
};

std::string RecordId(const std::string& record_name) {
  return record_name.substr(record_name.rfind('/') + 1);
}

bool Retryable(absl::StatusCode code) {
  return code == absl::StatusCode::kResourceExhausted || code == absl::StatusCode::kAborted;
}

// -------------------------------------------------------------------- test

class MergeCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* seed = std::getenv("CXP_MERGE_CRASH_SEED");
    seed_ = seed != nullptr ? static_cast<uint32_t>(std::strtoul(seed, nullptr, 10))
                            : std::random_device{}();
    std::printf("seed %u (set CXP_MERGE_CRASH_SEED to repeat the schedule)\n", seed_);
    RecordProperty("seed", std::to_string(seed_));
    dir_ = MakeTempDir("merge_crash_");
    std::ofstream(dir_ + "/keys") << "crash " << kKey << "\n";
    flags_ = {"--data_dir=" + dir_ + "/data", "--api_keys_file=" + dir_ + "/keys",
              "--log_requests=false"};
    StartServer();
  }

  void StartServer() {
    auto server = ServerProcess::Start(BinaryPath("context_service/context_service"), flags_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::make_unique<ServerProcess>(*std::move(server));
    client_ = std::make_unique<Client>(server_->address());
  }

  void Unexpected(const std::string& what) {
    std::lock_guard<std::mutex> lock(unexpected_mu_);
    unexpected_.push_back(what);
  }

  // ---------------------------------------------------------------- setup

  void CreateGroups() {
    for (int g = 0; g < kGroups; ++g) {
      Group& group = groups_[g];
      const int size = g % 2 == 0 ? 2 : 3;
      for (int i = 0; i < size; ++i) {
        Member member;
        member.name = absl::StrFormat("customers/g%02d-c%d", g, i);
        member.identities = {Email(absl::StrFormat("g%02d-c%d@merge.example.com", g, i)),
                             Phone(absl::StrFormat("+82103%03d%04d", g, i))};
        if (i == 1) member.tier = "gold";
        if (i == 2) member.tier = "silver";
        // Overlapping (EMAIL) and new (SMS, VOICE) decisions for the merge.
        constexpr int kGranted = v1::CONSENT_STATE_GRANTED;
        constexpr int kDenied = v1::CONSENT_STATE_DENIED;
        if (i == 0) member.consent[{type::CHANNEL_EMAIL, type::PURPOSE_MARKETING}] = kGranted;
        if (i == 1) {
          member.consent[{type::CHANNEL_EMAIL, type::PURPOSE_MARKETING}] = kDenied;
          member.consent[{type::CHANNEL_SMS, type::PURPOSE_MARKETING}] = kGranted;
        }
        if (i == 2) member.consent[{type::CHANNEL_VOICE, type::PURPOSE_MARKETING}] = kDenied;

        v1::CreateCustomerRequest create;
        create.set_customer_id(member.name.substr(strlen("customers/")));
        create.mutable_customer()->set_display_name(absl::StrCat("group ", g, " customer ", i));
        create.mutable_customer()->set_tier(member.tier);
        for (const type::Identity& identity : member.identities) {
          *create.mutable_customer()->add_identities()->mutable_identity() = identity;
        }
        auto created = CALL(*client_, CreateCustomer, create);
        ASSERT_TRUE(created.ok()) << created.status();
        for (const auto& [key, state] : member.consent) {
          v1::UpdateConsentRequest consent;
          consent.set_customer(member.name);
          consent.set_channel(static_cast<type::Channel>(key.first));
          consent.set_purpose(static_cast<type::Purpose>(key.second));
          consent.set_state(static_cast<v1::ConsentState>(state));
          consent.mutable_evidence()->set_source("merge_crash_test");
          auto updated = CALL(*client_, UpdateConsent, consent);
          ASSERT_TRUE(updated.ok()) << updated.status();
        }
        group.members.push_back(std::move(member));
      }
      std::mt19937 rng(seed_ + g);
      for (int i = 0; i < size; ++i) {
        for (int n = 0; n < kInitialInteractions; ++n) {
          ASSERT_EQ(Append(group, i, /*by_identity=*/false, /*expect_known=*/true, rng),
                    Outcome::kAcked);
        }
      }
    }
  }

  // ----------------------------------------------------------------- load

  enum class Outcome { kAcked, kRefused, kLost };

  // Appends to `member` of `group`. With expect_known (the caller knows the
  // group's merge state) the interaction must land on the member's root.
  Outcome Append(Group& group, int member, bool by_identity, bool expect_known, std::mt19937& rng,
                 std::string* appended_name = nullptr) {
    const std::string tag = absl::StrCat("op-", counter_.fetch_add(1));
    v1::AppendInteractionRequest request;
    if (by_identity) {
      *request.mutable_customer()->mutable_identity() = group.members[member].identities[rng() % 2];
    } else {
      request.mutable_customer()->set_customer(group.members[member].name);
    }
    v1::Interaction& interaction = *request.mutable_interaction();
    interaction.set_channel(static_cast<type::Channel>(1 + rng() % 8));
    interaction.set_direction(rng() % 2 == 0 ? v1::Interaction::DIRECTION_INBOUND
                                             : v1::Interaction::DIRECTION_OUTBOUND);
    interaction.set_type("event");
    interaction.set_case_id(tag);
    *interaction.mutable_occur_time() = TimeUtil::MicrosecondsToTimestamp(
        absl::ToUnixMicros(absl::Now() - absl::Seconds(static_cast<int>(rng() % 600))));
    const std::string expected = expect_known ? group.members[group.Root(member)].name : "";
    {
      std::lock_guard<std::mutex> lock(group.mu);
      group.sent.insert(tag);
    }
    auto appended = CALL(*client_, AppendInteraction, request);
    if (!appended.ok()) {
      if (killed_.load()) return Outcome::kLost;
      if (!Retryable(appended.status().code())) {
        Unexpected(absl::StrCat("AppendInteraction to ", group.members[member].name, ": ",
                                appended.status().ToString()));
      }
      return Outcome::kRefused;
    }
    const std::string& name = appended->interaction().name();
    if (appended_name != nullptr) *appended_name = name;
    {
      std::lock_guard<std::mutex> lock(group.mu);
      group.acked[name] = tag;
    }
    const std::string landed = CustomerOf(name);
    if (!expected.empty() && landed != expected) {
      Unexpected(absl::StrCat("append to ", group.members[member].name, " (by ",
                              by_identity ? "identity" : "name", ") landed on ", landed,
                              ", expected ", expected));
    }
    if (expected.empty() && landed != group.members[0].name &&
        landed != group.members[member].name) {
      Unexpected(absl::StrCat("append to ", group.members[member].name, " landed on ", landed));
    }
    return Outcome::kAcked;
  }

  // Merges some of the group's unmerged customers into its survivor, or
  // undoes the newest merge in effect.
  Outcome MergeOrUnmerge(int cycle, Group& group, std::mt19937& rng) {
    const std::set<int> merged = group.Merged();
    std::vector<int> free;
    for (int i = 1; i < static_cast<int>(group.members.size()); ++i) {
      if (merged.count(i) == 0) free.push_back(i);
    }
    if (!free.empty() && (group.in_effect.empty() || rng() % 2 == 0)) {
      Merge merge;
      merge.members = free;
      if (free.size() > 1 && rng() % 2 == 0) merge.members = {free[rng() % free.size()]};
      if (rng() % 2 == 0) std::reverse(merge.members.begin(), merge.members.end());
      merge.request.set_customer(group.members[0].name);
      for (int member : merge.members) {
        merge.request.add_merged_customers(group.members[member].name);
      }
      merge.request.set_reason(absl::StrCat("duplicates (cycle ", cycle + 1, ")"));
      merge.request.set_request_id(absl::StrCat("merge-", counter_.fetch_add(1)));
      group.pending_merge = merge;
      auto response = CALL(*client_, MergeCustomers, merge.request);
      if (!response.ok()) {
        if (killed_.load()) return Outcome::kLost;
        group.pending_merge.reset();
        if (!Retryable(response.status().code())) {
          Unexpected(absl::StrCat("MergeCustomers ", merge.request.ShortDebugString(), ": ",
                                  response.status().ToString()));
        }
        return Outcome::kRefused;
      }
      group.pending_merge.reset();
      const MergeRecord& record = response->merge_record();
      merge.record = record.name();
      if (record.state() != MergeRecord::STATE_MERGED ||
          record.surviving_customer() != group.members[0].name ||
          !absl::StartsWith(record.name(), group.members[0].name + "/mergeRecords/") ||
          response->customer().identities_size() !=
              2 * static_cast<int>(1 + merged.size() + merge.members.size())) {
        Unexpected(absl::StrCat("MergeCustomers answered ", response->ShortDebugString()));
      }
      group.in_effect.push_back(std::move(merge));
      acked_merge_ops_.fetch_add(1);
      return rng() % 4 == 0 ? CheckSurvivorView(group) : Outcome::kAcked;
    }

    const Merge& newest = group.in_effect.back();
    v1::UnmergeCustomersRequest request;
    // Sometimes by the short alias.
    request.set_name(rng() % 4 == 0 ? "mergeRecords/" + RecordId(newest.record) : newest.record);
    group.pending_unmerge = true;
    auto response = CALL(*client_, UnmergeCustomers, request);
    if (!response.ok()) {
      if (killed_.load()) return Outcome::kLost;
      group.pending_unmerge = false;
      if (!Retryable(response.status().code())) {
        Unexpected(
            absl::StrCat("UnmergeCustomers ", newest.record, ": ", response.status().ToString()));
      }
      return Outcome::kRefused;
    }
    group.pending_unmerge = false;
    bool as_expected = response->merge_record().state() == MergeRecord::STATE_UNMERGED &&
                       response->merge_record().name() == newest.record &&
                       response->customers_size() == 1 + static_cast<int>(newest.members.size()) &&
                       response->customers(0).name() == group.members[0].name;
    for (int i = 1; as_expected && i < response->customers_size(); ++i) {
      as_expected = response->customers(i).merged_into().empty() &&
                    response->customers(i).identities_size() == 2;
    }
    if (!as_expected) {
      Unexpected(absl::StrCat("UnmergeCustomers answered ", response->ShortDebugString()));
    }
    group.undone.push_back(newest);
    group.in_effect.pop_back();
    acked_merge_ops_.fetch_add(1);
    return rng() % 4 == 0 ? CheckSurvivorView(group) : Outcome::kAcked;
  }

  // Right after an acknowledged merge or unmerge, the survivor's context
  // view (cached or composed) already shows it.
  Outcome CheckSurvivorView(const Group& group) {
    v1::GetCustomerContextRequest request;
    request.mutable_customer()->set_customer(group.members[0].name);
    request.set_interaction_limit(1);
    auto view = CALL(*client_, GetCustomerContext, request);
    if (!view.ok()) {
      if (killed_.load()) return Outcome::kLost;
      Unexpected(absl::StrCat("GetCustomerContext ", group.members[0].name, ": ",
                              view.status().ToString()));
      return Outcome::kRefused;
    }
    const v1::Customer& customer = view->customer_context().customer();
    if (customer.identities_size() != 2 * static_cast<int>(1 + group.Merged().size()) ||
        customer.tier() != group.SurvivorTier() ||
        ToMap(view->customer_context().consent()) != group.SurvivorConsent()) {
      Unexpected(absl::StrCat("stale view of ", group.members[0].name, " with ",
                              group.in_effect.size(),
                              " merges in effect: ", customer.ShortDebugString(), " ",
                              view->customer_context().consent().ShortDebugString()));
    }
    return Outcome::kAcked;
  }

  // Calls that must be refused with FAILED_PRECONDITION and change nothing.
  Outcome ProbeRefusals(Group& group, std::mt19937& rng) {
    const std::set<int> merged = group.Merged();
    std::vector<int> free;
    for (int i = 1; i < static_cast<int>(group.members.size()); ++i) {
      if (merged.count(i) == 0) free.push_back(i);
    }
    absl::Status status;
    std::string what;
    const int probe = static_cast<int>(rng() % 4);
    if (probe == 0 && group.in_effect.size() >= 2) {
      what = "unmerge of an older merge in effect";
      v1::UnmergeCustomersRequest request;
      request.set_name(group.in_effect.front().record);
      status = CALL(*client_, UnmergeCustomers, request).status();
    } else if (probe == 1 && !group.undone.empty()) {
      what = "second unmerge";
      v1::UnmergeCustomersRequest request;
      request.set_name(group.undone[rng() % group.undone.size()].record);
      status = CALL(*client_, UnmergeCustomers, request).status();
    } else if (probe == 2 && !group.in_effect.empty() && !free.empty()) {
      what = "merge of a survivor with merges in effect";
      v1::MergeCustomersRequest request;
      request.set_customer(group.members[free[0]].name);
      request.add_merged_customers(group.members[0].name);
      status = CALL(*client_, MergeCustomers, request).status();
    } else if (probe == 3 && !merged.empty()) {
      what = "merge of an already merged customer";
      v1::MergeCustomersRequest request;
      request.set_customer(group.members[0].name);
      request.add_merged_customers(group.members[*merged.begin()].name);
      status = CALL(*client_, MergeCustomers, request).status();
    } else {
      return Outcome::kRefused;  // nothing to probe in this state
    }
    if (status.code() == absl::StatusCode::kFailedPrecondition) return Outcome::kRefused;
    if (killed_.load() && !status.ok()) return Outcome::kLost;
    Unexpected(absl::StrCat(what, " in ", group.members[0].name, ": ", status.ToString(),
                            ", expected FAILED_PRECONDITION"));
    return Outcome::kRefused;
  }

  void MergeLoad(int cycle, int thread) {
    std::mt19937 rng(seed_ + 1000 * (cycle + 1) + thread);
    std::vector<int> mine;
    for (int g = thread; g < kGroups; g += kMergeThreads) mine.push_back(g);
    while (!stop_.load()) {
      Group& group = groups_[mine[rng() % mine.size()]];
      const int op = static_cast<int>(rng() % 100);
      Outcome outcome;
      if (op < 30) {
        outcome = Append(group, static_cast<int>(rng() % group.members.size()), rng() % 2 == 0,
                         /*expect_known=*/true, rng);
      } else if (op < 36) {
        outcome = ProbeRefusals(group, rng);
      } else {
        outcome = MergeOrUnmerge(cycle, group, rng);
      }
      if (outcome == Outcome::kLost) return;
    }
  }

  void AppendLoad(int cycle, int thread) {
    std::mt19937 rng(seed_ + 2000 * (cycle + 1) + thread);
    while (!stop_.load()) {
      Group& group = groups_[rng() % kGroups];
      const int member = static_cast<int>(rng() % group.members.size());
      if (Append(group, member, rng() % 2 == 0, /*expect_known=*/false, rng) == Outcome::kLost) {
        return;
      }
    }
  }

  void RunLoadAndKill(int cycle) {
    stop_ = false;
    killed_ = false;
    std::vector<std::thread> threads;
    for (int t = 0; t < kMergeThreads; ++t) {
      threads.emplace_back([this, cycle, t] { MergeLoad(cycle, t); });
    }
    for (int t = 0; t < kAppendThreads; ++t) {
      threads.emplace_back([this, cycle, t] { AppendLoad(cycle, t); });
    }
    std::mt19937 rng(seed_ + 3000 * (cycle + 1));
    absl::SleepFor(absl::Milliseconds(1000 + rng() % 1000));
    killed_ = true;
    server_->Signal(SIGKILL);
    EXPECT_EQ(server_->Wait(absl::Seconds(30)), 128 + SIGKILL);
    stop_ = true;
    for (std::thread& thread : threads) thread.join();
    client_.reset();
    server_.reset();
  }

  // ---------------------------------------------------------------- check

  // Decides the lost merges and unmerges from what the restarted server
  // says (Verify then checks that everything else agrees). A lost merge that
  // happened is replayed through its request_id to learn its record; one
  // that did not is retried now, which must do it afresh.
  void ResolvePending(absl::Time restarted) {
    std::vector<Group*> retry;
    for (Group& group : groups_) {
      if (group.pending_unmerge) {
        group.pending_unmerge = false;
        ++lost_;
        v1::GetMergeRecordRequest get;
        get.set_name(group.in_effect.back().record);
        auto record = CALL(*client_, GetMergeRecord, get);
        ASSERT_TRUE(record.ok()) << get.name() << ": " << record.status();
        if (record->merge_record().state() == MergeRecord::STATE_UNMERGED) {
          ++lost_done_;
          group.undone.push_back(group.in_effect.back());
          group.in_effect.pop_back();
        }
      }
      if (group.pending_merge) {
        ++lost_;
        v1::GetCustomerRequest get;
        get.set_name(group.members[group.pending_merge->members.front()].name);
        auto customer = CALL(*client_, GetCustomer, get);
        ASSERT_TRUE(customer.ok()) << get.name() << ": " << customer.status();
        if (customer->customer().merged_into().empty()) {
          retry.push_back(&group);  // after Verify: it checks the state without it
          continue;
        }
        ++lost_done_;
        Merge merge = *std::move(group.pending_merge);
        group.pending_merge.reset();
        auto replayed = CALL(*client_, MergeCustomers, merge.request);
        if (replayed.ok()) {
          merge.record = replayed->merge_record().name();
          EXPECT_LT(TimeUtil::TimestampToMicroseconds(replayed->merge_record().create_time()),
                    absl::ToUnixMicros(restarted))
              << "the merge was done again, not replayed: " << merge.record;
        } else {
          // Its record stays unknown ("" below); Verify shows what else is off.
          ADD_FAILURE() << get.name() << " is merged, but replaying the lost merge "
                        << merge.request.ShortDebugString() << " failed: " << replayed.status();
        }
        group.in_effect.push_back(std::move(merge));
      }
    }
    retry_ = std::move(retry);
  }

  void RetryLostMerges(absl::Time restarted) {
    for (Group* group : retry_) {
      Merge merge = *std::move(group->pending_merge);
      group->pending_merge.reset();
      auto merged = CALL(*client_, MergeCustomers, merge.request);
      ASSERT_TRUE(merged.ok()) << "retrying a lost merge that did not happen: " << merged.status();
      merge.record = merged->merge_record().name();
      // Nothing of the lost attempt survived: not its stored answer either.
      EXPECT_GE(TimeUtil::TimestampToMicroseconds(merged->merge_record().create_time()),
                absl::ToUnixMicros(restarted))
          << "retry answered with a merge that is not in effect: " << merge.record;
      group->in_effect.push_back(std::move(merge));
    }
    retry_.clear();
  }

  // Acknowledged merges replay their first answer.
  void ReplayAckedMerges() {
    for (Group& group : groups_) {
      for (const std::vector<Merge>* merges : {&group.in_effect, &group.undone}) {
        if (merges->empty()) continue;
        const Merge& merge = merges->back();
        auto replayed = CALL(*client_, MergeCustomers, merge.request);
        ASSERT_TRUE(replayed.ok()) << merge.record << ": " << replayed.status();
        EXPECT_EQ(replayed->merge_record().name(), merge.record);
        EXPECT_EQ(replayed->merge_record().state(), MergeRecord::STATE_MERGED)
            << "the stored answer is the merge's own";
      }
    }
  }

  void VerifyGroup(Group& group) {
    const std::string& survivor = group.members[0].name;
    SCOPED_TRACE(survivor);
    const std::set<int> merged = group.Merged();
    const int size = static_cast<int>(group.members.size());
    std::vector<std::string> merged_names;
    for (int member : merged) merged_names.push_back(group.members[member].name);
    SCOPED_TRACE(absl::StrCat("expected merged: [", absl::StrJoin(merged_names, ", "), "]"));

    // Profiles: merged_into, identity lists, the survivor's copied tier.
    for (int i = 0; i < size; ++i) {
      const Member& member = group.members[i];
      v1::GetCustomerRequest get;
      get.set_name(member.name);
      auto customer = CALL(*client_, GetCustomer, get);
      ASSERT_TRUE(customer.ok()) << member.name << ": " << customer.status();
      std::set<std::string> expected_keys;
      if (merged.count(i) > 0) {
        EXPECT_EQ(customer->customer().merged_into(), survivor) << member.name;
      } else {
        EXPECT_EQ(customer->customer().merged_into(), "") << member.name;
        for (int j = 0; j < size; ++j) {
          if (group.Root(j) != i) continue;
          for (const type::Identity& identity : group.members[j].identities) {
            expected_keys.insert(IdentityKey(identity));
          }
        }
      }
      std::vector<std::string> keys;
      for (const v1::CustomerIdentity& linked : customer->customer().identities()) {
        keys.push_back(IdentityKey(linked.identity()));
      }
      EXPECT_THAT(keys, ::testing::UnorderedElementsAreArray(expected_keys))
          << "identities of " << member.name;
      EXPECT_EQ(customer->customer().tier(), i == 0 ? group.SurvivorTier() : member.tier)
          << member.name;
    }

    // The identity index.
    for (int i = 0; i < size; ++i) {
      for (const type::Identity& identity : group.members[i].identities) {
        v1::ResolveCustomerRequest resolve;
        *resolve.mutable_identity() = identity;
        auto resolved = CALL(*client_, ResolveCustomer, resolve);
        ASSERT_TRUE(resolved.ok()) << identity.value() << ": " << resolved.status();
        EXPECT_EQ(resolved->customer().name(), group.members[group.Root(i)].name)
            << identity.value();
      }
    }

    // Merge records.
    for (const std::vector<Merge>* merges : {&group.in_effect, &group.undone}) {
      const bool in_effect = merges == &group.in_effect;
      for (const Merge& merge : *merges) {
        if (merge.record.empty()) continue;  // reported already
        v1::GetMergeRecordRequest get;
        get.set_name(merge.record);
        auto record = CALL(*client_, GetMergeRecord, get);
        ASSERT_TRUE(record.ok()) << merge.record << ": " << record.status();
        EXPECT_EQ(record->merge_record().state(),
                  in_effect ? MergeRecord::STATE_MERGED : MergeRecord::STATE_UNMERGED)
            << merge.record;
        EXPECT_EQ(record->merge_record().has_unmerge_time(), !in_effect) << merge.record;
        EXPECT_EQ(record->merge_record().surviving_customer(), survivor);
        EXPECT_THAT(record->merge_record().merged_customers(),
                    ::testing::ElementsAreArray(merge.request.merged_customers()))
            << merge.record;
      }
    }

    // Consent: the survivor's is the merged one; the others keep their own.
    for (int i = 0; i < size; ++i) {
      v1::GetConsentRequest get;
      get.set_name(group.members[i].name + "/consent");
      auto consent = CALL(*client_, GetConsent, get);
      ASSERT_TRUE(consent.ok()) << get.name() << ": " << consent.status();
      EXPECT_EQ(ToMap(consent->consent()),
                i == 0 ? group.SurvivorConsent() : group.members[i].consent)
          << "consent of " << group.members[i].name;
    }

    // Interactions: every customer not merged lists its own timeline and,
    // for the survivor, those of the customers merged into it; together
    // they hold each acknowledged append once and nothing never sent.
    std::map<std::string, std::string> listed;  // name -> tag
    for (int i = 0; i < size; ++i) {
      if (merged.count(i) > 0) continue;
      const std::string& root = group.members[i].name;
      int count = 0;
      v1::ListInteractionsRequest list;
      list.set_parent(root);
      list.set_page_size(1000);
      for (int page = 0; page < 1000; ++page) {
        auto response = CALL(*client_, ListInteractions, list);
        ASSERT_TRUE(response.ok()) << root << ": " << response.status();
        for (const v1::Interaction& interaction : response->interactions()) {
          ++count;
          EXPECT_TRUE(listed.emplace(interaction.name(), interaction.case_id()).second)
              << "listed twice: " << interaction.name();
          const std::string owner = CustomerOf(interaction.name());
          bool read_through = owner == root;
          for (int member : merged) {
            read_through |= i == 0 && owner == group.members[member].name;
          }
          EXPECT_TRUE(read_through) << root << " lists " << interaction.name();
        }
        if (response->next_page_token().empty()) break;
        list.set_page_token(response->next_page_token());
      }
      // The context view reads through the same customers.
      v1::GetCustomerContextRequest context;
      context.mutable_customer()->set_customer(root);
      context.set_interaction_limit(kContextLimit);
      auto view = CALL(*client_, GetCustomerContext, context);
      ASSERT_TRUE(view.ok()) << root << ": " << view.status();
      const v1::CustomerContext& got = view->customer_context();
      EXPECT_EQ(got.customer().name(), root);
      EXPECT_EQ(got.computed_attributes().all_channels().last_30_days(), count) << root;
      EXPECT_EQ(got.recent_interactions_size(), std::min(count, kContextLimit)) << root;
      EXPECT_EQ(ToMap(got.consent()), i == 0 ? group.SurvivorConsent() : group.members[i].consent)
          << root;
    }
    for (int member : merged) {
      v1::GetCustomerContextRequest context;
      context.mutable_customer()->set_customer(group.members[member].name);
      context.set_interaction_limit(1);
      auto view = CALL(*client_, GetCustomerContext, context);
      ASSERT_TRUE(view.ok()) << group.members[member].name << ": " << view.status();
      EXPECT_EQ(view->customer_context().customer().name(), survivor)
          << "the view of merged " << group.members[member].name;
    }
    std::lock_guard<std::mutex> lock(group.mu);
    int missing = 0;
    for (const auto& [name, tag] : group.acked) {
      auto it = listed.find(name);
      if (it == listed.end()) {
        if (++missing <= 5) ADD_FAILURE() << "acknowledged append lost: " << name << " " << tag;
        continue;
      }
      EXPECT_EQ(it->second, tag) << name;
    }
    EXPECT_EQ(missing, 0) << "of " << group.acked.size() << " acknowledged appends";
    std::map<std::string, int> tags;
    for (const auto& [name, tag] : listed) {
      EXPECT_EQ(++tags[tag], 1) << "stored twice: " << tag;
      EXPECT_EQ(group.sent.count(tag), 1u) << "never sent: " << tag << " at " << name;
      group.acked[name] = tag;  // a lost append that happened: kept from now on
    }
  }

  // After the checks: appends by name must land where the merge state says
  // (the counters row mirrors the merged state). Returns the last one's name.
  std::string ProbeAppends() {
    std::string last;
    std::mt19937 rng(seed_);
    for (Group& group : groups_) {
      for (int i = 0; i < static_cast<int>(group.members.size()); ++i) {
        EXPECT_EQ(Append(group, i, /*by_identity=*/false, /*expect_known=*/true, rng, &last),
                  Outcome::kAcked);
      }
    }
    return last;
  }

  // Every known merge record has one CUSTOMERS_MERGED event and, once
  // undone, one CUSTOMERS_UNMERGED event; no event names another record.
  void VerifyChangeLog(const std::string& last_interaction) {
    std::map<std::string, bool> known;  // record -> in effect
    for (const Group& group : groups_) {
      for (const Merge& merge : group.in_effect) known[merge.record] = true;
      for (const Merge& merge : group.undone) known[merge.record] = false;
    }
    auto events = client_->ReadChangesThrough(
        {v1::CHANGE_KIND_CUSTOMERS_MERGED, v1::CHANGE_KIND_CUSTOMERS_UNMERGED,
         v1::CHANGE_KIND_INTERACTION_APPENDED},
        [&](const v1::ChangeEvent& event) {
          return event.kind() == v1::CHANGE_KIND_INTERACTION_APPENDED &&
                 event.interaction().name() == last_interaction;
        });
    ASSERT_TRUE(events.ok()) << events.status();
    std::map<std::string, int> merged_events;
    std::map<std::string, int> unmerged_events;
    int64_t last_sequence = 0;
    for (const v1::ChangeEvent& event : *events) {
      EXPECT_GT(event.sequence(), last_sequence);
      last_sequence = event.sequence();
      if (event.kind() == v1::CHANGE_KIND_INTERACTION_APPENDED) continue;
      const std::string& record = event.merge_record().name();
      EXPECT_EQ(known.count(record), 1u)
          << "event for a merge not in effect nor undone: " << event.ShortDebugString();
      EXPECT_EQ(event.customer(), event.merge_record().surviving_customer());
      if (event.kind() == v1::CHANGE_KIND_CUSTOMERS_MERGED) {
        ++merged_events[record];
        EXPECT_EQ(event.merge_record().state(), MergeRecord::STATE_MERGED);
      } else {
        ++unmerged_events[record];
        EXPECT_EQ(event.merge_record().state(), MergeRecord::STATE_UNMERGED);
      }
    }
    for (const auto& [record, in_effect] : known) {
      EXPECT_EQ(merged_events[record], 1) << "CUSTOMERS_MERGED events of " << record;
      EXPECT_EQ(unmerged_events[record], in_effect ? 0 : 1)
          << "CUSTOMERS_UNMERGED events of " << record;
    }
  }

  void Verify(int cycle, absl::Time restarted) {
    SCOPED_TRACE(absl::StrCat("after kill ", cycle + 1, ", seed ", seed_));
    EXPECT_THAT(unexpected_, ::testing::IsEmpty());
    unexpected_.clear();
    ASSERT_NO_FATAL_FAILURE(ResolvePending(restarted));
    for (Group& group : groups_) ASSERT_NO_FATAL_FAILURE(VerifyGroup(group));
    if (::testing::Test::HasFailure()) return;  // the state is not one the ledger can follow
    ASSERT_NO_FATAL_FAILURE(RetryLostMerges(restarted));
    ASSERT_NO_FATAL_FAILURE(ReplayAckedMerges());
    const std::string last = ProbeAppends();
    EXPECT_THAT(unexpected_, ::testing::IsEmpty());
    unexpected_.clear();
    ASSERT_NO_FATAL_FAILURE(VerifyChangeLog(last));

    size_t in_effect = 0, undone = 0, interactions = 0;
    for (Group& group : groups_) {
      in_effect += group.in_effect.size();
      undone += group.undone.size();
      interactions += group.acked.size();
    }
    std::printf(
        "cycle %d: %d acknowledged merges and unmerges so far, %zu merges in effect, %zu undone, "
        "%d lost replies (%d of them done), %zu interactions\n",
        cycle + 1, acked_merge_ops_.load(), in_effect, undone, lost_, lost_done_, interactions);
  }

  uint32_t seed_ = 0;
  std::string dir_;
  std::vector<std::string> flags_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<Client> client_;
  std::vector<Group> groups_ = std::vector<Group>(kGroups);
  std::vector<Group*> retry_;
  std::mutex unexpected_mu_;
  std::vector<std::string> unexpected_;  // from the load threads, before the kill
  std::atomic<bool> stop_{false};
  std::atomic<bool> killed_{false};
  std::atomic<uint64_t> counter_{0};
  std::atomic<int> acked_merge_ops_{0};
  int lost_ = 0;       // merges and unmerges whose reply was lost
  int lost_done_ = 0;  // of those, the ones that happened
};

TEST_F(MergeCrashTest, MergeAndUnmergeAreAtomicUnderSigkill) {
  ASSERT_NO_FATAL_FAILURE(CreateGroups());
  // The load must really merge and unmerge (and be killed in the middle).
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    const int ops_before = acked_merge_ops_.load();
    RunLoadAndKill(cycle);
    EXPECT_GT(acked_merge_ops_.load(), ops_before + 50);
    const absl::Time restarted = absl::Now();
    ASSERT_NO_FATAL_FAILURE(StartServer());
    ASSERT_NO_FATAL_FAILURE(Verify(cycle, restarted));
    if (HasFailure()) break;
  }
  if (server_ != nullptr) {
    server_->Signal(SIGTERM);
    EXPECT_EQ(server_->Wait(absl::Seconds(30)), 0) << server_->Stderr();
  }
}

}  // namespace
}  // namespace cxp::context
