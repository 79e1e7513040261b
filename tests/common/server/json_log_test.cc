#include "common/server/json_log.h"

#include "gtest/gtest.h"

namespace cxp::server {
namespace {

TEST(JsonLogTest, EscapesStrings) {
  std::string out;
  AppendJsonString("a\"b\\c\nd\te\x01 한글", out);
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\nd\\te\\u0001 한글\"");
}

TEST(JsonLogTest, BuildsOneObjectPerLine) {
  JsonLine line(absl::FromUnixMicros(1700000000123456), "info");
  line.Add("service", "context_service").Add("grpc_code", "OK").Add("latency_ms", 1.23456);
  line.Add("count", int64_t{7});
  EXPECT_EQ(line.Finish(),
            "{\"ts\":\"2023-11-14T22:13:20.123456Z\",\"level\":\"info\","
            "\"service\":\"context_service\",\"grpc_code\":\"OK\",\"latency_ms\":1.235,"
            "\"count\":7}\n");
}

}  // namespace
}  // namespace cxp::server
