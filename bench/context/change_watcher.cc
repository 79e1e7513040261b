// cxp_change_watcher: one WatchChanges client that measures what it gets —
// events per second and how far behind the commits it is — for the change
// stream's benchmark (scripts/bench_change_stream.sh, docs/performance.md).
//
//   cxp_change_watcher --target 127.0.0.1:50051 --duration 20s              # live, from now
//   cxp_change_watcher --target ... --after_sequence 0 --until_caught_up     # replay a backlog
//
// Lag of an event = its arrival time here minus its change_time (the
// server's commit clock; same machine, so the clocks agree). Live, the lag
// says how far behind the writers the watcher is; on a replay it is the
// backlog's age and only the events/s matter. Prints a summary and, with
// --json, one JSON object. Exit 1 if the stream fails.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/loadgen/latency_histogram.h"
#include "cxp/context/v1/context_service.grpc.pb.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/create_channel.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "context_service address.");
ABSL_FLAG(std::string, api_key, "", "Sends 'authorization: Bearer <key>'.");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(20), "How long to watch.");
ABSL_FLAG(int64_t, after_sequence, -1, "Resume point; -1 watches from now.");
ABSL_FLAG(bool, until_caught_up, false,
          "Stop once an event younger than --caught_up_lag arrives (replay of a backlog).");
ABSL_FLAG(absl::Duration, caught_up_lag, absl::Milliseconds(200),
          "Lag under which a replay counts as caught up.");
ABSL_FLAG(std::string, json, "", "Also write the results as JSON to this file.");
ABSL_FLAG(int, max_batch_size, 0,
          "WatchChangesRequest.max_batch_size: events per response (0 or 1: one each).");

namespace {

using google::protobuf::util::TimeUtil;

int Run() {
  auto channel =
      grpc::CreateChannel(absl::GetFlag(FLAGS_target), grpc::InsecureChannelCredentials());
  auto stub = cxp::context::v1::ContextService::NewStub(channel);
  grpc::ClientContext context;
  const absl::Duration duration = absl::GetFlag(FLAGS_duration);
  context.set_deadline(absl::ToChronoTime(absl::Now() + duration + absl::Seconds(30)));
  if (!absl::GetFlag(FLAGS_api_key).empty()) {
    context.AddMetadata("authorization", "Bearer " + absl::GetFlag(FLAGS_api_key));
  }
  cxp::context::v1::WatchChangesRequest request;
  if (absl::GetFlag(FLAGS_after_sequence) >= 0) {
    request.set_after_sequence(absl::GetFlag(FLAGS_after_sequence));
  }
  request.set_max_batch_size(absl::GetFlag(FLAGS_max_batch_size));
  auto reader = stub->WatchChanges(&context, request);
  reader->WaitForInitialMetadata();

  const bool until_caught_up = absl::GetFlag(FLAGS_until_caught_up);
  const int64_t caught_up_nanos = absl::ToInt64Nanoseconds(absl::GetFlag(FLAGS_caught_up_lag));
  cxp::bench::LatencyHistogram lag;  // nanoseconds
  const absl::Time start = absl::Now();
  const absl::Time stop = start + duration;
  uint64_t events = 0;
  int64_t first_sequence = 0, last_sequence = 0, out_of_order = 0;
  bool caught_up = false;
  cxp::context::v1::WatchChangesResponse response;
  absl::Time first_arrival = start, last_arrival = start;
  // Events per whole second since the first arrival: the slowest full
  // second says whether the rate was sustained, not just reached on average.
  std::vector<uint64_t> per_second;
  uint64_t responses = 0;
  while (!caught_up && absl::Now() < stop && reader->Read(&response)) {
    last_arrival = absl::Now();
    if (events == 0) first_arrival = last_arrival;
    ++responses;
    const size_t second = static_cast<size_t>((last_arrival - first_arrival) / absl::Seconds(1));
    if (per_second.size() <= second) per_second.resize(second + 1, 0);
    auto take = [&](const cxp::context::v1::ChangeEvent& event) {
      ++per_second[second];
      const int64_t committed = TimeUtil::TimestampToNanoseconds(event.change_time());
      const int64_t lag_nanos = std::max<int64_t>(0, absl::ToUnixNanos(last_arrival) - committed);
      lag.Record(std::min(lag_nanos, cxp::bench::LatencyHistogram::kMaxValue));
      if (events == 0) first_sequence = event.sequence();
      if (event.sequence() <= last_sequence) ++out_of_order;
      last_sequence = event.sequence();
      ++events;
      if (until_caught_up && lag_nanos < caught_up_nanos && events > 1) caught_up = true;
    };
    if (response.has_change_event()) take(response.change_event());
    for (const cxp::context::v1::ChangeEvent& event : response.change_events()) take(event);
  }
  // From the first event: a live watcher waits for the load to start.
  const absl::Duration elapsed = last_arrival - first_arrival;
  // The last second is partial; the slowest of the others.
  uint64_t slowest_second = 0;
  if (per_second.size() > 1) {
    slowest_second = *std::min_element(per_second.begin(), per_second.end() - 1);
  }
  context.TryCancel();
  const grpc::Status status = reader->Finish();
  const bool ended_by_us = status.error_code() == grpc::StatusCode::CANCELLED ||
                           status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
                           status.ok();
  const double seconds = absl::ToDoubleSeconds(elapsed);
  const double rate = seconds > 0 ? static_cast<double>(events) / seconds : 0;
  auto ms = [](int64_t nanos) { return static_cast<double>(nanos) / 1e6; };
  std::cout << absl::StrFormat(
      "Change stream watcher (%s)\n  Events:        %d in %.2f s = %.0f events/s\n"
      "  Responses:     %d (%.1f events each)\n"
      "  Slowest second: %d events\n"
      "  Sequences:     %d .. %d, %d out of order\n"
      "  Lag ms:        p50 %.1f  p99 %.1f  max %.1f\n%s",
      request.has_after_sequence() ? "replay" : "live", events, seconds, rate, responses,
      responses > 0 ? static_cast<double>(events) / static_cast<double>(responses) : 0.0,
      slowest_second,
      first_sequence,
      last_sequence, out_of_order, ms(lag.ValueAtQuantile(0.5)), ms(lag.ValueAtQuantile(0.99)),
      ms(lag.max()), until_caught_up ? (caught_up ? "  Caught up.\n" : "  NOT caught up.\n") : "");
  if (!absl::GetFlag(FLAGS_json).empty()) {
    std::ofstream(absl::GetFlag(FLAGS_json)) << absl::StrFormat(
        "{\"events\": %d, \"seconds\": %.3f, \"events_per_second\": %.1f, "
        "\"slowest_second_events\": %d, \"out_of_order\": %d, "
        "\"lag_ms_p50\": %.2f, \"lag_ms_p99\": %.2f, \"lag_ms_max\": %.2f, \"caught_up\": %s}\n",
        events, seconds, rate, slowest_second, out_of_order, ms(lag.ValueAtQuantile(0.5)),
        ms(lag.ValueAtQuantile(0.99)), ms(lag.max()), caught_up ? "true" : "false");
  }
  if (!ended_by_us) {
    std::cerr << "stream failed: " << status.error_code() << " " << status.error_message() << "\n";
    return 1;
  }
  return out_of_order == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Measures one WatchChanges stream: events/s and lag.");
  absl::ParseCommandLine(argc, argv);
  return Run();
}
