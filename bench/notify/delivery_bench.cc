// cxp_notify_delivery_bench: enqueues notifications on a running
// notify_service and measures how fast its dispatcher delivers them to a
// cxp_webhook_receiver (scripts/bench_notify_delivery.sh starts everything;
// docs/performance.md, "notify_service", "Delivery throughput").
//
//   1. CreateTemplate templates/<template_id> (reused when it exists): one
//      locale with webhook content only, a few placeholders.
//   2. BatchSendNotifications of --notifications sends, --batch per call,
//      --concurrency calls outstanding: recipient customers/<id_prefix><i %
//      customers> (the customers must exist in context_service: load them
//      with cxp_context_loader), channel_order [WEB] (the webhook channel;
//      its address is the customer's name, so any customer has one),
//      purpose TRANSACTIONAL (no consent needed), a unique idempotency key
//      per send. With --schedule_delay D every send gets send_time = start
//      of the enqueue + D, so the dispatcher finds them all due at once and
//      the delivery is timed without the enqueue running alongside.
//   3. Resets the receiver's counters first (POST /reset), then polls its
//      GET /stats until it has seen every notification's webhook-id (or
//      --timeout), and prints the deliveries per second from the
//      receiver's first to its last POST of this run, the duplicates (a
//      delivery the receiver saw twice) and bad signatures. Nothing else
//      may post to the receiver meanwhile.
//
// Exit status: 0 when every notification was delivered once, 1 when some
// were refused, not delivered in time, or delivered twice or badly signed,
// 2 on bad flags or setup failure.

#include <curl/curl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cxp/notify/v1/notify_service.grpc.pb.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/grpcpp.h"

ABSL_FLAG(std::string, notify, "127.0.0.1:50053", "notify_service address host:port.");
ABSL_FLAG(std::string, api_key, "", "Sends 'authorization: Bearer <key>' with every call.");
ABSL_FLAG(std::string, receiver, "http://127.0.0.1:8089",
          "Base URL of the cxp_webhook_receiver notify_service delivers to.");
ABSL_FLAG(int64_t, notifications, 20000, "Notifications to send.");
ABSL_FLAG(int, batch, 100, "Sends per BatchSendNotifications call (1 to 100).");
ABSL_FLAG(int, concurrency, 4, "BatchSendNotifications calls outstanding.");
ABSL_FLAG(int64_t, customers, 1000,
          "Recipients: customers/<id_prefix><i>, i < customers, in turn.");
ABSL_FLAG(std::string, id_prefix, "c", "Customer id prefix (as cxp_context_loader's).");
ABSL_FLAG(std::string, template_id, "bench-webhook", "Template to create or reuse.");
ABSL_FLAG(absl::Duration, schedule_delay, absl::Seconds(0),
          "send_time = start of the enqueue + this (0: due at once, delivered while enqueuing).");
ABSL_FLAG(absl::Duration, timeout, absl::Minutes(5),
          "How long to wait for the deliveries after the enqueue.");
ABSL_FLAG(std::string, run_id, "",
          "Prefix of the idempotency keys (default: the start time), unique per run.");
ABSL_FLAG(std::string, json, "", "Also write the results as JSON to this file.");
ABSL_FLAG(std::vector<std::string>, cpu_pids, {},
          "name=pid,...: processes whose CPU time (user + system, /proc/<pid>/stat) is reported "
          "for the delivery alone: from just before send_time (with --schedule_delay) to the "
          "last delivery.");

namespace {

namespace v1 = ::cxp::notify::v1;
namespace type = ::cxp::type::v1;
using google::protobuf::util::TimeUtil;

int64_t MonotonicNanos() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
}

int Fail(const std::string& message) {
  std::cerr << "cxp_notify_delivery_bench: " << message << "\n";
  return 2;
}

void Prepare(grpc::ClientContext& context, absl::Duration deadline) {
  if (const std::string key = absl::GetFlag(FLAGS_api_key); !key.empty()) {
    context.AddMetadata("authorization", "Bearer " + key);
  }
  context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
}

// The receiver's GET /stats.
struct ReceiverStats {
  int64_t received = 0;
  int64_t unique = 0;
  int64_t duplicates = 0;
  int64_t bad_signatures = 0;
  int64_t first_ns = 0;
  int64_t last_ns = 0;
};

size_t AppendBody(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

// The integer after "key": in a flat JSON object.
int64_t JsonInt(const std::string& json, const std::string& key) {
  const std::string needle = absl::StrCat("\"", key, "\":");
  size_t at = json.find(needle);
  if (at == std::string::npos) return -1;
  at += needle.size();
  while (at < json.size() && json[at] == ' ') ++at;
  size_t end = at;
  while (end < json.size() && (json[end] == '-' || (json[end] >= '0' && json[end] <= '9'))) ++end;
  int64_t value = -1;
  if (!absl::SimpleAtoi(absl::string_view(json).substr(at, end - at), &value)) return -1;
  return value;
}

absl::StatusOr<ReceiverStats> GetReceiverStats(CURL* curl, const std::string& base,
                                               bool reset = false) {
  const std::string url = base + (reset ? "/reset" : "/stats");
  std::string body;
  curl_easy_reset(curl);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  if (reset) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, 0L);
  }
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  if (CURLcode code = curl_easy_perform(curl); code != CURLE_OK) {
    return absl::UnavailableError(absl::StrCat("GET ", url, ": ", curl_easy_strerror(code)));
  }
  ReceiverStats stats;
  if (reset) return stats;
  stats.received = JsonInt(body, "received");
  stats.unique = JsonInt(body, "unique");
  stats.duplicates = JsonInt(body, "duplicates");
  stats.bad_signatures = JsonInt(body, "bad_signatures");
  stats.first_ns = JsonInt(body, "first_ns");
  stats.last_ns = JsonInt(body, "last_ns");
  if (stats.received < 0 || stats.unique < 0 || stats.last_ns < 0) {
    return absl::DataLossError(absl::StrCat("GET ", url, ": unexpected answer ", body));
  }
  return stats;
}

absl::Status CreateTemplate(v1::NotifyService::Stub& stub, const std::string& id) {
  v1::CreateTemplateRequest request;
  request.set_template_id(id);
  v1::Template& tmpl = *request.mutable_template_();
  tmpl.set_display_name("delivery benchmark (webhook)");
  v1::TemplateLocale& locale = *tmpl.add_locales();
  google::protobuf::Struct& payload = *locale.mutable_webhook()->mutable_payload();
  (*payload.mutable_fields())["kind"].set_string_value("order_shipped");
  (*payload.mutable_fields())["order"].set_string_value("{{order}}");
  (*payload.mutable_fields())["text"].set_string_value(
      "Your order {{order}} has shipped and arrives on {{date}}.");
  v1::CreateTemplateResponse response;
  grpc::ClientContext context;
  Prepare(context, absl::Seconds(10));
  const grpc::Status status = stub.CreateTemplate(&context, request, &response);
  if (status.ok() || status.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
    return absl::OkStatus();
  }
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat("CreateTemplate templates/", id, ": ", status.error_message()));
}

struct EnqueueResult {
  int64_t accepted = 0;
  int64_t refused = 0;  // outcomes with an error, or failed calls
  std::string first_error;
};

// Sends notifications [0, n) in batches from `concurrency` threads.
EnqueueResult Enqueue(v1::NotifyService::Stub& stub, int64_t n, int batch, int concurrency,
                      absl::Time send_time, bool scheduled, const std::string& run_id) {
  const std::string template_name = "templates/" + absl::GetFlag(FLAGS_template_id);
  const int64_t customers = absl::GetFlag(FLAGS_customers);
  const std::string prefix = absl::GetFlag(FLAGS_id_prefix);
  std::atomic<int64_t> next{0};
  absl::Mutex mu;
  EnqueueResult result;
  auto worker = [&] {
    while (true) {
      const int64_t start = next.fetch_add(batch);
      if (start >= n) return;
      const int64_t end = std::min(n, start + batch);
      v1::BatchSendNotificationsRequest request;
      for (int64_t i = start; i < end; ++i) {
        v1::SendNotificationRequest& send = *request.add_requests();
        send.mutable_customer()->set_customer(absl::StrCat("customers/", prefix, i % customers));
        send.set_template_(template_name);
        send.set_purpose(type::PURPOSE_TRANSACTIONAL);
        send.add_channel_order(type::CHANNEL_WEB);
        (*send.mutable_variables())["order"] = absl::StrCat("A-", 100000 + i);
        (*send.mutable_variables())["date"] = "Friday";
        send.set_idempotency_key(absl::StrCat(run_id, "-", i));
        if (scheduled) {
          *send.mutable_send_time() =
              TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(send_time));
        }
      }
      v1::BatchSendNotificationsResponse response;
      grpc::ClientContext context;
      Prepare(context, absl::Seconds(60));
      const grpc::Status status = stub.BatchSendNotifications(&context, request, &response);
      absl::MutexLock lock(&mu);
      if (!status.ok()) {
        result.refused += end - start;
        if (result.first_error.empty()) {
          result.first_error = absl::StrCat("BatchSendNotifications: ", status.error_message());
        }
        continue;
      }
      for (const v1::SendNotificationOutcome& outcome : response.outcomes()) {
        if (outcome.code() == 0 && outcome.has_notification()) {
          ++result.accepted;
        } else {
          ++result.refused;
          if (result.first_error.empty()) {
            result.first_error = absl::StrCat("code ", outcome.code(), ": ", outcome.message());
          }
        }
      }
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < concurrency; ++i) threads.emplace_back(worker);
  for (std::thread& thread : threads) thread.join();
  return result;
}

// user + system CPU seconds of process `pid` so far; -1 when unreadable.
double ProcessCpuSeconds(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/stat");
  std::string line;
  if (!std::getline(in, line)) return -1;
  // The fields after the command name, which is in parentheses and may
  // hold spaces.
  const size_t close = line.rfind(')');
  if (close == std::string::npos || close + 2 >= line.size()) return -1;
  std::vector<std::string> fields = absl::StrSplit(line.substr(close + 2), ' ');
  // utime and stime: fields 14 and 15 of the line, 12th and 13th after it.
  int64_t utime = 0;
  int64_t stime = 0;
  if (fields.size() < 13 || !absl::SimpleAtoi(fields[11], &utime) ||
      !absl::SimpleAtoi(fields[12], &stime)) {
    return -1;
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::vector<double> SampleCpu(const std::vector<std::pair<std::string, std::string>>& processes) {
  std::vector<double> seconds;
  for (const auto& [name, pid] : processes) seconds.push_back(ProcessCpuSeconds(pid));
  return seconds;
}

int Main() {
  const int64_t n = absl::GetFlag(FLAGS_notifications);
  const int batch = absl::GetFlag(FLAGS_batch);
  const int concurrency = absl::GetFlag(FLAGS_concurrency);
  const absl::Duration delay = absl::GetFlag(FLAGS_schedule_delay);
  if (n < 1) return Fail("--notifications must be >= 1");
  if (batch < 1 || batch > 100) return Fail("--batch wants 1 to 100");
  if (concurrency < 1) return Fail("--concurrency must be >= 1");
  if (absl::GetFlag(FLAGS_customers) < 1) return Fail("--customers must be >= 1");
  if (delay < absl::ZeroDuration()) return Fail("--schedule_delay must not be negative");
  std::vector<std::pair<std::string, std::string>> cpu_processes;  // name, pid
  for (const std::string& item : absl::GetFlag(FLAGS_cpu_pids)) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) return Fail("--cpu_pids wants name=pid items");
    cpu_processes.emplace_back(item.substr(0, eq), item.substr(eq + 1));
  }
  std::string run_id = absl::GetFlag(FLAGS_run_id);
  if (run_id.empty()) run_id = absl::StrCat("bench-", absl::ToUnixMicros(absl::Now()));

  curl_global_init(CURL_GLOBAL_DEFAULT);
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  const std::string receiver = absl::GetFlag(FLAGS_receiver);
  if (absl::StatusOr<ReceiverStats> reset = GetReceiverStats(curl.get(), receiver, true);
      !reset.ok()) {
    return Fail(reset.status().ToString());
  }
  const ReceiverStats before;  // all zero after the reset

  auto channel =
      grpc::CreateChannel(absl::GetFlag(FLAGS_notify), grpc::InsecureChannelCredentials());
  if (!channel->WaitForConnected(absl::ToChronoTime(absl::Now() + absl::Seconds(10)))) {
    return Fail(absl::StrCat("cannot connect to ", absl::GetFlag(FLAGS_notify)));
  }
  auto stub = v1::NotifyService::NewStub(channel);
  if (absl::Status s = CreateTemplate(*stub, absl::GetFlag(FLAGS_template_id)); !s.ok()) {
    return Fail(s.ToString());
  }

  const absl::Time enqueue_start = absl::Now();
  const absl::Time send_time = enqueue_start + delay;
  std::cerr << "cxp_notify_delivery_bench: sending " << n << " notifications in batches of "
            << batch << ", " << concurrency << " calls outstanding"
            << (delay > absl::ZeroDuration()
                    ? absl::StrCat(", all due at start + ", absl::FormatDuration(delay))
                    : ", due at once")
            << "\n";
  const EnqueueResult sent =
      Enqueue(*stub, n, batch, concurrency, send_time, delay > absl::ZeroDuration(), run_id);
  const absl::Duration enqueue = absl::Now() - enqueue_start;
  std::cerr << "cxp_notify_delivery_bench: accepted " << sent.accepted << ", refused "
            << sent.refused << " in " << absl::FormatDuration(enqueue) << "\n";
  if (sent.refused > 0) std::cerr << "  first refusal: " << sent.first_error << "\n";
  if (delay > absl::ZeroDuration() && absl::Now() > send_time) {
    std::cerr << "cxp_notify_delivery_bench: warning: the enqueue outlasted --schedule_delay; "
                 "deliveries overlapped it\n";
  }

  // CPU from just before the first delivery is due (the enqueue's work has
  // settled by then) to the last delivery.
  if (delay > absl::ZeroDuration()) {
    const absl::Time before_due = send_time - absl::Milliseconds(300);
    if (absl::Now() < before_due) absl::SleepFor(before_due - absl::Now());
  }
  const std::vector<double> cpu_start = SampleCpu(cpu_processes);

  // Wait for every accepted notification's webhook.
  const absl::Time deadline = absl::Now() + absl::GetFlag(FLAGS_timeout);
  ReceiverStats now = before;
  absl::Time last_progress = absl::Now();
  while (now.unique - before.unique < sent.accepted && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
    absl::StatusOr<ReceiverStats> stats = GetReceiverStats(curl.get(), receiver);
    if (!stats.ok()) return Fail(stats.status().ToString());
    now = *stats;
    if (absl::Now() - last_progress >= absl::Seconds(5)) {
      last_progress = absl::Now();
      std::cerr << "cxp_notify_delivery_bench: " << now.unique - before.unique << " of "
                << sent.accepted << " delivered\n";
    }
  }
  const std::vector<double> cpu_end = SampleCpu(cpu_processes);
  // A moment more for duplicates (a retried delivery) to show.
  absl::SleepFor(absl::Milliseconds(500));
  if (absl::StatusOr<ReceiverStats> stats = GetReceiverStats(curl.get(), receiver); stats.ok()) {
    now = *stats;
  }

  const int64_t delivered = now.unique - before.unique;
  const int64_t duplicates = now.duplicates - before.duplicates;
  const int64_t bad_signatures = now.bad_signatures - before.bad_signatures;
  const int64_t first_ns = now.first_ns;
  const double seconds = static_cast<double>(now.last_ns - first_ns) / 1e9;
  const double rate =
      seconds > 0 && delivered > 1 ? static_cast<double>(delivered - 1) / seconds : 0;
  const double enqueue_rate = static_cast<double>(sent.accepted) / absl::ToDoubleSeconds(enqueue);
  const double enqueue_to_last = static_cast<double>(now.last_ns - MonotonicNanos()) / 1e9 +
                                 absl::ToDoubleSeconds(absl::Now() - enqueue_start);

  std::cout << absl::StrFormat(
      "notifications %d (accepted %d, refused %d), enqueue %.2f s (%.0f/s)\n"
      "delivered %d (duplicates %d, bad signatures %d), first to last delivery %.2f s\n"
      "deliveries/s %.1f (first to last); enqueue start to last delivery %.2f s\n",
      n, sent.accepted, sent.refused, absl::ToDoubleSeconds(enqueue), enqueue_rate, delivered,
      duplicates, bad_signatures, seconds, rate, enqueue_to_last);
  std::string cpu_json;
  for (size_t i = 0; i < cpu_processes.size(); ++i) {
    const std::string& name = cpu_processes[i].first;
    const double used = cpu_end[i] - cpu_start[i];
    const double per_delivery_ms = delivered > 0 ? 1000 * used / static_cast<double>(delivered) : 0;
    std::cout << absl::StrFormat("CPU during delivery, %s: %.2f s (%.3f ms per delivery)\n", name,
                                 used, per_delivery_ms);
    absl::StrAppendFormat(&cpu_json,
                          ",\n  \"cpu_%s_seconds\": %.2f,\n  \"cpu_%s_ms_per_delivery\": %.3f",
                          name, used, name, per_delivery_ms);
  }
  if (const std::string path = absl::GetFlag(FLAGS_json); !path.empty()) {
    std::ofstream out(path, std::ios::trunc);
    out << absl::StrFormat(
        "{\n  \"notifications\": %d,\n  \"accepted\": %d,\n  \"refused\": %d,\n"
        "  \"enqueue_seconds\": %.3f,\n  \"enqueue_per_second\": %.1f,\n"
        "  \"schedule_delay_seconds\": %.3f,\n  \"delivered\": %d,\n  \"duplicates\": %d,\n"
        "  \"bad_signatures\": %d,\n  \"delivery_seconds\": %.3f,\n"
        "  \"deliveries_per_second\": %.1f,\n  \"enqueue_start_to_last_delivery_seconds\": "
        "%.3f%s\n}\n",
        n, sent.accepted, sent.refused, absl::ToDoubleSeconds(enqueue), enqueue_rate,
        absl::ToDoubleSeconds(delay), delivered, duplicates, bad_signatures, seconds, rate,
        enqueue_to_last, cpu_json);
    if (!out.good()) return Fail(absl::StrCat("cannot write --json file ", path));
  }
  const bool complete =
      sent.refused == 0 && delivered == sent.accepted && duplicates == 0 && bad_signatures == 0;
  if (!complete) std::cerr << "cxp_notify_delivery_bench: incomplete run (see above)\n";
  return complete ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "enqueues notifications on notify_service and times their webhook deliveries "
      "(bench/notify/delivery_bench.cc)");
  absl::ParseCommandLine(argc, argv);
  return Main();
}
