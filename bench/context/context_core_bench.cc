// cxp_context_core_bench: times context_service's core (ContextCore and
// ContextStore, no gRPC) in-process on a loaded benchmark dataset, to see
// how much of a call's server CPU is the domain work itself
// (docs/performance.md, "context_service").
//
//   cxp_context_core_bench --data_dir /tmp/cxp-bench-context-data/db --op get
//
// --data_dir is a RocksDB directory written by context_service (e.g. the
// bench_context.sh dataset's db/); no server may have it open. --op append
// writes: run it on a copy (cp -a) to keep the dataset as loaded.
//
// For --op get it reports the mean CPU time per call, on one thread, of
// ContextCore::GetCustomerContext and of its parts (profile read, state
// read, timeline scan, response serialization); for --op append, the CPU
// and the wall time of ContextCore::AppendInteraction with --sync_writes as
// given (one writer: no group commit). --op compact compacts every column
// family fully and reports how long it took.

#include <time.h>

#include <cstdint>
#include <iostream>
#include <random>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/context/dataset.h"
#include "common/store/rocks_store.h"
#include "context_service/core/context_core.h"
#include "context_service/core/context_store.h"

ABSL_FLAG(std::string, data_dir, "", "RocksDB directory of a loaded dataset (no server running on it).");
ABSL_FLAG(std::string, op, "get",
          "get = GetCustomerContext and its parts; append = AppendInteraction; compact = compact "
          "every column family fully.");
ABSL_FLAG(int64_t, customers, 100000, "Customers in the dataset.");
ABSL_FLAG(std::string, id_prefix, "c", "Customer id prefix of the dataset.");
ABSL_FLAG(int, interaction_limit, 20, "GetCustomerContext interaction_limit.");
ABSL_FLAG(int, iterations, 20000, "Calls per measurement.");
ABSL_FLAG(bool, sync_writes, true, "fsync the WAL on every write (as context_service does by default).");
ABSL_FLAG(uint64_t, seed, 1, "Seed of the customer picks.");
ABSL_FLAG(bool, warm_all, true,
          "Before measuring, read every customer's context once (fills a block cache big "
          "enough to hold the dataset, as a long run would).");
ABSL_FLAG(int, block_cache_mb, 64,
          "RocksDB block cache (context_service uses RocksStoreOptions' default, 64 MiB).");

namespace cxp::bench::context {
namespace {

namespace v1 = cxp::context::v1;

const std::string kTenant = "default";

double ThreadCpuMicros() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

// CPU time of this thread per call, in microseconds: unlike wall time it does
// not grow when other processes compete for the CPUs (page-cache reads are
// CPU work here: the dataset is in memory).
template <typename F>
double MicrosPerCall(int iterations, F&& f) {
  const double start = ThreadCpuMicros();
  for (int k = 0; k < iterations; ++k) f(k);
  return (ThreadCpuMicros() - start) / iterations;
}

int Main() {
  const std::string data_dir = absl::GetFlag(FLAGS_data_dir);
  if (data_dir.empty()) {
    std::cerr << "cxp_context_core_bench: --data_dir is required\n";
    return 2;
  }
  store::RocksStoreOptions options;
  options.path = data_dir;
  options.column_families = cxp::context::ContextStore::ColumnFamilies();
  options.tune_options = [](rocksdb::Options& rocks_options) {
    cxp::context::ContextStore::ConfigureOptions(rocks_options);
  };
  options.sync_writes = absl::GetFlag(FLAGS_sync_writes);
  options.block_cache_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_block_cache_mb)) << 20;
  auto rocks = store::RocksStore::Open(options);
  if (!rocks.ok()) {
    std::cerr << "cxp_context_core_bench: " << rocks.status() << "\n";
    return 2;
  }
  auto store = cxp::context::ContextStore::Attach(**rocks);
  if (!store.ok()) {
    std::cerr << "cxp_context_core_bench: " << store.status() << "\n";
    return 2;
  }
  if (absl::Status migrated = store->MigrateLayout(
          [](const std::string& step) { std::cerr << "migration: " << step << "\n"; });
      !migrated.ok()) {
    std::cerr << "cxp_context_core_bench: " << migrated << "\n";
    return 2;
  }
  auto core = cxp::context::ContextCore::Create(*store, {});
  if (!core.ok()) {
    std::cerr << "cxp_context_core_bench: " << core.status() << "\n";
    return 2;
  }

  const int64_t customers = absl::GetFlag(FLAGS_customers);
  const std::string prefix = absl::GetFlag(FLAGS_id_prefix);
  const int iterations = absl::GetFlag(FLAGS_iterations);
  const int limit = absl::GetFlag(FLAGS_interaction_limit);
  DatasetRng rng(absl::GetFlag(FLAGS_seed));
  // Uniform random customers, as the loadgen scenarios pick them; each
  // measurement below uses fresh picks (`round`), so the block cache is as
  // warm as it gets under a long uniform load, not warmer.
  std::vector<int64_t> picks(static_cast<size_t>(iterations));
  auto repick = [&] {
    for (int64_t& p : picks) p = static_cast<int64_t>(rng() % static_cast<uint64_t>(customers));
  };
  repick();
  int failures = 0;

  if (absl::GetFlag(FLAGS_op) == "get") {
    std::vector<v1::GetCustomerContextRequest> requests(picks.size());
    size_t bytes = 0;
    int interactions = 0;
    if (absl::GetFlag(FLAGS_warm_all)) {
      for (int64_t i = 0; i < customers; ++i) {
        v1::GetCustomerContextRequest request;
        request.mutable_customer()->set_customer(CustomerName(prefix, i));
        request.set_interaction_limit(limit);
        v1::GetCustomerContextResponse response;
        if (!(*core)->GetCustomerContext(kTenant, request, response).ok()) ++failures;
      }
    }
    // Pass 0 warms the caches (other customers), pass 1 measures.
    for (int pass = 0; pass < 2; ++pass) {
      repick();
      for (size_t k = 0; k < picks.size(); ++k) {
        requests[k].mutable_customer()->set_customer(CustomerName(prefix, picks[k]));
        requests[k].set_interaction_limit(limit);
      }
      bytes = 0;
      interactions = 0;
      const double us = MicrosPerCall(iterations, [&](int k) {
        v1::GetCustomerContextResponse response;
        if (!(*core)->GetCustomerContext(kTenant, requests[k], response).ok()) ++failures;
        bytes += response.ByteSizeLong();
        interactions += response.customer_context().recent_interactions_size();
      });
      if (pass == 1) {
        std::cout << absl::StrFormat(
            "GetCustomerContext (core, whole call)    %8.2f us/call  (%d calls, %.1f interactions "
            "and %.0f response bytes per call)\n",
            us, iterations, interactions / (1.0 * iterations), bytes / (1.0 * iterations));
      }
    }
    repick();
    const double get_customer = MicrosPerCall(iterations, [&](int k) {
      if (!store->GetCustomer(kTenant, CustomerId(prefix, picks[k])).ok()) ++failures;
    });
    repick();
    const double get_state = MicrosPerCall(iterations, [&](int k) {
      if (!store->GetCustomerState(kTenant, CustomerId(prefix, picks[k])).ok()) ++failures;
    });
    repick();
    const double scan = MicrosPerCall(iterations, [&](int k) {
      int rows = 0;
      if (!store->ScanInteractions(kTenant, CustomerId(prefix, picks[k]), "", std::nullopt, std::nullopt,
                                   static_cast<size_t>(limit),
                                   [&](const std::string&, const v1::Interaction&) {
                                     ++rows;
                                     return true;
                                   })
               .ok()) {
        ++failures;
      }
    });
    repick();
    const double scan_one = MicrosPerCall(iterations, [&](int k) {
      if (!store->ScanInteractions(kTenant, CustomerId(prefix, picks[k]), "", std::nullopt, std::nullopt, 1,
                                   [&](const std::string&, const v1::Interaction&) { return true; })
               .ok()) {
        ++failures;
      }
    });
    v1::GetCustomerContextResponse sample;
    (void)(*core)->GetCustomerContext(kTenant, requests[0], sample);
    std::string out;
    const double serialize = MicrosPerCall(iterations, [&](int) {
      out.clear();
      sample.SerializeToString(&out);
    });
    const double copy = MicrosPerCall(iterations, [&](int) {
      v1::GetCustomerContextResponse copy = sample;
      (void)copy;
    });
    std::cout << absl::StrFormat(
        "  ContextStore::GetCustomer              %8.2f us\n"
        "  ContextStore::GetCustomerState         %8.2f us\n"
        "  ContextStore::ScanInteractions(%3d)    %8.2f us  (limit 1: %.2f us)\n"
        "  response SerializeToString (%zu B)     %8.2f us  (done by gRPC after the handler)\n"
        "  response copy (message assignment)     %8.2f us\n",
        get_customer, get_state, limit, scan, scan_one, out.size(), serialize, copy);
  } else if (absl::GetFlag(FLAGS_op) == "append") {
    repick();
    const absl::Time wall_start = absl::Now();
    const double us = MicrosPerCall(iterations, [&](int k) {
      v1::AppendInteractionRequest request;
      request.mutable_customer()->set_customer(CustomerName(prefix, picks[k]));
      FillInteraction(rng, absl::Now(), request.mutable_interaction());
      v1::AppendInteractionResponse response;
      if (!(*core)->AppendInteraction(kTenant, request, response).ok()) ++failures;
    });
    const double wall_us = absl::ToDoubleMicroseconds(absl::Now() - wall_start) / iterations;
    std::cout << absl::StrFormat(
        "AppendInteraction (core, one thread, sync_writes=%s)  CPU %8.2f us/call, wall %8.2f "
        "us/call (%d calls)\n",
        absl::GetFlag(FLAGS_sync_writes) ? "true" : "false", us, wall_us, iterations);
  } else if (absl::GetFlag(FLAGS_op) == "compact") {
    // Every family down to one sorted run per level, flushed memtables and
    // all: scripts/bench_context.sh starts every measured run from this
    // settled store, so no run pays for compaction debt left by another.
    const absl::Time start = absl::Now();
    for (const std::string& name : cxp::context::ContextStore::ColumnFamilies()) {
      absl::StatusOr<rocksdb::ColumnFamilyHandle*> family = (*rocks)->ColumnFamily(name);
      const absl::Status compacted = family.ok() ? (*rocks)->CompactFully(*family) : family.status();
      if (!compacted.ok()) {
        std::cerr << "cxp_context_core_bench: compacting " << name << ": " << compacted << "\n";
        return 2;
      }
    }
    std::cout << absl::StrFormat("compacted %d column families in %.1f s\n",
                                 cxp::context::ContextStore::ColumnFamilies().size(),
                                 absl::ToDoubleSeconds(absl::Now() - start));
  } else {
    std::cerr << "cxp_context_core_bench: --op wants get, append or compact\n";
    return 2;
  }
  if (failures > 0) std::cerr << "cxp_context_core_bench: " << failures << " calls failed\n";
  (void)(*rocks)->Close();
  return failures > 0 ? 1 : 0;
}

}  // namespace
}  // namespace cxp::bench::context

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Times context_service's core in-process on a loaded dataset.");
  absl::ParseCommandLine(argc, argv);
  return cxp::bench::context::Main();
}
