// cxp_context_loader: loads the context_service benchmark dataset through the
// real API (docs/performance.md, "context_service").
//
// For every customer i in [--start, --start + --customers) it calls
// CreateCustomer (id <id_prefix><i>, a phone and for even i an email, see
// bench/context/dataset.h) and then AppendInteraction --interactions times,
// oldest first, with occur_times spread at random over the last --days days.
// --concurrency customers are loaded at once, each a chain of calls with one
// outstanding at a time, over --connections TCP connections (gRPC callback
// API), so the server sees --concurrency concurrent writers.
//
// A customer that already exists (ALREADY_EXISTS) is skipped with its
// interactions, so a rerun over the same range adds nothing; a run that was
// interrupted may leave its last customers with fewer interactions (load
// into a fresh data dir for exact figures; scripts/bench_context.sh does).
//
// Prints progress every --progress seconds and the totals and rate at the
// end; then reads a few random customers back with GetCustomerContext as a
// check. Exit status: 0 when every call succeeded, 1 when some failed, 2 on
// bad flags or no connection.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/context/dataset.h"
#include "cxp/context/v1/context_service.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/grpcpp.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "context_service address host:port.");
ABSL_FLAG(std::string, api_key, "", "Sends 'authorization: Bearer <key>' with every call.");
ABSL_FLAG(int64_t, customers, 100000, "Customers to create.");
ABSL_FLAG(int64_t, start, 0, "Index of the first customer (ids <id_prefix><start>, ...).");
ABSL_FLAG(std::string, id_prefix, "c", "Customer id prefix ([a-z0-9-], starting with a letter).");
ABSL_FLAG(int, interactions, 20, "AppendInteraction calls per customer.");
ABSL_FLAG(int, days, 60, "Interactions occur at random times in the last this many days.");
ABSL_FLAG(int, concurrency, 128, "Customers loaded at once (= calls outstanding).");
ABSL_FLAG(int, connections, 4, "Channels, each its own TCP connection.");
ABSL_FLAG(absl::Duration, deadline, absl::Seconds(60), "Deadline of every call.");
ABSL_FLAG(absl::Duration, progress, absl::Seconds(10), "Interval of the progress lines.");
ABSL_FLAG(int, verify, 20, "Random customers read back with GetCustomerContext at the end.");
ABSL_FLAG(uint64_t, seed, 1, "Seed of the data generator.");
ABSL_FLAG(int, max_errors_shown, 5, "Failed calls whose message is printed.");

namespace cxp::bench::context {
namespace {

namespace v1 = cxp::context::v1;

struct Config {
  std::string api_key;
  std::string id_prefix;
  int64_t first = 0;
  int64_t end = 0;
  int interactions = 0;
  absl::Duration span;
  absl::Duration deadline;
  absl::Time now;  // occur_times are before this
  uint64_t seed = 0;
  int max_errors_shown = 0;
};

struct Counters {
  std::atomic<int64_t> customers_created{0};
  std::atomic<int64_t> customers_skipped{0};
  std::atomic<int64_t> interactions{0};
  std::atomic<int64_t> errors{0};
  std::atomic<int64_t> errors_shown{0};
};

class Loader;

// One customer at a time: CreateCustomer, then its interactions in order.
class Slot {
 public:
  Slot(Loader* loader, v1::ContextService::Stub* stub, uint64_t seed)
      : loader_(loader), stub_(stub), rng_(seed) {}
  void Start() { NextCustomer(); }

 private:
  void NextCustomer();
  void OnCreated(const grpc::Status& status);
  void NextInteraction();
  void OnAppended(const grpc::Status& status);
  void Fail(const char* what, const grpc::Status& status);
  void NewContext();

  Loader* loader_;
  v1::ContextService::Stub* stub_;
  DatasetRng rng_;
  int64_t customer_ = -1;
  std::vector<absl::Time> occur_times_;
  size_t next_interaction_ = 0;
  std::unique_ptr<grpc::ClientContext> context_;
  v1::CreateCustomerRequest create_request_;
  v1::CreateCustomerResponse create_response_;
  v1::AppendInteractionRequest append_request_;
  v1::AppendInteractionResponse append_response_;
};

class Loader {
 public:
  Loader(Config config, std::vector<std::unique_ptr<v1::ContextService::Stub>> stubs, int slots)
      : config_(std::move(config)), stubs_(std::move(stubs)), next_(config_.first) {
    for (int i = 0; i < slots; ++i) {
      slots_.push_back(std::make_unique<Slot>(this, stubs_[i % stubs_.size()].get(),
                                              config_.seed * 1000003 + static_cast<uint64_t>(i)));
    }
  }

  void Run(absl::Duration progress_every) {
    const absl::Time start = absl::Now();
    active_.store(static_cast<int>(slots_.size()));
    for (auto& slot : slots_) slot->Start();
    const int64_t total_customers = config_.end - config_.first;
    const int64_t total_calls = total_customers * (1 + config_.interactions);
    int64_t last_calls = 0;
    absl::Time last = start;
    absl::MutexLock lock(&mu_);
    while (!mu_.AwaitWithTimeout(absl::Condition(&done_), progress_every)) {
      const absl::Time now = absl::Now();
      const int64_t calls = Calls();
      const double rate = static_cast<double>(calls - last_calls) / absl::ToDoubleSeconds(now - last);
      const double overall = static_cast<double>(calls) / absl::ToDoubleSeconds(now - start);
      const double eta = overall > 0 ? static_cast<double>(total_calls - calls) / overall : 0;
      std::cerr << absl::StrFormat(
          "cxp_context_loader: %6.0fs  customers %d/%d  interactions %d  errors %d  "
          "%.0f calls/s now, %.0f calls/s overall, ETA %.0fs\n",
          absl::ToDoubleSeconds(now - start),
          counters_.customers_created.load() + counters_.customers_skipped.load(),
          total_customers, counters_.interactions.load(), counters_.errors.load(), rate, overall,
          eta);
      last_calls = calls;
      last = now;
    }
    elapsed_ = absl::Now() - start;
  }

  // The next customer index to load, or -1 when all are handed out.
  int64_t TakeCustomer() {
    const int64_t i = next_.fetch_add(1);
    return i < config_.end ? i : -1;
  }
  void SlotDone() {
    if (active_.fetch_sub(1) == 1) {
      absl::MutexLock lock(&mu_);
      done_ = true;
    }
  }
  void ReportError(const std::string& message) {
    counters_.errors.fetch_add(1);
    if (counters_.errors_shown.fetch_add(1) < config_.max_errors_shown) {
      std::lock_guard<std::mutex> lock(print_mu_);
      std::cerr << "cxp_context_loader: " << message << "\n";
    }
  }

  const Config& config() const { return config_; }
  Counters& counters() { return counters_; }
  absl::Duration elapsed() const { return elapsed_; }
  int64_t Calls() const {
    return counters_.customers_created.load() + counters_.interactions.load() +
           counters_.errors.load();
  }

 private:
  const Config config_;
  std::vector<std::unique_ptr<v1::ContextService::Stub>> stubs_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::atomic<int64_t> next_;
  std::atomic<int> active_{0};
  Counters counters_;
  absl::Mutex mu_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  std::mutex print_mu_;
  absl::Duration elapsed_;
};

void Slot::NewContext() {
  context_ = std::make_unique<grpc::ClientContext>();
  context_->set_deadline(absl::ToChronoTime(absl::Now() + loader_->config().deadline));
  if (!loader_->config().api_key.empty()) {
    context_->AddMetadata("authorization", "Bearer " + loader_->config().api_key);
  }
}

void Slot::NextCustomer() {
  customer_ = loader_->TakeCustomer();
  if (customer_ < 0) {
    loader_->SlotDone();
    return;
  }
  const Config& config = loader_->config();
  create_request_ = MakeCreateCustomer(config.id_prefix, customer_, rng_);
  // The customer's timeline: random instants in the span, appended oldest first.
  occur_times_.clear();
  const int64_t span_micros = absl::ToInt64Microseconds(config.span);
  for (int k = 0; k < config.interactions; ++k) {
    occur_times_.push_back(config.now -
                           absl::Microseconds(static_cast<int64_t>(rng_() % static_cast<uint64_t>(span_micros))));
  }
  std::sort(occur_times_.begin(), occur_times_.end());
  next_interaction_ = 0;
  NewContext();
  stub_->async()->CreateCustomer(context_.get(), &create_request_, &create_response_,
                                 [this](grpc::Status status) { OnCreated(status); });
}

void Slot::OnCreated(const grpc::Status& status) {
  if (status.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
    loader_->counters().customers_skipped.fetch_add(1);
    NextCustomer();
    return;
  }
  if (!status.ok()) {
    Fail("CreateCustomer", status);
    NextCustomer();
    return;
  }
  loader_->counters().customers_created.fetch_add(1);
  NextInteraction();
}

void Slot::NextInteraction() {
  if (next_interaction_ >= occur_times_.size()) {
    NextCustomer();
    return;
  }
  append_request_.Clear();
  append_request_.mutable_customer()->set_customer(
      CustomerName(loader_->config().id_prefix, customer_));
  FillInteraction(rng_, occur_times_[next_interaction_], append_request_.mutable_interaction());
  ++next_interaction_;
  NewContext();
  stub_->async()->AppendInteraction(context_.get(), &append_request_, &append_response_,
                                    [this](grpc::Status status) { OnAppended(status); });
}

void Slot::OnAppended(const grpc::Status& status) {
  if (status.ok()) {
    loader_->counters().interactions.fetch_add(1);
  } else {
    Fail("AppendInteraction", status);
  }
  NextInteraction();
}

void Slot::Fail(const char* what, const grpc::Status& status) {
  loader_->ReportError(absl::StrCat(what, " for ", CustomerName(loader_->config().id_prefix, customer_),
                                    " failed: code ", static_cast<int>(status.error_code()), ": ",
                                    status.error_message()));
}

// Reads `count` random customers back; returns the number that look wrong.
int Verify(v1::ContextService::Stub& stub, const Config& config, int count, uint64_t seed) {
  DatasetRng rng(seed);
  int bad = 0;
  for (int k = 0; k < count && config.end > config.first; ++k) {
    const int64_t i = config.first + static_cast<int64_t>(rng() % static_cast<uint64_t>(config.end - config.first));
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    if (!config.api_key.empty()) context.AddMetadata("authorization", "Bearer " + config.api_key);
    v1::GetCustomerContextRequest request;
    request.mutable_customer()->set_customer(CustomerName(config.id_prefix, i));
    request.set_interaction_limit(100);
    v1::GetCustomerContextResponse response;
    grpc::Status status = stub.GetCustomerContext(&context, request, &response);
    if (!status.ok()) {
      std::cerr << "cxp_context_loader: verify " << CustomerName(config.id_prefix, i)
                << ": code " << static_cast<int>(status.error_code()) << ": "
                << status.error_message() << "\n";
      ++bad;
      continue;
    }
    const auto& ctx = response.customer_context();
    if (ctx.recent_interactions_size() < config.interactions) {
      std::cerr << "cxp_context_loader: verify " << CustomerName(config.id_prefix, i) << ": "
                << ctx.recent_interactions_size() << " interactions, expected at least "
                << config.interactions << "\n";
      ++bad;
    }
    if (k == 0) {
      std::cerr << "cxp_context_loader: sample " << CustomerName(config.id_prefix, i) << ": "
                << ctx.customer().identities_size() << " identities, "
                << ctx.recent_interactions_size() << " interactions, last 30 days "
                << ctx.computed_attributes().all_channels().last_30_days()
                << " contacts; response " << response.ByteSizeLong() << " bytes at limit 100\n";
    }
  }
  return bad;
}

int Main() {
  Config config;
  config.api_key = absl::GetFlag(FLAGS_api_key);
  config.id_prefix = absl::GetFlag(FLAGS_id_prefix);
  config.first = absl::GetFlag(FLAGS_start);
  config.end = config.first + absl::GetFlag(FLAGS_customers);
  config.interactions = absl::GetFlag(FLAGS_interactions);
  config.span = absl::Hours(24) * absl::GetFlag(FLAGS_days);
  config.deadline = absl::GetFlag(FLAGS_deadline);
  config.now = absl::Now() - absl::Minutes(1);
  config.seed = absl::GetFlag(FLAGS_seed);
  config.max_errors_shown = absl::GetFlag(FLAGS_max_errors_shown);
  const int concurrency = absl::GetFlag(FLAGS_concurrency);
  const int connections = absl::GetFlag(FLAGS_connections);
  const std::string target = absl::GetFlag(FLAGS_target);
  if (config.first < 0 || config.end <= config.first || config.interactions < 0 ||
      absl::GetFlag(FLAGS_days) <= 0 || concurrency <= 0 || connections <= 0) {
    std::cerr << "cxp_context_loader: --customers, --concurrency, --connections and --days must be "
                 "positive, --start and --interactions not negative\n";
    return 2;
  }

  std::vector<std::unique_ptr<v1::ContextService::Stub>> stubs;
  for (int c = 0; c < connections; ++c) {
    grpc::ChannelArguments args;
    args.SetInt("cxp.loader.channel", c);  // distinct args: a connection of its own
    args.SetMaxReceiveMessageSize(16 << 20);
    auto channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
    if (!channel->WaitForConnected(absl::ToChronoTime(absl::Now() + absl::Seconds(10)))) {
      std::cerr << "cxp_context_loader: cannot connect to " << target << "\n";
      return 2;
    }
    stubs.push_back(v1::ContextService::NewStub(channel));
  }
  auto verify_stub = v1::ContextService::NewStub(
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));

  std::cerr << absl::StrFormat(
      "cxp_context_loader: loading customers %s%d..%s%d (%d) with %d interactions each over the "
      "last %d days into %s, %d at once over %d connections\n",
      config.id_prefix, config.first, config.id_prefix, config.end - 1, config.end - config.first,
      config.interactions, absl::GetFlag(FLAGS_days), target, concurrency, connections);
  const int64_t slots = std::min<int64_t>(concurrency, config.end - config.first);
  Loader loader(config, std::move(stubs), static_cast<int>(slots));
  loader.Run(absl::GetFlag(FLAGS_progress));

  Counters& counters = loader.counters();
  const double seconds = absl::ToDoubleSeconds(loader.elapsed());
  const int64_t calls = loader.Calls();
  std::cout << absl::StrFormat(
      "loaded: customers_created=%d customers_skipped=%d interactions=%d errors=%d seconds=%.1f "
      "calls_per_second=%.0f interactions_per_second=%.0f\n",
      counters.customers_created.load(), counters.customers_skipped.load(),
      counters.interactions.load(), counters.errors.load(), seconds,
      static_cast<double>(calls) / seconds,
      static_cast<double>(counters.interactions.load()) / seconds)
            << std::flush;
  const int verify = absl::GetFlag(FLAGS_verify);
  const int bad = verify > 0 ? Verify(*verify_stub, config, verify, config.seed + 7) : 0;
  if (verify > 0) {
    std::cerr << "cxp_context_loader: verified " << verify << " random customers, " << bad
              << " wrong\n";
  }
  return counters.errors.load() > 0 || bad > 0 ? 1 : 0;
}

}  // namespace
}  // namespace cxp::bench::context

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Loads the context_service benchmark dataset through the API (see docs/performance.md).\n"
      "Usage: cxp_context_loader --target HOST:PORT [--customers N] [--interactions K] ...");
  absl::ParseCommandLine(argc, argv);
  return cxp::bench::context::Main();
}
