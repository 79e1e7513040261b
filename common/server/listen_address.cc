#include "common/server/listen_address.h"

#include <arpa/inet.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace cxp::server {

absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view flag,
                                                 absl::string_view address) {
  auto invalid = [&](absl::string_view problem) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": '", address, "' ", problem, " (expected host:port)"));
  };
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) return invalid("has no host or port");
  ListenAddress parsed;
  absl::string_view host = address.substr(0, colon);
  if (absl::StartsWith(host, "[")) {
    if (!absl::EndsWith(host, "]")) return invalid("has an unclosed '['");
    host = host.substr(1, host.size() - 2);
  }
  parsed.host = std::string(host);
  if (!absl::SimpleAtoi(address.substr(colon + 1), &parsed.port) || parsed.port < 0 ||
      parsed.port > 65535) {
    return invalid("has an invalid port");
  }
  in_addr v4;
  in6_addr v6;
  if (parsed.host == "localhost") {
    parsed.is_loopback = true;
  } else if (inet_pton(AF_INET, parsed.host.c_str(), &v4) == 1) {
    parsed.is_loopback = (ntohl(v4.s_addr) >> 24) == 127;
  } else if (inet_pton(AF_INET6, parsed.host.c_str(), &v6) == 1) {
    parsed.is_loopback = IN6_IS_ADDR_LOOPBACK(&v6);
  }
  parsed.grpc_target = std::string(address);
  return parsed;
}

}  // namespace cxp::server
