// UnsubscribeServer — notify_service's HTTP listener (civetweb) for the
// one-click unsubscribe links (RFC 8058) in marketing email
// (notify_service/core/unsubscribe_token.h):
//
//   POST /unsubscribe?t=TOKEN   from the mail client (body
//        "List-Unsubscribe=One-Click") or the confirmation page's form:
//        sets consent DENIED for the token's purpose (MARKETING) on its
//        channel (EMAIL) in context_service, for the token's customer (or
//        the customer of its email address, created when none has it, so
//        the opt-out is kept):
//          200  a small HTML page; again on a repeated POST (idempotent)
//          400  no token, or a malformed, edited or foreign one: nothing
//               changes
//          410  the customer no longer exists
//          503  context_service failed or did not answer in time (the
//               mail client may retry)
//   GET /unsubscribe?t=TOKEN    an HTML page with a button (a form that
//        POSTs to the same link); changes nothing: mail scanners and link
//        previews fetch links in mail, and must not unsubscribe anyone.
//        400 for a bad token, as for POST.
//   other methods on /unsubscribe: 405; other paths: 404.
//
// Pages are sent with Cache-Control: no-store and Referrer-Policy:
// no-referrer (the link is the credential). Every outcome is logged
// through cxp::server::LogEvent without the email address.
//
// Threading: requests run on civetweb's own threads (`threads` of them).
// Each blocks while the gateway calls context_service; those calls have
// the gateway's write deadline (each), and the wait is bounded by
// `wait_timeout` on top, so a slow context_service ties up a handler
// thread for a bounded time and never a gRPC thread. Start and Stop are
// called from one thread. Ownership: `links` and `gateway` must outlive
// the server; Stop (or the destructor) waits for requests in flight.

#ifndef CXP_NOTIFY_SERVICE_UNSUBSCRIBE_UNSUBSCRIBE_SERVER_H_
#define CXP_NOTIFY_SERVICE_UNSUBSCRIBE_UNSUBSCRIBE_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "notify_service/context_gateway.h"
#include "notify_service/core/unsubscribe_token.h"

struct mg_context;
struct mg_connection;

namespace cxp::notify {

struct UnsubscribeServerOptions {
  // civetweb listening address: "127.0.0.1:8083", "0.0.0.0:8083", port "0"
  // picks a free one.
  std::string listen_address;
  int threads = 4;
  // Longest wait for context_service per request (its calls have their
  // own deadlines; this only bounds the wait on top).
  absl::Duration wait_timeout = absl::Seconds(10);
};

// One response: the status code and an HTML page.
struct UnsubscribePage {
  int status = 200;
  std::string html;
};

class UnsubscribeServer {
 public:
  // Listening when it returns. UNAVAILABLE when the address cannot be
  // bound, INVALID_ARGUMENT for an empty address or bad thread count.
  static absl::StatusOr<std::unique_ptr<UnsubscribeServer>> Start(UnsubscribeServerOptions options,
                                                                  const UnsubscribeLinks& links,
                                                                  const ContextGateway& gateway);
  ~UnsubscribeServer();
  UnsubscribeServer(const UnsubscribeServer&) = delete;
  UnsubscribeServer& operator=(const UnsubscribeServer&) = delete;

  // Stops listening and waits for requests in flight. Idempotent.
  void Stop();

  int port() const { return port_; }

  // What a request of `method` with `query` (the raw query string) gets;
  // blocks for context_service on POST. Exposed for the HTTP handler.
  UnsubscribePage Handle(absl::string_view method, absl::string_view query) const;

 private:
  UnsubscribeServer(UnsubscribeServerOptions options, const UnsubscribeLinks& links,
                    const ContextGateway& gateway)
      : options_(std::move(options)), links_(links), gateway_(gateway) {}

  static int HandleRequest(mg_connection* connection, void* self);
  // Sets the claim's consent in context_service and waits for the answer.
  absl::Status Unsubscribe(const UnsubscribeClaim& claim) const;

  const UnsubscribeServerOptions options_;
  const UnsubscribeLinks& links_;
  const ContextGateway& gateway_;
  mg_context* context_ = nullptr;
  int port_ = 0;
};

}  // namespace cxp::notify

#endif  // CXP_NOTIFY_SERVICE_UNSUBSCRIBE_UNSUBSCRIBE_SERVER_H_
