#include "tests/common/server/test_service.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/server/unary_call.h"

namespace cxp::testing {

using cxp::server::CallContext;
using cxp::server::HandleUnary;

grpc::ServerUnaryReactor* TestServiceImpl::WhoAmI(grpc::CallbackServerContext* context,
                                                  const v1::WhoAmIRequest*,
                                                  v1::WhoAmIResponse* response) {
  return HandleUnary(context, pool_, [response](const CallContext& call) {
    response->set_tenant(call.tenant);
    response->set_request_id(call.request_id);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* TestServiceImpl::PutValue(grpc::CallbackServerContext* context,
                                                    const v1::PutValueRequest* request,
                                                    v1::PutValueResponse*) {
  return HandleUnary(context, pool_, [this, request](const CallContext& call) {
    absl::MutexLock lock(&mu_);
    values_[{call.tenant, request->key()}] = request->value();
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* TestServiceImpl::GetValue(grpc::CallbackServerContext* context,
                                                    const v1::GetValueRequest* request,
                                                    v1::GetValueResponse* response) {
  return HandleUnary(context, pool_, [this, request, response](const CallContext& call) {
    absl::MutexLock lock(&mu_);
    auto it = values_.find(std::make_pair(call.tenant, request->key()));
    if (it == values_.end()) {
      return absl::NotFoundError(absl::StrCat("key '", request->key(), "' not found"));
    }
    response->set_value(it->second);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* TestServiceImpl::Sleep(grpc::CallbackServerContext* context,
                                                 const v1::SleepRequest* request,
                                                 v1::SleepResponse*) {
  return HandleUnary(context, pool_, [request](const CallContext&) {
    absl::SleepFor(absl::Milliseconds(request->milliseconds()));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* TestServiceImpl::Flaky(grpc::CallbackServerContext* context,
                                                 const v1::FlakyRequest* request,
                                                 v1::FlakyResponse* response) {
  return HandleUnary(context, pool_, [this, request, response](const CallContext&) {
    absl::MutexLock lock(&mu_);
    const int attempts = ++flaky_attempts_[request->key()];
    response->set_attempts(attempts);
    if (attempts <= request->failures()) return absl::UnavailableError("flaky: try again");
    return absl::OkStatus();
  });
}

}  // namespace cxp::testing
