#include "common/server/listen_address.h"

#include "gtest/gtest.h"

namespace cxp::server {
namespace {

TEST(ListenAddressTest, ParsesAndClassifiesLoopback) {
  struct Case {
    const char* address;
    const char* host;
    int port;
    bool loopback;
  } cases[] = {
      {"127.0.0.1:50051", "127.0.0.1", 50051, true},
      {"127.1.2.3:0", "127.1.2.3", 0, true},
      {"localhost:80", "localhost", 80, true},
      {"[::1]:50051", "::1", 50051, true},
      {"0.0.0.0:50051", "0.0.0.0", 50051, false},
      {"[::]:50051", "::", 50051, false},
      {"10.0.0.5:1", "10.0.0.5", 1, false},
      {"example.com:443", "example.com", 443, false},
  };
  for (const Case& c : cases) {
    auto parsed = ParseListenAddress("listen", c.address);
    ASSERT_TRUE(parsed.ok()) << c.address << ": " << parsed.status();
    EXPECT_EQ(parsed->host, c.host);
    EXPECT_EQ(parsed->port, c.port);
    EXPECT_EQ(parsed->is_loopback, c.loopback) << c.address;
  }
}

TEST(ListenAddressTest, RejectsMalformedNamingTheFlag) {
  for (const char* bad : {"", "50051", ":50051", "host:", "host:abc", "host:70000", "[::1:5"}) {
    auto parsed = ParseListenAddress("metrics_listen", bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(parsed.status().message().substr(0, 15), "metrics_listen:");
  }
}

}  // namespace
}  // namespace cxp::server
