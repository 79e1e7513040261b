#include "common/server/json_log.h"

#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace cxp::server {

void AppendJsonString(absl::string_view value, std::string& out) {
  out.push_back('"');
  for (unsigned char c : value) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", c);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

JsonLine::JsonLine(absl::Time ts, absl::string_view level) {
  out_.reserve(256);
  out_ = "{\"ts\":\"";
  out_ += absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", ts, absl::UTCTimeZone());
  out_ += "\"";
  Add("level", level);
}

void JsonLine::Key(absl::string_view key) {
  out_.push_back(',');
  AppendJsonString(key, out_);
  out_.push_back(':');
}

JsonLine& JsonLine::Add(absl::string_view key, absl::string_view value) {
  Key(key);
  AppendJsonString(value, out_);
  return *this;
}

JsonLine& JsonLine::Add(absl::string_view key, int64_t value) {
  Key(key);
  absl::StrAppend(&out_, value);
  return *this;
}

JsonLine& JsonLine::Add(absl::string_view key, double value) {
  Key(key);
  absl::StrAppendFormat(&out_, "%.3f", value);
  return *this;
}

std::string JsonLine::Finish() {
  out_ += "}\n";
  return std::move(out_);
}

void JsonLine::Emit(LogStream stream) {
  const std::string line = Finish();
  const int fd = stream == LogStream::kStdout ? STDOUT_FILENO : STDERR_FILENO;
  size_t written = 0;
  while (written < line.size()) {
    const ssize_t n = ::write(fd, line.data() + written, line.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // A closed log pipe must not take the server down.
    written += static_cast<size_t>(n);
  }
}

void LogEvent(absl::string_view level, absl::string_view service, absl::string_view message) {
  JsonLine(absl::Now(), level).Add("service", service).Add("msg", message).Emit(LogStream::kStderr);
}

}  // namespace cxp::server
