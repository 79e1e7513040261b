#include "bench/loadgen/report.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/server/json_log.h"

namespace cxp::bench {
namespace {

double Ms(int64_t ns) { return static_cast<double>(ns) / 1e6; }

std::string JsonString(const std::string& s) {
  std::string out;
  cxp::server::AppendJsonString(s, out);
  return out;
}

struct Quantile {
  const char* label;  // text report
  const char* key;    // JSON key
  double q;
};
constexpr Quantile kQuantiles[] = {
    {"p50", "p50", 0.50}, {"p90", "p90", 0.90}, {"p99", "p99", 0.99}, {"p99.9", "p999", 0.999}};

}  // namespace

std::string FormatTextReport(const RunDescription& run, const LoadResult& result) {
  const LoadOptions& o = run.options;
  const LatencyHistogram& h = result.latency_ns;
  std::string out = "\nSummary:\n";
  absl::StrAppendFormat(&out, "  Target:       %s\n", o.target);
  absl::StrAppendFormat(&out, "  Method:       %s%s\n", o.method,
                        run.scenario.empty() ? "" : absl::StrCat(" (scenario ", run.scenario, ")"));
  absl::StrAppendFormat(&out, "  Concurrency:  %d calls over %d connections, %d driver thread%s\n",
                        o.concurrency, o.connections, o.threads, o.threads == 1 ? "" : "s");
  absl::StrAppendFormat(&out, "  Count:        %d\n", result.count);
  absl::StrAppendFormat(&out, "  Total:        %.2f s (after %.2f s warm-up)\n",
                        absl::ToDoubleSeconds(result.measured), absl::ToDoubleSeconds(o.warmup));
  absl::StrAppendFormat(&out, "  Slowest:      %.3f ms\n", Ms(h.max()));
  absl::StrAppendFormat(&out, "  Fastest:      %.3f ms\n", Ms(h.min()));
  absl::StrAppendFormat(&out, "  Average:      %.3f ms\n", h.mean() / 1e6);
  absl::StrAppendFormat(&out, "  Requests/sec: %.1f\n", result.requests_per_second());
  out += "\nLatency distribution:\n";
  for (const Quantile& q : kQuantiles) {
    absl::StrAppendFormat(&out, "  %-6s %.3f ms\n", q.label, Ms(h.ValueAtQuantile(q.q)));
  }
  out += "\nStatus code distribution:\n";
  for (int c = 0; c < kNumStatusCodes; ++c) {
    if (result.status_counts[c] == 0) continue;
    absl::StrAppendFormat(&out, "  [%s]%*s%d responses\n", StatusCodeName(c),
                          static_cast<int>(22 - std::string(StatusCodeName(c)).size()), "",
                          result.status_counts[c]);
  }
  if (result.count == 0) out += "  (no calls completed)\n";
  if (!result.error_samples.empty()) {
    out += "\nError distribution (first message per code):\n";
    for (const auto& [code, message] : result.error_samples) {
      absl::StrAppendFormat(&out, "  [%d] %s: %s\n", result.status_counts[code],
                            StatusCodeName(code), message);
    }
  }
  return out;
}

std::string FormatJsonReport(const RunDescription& run, const LoadResult& result) {
  const LoadOptions& o = run.options;
  const LatencyHistogram& h = result.latency_ns;
  std::string out = "{\n";
  absl::StrAppendFormat(&out, "  \"date\": %s,\n",
                        JsonString(absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(),
                                                    absl::UTCTimeZone())));
  absl::StrAppendFormat(&out, "  \"target\": %s,\n", JsonString(o.target));
  absl::StrAppendFormat(&out, "  \"method\": %s,\n", JsonString(o.method));
  absl::StrAppendFormat(&out, "  \"scenario\": %s,\n", JsonString(run.scenario));
  absl::StrAppendFormat(&out, "  \"concurrency\": %d,\n", o.concurrency);
  absl::StrAppendFormat(&out, "  \"connections\": %d,\n", o.connections);
  absl::StrAppendFormat(&out, "  \"threads\": %d,\n", o.threads);
  absl::StrAppendFormat(&out, "  \"warmup_s\": %.3f,\n", absl::ToDoubleSeconds(o.warmup));
  absl::StrAppendFormat(&out, "  \"duration_s\": %.3f,\n", absl::ToDoubleSeconds(result.measured));
  absl::StrAppendFormat(&out, "  \"count\": %d,\n", result.count);
  absl::StrAppendFormat(&out, "  \"ok_count\": %d,\n", result.ok_count());
  absl::StrAppendFormat(&out, "  \"error_count\": %d,\n", result.error_count());
  absl::StrAppendFormat(&out, "  \"rps\": %.2f,\n", result.requests_per_second());
  out += "  \"latency_ms\": {\n";
  absl::StrAppendFormat(&out, "    \"min\": %.4f,\n", Ms(h.min()));
  absl::StrAppendFormat(&out, "    \"mean\": %.4f,\n", h.mean() / 1e6);
  for (const Quantile& q : kQuantiles) {
    absl::StrAppendFormat(&out, "    \"%s\": %.4f,\n", q.key, Ms(h.ValueAtQuantile(q.q)));
  }
  absl::StrAppendFormat(&out, "    \"max\": %.4f\n", Ms(h.max()));
  out += "  },\n";
  out += "  \"status_codes\": {";
  bool first = true;
  for (int c = 0; c < kNumStatusCodes; ++c) {
    if (result.status_counts[c] == 0) continue;
    absl::StrAppendFormat(&out, "%s\n    \"%s\": %d", first ? "" : ",", StatusCodeName(c),
                          result.status_counts[c]);
    first = false;
  }
  out += first ? "},\n" : "\n  },\n";
  out += "  \"error_samples\": {";
  first = true;
  for (const auto& [code, message] : result.error_samples) {
    absl::StrAppendFormat(&out, "%s\n    \"%s\": %s", first ? "" : ",", StatusCodeName(code),
                          JsonString(message));
    first = false;
  }
  out += first ? "}\n" : "\n  }\n";
  out += "}\n";
  return out;
}

}  // namespace cxp::bench
