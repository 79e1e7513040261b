// context_service killed with SIGKILL in the middle of concurrent writes,
// restarted on the same data directory, and checked through the API: every
// write whose OK reply arrived is there, atomically (the interaction with its
// counters, the identity index with the profile, the interaction with its
// change event), idempotent retries do not duplicate anything, and change
// sequence numbers never repeat across restarts. Three kill/restart cycles,
// checks cumulative.
#include <signal.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
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
using v1::Interaction;
namespace type = ::cxp::type::v1;

constexpr char kKey[] = "crash-key-0123456789abcdef";
constexpr int kCycles = 3;
constexpr int kThreads = 6;
constexpr int kNamedCustomers = 6;
constexpr absl::Duration kLoadTime = absl::Milliseconds(1500);
// AddIdentity calls per customer before a thread moves to a fresh one (a
// customer holds at most 100 identities).
constexpr int kIdentitiesPerCustomer = 60;

absl::Status ToAbsl(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

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
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    context.AddMetadata("authorization", std::string("Bearer ") + kKey);
    Response response;
    grpc::Status status = (stub_.get()->*method)(&context, request, &response);
    if (!status.ok()) return ToAbsl(status);
    return response;
  }

  // The change log from the start, read until `enough` says so (or 60 s).
  absl::StatusOr<std::vector<v1::ChangeEvent>> ReadChangeLog(
      const std::function<bool(const std::vector<v1::ChangeEvent>&)>& enough) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    context.AddMetadata("authorization", std::string("Bearer ") + kKey);
    v1::WatchChangesRequest request;
    request.set_after_sequence(0);
    auto reader = stub_->WatchChanges(&context, request);
    std::vector<v1::ChangeEvent> events;
    v1::WatchChangesResponse response;
    while (!enough(events) && reader->Read(&response)) events.push_back(response.change_event());
    context.TryCancel();
    while (reader->Read(&response)) {
    }
    grpc::Status status = reader->Finish();
    if (!enough(events)) return ToAbsl(status);
    return events;
  }

 private:
  std::unique_ptr<ContextService::Stub> stub_;
};

#define CALL(client, Method, request) (client).Call(&ContextService::Stub::Method, (request))

std::string Name(const std::string& id) { return "customers/" + id; }

google::protobuf::Timestamp Ts(absl::Time time) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(time));
}

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

type::Identity Chat(const std::string& value) {
  type::Identity identity;
  identity.set_kind(type::IDENTITY_KIND_CHAT_HANDLE);
  identity.set_namespace_("whatsapp");
  identity.set_value(value);
  return identity;
}

// Normalised form as the server stores it (the test only uses inputs that are
// already normalised).
std::string IdentityKey(const type::Identity& identity) {
  return absl::StrCat(identity.kind(), "|", identity.namespace_(), "|", identity.value());
}

// The customer id in an interaction name "customers/{id}/interactions/{n}".
std::string CustomerOf(const std::string& interaction_name) {
  const size_t slash = interaction_name.find("/interactions/");
  return interaction_name.substr(0, slash);
}

// What the test process knows about the writes it sent.
struct AppendRecord {
  v1::AppendInteractionRequest request;
  std::string tag;   // interaction.case_id, unique per append
  std::string name;  // acknowledged: the returned interaction name
};

struct IdentityRecord {
  std::string customer;  // resource name
  type::Identity identity;
};

class Ledger {
 public:
  void AckAppend(AppendRecord record) {
    std::lock_guard<std::mutex> lock(mu_);
    acked_appends.push_back(std::move(record));
  }
  void UnknownAppend(AppendRecord record) {
    std::lock_guard<std::mutex> lock(mu_);
    unknown_appends.push_back(std::move(record));
  }
  void AckIdentity(IdentityRecord record) {
    std::lock_guard<std::mutex> lock(mu_);
    acked_identities.push_back(std::move(record));
  }
  void UnknownIdentity(IdentityRecord record) {
    std::lock_guard<std::mutex> lock(mu_);
    unknown_identities.push_back(std::move(record));
  }
  void AckCustomer(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    acked_customers.insert(name);
  }
  void Unexpected(const std::string& what) {
    std::lock_guard<std::mutex> lock(mu_);
    unexpected.push_back(what);
  }

  // Read only while no load thread runs.
  std::vector<AppendRecord> acked_appends;
  std::vector<AppendRecord> unknown_appends;  // the reply never arrived
  std::vector<IdentityRecord> acked_identities;
  std::vector<IdentityRecord> unknown_identities;
  std::set<std::string> acked_customers;
  std::vector<std::string> unexpected;  // errors before the kill

 private:
  std::mutex mu_;
};

// Errors that say "not done, try again" rather than "wrong".
bool Retryable(absl::StatusCode code) {
  return code == absl::StatusCode::kResourceExhausted || code == absl::StatusCode::kAborted;
}

class CrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("context_service_crash_");
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

  // One load thread: appends (by name, by identity, creating customers,
  // some with request_id) and AddIdentity calls until the server dies.
  void Load(int cycle, int thread) {
    std::mt19937 rng(static_cast<uint32_t>(cycle * 1000 + thread));
    int identity_customer_index = 0;
    int identities_on_customer = kIdentitiesPerCustomer;  // create one first
    std::string identity_customer;
    while (!stop_.load()) {
      const int op = static_cast<int>(rng() % 100);
      const uint64_t n = counter_.fetch_add(1);
      if (op < 20) {  // AddIdentity of a new unique identity
        if (identities_on_customer >= kIdentitiesPerCustomer) {
          v1::CreateCustomerRequest create;
          create.set_customer_id(
              absl::StrCat("ids-", cycle, "-", thread, "-", identity_customer_index++));
          create.mutable_customer()->set_display_name("identity holder");
          auto created = CALL(*client_, CreateCustomer, create);
          if (!created.ok()) {
            if (!killed_.load() && !Retryable(created.status().code())) {
              ledger_.Unexpected(absl::StrCat("CreateCustomer: ", created.status().ToString()));
            }
            if (killed_.load()) return;
            continue;
          }
          identity_customer = created->customer().name();
          identities_on_customer = 0;
          ledger_.AckCustomer(identity_customer);
        }
        ++identities_on_customer;
        v1::AddIdentityRequest add;
        add.set_customer(identity_customer);
        *add.mutable_identity() = n % 2 == 0 ? Phone(absl::StrFormat("+82102%07d", n % 10000000))
                                             : Email(absl::StrCat("id", n, "@crash.example.com"));
        IdentityRecord record{identity_customer, add.identity()};
        auto added = CALL(*client_, AddIdentity, add);
        if (added.ok()) {
          ledger_.AckIdentity(std::move(record));
          continue;
        }
        ledger_.UnknownIdentity(std::move(record));
        if (killed_.load()) return;
        if (!Retryable(added.status().code())) {
          ledger_.Unexpected(absl::StrCat("AddIdentity: ", added.status().ToString()));
        }
        continue;
      }

      AppendRecord record;
      record.tag = absl::StrCat("op-", n);
      v1::AppendInteractionRequest& request = record.request;
      const int customer = static_cast<int>(rng() % kNamedCustomers);
      if (op < 25) {  // a new customer, created by the append
        *request.mutable_customer()->mutable_identity() = Chat(absl::StrCat("wa-", n));
        request.set_create_customer_if_missing(true);
      } else if (op < 40) {  // an existing customer by identity
        *request.mutable_customer()->mutable_identity() =
            Email(absl::StrCat("named", customer, "@crash.example.com"));
      } else {
        request.mutable_customer()->set_customer(Name(absl::StrCat("named-", customer)));
      }
      Interaction& interaction = *request.mutable_interaction();
      interaction.set_channel(static_cast<type::Channel>(1 + rng() % 8));
      interaction.set_direction(rng() % 2 == 0 ? Interaction::DIRECTION_INBOUND
                                               : Interaction::DIRECTION_OUTBOUND);
      interaction.set_type("event");
      interaction.set_case_id(record.tag);
      *interaction.mutable_occur_time() =
          Ts(absl::Now() - absl::Seconds(static_cast<int>(rng() % 1800)));
      if (rng() % 100 < 40) request.set_request_id(absl::StrCat("req-", n));

      auto appended = CALL(*client_, AppendInteraction, request);
      if (appended.ok()) {
        record.name = appended->interaction().name();
        ledger_.AckAppend(std::move(record));
        continue;
      }
      ledger_.UnknownAppend(std::move(record));
      if (killed_.load()) return;
      if (!Retryable(appended.status().code())) {
        ledger_.Unexpected(absl::StrCat("AppendInteraction: ", appended.status().ToString()));
      }
    }
  }

  void RunLoadAndKill(int cycle) {
    stop_ = false;
    killed_ = false;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) threads.emplace_back([this, cycle, t] { Load(cycle, t); });
    absl::SleepFor(kLoadTime);
    killed_ = true;
    server_->Signal(SIGKILL);
    EXPECT_EQ(server_->Wait(absl::Seconds(30)), 128 + SIGKILL);
    stop_ = true;
    for (std::thread& thread : threads) thread.join();
    client_.reset();
    server_.reset();
  }

  // Retries every append whose reply never arrived but that carried a
  // request_id: after the crash it is either already stored (and the retry
  // returns it) or not (and the retry stores it once).
  void RetryUnknownRequestIdAppends() {
    std::vector<AppendRecord> still_unknown;
    for (AppendRecord& record : ledger_.unknown_appends) {
      if (record.request.request_id().empty()) {
        still_unknown.push_back(std::move(record));
        continue;
      }
      auto retried = CALL(*client_, AppendInteraction, record.request);
      ASSERT_TRUE(retried.ok()) << retried.status() << " retrying "
                                << record.request.ShortDebugString();
      record.name = retried->interaction().name();
      ledger_.acked_appends.push_back(std::move(record));
    }
    ledger_.unknown_appends = std::move(still_unknown);
  }

  // Checks everything the ledger knows against the restarted server.
  void Verify(int cycle) {
    SCOPED_TRACE(absl::StrCat("after kill ", cycle + 1));
    EXPECT_THAT(ledger_.unexpected, ::testing::IsEmpty());

    // Acknowledged request_id appends, retried now: the same name, nothing added.
    int retried = 0;
    for (const AppendRecord& record : ledger_.acked_appends) {
      if (record.request.request_id().empty() || retried >= 50) continue;
      ++retried;
      auto again = CALL(*client_, AppendInteraction, record.request);
      ASSERT_TRUE(again.ok()) << again.status();
      EXPECT_EQ(again->interaction().name(), record.name) << record.request.request_id();
    }

    // Customers with interactions: the named ones plus those the appends made.
    std::set<std::string> customers;
    for (int i = 0; i < kNamedCustomers; ++i) customers.insert(Name(absl::StrCat("named-", i)));
    for (const AppendRecord& record : ledger_.acked_appends)
      customers.insert(CustomerOf(record.name));
    // Customers an unacknowledged append may have created.
    for (const AppendRecord& record : ledger_.unknown_appends) {
      if (!record.request.create_customer_if_missing()) continue;
      v1::ResolveCustomerRequest request;
      *request.mutable_identity() = record.request.customer().identity();
      auto resolved = CALL(*client_, ResolveCustomer, request);
      if (resolved.ok()) customers.insert(resolved->customer().name());
    }

    std::map<std::string, Interaction> stored;  // by name
    std::map<std::string, int> tag_count;
    std::map<std::string, std::vector<const Interaction*>> by_customer;
    std::map<std::string, std::vector<std::string>> newest_names;  // timeline order, first 20
    std::vector<Interaction> all;
    for (const std::string& customer : customers) {
      v1::ListInteractionsRequest request;
      request.set_parent(customer);
      request.set_page_size(1000);
      for (int page = 0; page < 1000; ++page) {
        auto response = CALL(*client_, ListInteractions, request);
        ASSERT_TRUE(response.ok()) << customer << ": " << response.status();
        for (const Interaction& interaction : response->interactions()) {
          EXPECT_TRUE(stored.emplace(interaction.name(), interaction).second)
              << "listed twice: " << interaction.name();
          EXPECT_EQ(CustomerOf(interaction.name()), customer);
          ++tag_count[interaction.case_id()];
          std::vector<std::string>& newest = newest_names[customer];
          if (newest.size() < 20) newest.push_back(interaction.name());
        }
        if (response->next_page_token().empty()) break;
        request.set_page_token(response->next_page_token());
      }
    }
    for (const auto& [name, interaction] : stored)
      by_customer[CustomerOf(name)].push_back(&interaction);

    // Every acknowledged append is stored, as sent.
    int missing = 0;
    for (const AppendRecord& record : ledger_.acked_appends) {
      auto it = stored.find(record.name);
      if (it == stored.end()) {
        if (++missing <= 10)
          ADD_FAILURE() << "acknowledged append lost: " << record.name << " " << record.tag;
        continue;
      }
      EXPECT_EQ(it->second.case_id(), record.tag);
      EXPECT_EQ(it->second.channel(), record.request.interaction().channel());
      EXPECT_EQ(TimeUtil::TimestampToMicroseconds(it->second.occur_time()),
                TimeUtil::TimestampToMicroseconds(record.request.interaction().occur_time()));
    }
    EXPECT_EQ(missing, 0) << "of " << ledger_.acked_appends.size() << " acknowledged appends";
    // No append is stored twice, and nothing is stored that was never sent.
    std::set<std::string> sent_tags;
    for (const AppendRecord& record : ledger_.acked_appends) sent_tags.insert(record.tag);
    for (const AppendRecord& record : ledger_.unknown_appends) sent_tags.insert(record.tag);
    for (const auto& [tag, count] : tag_count) {
      EXPECT_EQ(count, 1) << "stored " << count << " times: " << tag;
      EXPECT_TRUE(sent_tags.count(tag) == 1) << "never sent: " << tag;
    }

    // Identities: acknowledged ones resolve to their customer; unknown ones
    // resolve to their customer or to nobody.
    std::map<std::string, std::string> owner_by_key;  // what ResolveCustomer said
    auto resolve = [&](const IdentityRecord& record, bool must_exist) {
      v1::ResolveCustomerRequest request;
      *request.mutable_identity() = record.identity;
      auto resolved = CALL(*client_, ResolveCustomer, request);
      if (!resolved.ok()) {
        EXPECT_EQ(resolved.status().code(), absl::StatusCode::kNotFound) << resolved.status();
        EXPECT_FALSE(must_exist) << "acknowledged identity lost: " << record.identity.value();
        return;
      }
      EXPECT_EQ(resolved->customer().name(), record.customer) << record.identity.value();
      owner_by_key[IdentityKey(record.identity)] = resolved->customer().name();
    };
    for (const IdentityRecord& record : ledger_.acked_identities) resolve(record, true);
    for (const IdentityRecord& record : ledger_.unknown_identities) resolve(record, false);

    // Each customer's identities agree with the index, both ways.
    std::set<std::string> profiles = customers;
    for (const IdentityRecord& record : ledger_.acked_identities) profiles.insert(record.customer);
    for (const std::string& name : ledger_.acked_customers) profiles.insert(name);
    std::map<std::string, std::set<std::string>> listed_keys;
    for (const std::string& name : profiles) {
      v1::GetCustomerRequest get;
      get.set_name(name);
      auto customer = CALL(*client_, GetCustomer, get);
      ASSERT_TRUE(customer.ok()) << name << ": " << customer.status();
      for (const auto& linked : customer->customer().identities()) {
        listed_keys[name].insert(IdentityKey(linked.identity()));
        v1::ResolveCustomerRequest request;
        *request.mutable_identity() = linked.identity();
        auto resolved = CALL(*client_, ResolveCustomer, request);
        ASSERT_TRUE(resolved.ok())
            << linked.identity().value() << " of " << name << ": " << resolved.status();
        EXPECT_EQ(resolved->customer().name(), name) << linked.identity().value();
      }
    }
    for (const auto& [key, owner] : owner_by_key) {
      EXPECT_TRUE(listed_keys[owner].count(key) == 1)
          << key << " resolves to " << owner << " but is not listed";
    }

    // Counters agree with the stored timeline (all occur_times are within
    // the last hour, so every window counts everything).
    for (const std::string& customer : customers) {
      std::map<int, int> per_channel;
      int64_t newest = 0;
      for (const Interaction* interaction : by_customer[customer]) {
        ++per_channel[interaction->channel()];
        newest = std::max(newest, TimeUtil::TimestampToMicroseconds(interaction->occur_time()));
      }
      const int total = static_cast<int>(by_customer[customer].size());
      v1::GetCustomerContextRequest request;
      request.mutable_customer()->set_customer(customer);
      request.set_interaction_limit(100);
      auto context = CALL(*client_, GetCustomerContext, request);
      ASSERT_TRUE(context.ok()) << customer << ": " << context.status();
      const v1::ComputedAttributes& computed = context->customer_context().computed_attributes();
      EXPECT_EQ(computed.all_channels().last_30_days(), total) << customer;
      EXPECT_EQ(computed.all_channels().last_7_days(), total) << customer;
      EXPECT_EQ(computed.all_channels().last_24_hours(), total) << customer;
      std::map<int, int> computed_per_channel;
      for (const auto& channel : computed.channels())
        computed_per_channel[channel.channel()] = channel.counts().last_30_days();
      EXPECT_EQ(computed_per_channel, per_channel) << customer;
      if (total > 0) {
        EXPECT_EQ(TimeUtil::TimestampToMicroseconds(computed.last_contact_time()), newest)
            << customer;
      }
      EXPECT_EQ(context->customer_context().recent_interactions_size(), std::min(total, 100))
          << customer;
      // The interaction head (what a context of up to 32 reads) agrees with
      // the timeline after the crash.
      request.set_interaction_limit(20);
      auto head = CALL(*client_, GetCustomerContext, request);
      ASSERT_TRUE(head.ok()) << customer << ": " << head.status();
      std::vector<std::string> head_names;
      for (const Interaction& interaction : head->customer_context().recent_interactions())
        head_names.push_back(interaction.name());
      EXPECT_EQ(head_names, newest_names[customer]) << customer;
    }

    // The change log agrees with the data: every stored interaction has
    // exactly one INTERACTION_APPENDED event (they were committed in one
    // batch) and every such event's interaction is stored; sequence numbers
    // only go up, across restarts too.
    std::set<std::string> seen;
    size_t examined = 0;
    auto events = client_->ReadChangeLog([&](const std::vector<v1::ChangeEvent>& so_far) {
      for (; examined < so_far.size(); ++examined) {
        if (so_far[examined].kind() == v1::CHANGE_KIND_INTERACTION_APPENDED) {
          seen.insert(so_far[examined].interaction().name());
        }
      }
      return seen.size() >= stored.size();
    });
    ASSERT_TRUE(events.ok()) << events.status() << " (" << seen.size() << " of " << stored.size()
                             << " interactions seen)";
    std::set<std::string> appended;
    int64_t last_sequence = 0;
    for (const v1::ChangeEvent& event : *events) {
      EXPECT_GT(event.sequence(), last_sequence);
      last_sequence = event.sequence();
      if (event.kind() != v1::CHANGE_KIND_INTERACTION_APPENDED) continue;
      EXPECT_TRUE(appended.insert(event.interaction().name()).second)
          << "two events for " << event.interaction().name();
      EXPECT_EQ(stored.count(event.interaction().name()), 1u)
          << "event without its interaction: " << event.interaction().name();
    }
    EXPECT_EQ(appended.size(), stored.size());

    RecordProgress(cycle);
  }

  void RecordProgress(int cycle) {
    std::printf(
        "cycle %d: %zu acknowledged appends, %zu unknown, %zu acknowledged identities, %zu "
        "unknown\n",
        cycle + 1, ledger_.acked_appends.size(), ledger_.unknown_appends.size(),
        ledger_.acked_identities.size(), ledger_.unknown_identities.size());
  }

  std::string dir_;
  std::vector<std::string> flags_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<Client> client_;
  Ledger ledger_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> killed_{false};
  std::atomic<uint64_t> counter_{0};
};

TEST_F(CrashTest, AcknowledgedWritesSurviveSigkillDuringConcurrentLoad) {
  for (int i = 0; i < kNamedCustomers; ++i) {
    v1::CreateCustomerRequest create;
    create.set_customer_id(absl::StrCat("named-", i));
    *create.mutable_customer()->add_identities()->mutable_identity() =
        Email(absl::StrCat("named", i, "@crash.example.com"));
    auto created = CALL(*client_, CreateCustomer, create);
    ASSERT_TRUE(created.ok()) << created.status();
    ledger_.AckCustomer(created->customer().name());
    ledger_.AckIdentity({created->customer().name(), create.customer().identities(0).identity()});
  }

  for (int cycle = 0; cycle < kCycles; ++cycle) {
    const size_t acked_before = ledger_.acked_appends.size();
    const size_t identities_before = ledger_.acked_identities.size();
    RunLoadAndKill(cycle);
    // The load did something in this cycle.
    EXPECT_GT(ledger_.acked_appends.size(), acked_before);
    EXPECT_GT(ledger_.acked_identities.size(), identities_before);
    ASSERT_NO_FATAL_FAILURE(StartServer());
    ASSERT_NO_FATAL_FAILURE(RetryUnknownRequestIdAppends());
    ASSERT_NO_FATAL_FAILURE(Verify(cycle));
    if (HasFailure()) break;
  }
  if (server_ != nullptr) {
    server_->Signal(SIGTERM);
    EXPECT_EQ(server_->Wait(absl::Seconds(30)), 0) << server_->Stderr();
  }
}

}  // namespace
}  // namespace cxp::context
