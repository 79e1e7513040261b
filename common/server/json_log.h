// JSON log lines: one object per line, for Kubernetes log collectors.
//
// JsonLine builds one object; Emit() writes it with a single write(2) so
// lines from concurrent threads never interleave. LogEvent() is the helper
// for process-level events (start, drain, errors).
//
// Threading: a JsonLine is single-threaded; Emit/LogEvent are thread-safe.

#ifndef CXP_COMMON_SERVER_JSON_LOG_H_
#define CXP_COMMON_SERVER_JSON_LOG_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace cxp::server {

enum class LogStream { kStdout, kStderr };

class JsonLine {
 public:
  // Starts the object with "ts" (RFC 3339, microseconds, UTC) and "level".
  JsonLine(absl::Time ts, absl::string_view level);

  JsonLine& Add(absl::string_view key, absl::string_view value);
  JsonLine& Add(absl::string_view key, const char* value) {
    return Add(key, absl::string_view(value));
  }
  JsonLine& Add(absl::string_view key, int64_t value);
  JsonLine& Add(absl::string_view key, double value);

  // The finished line, newline included.
  std::string Finish();
  void Emit(LogStream stream = LogStream::kStdout);

 private:
  void Key(absl::string_view key);
  std::string out_;
};

// Appends `value` to `out` as a JSON string literal, quotes included.
void AppendJsonString(absl::string_view value, std::string& out);

// {"ts":..., "level":..., "service":..., "msg":...} on stderr.
void LogEvent(absl::string_view level, absl::string_view service, absl::string_view message);

}  // namespace cxp::server

#endif  // CXP_COMMON_SERVER_JSON_LOG_H_
