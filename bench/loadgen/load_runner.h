// cxp::bench::RunLoad — a closed-loop unary-call load generator.
//
// `concurrency` calls are kept outstanding at all times: each slot sends its
// next call as soon as the previous one completes. With a `rate`, calls
// start at that rate instead (open loop), at most `concurrency` at once. Calls go through
// grpc::GenericStub (raw bytes, no per-call proto work) on the async
// CompletionQueue API; `threads` driver threads each own one CQ and a share of
// the slots, and the slots are spread over `connections` channels, each with
// its own subchannel pool and a distinct channel argument, so every channel
// is its own TCP connection.
//
// Timing: calls completing during the first `warmup` are not counted; calls
// completing in the `duration` after it are (latency = completion - start,
// steady clock). When the window closes no new calls start, and calls still
// outstanding after a short grace period are cancelled and not counted.
//
// Threading: RunLoad blocks the calling thread until the run is over. Every
// driver thread records into its own histogram and counters (no lock on the
// hot path); they are merged at the end.

#ifndef CXP_BENCH_LOADGEN_LOAD_RUNNER_H_
#define CXP_BENCH_LOADGEN_LOAD_RUNNER_H_

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bench/loadgen/latency_histogram.h"
#include "bench/loadgen/scenario.h"
#include "grpcpp/channel.h"

namespace cxp::bench {

struct LoadOptions {
  std::string target;             // host:port (any gRPC target URI)
  std::string method;             // "/pkg.Service/Method"
  int concurrency = 64;           // outstanding calls (at most, with a rate)
  double rate = 0;                // calls started per second; 0 = closed loop
  int connections = 4;            // channels / TCP connections
  int threads = 2;                // driver threads, one CQ each
  absl::Duration duration = absl::Seconds(10);
  absl::Duration warmup = absl::Seconds(2);
  absl::Duration deadline = absl::Seconds(5);          // per call; 0 = none
  absl::Duration connect_timeout = absl::Seconds(10);  // all channels READY
  std::string api_key;            // non-empty: "authorization: Bearer <key>"
  std::string tls_ca_file;        // non-empty: TLS, trusting this PEM bundle
  std::string tls_server_name;    // non-empty: override the name checked in TLS
  uint64_t seed = 1;              // per-thread RNGs are seeded from this
};

// Number of grpc::StatusCode values (OK .. UNAUTHENTICATED).
inline constexpr int kNumStatusCodes = 17;

struct LoadResult {
  absl::Duration measured;  // length of the counted window
  uint64_t count = 0;       // calls completed in the window
  std::array<uint64_t, kNumStatusCodes> status_counts{};
  // First error message seen for each failing status code.
  std::map<int, std::string> error_samples;
  LatencyHistogram latency_ns;  // every counted call, whatever its status

  uint64_t ok_count() const { return status_counts[0]; }
  uint64_t error_count() const { return count - ok_count(); }
  double requests_per_second() const;
};

// "OK", "UNAVAILABLE", ... ("CODE_<n>" when out of range).
const char* StatusCodeName(int code);

// Channels to `options.target` as RunLoad makes them (credentials, args).
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const LoadOptions& options,
                                                           int channel_index);

// Applies the API key and per-call deadline of `options` to `context`.
void PrepareContext(const LoadOptions& options, grpc::ClientContext* context);

// Runs the load. Errors: INVALID_ARGUMENT for bad options, FAILED_PRECONDITION
// when the TLS CA file cannot be read, DEADLINE_EXCEEDED when the channels do
// not connect within connect_timeout. Failed calls are counted, not errors.
absl::StatusOr<LoadResult> RunLoad(const LoadOptions& options, const RequestSource& requests);

}  // namespace cxp::bench

#endif  // CXP_BENCH_LOADGEN_LOAD_RUNNER_H_
