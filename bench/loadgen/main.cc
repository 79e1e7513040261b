// cxp_loadgen: closed-loop gRPC load generator (see docs/performance.md).
//
// Exit codes: 0 = run finished and the error rate is within
// --max_error_rate; 1 = too many failed calls; 2 = bad flags or setup failure
// (cannot connect, unknown method, bad JSON, ...).

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "bench/loadgen/load_runner.h"
#include "bench/loadgen/report.h"
#include "bench/loadgen/request_builder.h"
#include "bench/loadgen/scenario.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50059",
          "Server address host:port (default: cxp_null_server's default address).");
ABSL_FLAG(std::string, scenario, "",
          "Built-in scenario to run (see --list_scenarios). Exclusive with --method.");
ABSL_FLAG(std::vector<std::string>, scenario_param, {},
          "Scenario parameters as key=value[,key=value...] (see --list_scenarios).");
ABSL_FLAG(bool, list_scenarios, false, "Print the built-in scenarios and exit.");
ABSL_FLAG(std::string, method, "",
          "Full gRPC method to call, /package.Service/Method; the request type is looked up "
          "in the protobuf descriptors linked into this binary.");
ABSL_FLAG(std::string, request_json, "", "Request message for --method, as proto JSON.");
ABSL_FLAG(std::string, request_file, "",
          "File holding the request message for --method, as proto JSON.");
ABSL_FLAG(int, concurrency, 64,
          "Calls kept outstanding at all times (closed loop), or at most with --rate.");
ABSL_FLAG(double, rate, 0,
          "Calls started per second (open loop, at most --concurrency outstanding); 0 = as "
          "fast as the closed loop goes.");
ABSL_FLAG(int, connections, 4, "Channels, each its own TCP connection.");
ABSL_FLAG(int, threads, 2, "Driver threads, each polling its own completion queue.");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "Length of the measured window.");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(2),
          "Load applied before the measured window; not counted.");
ABSL_FLAG(absl::Duration, deadline, absl::Seconds(5), "Deadline of every call; 0 = no deadline.");
ABSL_FLAG(absl::Duration, connect_timeout, absl::Seconds(10),
          "How long to wait for every connection to be ready before starting.");
ABSL_FLAG(std::string, api_key, "", "Sends 'authorization: Bearer <key>' with every call.");
ABSL_FLAG(std::string, tls_ca, "", "PEM CA bundle: connect with TLS and trust this CA.");
ABSL_FLAG(std::string, tls_server_name, "",
          "With --tls_ca: the server name to verify instead of the target's host.");
ABSL_FLAG(uint64_t, seed, 1, "Seed for the per-thread RNGs of generated requests.");
ABSL_FLAG(std::string, json, "",
          "Also write the results as JSON to this path; '-' = stdout (the text summary "
          "then goes to stderr).");
ABSL_FLAG(double, max_error_rate, 0.0,
          "Fraction of failed calls tolerated before exiting with code 1.");

namespace cxp::bench {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitErrors = 1;
constexpr int kExitSetup = 2;

int Fail(const std::string& message) {
  std::cerr << "cxp_loadgen: " << message << "\n";
  return kExitSetup;
}

std::string ListScenarios() {
  std::string out;
  for (const Scenario& s : BuiltinScenarios()) {
    absl::StrAppend(&out, "  ", s.name, "\t", s.method, "\n      ", s.description, "\n");
  }
  return out;
}

int Main() {
  if (absl::GetFlag(FLAGS_list_scenarios)) {
    std::cout << ListScenarios();
    return kExitOk;
  }
  LoadOptions options;
  options.target = absl::GetFlag(FLAGS_target);
  options.concurrency = absl::GetFlag(FLAGS_concurrency);
  options.rate = absl::GetFlag(FLAGS_rate);
  options.connections = absl::GetFlag(FLAGS_connections);
  options.threads = std::min(absl::GetFlag(FLAGS_threads), options.concurrency);
  options.duration = absl::GetFlag(FLAGS_duration);
  options.warmup = absl::GetFlag(FLAGS_warmup);
  options.deadline = absl::GetFlag(FLAGS_deadline);
  options.connect_timeout = absl::GetFlag(FLAGS_connect_timeout);
  options.api_key = absl::GetFlag(FLAGS_api_key);
  options.tls_ca_file = absl::GetFlag(FLAGS_tls_ca);
  options.tls_server_name = absl::GetFlag(FLAGS_tls_server_name);
  options.seed = absl::GetFlag(FLAGS_seed);
  if (options.target.empty()) return Fail("--target is required");

  const std::string scenario_name = absl::GetFlag(FLAGS_scenario);
  const std::string method = absl::GetFlag(FLAGS_method);
  if (scenario_name.empty() == method.empty()) {
    return Fail(absl::StrCat("give exactly one of --scenario (", ScenarioNames(),
                             ") or --method"));
  }
  auto params = ScenarioParams::Parse(absl::GetFlag(FLAGS_scenario_param));
  if (!params.ok()) return Fail(params.status().ToString());

  std::unique_ptr<RequestSource> requests;
  const Scenario* scenario = nullptr;
  if (!scenario_name.empty()) {
    scenario = FindScenario(scenario_name);
    if (scenario == nullptr) {
      return Fail(absl::StrCat("unknown --scenario '", scenario_name, "'; known: ",
                               ScenarioNames()));
    }
    if (!absl::GetFlag(FLAGS_request_json).empty() ||
        !absl::GetFlag(FLAGS_request_file).empty()) {
      return Fail("--request_json / --request_file go with --method, not --scenario");
    }
    options.method = scenario->method;
    auto made = scenario->make_requests(*params);
    if (!made.ok()) return Fail(made.status().ToString());
    requests = std::move(*made);
  } else {
    options.method = method;
    std::string json = absl::GetFlag(FLAGS_request_json);
    const std::string file = absl::GetFlag(FLAGS_request_file);
    if (!json.empty() && !file.empty()) {
      return Fail("give at most one of --request_json and --request_file");
    }
    if (!file.empty()) {
      std::ifstream in(file, std::ios::binary);
      if (!in) return Fail(absl::StrCat("cannot read --request_file ", file));
      std::stringstream text;
      text << in.rdbuf();
      json = text.str();
    }
    auto bytes = SerializeRequestFromJson(method, json);
    if (!bytes.ok()) return Fail(bytes.status().ToString());
    requests = FixedRequest(*bytes);
  }

  if (scenario != nullptr && scenario->setup) {
    auto channel = MakeChannel(options, -1);
    if (!channel.ok()) return Fail(channel.status().ToString());
    ScenarioEnv env{.channel = *channel,
                    .params = &*params,
                    .seed = options.seed,
                    .prepare_context = [&options](grpc::ClientContext* context) {
                      PrepareContext(options, context);
                    }};
    absl::Status status = scenario->setup(env);
    if (!status.ok()) return Fail(absl::StrCat("scenario setup failed: ", status.ToString()));
  }

  const std::string json_path = absl::GetFlag(FLAGS_json);
  std::ostream& text_out = json_path == "-" ? std::cerr : std::cout;
  std::cerr << "cxp_loadgen: " << options.method << " on " << options.target << ", "
            << options.concurrency << " outstanding calls"
            << (options.rate > 0 ? absl::StrCat(" at most, ", options.rate, " calls/s") : "")
            << ", warm-up "
            << absl::FormatDuration(options.warmup) << ", measuring "
            << absl::FormatDuration(options.duration) << "\n";
  auto result = RunLoad(options, *requests);
  if (!result.ok()) return Fail(result.status().ToString());

  const RunDescription run{.scenario = scenario_name, .options = options};
  text_out << FormatTextReport(run, *result) << std::flush;
  if (!json_path.empty()) {
    const std::string json = FormatJsonReport(run, *result);
    if (json_path == "-") {
      std::cout << json << std::flush;
    } else {
      std::ofstream out(json_path, std::ios::binary | std::ios::trunc);
      out << json;
      if (!out.good()) return Fail(absl::StrCat("cannot write --json file ", json_path));
    }
  }

  if (result->count == 0) {
    std::cerr << "cxp_loadgen: no call completed in the measured window\n";
    return kExitErrors;
  }
  const double error_rate =
      static_cast<double>(result->error_count()) / static_cast<double>(result->count);
  if (error_rate > absl::GetFlag(FLAGS_max_error_rate)) {
    std::cerr << "cxp_loadgen: " << result->error_count() << " of " << result->count
              << " calls failed (over --max_error_rate="
              << absl::GetFlag(FLAGS_max_error_rate) << ")\n";
    return kExitErrors;
  }
  return kExitOk;
}

}  // namespace
}  // namespace cxp::bench

int main(int argc, char** argv) {
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view path) {
    return absl::StrContains(path, "bench/loadgen/");
  };
  absl::SetFlagsUsageConfig(usage);
  absl::SetProgramUsageMessage(absl::StrCat(
      "closed-loop gRPC load generator.\n\n"
      "  cxp_loadgen --target host:port --scenario NAME [flags]\n"
      "  cxp_loadgen --target host:port --method /pkg.Service/Method "
      "--request_json '{...}' [flags]\n\n"
      "Built-in scenarios:\n",
      cxp::bench::ListScenarios()));
  std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  if (rest.size() > 1) {
    std::cerr << "cxp_loadgen: unexpected argument '" << rest[1] << "' (see --help)\n";
    return 2;
  }
  return cxp::bench::Main();
}
