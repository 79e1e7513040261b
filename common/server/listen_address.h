// Listen-address parsing: "host:port", "[v6]:port", with port 0 allowed.
//
// Errors: INVALID_ARGUMENT naming the flag for a malformed address.

#ifndef CXP_COMMON_SERVER_LISTEN_ADDRESS_H_
#define CXP_COMMON_SERVER_LISTEN_ADDRESS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cxp::server {

struct ListenAddress {
  std::string host;  // without brackets
  int port = 0;
  bool is_loopback = false;  // 127.0.0.0/8, ::1 or localhost
  std::string grpc_target;   // what grpc::ServerBuilder::AddListeningPort takes
};

absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view flag, absl::string_view address);

}  // namespace cxp::server

#endif  // CXP_COMMON_SERVER_LISTEN_ADDRESS_H_
