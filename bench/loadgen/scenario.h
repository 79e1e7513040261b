// Load-generator scenarios: which method to call and what to send.
//
// A Scenario names a full gRPC method and builds a RequestSource, which hands
// out the serialized request for every call (the same bytes each time, or
// bytes generated per call from a seeded per-thread RNG). Built-in scenarios
// live in scenarios.cc; adding one is a few lines there. `--method` with
// `--request_json` / `--request_file` builds an ad-hoc scenario from the
// protobuf generated descriptor pool instead (request_builder.h).
//
// Threading: a RequestSource is shared by all driver threads; Next() must be
// safe to call concurrently (each thread passes its own RNG).

#ifndef CXP_BENCH_LOADGEN_SCENARIO_H_
#define CXP_BENCH_LOADGEN_SCENARIO_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/message.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/byte_buffer.h"

namespace cxp::bench {

// Per-thread RNG handed to request generators; seeded from --seed.
using ScenarioRng = std::mt19937_64;

class RequestSource {
 public:
  virtual ~RequestSource() = default;
  // Stores the next request's serialized bytes in *out.
  virtual void Next(ScenarioRng& rng, grpc::ByteBuffer* out) const = 0;
};

// The same bytes for every call (copying a ByteBuffer only takes a reference).
std::unique_ptr<RequestSource> FixedRequest(const std::string& serialized);
std::unique_ptr<RequestSource> FixedRequest(const google::protobuf::Message& message);

// Bytes produced per call by `generate`, which must be thread-safe apart from
// the RNG it is given.
std::unique_ptr<RequestSource> GeneratedRequest(
    std::function<std::string(ScenarioRng&)> generate);

// Per-call message of type M filled by `fill`, then serialized.
template <typename M>
std::unique_ptr<RequestSource> GeneratedMessage(std::function<void(ScenarioRng&, M*)> fill) {
  return GeneratedRequest([fill = std::move(fill)](ScenarioRng& rng) {
    M message;
    fill(rng, &message);
    return message.SerializeAsString();
  });
}

// `--scenario_param key=value` pairs, with typed look-ups.
class ScenarioParams {
 public:
  // Parses "key=value" items; INVALID_ARGUMENT for an item without '='.
  static absl::StatusOr<ScenarioParams> Parse(const std::vector<std::string>& items);

  std::string GetString(const std::string& key, const std::string& fallback) const;
  // INVALID_ARGUMENT when present but not an integer.
  absl::StatusOr<int64_t> GetInt(const std::string& key, int64_t fallback) const;
  const std::map<std::string, std::string>& all() const { return values_; }

 private:
  std::map<std::string, std::string> values_;
};

// What a scenario's optional setup step gets: a connected channel to the
// target and a way to give a ClientContext the run's API key and deadline.
struct ScenarioEnv {
  std::shared_ptr<grpc::Channel> channel;
  const ScenarioParams* params = nullptr;
  uint64_t seed = 0;
  std::function<void(grpc::ClientContext*)> prepare_context;
};

struct Scenario {
  std::string name;         // --scenario NAME
  std::string method;       // full gRPC method, "/pkg.Service/Method"
  std::string description;  // one line for --help / --list_scenarios
  // Builds the request source once, before the run.
  std::function<absl::StatusOr<std::unique_ptr<RequestSource>>(const ScenarioParams&)>
      make_requests;
  // Optional: runs once before the warm-up (e.g. create the data the calls
  // read). Not timed.
  std::function<absl::Status(const ScenarioEnv&)> setup;
};

// All built-in scenarios (scenarios.cc), in registration order.
const std::vector<Scenario>& BuiltinScenarios();
// nullptr when there is no scenario with that name.
const Scenario* FindScenario(const std::string& name);
// "null, health, ..." for messages.
std::string ScenarioNames();

}  // namespace cxp::bench

#endif  // CXP_BENCH_LOADGEN_SCENARIO_H_
