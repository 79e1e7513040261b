#include "cxpctl/apply.h"

#include <algorithm>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "cxp/context/v1/context_service.grpc.pb.h"
#include "cxp/notify/v1/notify_service.grpc.pb.h"
#include "cxp/routing/v1/routing_service.grpc.pb.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace cxp::cxpctl {
namespace {

namespace context_v1 = ::cxp::context::v1;
namespace routing_v1 = ::cxp::routing::v1;
namespace notify_v1 = ::cxp::notify::v1;
using ::google::protobuf::Message;

// What a key of the file holds and how its items are named.
struct KeySpec {
  std::string key;
  Service service;
  const Message* prototype;  // the request type
  std::string id_field;      // e.g. "customer_id"
  std::string collection;    // e.g. "customers"; empty: under `parent` (journeys)
};

// In the order they are applied: what an item refers to comes first.
const std::vector<KeySpec>& KeySpecs() {
  static const auto* specs = new std::vector<KeySpec>{
      {"customers", Service::kContext, &context_v1::CreateCustomerRequest::default_instance(),
       "customer_id", "customers"},
      {"journeys", Service::kContext, &context_v1::StartJourneyRequest::default_instance(),
       "journey_id", ""},
      {"queues", Service::kRouting, &routing_v1::CreateQueueRequest::default_instance(), "queue_id",
       "queues"},
      {"agents", Service::kRouting, &routing_v1::CreateAgentRequest::default_instance(), "agent_id",
       "agents"},
      {"templates", Service::kNotify, &notify_v1::CreateTemplateRequest::default_instance(),
       "template_id", "templates"},
      {"trigger_rules", Service::kNotify, &notify_v1::CreateTriggerRuleRequest::default_instance(),
       "trigger_rule_id", "triggerRules"},
  };
  return *specs;
}

std::string StringField(const Message& message, const std::string& field) {
  return message.GetReflection()->GetString(message,
                                            message.GetDescriptor()->FindFieldByName(field));
}

// The resource name `request` creates, or why it has none.
absl::StatusOr<std::string> ResourceName(const KeySpec& spec, const Message& request) {
  const std::string id = StringField(request, spec.id_field);
  if (id.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(spec.id_field, " is required (a second apply finds the item by it)"));
  }
  if (!spec.collection.empty()) return absl::StrCat(spec.collection, "/", id);
  const std::string parent = StringField(request, "parent");
  if (!absl::StartsWith(parent, "customers/") ||
      parent.size() == std::string("customers/").size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("parent: expected customers/ID, got \"", parent, "\""));
  }
  return absl::StrCat(parent, "/journeys/", id);
}

// One element of the file as a request: protobuf's JSON parser on the
// element re-serialised, so field names and values follow the JSON mapping.
absl::StatusOr<std::unique_ptr<Message>> ParseElement(const KeySpec& spec,
                                                      const google::protobuf::Value& element) {
  if (element.kind_case() != google::protobuf::Value::kStructValue) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected an object (", spec.prototype->GetDescriptor()->full_name(), ")"));
  }
  std::string json;
  if (auto printed = google::protobuf::util::MessageToJsonString(element, &json); !printed.ok()) {
    return absl::InvalidArgumentError(printed.message().ToString());
  }
  std::unique_ptr<Message> request(spec.prototype->New());
  if (auto parsed = google::protobuf::util::JsonStringToMessage(json, request.get());
      !parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "not a valid ", request->GetDescriptor()->full_name(), ": ", parsed.message().ToString()));
  }
  return request;
}

absl::Status FromGrpc(const grpc::Status& status, absl::string_view prefix) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat(prefix, status.error_message()));
}

// Create, and on ALREADY_EXISTS look the resource up: found means an earlier
// apply made it; not found means the conflict is with another resource.
template <typename Stub, typename Request, typename Response, typename GetRequest,
          typename GetResponse>
absl::StatusOr<ApplyOutcome> CreateOrFind(
    const ApplyItem& item, const client::ServiceClient& client,
    grpc::Status (Stub::*create)(grpc::ClientContext*, const Request&, Response*),
    grpc::Status (Stub::*get)(grpc::ClientContext*, const GetRequest&, GetResponse*)) {
  Stub stub(client.channel());
  Response response;
  auto context = client.NewCallContext();
  const grpc::Status created =
      (stub.*create)(context.get(), static_cast<const Request&>(*item.request), &response);
  if (created.ok()) return ApplyOutcome::kCreated;
  const std::string label = item.Label() + ": ";
  if (created.error_code() != grpc::StatusCode::ALREADY_EXISTS) return FromGrpc(created, label);
  GetRequest get_request;
  get_request.set_name(item.name);
  GetResponse found;
  auto get_context = client.NewCallContext();
  const grpc::Status looked_up = (stub.*get)(get_context.get(), get_request, &found);
  if (looked_up.ok()) return ApplyOutcome::kUnchanged;
  if (looked_up.error_code() == grpc::StatusCode::NOT_FOUND) return FromGrpc(created, label);
  return FromGrpc(looked_up, absl::StrCat(label, "looking it up after ALREADY_EXISTS: "));
}

}  // namespace

std::string ApplyItem::Label() const { return absl::StrCat(key, "[", index, "] ", name); }

const std::vector<std::string>& ApplyKeys() {
  static const auto* keys = [] {
    auto* keys = new std::vector<std::string>;
    for (const KeySpec& spec : KeySpecs()) keys->push_back(spec.key);
    return keys;
  }();
  return *keys;
}

absl::StatusOr<std::vector<ApplyItem>> ParseApplyFile(absl::string_view json) {
  google::protobuf::Struct file;
  if (auto parsed = google::protobuf::util::JsonStringToMessage(
          google::protobuf::StringPiece(json.data(), json.size()), &file);
      !parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a JSON object: ", absl::StripPrefix(parsed.message().ToString(), ": ")));
  }
  std::set<std::string> unknown;
  for (const auto& [key, value] : file.fields()) {
    if (std::find(ApplyKeys().begin(), ApplyKeys().end(), key) == ApplyKeys().end()) {
      unknown.insert(key);
    }
  }
  if (!unknown.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("unknown key", unknown.size() > 1 ? "s " : " ",
                                                   absl::StrJoin(unknown, ", "), " (expected ",
                                                   absl::StrJoin(ApplyKeys(), ", "), ")"));
  }
  std::vector<ApplyItem> items;
  for (const KeySpec& spec : KeySpecs()) {
    auto it = file.fields().find(spec.key);
    if (it == file.fields().end()) continue;
    if (it->second.kind_case() != google::protobuf::Value::kListValue) {
      return absl::InvalidArgumentError(absl::StrCat(spec.key, ": expected an array"));
    }
    std::set<std::string> names;
    const auto& elements = it->second.list_value().values();
    for (int index = 0; index < elements.size(); ++index) {
      const std::string where = absl::StrCat(spec.key, "[", index, "]: ");
      auto request = ParseElement(spec, elements[index]);
      if (!request.ok())
        return absl::InvalidArgumentError(absl::StrCat(where, request.status().message()));
      auto name = ResourceName(spec, **request);
      if (!name.ok())
        return absl::InvalidArgumentError(absl::StrCat(where, name.status().message()));
      if (!names.insert(*name).second) {
        return absl::InvalidArgumentError(absl::StrCat(where, *name, " is listed twice"));
      }
      items.push_back(ApplyItem{.key = spec.key,
                                .index = index,
                                .name = *std::move(name),
                                .service = spec.service,
                                .request = *std::move(request)});
    }
  }
  return items;
}

absl::StatusOr<ApplyOutcome> ApplyItemTo(const ApplyItem& item,
                                         const client::ServiceClient& client) {
  using ContextStub = context_v1::ContextService::Stub;
  using RoutingStub = routing_v1::RoutingService::Stub;
  using NotifyStub = notify_v1::NotifyService::Stub;
  if (item.key == "customers") {
    return CreateOrFind(item, client, &ContextStub::CreateCustomer, &ContextStub::GetCustomer);
  }
  if (item.key == "journeys") {
    return CreateOrFind(item, client, &ContextStub::StartJourney, &ContextStub::GetJourney);
  }
  if (item.key == "queues") {
    return CreateOrFind(item, client, &RoutingStub::CreateQueue, &RoutingStub::GetQueue);
  }
  if (item.key == "agents") {
    return CreateOrFind(item, client, &RoutingStub::CreateAgent, &RoutingStub::GetAgent);
  }
  if (item.key == "templates") {
    return CreateOrFind(item, client, &NotifyStub::CreateTemplate, &NotifyStub::GetTemplate);
  }
  if (item.key == "trigger_rules") {
    return CreateOrFind(item, client, &NotifyStub::CreateTriggerRule, &NotifyStub::GetTriggerRule);
  }
  return absl::InternalError(absl::StrCat(item.Label(), ": no call for key ", item.key));
}

}  // namespace cxp::cxpctl
