// Real local servers for the delivery tests, run with /usr/bin/python3 as
// child processes (cxp::testing::ServerProcess, killed by its destructor):
// smtp_test_server.py (aiosmtpd) and http_test_receiver.py (http.server).
// See those scripts for what they record and how they fail on demand.
//
// Threading: not thread-safe; one test thread uses them.

#ifndef CXP_TESTS_NOTIFY_SERVICE_DELIVERY_TEST_SERVERS_H_
#define CXP_TESTS_NOTIFY_SERVICE_DELIVERY_TEST_SERVERS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/struct.pb.h"
#include "tests/testing/server_process.h"

namespace cxp::notify::delivery::testing {

struct SmtpServerOptions {
  std::string user;  // AUTH required when set
  std::string password;
  std::string tls_cert_file;  // STARTTLS offered and required when set
  std::string tls_key_file;
};

// aiosmtpd storing mail under `mail_dir`.
absl::StatusOr<cxp::testing::ServerProcess> StartSmtpServer(const std::string& mail_dir,
                                                            const SmtpServerOptions& options = {});

// A self-signed certificate for 127.0.0.1 and localhost, made by the openssl
// command line into `dir` as cert.pem and key.pem; false if that failed.
bool MakeSelfSignedCertificate(const std::string& dir);

// HTTP receiver appending one JSON line per request to `record_file`,
// verifying Standard Webhooks signatures with `webhook_secret` when set.
absl::StatusOr<cxp::testing::ServerProcess> StartHttpReceiver(
    const std::string& record_file, const std::string& webhook_secret = "");

// A loopback port nothing listens on (bound, then closed).
int UnusedLoopbackPort();

// A JSON object document.
absl::StatusOr<google::protobuf::Struct> ParseJsonObject(const std::string& json);
// Every line of a JSON-lines file (empty when the file does not exist).
std::vector<google::protobuf::Struct> ReadJsonLines(const std::string& path);
std::string ReadFile(const std::string& path);

// The string at a dotted path ("headers.webhook-id"), "" when absent.
std::string StringAt(const google::protobuf::Struct& document, const std::string& dotted_path);
// The bool at a dotted path, false when absent.
bool BoolAt(const google::protobuf::Struct& document, const std::string& dotted_path);

}  // namespace cxp::notify::delivery::testing

#endif  // CXP_TESTS_NOTIFY_SERVICE_DELIVERY_TEST_SERVERS_H_
