// The built-in load-generator scenarios. To add one, append an entry to the
// list below: a name, the full gRPC method, a one-line description and a
// function that builds the requests (FixedRequest for the same message every
// call, GeneratedMessage<T> for a message filled per call from the seeded
// RNG), plus an optional `setup` that prepares data before the warm-up.
// Include the message's generated header and make sure its proto library is
// linked into cxp_loadgen_lib (bench/CMakeLists.txt).

#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "bench/context/dataset.h"
#include "bench/loadgen/scenario.h"
#include "bench/proto/null_service.pb.h"
#include "cxp/context/v1/context_service.pb.h"
#include "cxp/notify/v1/notify_service.grpc.pb.h"
#include "cxp/routing/v1/routing_service.grpc.pb.h"
#include "grpcpp/client_context.h"

namespace cxp::bench {
namespace {

// INVALID_ARGUMENT naming the first parameter not in `known` (typos would
// otherwise silently measure the defaults).
absl::Status CheckParams(const ScenarioParams& params, const std::set<std::string>& known) {
  for (const auto& [key, value] : params.all()) {
    if (known.count(key) == 0) {
      return absl::InvalidArgumentError(absl::StrCat("unknown --scenario_param '", key,
                                                     "'; this scenario takes: ",
                                                     absl::StrJoin(known, ", ")));
    }
  }
  return absl::OkStatus();
}

// The dataset the context scenarios address: customers/<id_prefix><i>, i < customers
// (bench/context/dataset.h; load it with cxp_context_loader).
struct ContextDataset {
  int64_t customers = 0;
  std::string id_prefix;
};

absl::StatusOr<ContextDataset> GetContextDataset(const ScenarioParams& params) {
  ContextDataset dataset;
  absl::StatusOr<int64_t> customers = params.GetInt("customers", 100000);
  if (!customers.ok()) return customers.status();
  if (*customers <= 0) return absl::InvalidArgumentError("--scenario_param customers must be > 0");
  dataset.customers = *customers;
  dataset.id_prefix = params.GetString("id_prefix", "c");
  return dataset;
}

// The queue (and agents) the submit_task scenario submits to: created by its
// setup, reused when they already exist (so rounds against one server add to
// the same queue).
struct SubmitTaskTarget {
  std::string queue_id;
  int64_t agents = 0;
};

absl::StatusOr<SubmitTaskTarget> GetSubmitTaskTarget(const ScenarioParams& params) {
  if (absl::Status s = CheckParams(params, {"queue_id", "agents"}); !s.ok()) return s;
  SubmitTaskTarget target;
  target.queue_id = params.GetString("queue_id", "bench-submit");
  absl::StatusOr<int64_t> agents = params.GetInt("agents", 0);
  if (!agents.ok()) return agents.status();
  if (*agents < 0 || *agents > 10000) {
    return absl::InvalidArgumentError("--scenario_param agents wants 0 to 10000");
  }
  target.agents = *agents;
  return target;
}

// OK, or ALREADY_EXISTS from an earlier run: both leave the resource there.
absl::Status CreatedOrExists(const grpc::Status& status, const std::string& what) {
  if (status.ok() || status.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
    return absl::OkStatus();
  }
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat(what, ": ", status.error_message()));
}

// Creates queues/<queue_id> (voice, longest idle, no max_wait, no business
// hours) and `agents` agents serving it (voice capacity 1, left OFFLINE: no
// desktop session, so none is ever offered a task, but every submit checks
// them all and records them as candidates). Reports how many tasks already
// wait in the queue: they stay in the service's memory until cancelled, so
// every round against one server adds to them.
absl::Status SetUpSubmitTask(const ScenarioEnv& env) {
  absl::StatusOr<SubmitTaskTarget> target = GetSubmitTaskTarget(*env.params);
  if (!target.ok()) return target.status();
  auto stub = cxp::routing::v1::RoutingService::NewStub(env.channel);
  const std::string queue_name = absl::StrCat("queues/", target->queue_id);
  {
    cxp::routing::v1::CreateQueueRequest request;
    request.set_queue_id(target->queue_id);
    request.mutable_queue()->set_display_name("loadgen submit_task");
    cxp::routing::v1::CreateQueueResponse response;
    grpc::ClientContext context;
    env.prepare_context(&context);
    if (absl::Status s = CreatedOrExists(stub->CreateQueue(&context, request, &response),
                                         absl::StrCat("CreateQueue ", queue_name));
        !s.ok()) {
      return s;
    }
  }
  for (int64_t i = 0; i < target->agents; ++i) {
    cxp::routing::v1::CreateAgentRequest request;
    request.set_agent_id(absl::StrCat(target->queue_id, "-agent-", i));
    cxp::routing::v1::Agent& agent = *request.mutable_agent();
    agent.set_display_name(absl::StrCat("loadgen agent ", i));
    agent.add_queues(queue_name);
    cxp::routing::v1::ChannelCapacity& voice = *agent.add_channel_capacities();
    voice.set_channel(cxp::type::v1::CHANNEL_VOICE);
    voice.set_max_tasks(1);
    cxp::routing::v1::CreateAgentResponse response;
    grpc::ClientContext context;
    env.prepare_context(&context);
    if (absl::Status s = CreatedOrExists(stub->CreateAgent(&context, request, &response),
                                         absl::StrCat("CreateAgent ", request.agent_id()));
        !s.ok()) {
      return s;
    }
  }
  cxp::routing::v1::GetQueueStatsRequest request;
  request.set_queue(queue_name);
  cxp::routing::v1::GetQueueStatsResponse response;
  grpc::ClientContext context;
  env.prepare_context(&context);
  const grpc::Status stats = stub->GetQueueStats(&context, request, &response);
  if (!stats.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(stats.error_code()),
                        absl::StrCat("GetQueueStats ", queue_name, ": ", stats.error_message()));
  }
  std::cerr << "cxp_loadgen: submit_task: " << queue_name << " has "
            << response.queue_stats().tasks_waiting() << " tasks waiting (kept in memory) and "
            << target->agents << " offline agents\n";
  return absl::OkStatus();
}

// What the send_notification scenario sends: template templates/<template_id>
// (created by its setup, or reused) to customers/<id_prefix><i>, i <
// customers, or to a chat handle "bench-<i>" (recipient=identity).
struct SendNotificationTarget {
  std::string template_id;
  ContextDataset dataset;
  bool by_identity = false;
};

absl::StatusOr<SendNotificationTarget> GetSendNotificationTarget(const ScenarioParams& params) {
  if (absl::Status s = CheckParams(params, {"template_id", "customers", "id_prefix", "recipient"});
      !s.ok()) {
    return s;
  }
  SendNotificationTarget target;
  target.template_id = params.GetString("template_id", "bench-send");
  absl::StatusOr<ContextDataset> dataset = GetContextDataset(params);
  if (!dataset.ok()) return dataset.status();
  target.dataset = *dataset;
  const std::string recipient = params.GetString("recipient", "customer");
  if (recipient != "customer" && recipient != "identity") {
    return absl::InvalidArgumentError("--scenario_param recipient wants customer or identity");
  }
  target.by_identity = recipient == "identity";
  return target;
}

// Creates templates/<template_id>, or reuses it: one locale with webhook
// content (a JSON payload with two placeholders), the webhook channels'.
absl::Status SetUpSendNotification(const ScenarioEnv& env) {
  absl::StatusOr<SendNotificationTarget> target = GetSendNotificationTarget(*env.params);
  if (!target.ok()) return target.status();
  auto stub = cxp::notify::v1::NotifyService::NewStub(env.channel);
  cxp::notify::v1::CreateTemplateRequest request;
  request.set_template_id(target->template_id);
  cxp::notify::v1::Template& tmpl = *request.mutable_template_();
  tmpl.set_display_name("loadgen send_notification");
  google::protobuf::Struct& payload = *tmpl.add_locales()->mutable_webhook()->mutable_payload();
  (*payload.mutable_fields())["kind"].set_string_value("order_shipped");
  (*payload.mutable_fields())["order"].set_string_value("{{order}}");
  (*payload.mutable_fields())["text"].set_string_value(
      "Your order {{order}} has shipped and arrives on {{date}}.");
  cxp::notify::v1::CreateTemplateResponse response;
  grpc::ClientContext context;
  env.prepare_context(&context);
  return CreatedOrExists(stub->CreateTemplate(&context, request, &response),
                         absl::StrCat("CreateTemplate templates/", target->template_id));
}

}  // namespace

const std::vector<Scenario>& BuiltinScenarios() {
  static const auto* const kScenarios = new std::vector<Scenario>{
      {
          .name = "null",
          .method = "/cxp.bench.v1.NullService/Call",
          .description = "NullService/Call on cxp_null_server: the baseline "
                         "(param request_bytes=N pads the request, default 0)",
          .make_requests = [](const ScenarioParams& params)
              -> absl::StatusOr<std::unique_ptr<RequestSource>> {
            absl::StatusOr<int64_t> size = params.GetInt("request_bytes", 0);
            if (!size.ok()) return size.status();
            cxp::bench::v1::CallRequest request;
            request.set_payload(std::string(static_cast<size_t>(*size), 'x'));
            return FixedRequest(request);
          },
      },
      {
          .name = "health",
          .method = "/grpc.health.v1.Health/Check",
          .description = "grpc.health.v1.Health/Check with an empty request "
                         "(overall server health)",
          .make_requests = [](const ScenarioParams&)
              -> absl::StatusOr<std::unique_ptr<RequestSource>> {
            // HealthCheckRequest{service: ""} encodes to zero bytes; the
            // health proto is not in our descriptor pool, so send them as is.
            return FixedRequest(std::string());
          },
      },
      {
          .name = "get_customer_context",
          .method = "/cxp.context.v1.ContextService/GetCustomerContext",
          .description =
              "GetCustomerContext of a random customer customers/<id_prefix><i>, i < customers "
              "(params: customers=100000, id_prefix=c, interaction_limit=20, by=name|phone; "
              "load the data with cxp_context_loader)",
          .make_requests = [](const ScenarioParams& params)
              -> absl::StatusOr<std::unique_ptr<RequestSource>> {
            if (absl::Status s = CheckParams(
                    params, {"customers", "id_prefix", "interaction_limit", "by"});
                !s.ok()) {
              return s;
            }
            absl::StatusOr<ContextDataset> dataset = GetContextDataset(params);
            if (!dataset.ok()) return dataset.status();
            absl::StatusOr<int64_t> limit = params.GetInt("interaction_limit", 20);
            if (!limit.ok()) return limit.status();
            const std::string by = params.GetString("by", "name");
            if (by != "name" && by != "phone") {
              return absl::InvalidArgumentError("--scenario_param by wants name or phone");
            }
            return GeneratedMessage<cxp::context::v1::GetCustomerContextRequest>(
                [dataset = *dataset, limit = static_cast<int32_t>(*limit), by_phone = by == "phone"](
                    ScenarioRng& rng, cxp::context::v1::GetCustomerContextRequest* r) {
                  const int64_t i = static_cast<int64_t>(rng() % static_cast<uint64_t>(dataset.customers));
                  if (by_phone) {
                    cxp::type::v1::Identity* identity = r->mutable_customer()->mutable_identity();
                    identity->set_kind(cxp::type::v1::IDENTITY_KIND_PHONE);
                    identity->set_value(context::CustomerPhone(i));
                  } else {
                    r->mutable_customer()->set_customer(context::CustomerName(dataset.id_prefix, i));
                  }
                  r->set_interaction_limit(limit);
                });
          },
      },
      {
          .name = "append_interaction",
          .method = "/cxp.context.v1.ContextService/AppendInteraction",
          .description =
              "AppendInteraction of a realistic interaction (random channel, direction, type, "
              "agent, ~100-byte summary, occur_time now) to a random customer "
              "customers/<id_prefix><i>, i < customers (params: customers=100000, id_prefix=c, "
              "request_id=none|uuid: uuid sets a random request_id per call)",
          .make_requests = [](const ScenarioParams& params)
              -> absl::StatusOr<std::unique_ptr<RequestSource>> {
            if (absl::Status s = CheckParams(params, {"customers", "id_prefix", "request_id"});
                !s.ok()) {
              return s;
            }
            absl::StatusOr<ContextDataset> dataset = GetContextDataset(params);
            if (!dataset.ok()) return dataset.status();
            const std::string request_id = params.GetString("request_id", "none");
            if (request_id != "none" && request_id != "uuid") {
              return absl::InvalidArgumentError("--scenario_param request_id wants none or uuid");
            }
            return GeneratedMessage<cxp::context::v1::AppendInteractionRequest>(
                [dataset = *dataset, with_request_id = request_id == "uuid"](
                    ScenarioRng& rng, cxp::context::v1::AppendInteractionRequest* r) {
                  const int64_t i = static_cast<int64_t>(rng() % static_cast<uint64_t>(dataset.customers));
                  r->mutable_customer()->set_customer(context::CustomerName(dataset.id_prefix, i));
                  context::FillInteraction(rng, absl::Now(), r->mutable_interaction());
                  if (with_request_id) r->set_request_id(context::RandomUuid(rng));
                });
          },
      },
      {
          .name = "batch_append_interactions",
          .method = "/cxp.context.v1.ContextService/BatchAppendInteractions",
          .description =
              "BatchAppendInteractions of `batch` realistic interactions (as append_interaction) "
              "to a random customer customers/<id_prefix><i>, i < customers (params: "
              "customers=100000, id_prefix=c, batch=10)",
          .make_requests = [](const ScenarioParams& params)
              -> absl::StatusOr<std::unique_ptr<RequestSource>> {
            if (absl::Status s = CheckParams(params, {"customers", "id_prefix", "batch"}); !s.ok()) {
              return s;
            }
            absl::StatusOr<ContextDataset> dataset = GetContextDataset(params);
            if (!dataset.ok()) return dataset.status();
            absl::StatusOr<int64_t> batch = params.GetInt("batch", 10);
            if (!batch.ok()) return batch.status();
            if (*batch < 1 || *batch > 100) {
              return absl::InvalidArgumentError("--scenario_param batch wants 1 to 100");
            }
            return GeneratedMessage<cxp::context::v1::BatchAppendInteractionsRequest>(
                [dataset = *dataset, batch = *batch](
                    ScenarioRng& rng, cxp::context::v1::BatchAppendInteractionsRequest* r) {
                  const int64_t i = static_cast<int64_t>(rng() % static_cast<uint64_t>(dataset.customers));
                  r->mutable_customer()->set_customer(context::CustomerName(dataset.id_prefix, i));
                  const absl::Time now = absl::Now();
                  for (int64_t k = 0; k < batch; ++k) {
                    context::FillInteraction(rng, now, r->add_interactions());
                  }
                });
          },
      },
      {
          .name = "submit_task",
          .method = "/cxp.routing.v1.RoutingService/SubmitTask",
          .description =
              "SubmitTask of a voice task to queues/<queue_id>, no customer (so no context_service "
              "lookup), no request_id; setup creates the queue and `agents` offline agents serving "
              "it, or reuses them (params: queue_id=bench-submit, agents=0). Tasks stay waiting in "
              "the service's memory",
          .make_requests =
              [](const ScenarioParams& params) -> absl::StatusOr<std::unique_ptr<RequestSource>> {
            absl::StatusOr<SubmitTaskTarget> target = GetSubmitTaskTarget(params);
            if (!target.ok()) return target.status();
            cxp::routing::v1::SubmitTaskRequest request;
            request.mutable_task()->set_channel(cxp::type::v1::CHANNEL_VOICE);
            request.mutable_task()->set_queue(absl::StrCat("queues/", target->queue_id));
            return FixedRequest(request);
          },
          .setup = &SetUpSubmitTask,
      },
      {
          .name = "send_notification",
          .method = "/cxp.notify.v1.NotifyService/SendNotification",
          .description =
              "SendNotification of templates/<template_id> (webhook content, created by the "
              "setup or reused), TRANSACTIONAL, channel_order [WEB], two variables, a random "
              "idempotency key per call, to a random customers/<id_prefix><i>, i < customers, "
              "or with recipient=identity to the chat handle bench-<i> (params: "
              "template_id=bench-send, customers=100000, id_prefix=c, "
              "recipient=customer|identity). Answered once durable",
          .make_requests =
              [](const ScenarioParams& params) -> absl::StatusOr<std::unique_ptr<RequestSource>> {
            absl::StatusOr<SendNotificationTarget> target = GetSendNotificationTarget(params);
            if (!target.ok()) return target.status();
            return GeneratedMessage<cxp::notify::v1::SendNotificationRequest>(
                [target = *target](ScenarioRng& rng, cxp::notify::v1::SendNotificationRequest* r) {
                  const int64_t i =
                      static_cast<int64_t>(rng() % static_cast<uint64_t>(target.dataset.customers));
                  if (target.by_identity) {
                    cxp::type::v1::Identity* identity = r->mutable_customer()->mutable_identity();
                    identity->set_kind(cxp::type::v1::IDENTITY_KIND_CHAT_HANDLE);
                    identity->set_value(absl::StrCat("bench-", i));
                  } else {
                    r->mutable_customer()->set_customer(
                        context::CustomerName(target.dataset.id_prefix, i));
                  }
                  r->set_template_(absl::StrCat("templates/", target.template_id));
                  r->set_purpose(cxp::type::v1::PURPOSE_TRANSACTIONAL);
                  r->add_channel_order(cxp::type::v1::CHANNEL_WEB);
                  (*r->mutable_variables())["order"] = absl::StrCat("A-", 100000 + i);
                  (*r->mutable_variables())["date"] = "Friday";
                  r->set_idempotency_key(context::RandomUuid(rng));
                });
          },
          .setup = &SetUpSendNotification,
      },
  };
  return *kScenarios;
}

}  // namespace cxp::bench
