#include "notify_service/unsubscribe/unsubscribe_server.h"

#include <civetweb.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/server/json_log.h"
#include "cxp/context/v1/consent.pb.h"
#include "google/protobuf/util/time_util.h"
#include "notify_service/core/channel_plan.h"

namespace cxp::notify {
namespace {

namespace ctx = ::cxp::context::v1;
namespace type = ::cxp::type::v1;
using google::protobuf::util::TimeUtil;

// ConsentEvidence.source of a consent change made by an unsubscribe link.
constexpr char kEvidenceSource[] = "unsubscribe_link";
constexpr char kPath[] = "/unsubscribe";
// Longest request body read (and dropped): the one-click body is 26 bytes.
constexpr size_t kMaxBody = 8192;

std::string Page(absl::string_view title, absl::string_view body) {
  return absl::StrCat(
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width\">"
      "<title>",
      title, "</title></head>\n<body><h1>", title, "</h1>\n", body, "\n</body></html>\n");
}

UnsubscribePage BadLink() {
  return {400, Page("Invalid unsubscribe link",
                    "<p>This link is not valid. Copy the whole link from the email, or use the "
                    "unsubscribe link of a newer email.</p>")};
}

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 405:
      return "Method Not Allowed";
    case 410:
      return "Gone";
    default:
      return "Service Unavailable";
  }
}

// "customers/kim" or "an email address" (no addresses in logs).
std::string Subject(const UnsubscribeClaim& claim) {
  return claim.customer.empty() ? "the customer of an email address" : claim.customer;
}

// The shared state of one wait: the handler thread may give up before the
// gateway answers.
struct Outcome {
  absl::Notification done;
  absl::Status status;
};

}  // namespace

absl::StatusOr<std::unique_ptr<UnsubscribeServer>> UnsubscribeServer::Start(
    UnsubscribeServerOptions options, const UnsubscribeLinks& links,
    const ContextGateway& gateway) {
  if (options.listen_address.empty()) {
    return absl::InvalidArgumentError("unsubscribe_listen: must be host:port");
  }
  if (options.threads < 1 || options.threads > 256) {
    return absl::InvalidArgumentError("unsubscribe threads: must be 1-256");
  }
  static std::once_flag library_init;
  std::call_once(library_init, [] { mg_init_library(0); });

  std::unique_ptr<UnsubscribeServer> server(
      new UnsubscribeServer(std::move(options), links, gateway));
  const std::string threads = absl::StrCat(server->options_.threads);
  const char* config[] = {"listening_ports",
                          server->options_.listen_address.c_str(),
                          "num_threads",
                          threads.c_str(),
                          "request_timeout_ms",
                          "10000",
                          "enable_keep_alive",
                          "no",
                          nullptr};
  mg_callbacks callbacks;
  std::memset(&callbacks, 0, sizeof(callbacks));
  // civetweb's own messages (bind failures, ...) go to the service log.
  callbacks.log_message = [](const mg_connection*, const char* message) {
    cxp::server::LogEvent("warning", "notify_service", absl::StrCat("unsubscribe: ", message));
    return 1;
  };
  mg_init_data init{&callbacks, server.get(), config};
  char error_text[256] = {};
  unsigned error_code = 0;
  mg_error_data error{&error_code, error_text, sizeof(error_text)};
  server->context_ = mg_start2(&init, &error);
  if (server->context_ == nullptr) {
    return absl::UnavailableError(absl::StrCat("unsubscribe_listen: cannot listen on ",
                                               server->options_.listen_address, ": ", error_text));
  }
  mg_server_port ports[4] = {};
  if (mg_get_server_ports(server->context_, 4, ports) > 0) server->port_ = ports[0].port;
  mg_set_request_handler(server->context_, kPath, &UnsubscribeServer::HandleRequest, server.get());
  return server;
}

UnsubscribeServer::~UnsubscribeServer() { Stop(); }

void UnsubscribeServer::Stop() {
  if (context_ != nullptr) {
    mg_stop(context_);  // joins civetweb's threads: requests in flight finish
    context_ = nullptr;
  }
}

int UnsubscribeServer::HandleRequest(mg_connection* connection, void* self) {
  const mg_request_info* request = mg_get_request_info(connection);
  const char* uri = request->local_uri;
  // The handler is registered for the prefix; "/unsubscribe/x" is no link.
  if (uri == nullptr || std::strcmp(uri, kPath) != 0) return 0;  // civetweb's 404
  const absl::string_view method = request->request_method;
  // The body (the one-click marker) carries nothing we need: the token is
  // the authority. Read it so the connection stays well-formed.
  if (method == "POST") {
    char buffer[1024];
    size_t total = 0;
    int got = 0;
    while (total < kMaxBody && (got = mg_read(connection, buffer, sizeof(buffer))) > 0) {
      total += static_cast<size_t>(got);
    }
  }
  const UnsubscribePage page = static_cast<const UnsubscribeServer*>(self)->Handle(
      method, request->query_string != nullptr ? request->query_string : "");
  mg_printf(connection,
            "HTTP/1.1 %d %s\r\n"
            "Content-Type: text/html; charset=utf-8\r\n"
            "Content-Length: %zu\r\n"
            "Cache-Control: no-store\r\n"
            "Referrer-Policy: no-referrer\r\n"
            "X-Content-Type-Options: nosniff\r\n"
            "%s"
            "Connection: close\r\n\r\n",
            page.status, Reason(page.status), page.html.size(),
            page.status == 405 ? "Allow: GET, POST\r\n" : "");
  if (method != "HEAD") mg_write(connection, page.html.data(), page.html.size());
  return page.status;
}

UnsubscribePage UnsubscribeServer::Handle(absl::string_view method, absl::string_view query) const {
  if (method != "GET" && method != "POST" && method != "HEAD") {
    return {405, Page("Method not allowed", "<p>Open the link in a browser.</p>")};
  }
  // mg_get_var URL-decodes; -1: no t, -2: longer than any token.
  std::vector<char> token(UnsubscribeLinks::kMaxTokenLength + 1);
  const std::string query_text(query);
  const int length =
      mg_get_var(query_text.data(), query_text.size(), "t", token.data(), token.size());
  if (length <= 0) return BadLink();
  absl::StatusOr<UnsubscribeClaim> claim =
      links_.Verify(absl::string_view(token.data(), static_cast<size_t>(length)));
  if (!claim.ok()) {
    cxp::server::LogEvent("info", "notify_service",
                          absl::StrCat("unsubscribe: refused link: ", claim.status().ToString()));
    return BadLink();
  }
  if (method != "POST") {
    // Mail scanners and link previews fetch links in mail: a GET must not
    // unsubscribe anyone. The form posts to this very URL (no action).
    return {200, Page("Unsubscribe",
                      "<p>Stop receiving marketing email from us?</p>\n"
                      "<form method=\"post\">"
                      "<input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">"
                      "<button type=\"submit\">Unsubscribe</button></form>")};
  }
  const absl::Status status = Unsubscribe(*claim);
  const std::string what = absl::StrCat(
      Subject(*claim), " from ", type::Purpose_Name(claim->purpose), " on ",
      ChannelLabel(claim->channel), " (tenant ", claim->tenant, ", ", claim->notification, ")");
  if (status.ok()) {
    cxp::server::LogEvent("info", "notify_service", absl::StrCat("unsubscribed ", what));
    return {200, Page("You are unsubscribed",
                      "<p>You will no longer receive marketing email from us. Messages you "
                      "need, such as receipts and security alerts, still reach you.</p>")};
  }
  cxp::server::LogEvent("warning", "notify_service",
                        absl::StrCat("unsubscribe of ", what, " failed: ", status.ToString()));
  if (absl::IsNotFound(status)) {
    return {410, Page("Nothing to unsubscribe", "<p>We no longer have this address on file.</p>")};
  }
  return {503, Page("Please try again",
                    "<p>We could not unsubscribe you just now. Please try again in a few "
                    "minutes.</p>")};
}

absl::Status UnsubscribeServer::Unsubscribe(const UnsubscribeClaim& claim) const {
  ctx::ConsentEntry entry;
  entry.set_channel(claim.channel);
  entry.set_purpose(claim.purpose);
  entry.set_state(ctx::CONSENT_STATE_DENIED);
  entry.mutable_evidence()->set_source(kEvidenceSource);
  *entry.mutable_evidence()->mutable_capture_time() =
      TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(absl::Now()));
  entry.mutable_evidence()->set_text(
      absl::StrCat("one-click unsubscribe link of ", claim.notification));

  auto outcome = std::make_shared<Outcome>();
  auto finish = [outcome](absl::Status status) {
    outcome->status = std::move(status);
    outcome->done.Notify();
  };
  if (!claim.customer.empty()) {
    gateway_.ApplyConsent(claim.tenant, claim.customer, {entry}, std::move(finish));
  } else {
    type::Identity identity;
    identity.set_kind(type::IDENTITY_KIND_EMAIL);
    identity.set_value(claim.email);
    const ContextGateway* gateway = &gateway_;
    gateway_.ResolveSender(claim.tenant, identity, /*create_if_missing=*/true, "t",
                           [gateway, tenant = claim.tenant, entry, finish = std::move(finish)](
                               absl::StatusOr<std::string> customer) mutable {
                             if (!customer.ok()) {
                               finish(customer.status());
                               return;
                             }
                             gateway->ApplyConsent(tenant, *customer, {entry}, std::move(finish));
                           });
  }
  // The gateway's calls have deadlines, so `done` comes; this bounds the
  // wait regardless.
  if (!outcome->done.WaitForNotificationWithTimeout(options_.wait_timeout)) {
    return absl::DeadlineExceededError("context_service did not answer in time");
  }
  return outcome->status;
}

}  // namespace cxp::notify
