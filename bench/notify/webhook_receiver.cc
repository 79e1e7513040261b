// cxp_webhook_receiver: a fast local webhook endpoint for the notify
// delivery benchmark (scripts/bench_notify_delivery.sh, docs/performance.md).
//
// Every POST (any path but /reset) is read to the end and answered
// `--status` (default 204) with an empty body on a keep-alive connection. It
// counts deliveries: every POST, the distinct webhook-id values among them
// (a retried delivery keeps its id: the rest are duplicates), and with
// --secret_file the ones whose Standard Webhooks signature does not verify
// (HMAC-SHA256 of "id.timestamp.body" with the base64-decoded "whsec_"
// secret, as notify_service signs them). It also keeps the CLOCK_MONOTONIC
// times of the first and last POST, so a client on the same machine can
// compute deliveries per second from first to last delivery.
//
//   GET /stats   {"received": N, "unique": N, "duplicates": N,
//                 "bad_signatures": N, "first_ns": T, "last_ns": T}
//                (times: CLOCK_MONOTONIC nanoseconds, 0 before the first)
//   POST /reset  zeroes the counters (start of a run)
//
// civetweb serves each connection on one of `--threads` threads; give at
// least as many as the sender keeps connections open (notify_service: one
// per dispatch worker). Runs until SIGINT or SIGTERM, then prints the stats
// line to stdout. Prints '{"msg":"serving", ...}' to stderr once listening.

#include <civetweb.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <signal.h>
#include <time.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:8089", "Address to listen on, host:port.");
ABSL_FLAG(int, threads, 256,
          "Connection threads (each serves one keep-alive connection at a time).");
ABSL_FLAG(int, status, 204, "HTTP status of every POST answer (2xx: delivered).");
ABSL_FLAG(std::string, secret_file, "",
          "File holding the webhook secret (whsec_<base64>): verify every signature.");

namespace {

int64_t MonotonicNanos() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
}

class Receiver {
 public:
  Receiver(int status, std::string key) : status_(status), key_(std::move(key)) {}

  // Reads the POST, answers it and counts it.
  void OnPost(mg_connection* conn) {
    std::string body;
    char buffer[16384];
    for (int n; (n = mg_read(conn, buffer, sizeof buffer)) > 0;) body.append(buffer, n);
    const char* id = mg_get_header(conn, "webhook-id");
    bool signature_ok = true;
    if (!key_.empty()) signature_ok = Verifies(conn, id, body);
    // Answer first: the sender's worker is waiting for it.
    mg_response_header_start(conn, status_);
    mg_response_header_add(conn, "Content-Length", "0", -1);
    mg_response_header_send(conn);
    const int64_t now = MonotonicNanos();
    received_.fetch_add(1, std::memory_order_relaxed);
    int64_t expected = 0;
    first_ns_.compare_exchange_strong(expected, now, std::memory_order_relaxed);
    int64_t last = last_ns_.load(std::memory_order_relaxed);
    while (last < now && !last_ns_.compare_exchange_weak(last, now, std::memory_order_relaxed)) {
    }
    if (!signature_ok) bad_signatures_.fetch_add(1, std::memory_order_relaxed);
    absl::MutexLock lock(&ids_mu_);
    if (!ids_.insert(id == nullptr ? std::string() : std::string(id)).second) ++duplicates_;
  }

  void Reset() {
    absl::MutexLock lock(&ids_mu_);
    ids_.clear();
    duplicates_ = 0;
    received_ = 0;
    bad_signatures_ = 0;
    first_ns_ = 0;
    last_ns_ = 0;
  }

  std::string StatsJson() {
    int64_t unique = 0;
    int64_t duplicates = 0;
    {
      absl::MutexLock lock(&ids_mu_);
      unique = static_cast<int64_t>(ids_.size());
      duplicates = duplicates_;
    }
    return absl::StrCat(
        "{\"received\": ", received_.load(), ", \"unique\": ", unique,
        ", \"duplicates\": ", duplicates, ", \"bad_signatures\": ", bad_signatures_.load(),
        ", \"first_ns\": ", first_ns_.load(), ", \"last_ns\": ", last_ns_.load(), "}");
  }

 private:
  bool Verifies(mg_connection* conn, const char* id, const std::string& body) const {
    const char* timestamp = mg_get_header(conn, "webhook-timestamp");
    const char* signature = mg_get_header(conn, "webhook-signature");
    if (id == nullptr || timestamp == nullptr || signature == nullptr) return false;
    const std::string content = absl::StrCat(id, ".", timestamp, ".", body);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_length = 0;
    if (HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
             reinterpret_cast<const unsigned char*>(content.data()), content.size(), mac,
             &mac_length) == nullptr) {
      return false;
    }
    const std::string expected = absl::StrCat(
        "v1,", absl::Base64Escape(absl::string_view(reinterpret_cast<char*>(mac), mac_length)));
    // The header may carry several space-separated signatures.
    for (absl::string_view candidate : absl::StrSplit(signature, ' ')) {
      if (candidate == expected) return true;
    }
    return false;
  }

  const int status_;
  const std::string key_;  // decoded secret; empty: no verification
  std::atomic<int64_t> received_{0};
  std::atomic<int64_t> bad_signatures_{0};
  std::atomic<int64_t> first_ns_{0};
  std::atomic<int64_t> last_ns_{0};
  absl::Mutex ids_mu_;
  absl::flat_hash_set<std::string> ids_ ABSL_GUARDED_BY(ids_mu_);
  int64_t duplicates_ ABSL_GUARDED_BY(ids_mu_) = 0;
};

int HandleRequest(mg_connection* conn, void* data) {
  auto* receiver = static_cast<Receiver*>(data);
  const mg_request_info* info = mg_get_request_info(conn);
  if (std::strcmp(info->request_method, "GET") == 0 &&
      std::strcmp(info->local_uri, "/stats") == 0) {
    const std::string json = receiver->StatsJson() + "\n";
    mg_send_http_ok(conn, "application/json", static_cast<long long>(json.size()));
    mg_write(conn, json.data(), json.size());
    return 200;
  }
  if (std::strcmp(info->request_method, "POST") == 0 &&
      std::strcmp(info->local_uri, "/reset") == 0) {
    receiver->Reset();
    mg_send_http_ok(conn, "text/plain", 0);
    return 200;
  }
  if (std::strcmp(info->request_method, "POST") != 0) {
    mg_send_http_error(conn, 405, "POST deliveries, GET /stats");
    return 405;
  }
  receiver->OnPost(conn);
  return 200;
}

int Fail(const std::string& message) {
  std::cerr << "cxp_webhook_receiver: " << message << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "local webhook endpoint that counts deliveries (bench/notify/webhook_receiver.cc)");
  absl::ParseCommandLine(argc, argv);
  std::string key;
  if (const std::string path = absl::GetFlag(FLAGS_secret_file); !path.empty()) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) return Fail(absl::StrCat("cannot read --secret_file ", path));
    const std::string secret(absl::StripAsciiWhitespace(text.str()));
    if (!absl::StartsWith(secret, "whsec_") ||
        !absl::Base64Unescape(absl::string_view(secret).substr(6), &key) || key.empty()) {
      return Fail("--secret_file: want whsec_<base64>");
    }
  }
  const int status = absl::GetFlag(FLAGS_status);
  if (status < 100 || status > 599) return Fail("--status: want 100 to 599");

  // Signals are taken by sigwait below, on this thread only.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  mg_init_library(0);
  const std::string listen = absl::GetFlag(FLAGS_listen);
  const std::string threads = absl::StrCat(absl::GetFlag(FLAGS_threads));
  const char* options[] = {"listening_ports",
                           listen.c_str(),
                           "num_threads",
                           threads.c_str(),
                           "enable_keep_alive",
                           "yes",
                           "keep_alive_timeout_ms",
                           "60000",
                           "request_timeout_ms",
                           "60000",
                           "tcp_nodelay",
                           "1",
                           "listen_backlog",
                           "1024",
                           nullptr};
  Receiver receiver(status, key);
  mg_callbacks callbacks{};
  mg_context* ctx = mg_start(&callbacks, nullptr, options);
  if (ctx == nullptr) return Fail(absl::StrCat("cannot listen on ", listen));
  mg_set_request_handler(ctx, "/", HandleRequest, &receiver);
  std::cerr << "{\"msg\":\"serving\",\"listen\":\"" << listen << "\",\"threads\":" << threads
            << ",\"verify\":" << (key.empty() ? "false" : "true") << "}" << std::endl;

  int signal = 0;
  sigwait(&signals, &signal);
  mg_stop(ctx);
  std::cout << receiver.StatsJson() << std::endl;
  mg_exit_library();
  return 0;
}
