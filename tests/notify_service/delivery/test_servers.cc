#include "tests/notify_service/delivery/test_servers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/json_util.h"

namespace cxp::notify::delivery::testing {
namespace {

constexpr char kPython[] = "/usr/bin/python3";

std::string ScriptPath(const std::string& name) {
  return cxp::testing::SourcePath("tests/notify_service/delivery/" + name);
}

const google::protobuf::Value* ValueAt(const google::protobuf::Struct& document,
                                       const std::string& dotted_path) {
  const google::protobuf::Struct* current = &document;
  const google::protobuf::Value* value = nullptr;
  for (absl::string_view step : absl::StrSplit(dotted_path, '.')) {
    if (current == nullptr) return nullptr;
    auto it = current->fields().find(std::string(step));
    if (it == current->fields().end()) return nullptr;
    value = &it->second;
    current = value->has_struct_value() ? &value->struct_value() : nullptr;
  }
  return value;
}

}  // namespace

absl::StatusOr<cxp::testing::ServerProcess> StartSmtpServer(const std::string& mail_dir,
                                                            const SmtpServerOptions& options) {
  std::vector<std::string> flags = {ScriptPath("smtp_test_server.py"), "--mail_dir=" + mail_dir};
  if (!options.user.empty()) {
    flags.push_back("--user=" + options.user);
    flags.push_back("--password=" + options.password);
  }
  if (!options.tls_cert_file.empty()) {
    flags.push_back("--tls_cert=" + options.tls_cert_file);
    flags.push_back("--tls_key=" + options.tls_key_file);
  }
  return cxp::testing::ServerProcess::Start(kPython, flags, absl::Seconds(20));
}

absl::StatusOr<cxp::testing::ServerProcess> StartHttpReceiver(const std::string& record_file,
                                                              const std::string& webhook_secret) {
  std::vector<std::string> flags = {ScriptPath("http_test_receiver.py"),
                                    "--record_file=" + record_file};
  if (!webhook_secret.empty()) flags.push_back("--webhook_secret=" + webhook_secret);
  return cxp::testing::ServerProcess::Start(kPython, flags, absl::Seconds(20));
}

bool MakeSelfSignedCertificate(const std::string& dir) {
  const std::string command =
      absl::StrCat("cd '", dir,
                   "' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1"
                   " -nodes -keyout key.pem -out cert.pem",
                   " -days 2 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost",
                   " >openssl.log 2>&1");
  return std::system(command.c_str()) == 0;
}

int UnusedLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

absl::StatusOr<google::protobuf::Struct> ParseJsonObject(const std::string& json) {
  google::protobuf::Struct document;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &document);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("bad JSON: ", status.ToString(), ": ", json));
  }
  return document;
}

std::vector<google::protobuf::Struct> ReadJsonLines(const std::string& path) {
  std::vector<google::protobuf::Struct> documents;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    absl::StatusOr<google::protobuf::Struct> document = ParseJsonObject(line);
    if (document.ok()) documents.push_back(*std::move(document));
  }
  return documents;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

std::string StringAt(const google::protobuf::Struct& document, const std::string& dotted_path) {
  const google::protobuf::Value* value = ValueAt(document, dotted_path);
  return value != nullptr && value->has_string_value() ? value->string_value() : "";
}

bool BoolAt(const google::protobuf::Struct& document, const std::string& dotted_path) {
  const google::protobuf::Value* value = ValueAt(document, dotted_path);
  return value != nullptr && value->has_bool_value() && value->bool_value();
}

}  // namespace cxp::notify::delivery::testing
