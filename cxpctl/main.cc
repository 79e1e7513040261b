// cxpctl: a command-line client for the common operations on a running CXP
// platform (see Usage() in args.cc). Parsing lives in args.cc (plain C++,
// unit-tested); this file makes the calls and prints the answers.
//
// Output: a few aligned lines per resource by default, the response as JSON
// (protobuf's JSON printer) with --json. `agent desk` (agent_desk.h) instead
// prints a line per event until it is stopped. Errors go to stderr as
// "cxpctl: <GRPC_CODE>: <message>"; exit 1 for a failed call, 2 for a usage
// error.

#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/client/channel.h"
#include "cxp/context/v1/context_service.grpc.pb.h"
#include "cxp/notify/v1/notify_service.grpc.pb.h"
#include "cxp/routing/v1/routing_service.grpc.pb.h"
#include "cxpctl/agent_desk.h"
#include "cxpctl/apply.h"
#include "cxpctl/args.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"

namespace cxp::cxpctl {
namespace {

namespace context_v1 = ::cxp::context::v1;
namespace routing_v1 = ::cxp::routing::v1;
namespace notify_v1 = ::cxp::notify::v1;
namespace type_v1 = ::cxp::type::v1;

constexpr int kExitRpcError = 1;
constexpr int kExitUsage = 2;

// A failed call or setup step, printed as "cxpctl: CODE: message".
int Fail(const absl::Status& status) {
  std::cerr << "cxpctl: " << absl::StatusCodeToString(status.code()) << ": " << status.message()
            << "\n";
  return kExitRpcError;
}

absl::Status FromGrpc(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

std::string Json(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

// --- human-readable output -------------------------------------------------

// "label" padded to a fixed column, then the value; nothing for an empty value.
void Line(std::ostream& out, absl::string_view label, absl::string_view value) {
  if (value.empty()) return;
  out << label << std::string(label.size() < 14 ? 14 - label.size() : 1, ' ') << value << "\n";
}

std::string Time(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::FromUnixSeconds(t.seconds()),
                          absl::UTCTimeZone());
}

std::string Seconds(const google::protobuf::Duration& d) { return absl::StrCat(d.seconds(), "s"); }

// CHANNEL_VOICE -> VOICE.
std::string Bare(const std::string& enum_name, absl::string_view prefix) {
  return std::string(absl::StripPrefix(enum_name, prefix));
}

std::string IdentityText(const type_v1::Identity& identity) {
  std::string kind =
      absl::AsciiStrToLower(Bare(type_v1::IdentityKind_Name(identity.kind()), "IDENTITY_KIND_"));
  if (!identity.namespace_().empty()) absl::StrAppend(&kind, ":", identity.namespace_());
  return absl::StrCat(kind, " ", identity.value());
}

std::string RefText(const type_v1::CustomerRef& ref) {
  if (ref.has_identity()) return IdentityText(ref.identity());
  return ref.customer();
}

void PrintCustomer(std::ostream& out, const context_v1::Customer& customer) {
  Line(out, "customer", customer.name());
  Line(out, "display_name", customer.display_name());
  Line(out, "tier", customer.tier());
  Line(out, "language", customer.language_code());
  Line(out, "time_zone", customer.time_zone());
  Line(out, "merged_into", customer.merged_into());
  bool first = true;
  for (const context_v1::CustomerIdentity& identity : customer.identities()) {
    Line(out, first ? "identities" : " ",
         absl::StrCat(IdentityText(identity.identity()), identity.verified() ? " (verified)" : ""));
    first = false;
  }
  Line(out, "created", Time(customer.create_time()));
}

std::string InteractionText(const context_v1::Interaction& interaction) {
  std::string text = absl::StrCat(
      Time(interaction.occur_time()), "  ",
      Bare(type_v1::Channel_Name(interaction.channel()), "CHANNEL_"), " ",
      Bare(context_v1::Interaction::Direction_Name(interaction.direction()), "DIRECTION_"), " ",
      interaction.type());
  if (!interaction.agent().empty()) absl::StrAppend(&text, "  ", interaction.agent());
  if (!interaction.summary().empty()) absl::StrAppend(&text, "  \"", interaction.summary(), "\"");
  return text;
}

std::string AttributeText(const type_v1::AttributeValue& value) {
  switch (value.value_case()) {
    case type_v1::AttributeValue::kStringValue:
      return value.string_value();
    case type_v1::AttributeValue::kNumberValue:
      return absl::StrCat(value.number_value());
    case type_v1::AttributeValue::kBoolValue:
      return value.bool_value() ? "true" : "false";
    case type_v1::AttributeValue::kTimestampValue:
      return Time(value.timestamp_value());
    case type_v1::AttributeValue::VALUE_NOT_SET:
      break;
  }
  return "";
}

std::string JourneyStateText(context_v1::Journey::State state) {
  return Bare(context_v1::Journey::State_Name(state), "STATE_");
}

// One line for a context's list: "NAME TYPE at STEP (STATE)".
std::string JourneySummary(const context_v1::Journey& journey) {
  std::string text = absl::StrCat(journey.name(), " ", journey.type());
  if (!journey.step().empty()) absl::StrAppend(&text, " at ", journey.step());
  return absl::StrCat(text, " (", JourneyStateText(journey.state()), ")");
}

void PrintJourney(std::ostream& out, const context_v1::Journey& journey) {
  Line(out, "journey", journey.name());
  Line(out, "type", journey.type());
  Line(out, "display_name", journey.display_name());
  Line(out, "state", JourneyStateText(journey.state()));
  Line(out, "step", journey.step());
  // By key, so the output is stable.
  std::map<std::string, std::string> attributes;
  for (const auto& [key, value] : journey.attributes()) attributes[key] = AttributeText(value);
  bool first = true;
  for (const auto& [key, value] : attributes) {
    Line(out, first ? "attributes" : " ", absl::StrCat(key, "=", value));
    first = false;
  }
  if (!journey.transitions().empty()) {
    const context_v1::JourneyTransition& last = *journey.transitions().rbegin();
    std::string text = Time(last.transition_time());
    if (last.channel() != type_v1::CHANNEL_UNSPECIFIED) {
      absl::StrAppend(&text, " ", Bare(type_v1::Channel_Name(last.channel()), "CHANNEL_"));
    }
    if (!last.note().empty()) absl::StrAppend(&text, " \"", last.note(), "\"");
    Line(out, "last_change", text);
  }
  Line(out, "created", Time(journey.create_time()));
  Line(out, "ended", Time(journey.end_time()));
}

// "SMS MARKETING GRANTED (source web_form, 2024-03-01 09:00:00 UTC)".
std::string ConsentEntryText(const context_v1::ConsentEntry& entry) {
  const std::string channel = entry.channel() == type_v1::CHANNEL_UNSPECIFIED
                                  ? "every channel"
                                  : Bare(type_v1::Channel_Name(entry.channel()), "CHANNEL_");
  const std::string purpose = entry.purpose() == type_v1::PURPOSE_UNSPECIFIED
                                  ? "every purpose"
                                  : Bare(type_v1::Purpose_Name(entry.purpose()), "PURPOSE_");
  std::string text =
      absl::StrCat(channel, " ", purpose, " ",
                   Bare(context_v1::ConsentState_Name(entry.state()), "CONSENT_STATE_"));
  std::vector<std::string> details;
  if (!entry.evidence().source().empty()) details.push_back("source " + entry.evidence().source());
  if (entry.has_update_time()) details.push_back(Time(entry.update_time()));
  if (!details.empty()) absl::StrAppend(&text, " (", absl::StrJoin(details, ", "), ")");
  return text;
}

// One line per entry, the first labelled `label`.
void PrintConsentEntries(std::ostream& out, absl::string_view label,
                         const context_v1::Consent& consent) {
  bool first = true;
  for (const context_v1::ConsentEntry& entry : consent.entries()) {
    Line(out, first ? label : " ", ConsentEntryText(entry));
    first = false;
  }
}

void PrintContext(std::ostream& out, const context_v1::CustomerContext& context) {
  PrintCustomer(out, context.customer());
  const context_v1::ComputedAttributes& computed = context.computed_attributes();
  if (computed.has_last_contact_time()) {
    Line(out, "last_contact",
         absl::StrCat(Time(computed.last_contact_time()), " ",
                      Bare(type_v1::Channel_Name(computed.last_contact_channel()), "CHANNEL_"),
                      computed.last_agent().empty() ? "" : " " + computed.last_agent()));
  }
  const context_v1::ContactCounts& counts = computed.all_channels();
  Line(out, "contacts",
       absl::StrCat(counts.last_24_hours(), " in 24h, ", counts.last_7_days(), " in 7d, ",
                    counts.last_30_days(), " in 30d",
                    computed.repeat_contact() ? " (repeat contact)" : ""));
  bool first = true;
  for (const context_v1::Journey& journey : context.open_journeys()) {
    Line(out, first ? "open_journeys" : " ", JourneySummary(journey));
    first = false;
  }
  PrintConsentEntries(out, "consent", context.consent());
  out << "timeline (newest first):\n";
  if (context.recent_interactions().empty()) out << "  (no interactions)\n";
  for (const context_v1::Interaction& interaction : context.recent_interactions()) {
    out << "  " << InteractionText(interaction) << "\n";
  }
}

void PrintTask(std::ostream& out, const routing_v1::Task& task) {
  Line(out, "task", task.name());
  Line(out, "state", Bare(routing_v1::Task::State_Name(task.state()), "STATE_"));
  Line(out, "queue", task.queue());
  Line(out, "channel", Bare(type_v1::Channel_Name(task.channel()), "CHANNEL_"));
  if (task.has_customer()) Line(out, "customer", RefText(task.customer()));
  Line(out, "agent", task.agent());
  if (task.has_routing_decision()) {
    const routing_v1::RoutingDecision& decision = task.routing_decision();
    Line(out, "priority", absl::StrCat(decision.effective_priority()));
    if (decision.has_context_enrichment()) {
      const routing_v1::ContextEnrichment& enrichment = decision.context_enrichment();
      std::string text =
          Bare(routing_v1::ContextEnrichment::Status_Name(enrichment.status()), "STATUS_");
      if (!enrichment.reason().empty()) absl::StrAppend(&text, " (", enrichment.reason(), ")");
      if (!enrichment.effects().empty()) {
        absl::StrAppend(&text, ": ", absl::StrJoin(enrichment.effects(), "; "));
      }
      Line(out, "context", text);
    }
  }
  Line(out, "created", Time(task.create_time()));
}

void PrintQueueStats(std::ostream& out, const routing_v1::QueueStats& stats) {
  Line(out, "queue", stats.queue());
  Line(out, "waiting",
       absl::StrCat(stats.tasks_waiting(), " (longest ", Seconds(stats.longest_wait()), ")"));
  Line(out, "agents",
       absl::StrCat(stats.agents_available(), " available, ", stats.agents_busy(), " busy"));
  Line(out, "tasks",
       absl::StrCat(stats.tasks_offered(), " offered, ", stats.tasks_answered(), " answered, ",
                    stats.tasks_abandoned(), " abandoned in ", Seconds(stats.interval())));
  if (stats.has_estimated_wait()) {
    const routing_v1::WaitEstimate& wait = stats.estimated_wait();
    Line(out, "est_wait",
         absl::StrCat("p50 ", Seconds(wait.p50()), ", p90 ", Seconds(wait.p90()),
                      wait.low_data() ? " (low data)" : ""));
  }
}

void PrintNotification(std::ostream& out, const notify_v1::Notification& notification) {
  Line(out, "notification", notification.name());
  Line(out, "state", Bare(notify_v1::Notification::State_Name(notification.state()), "STATE_"));
  Line(out, "reason", notification.state_reason());
  Line(out, "customer",
       notification.resolved_customer().empty() ? RefText(notification.customer())
                                                : notification.resolved_customer());
  Line(out, "template",
       absl::StrCat(notification.template_(),
                    notification.template_version() > 0
                        ? absl::StrCat(" v", notification.template_version())
                        : ""));
  Line(out, "purpose", Bare(type_v1::Purpose_Name(notification.purpose()), "PURPOSE_"));
  if (notification.channel() != type_v1::CHANNEL_UNSPECIFIED) {
    Line(out, "channel", Bare(type_v1::Channel_Name(notification.channel()), "CHANNEL_"));
  }
  Line(out, "send_time", Time(notification.send_time()));
}

// --- requests ----------------------------------------------------------------

type_v1::Identity ToIdentity(const IdentityArg& arg) {
  type_v1::Identity identity;
  type_v1::IdentityKind kind = type_v1::IDENTITY_KIND_UNSPECIFIED;
  type_v1::IdentityKind_Parse("IDENTITY_KIND_" + arg.kind, &kind);
  identity.set_kind(kind);
  identity.set_value(arg.value);
  identity.set_namespace_(arg.namespace_);
  identity.set_region_code(arg.region_code);
  return identity;
}

void ToRef(const CustomerRefArg& arg, type_v1::CustomerRef& ref) {
  if (arg.identity) {
    *ref.mutable_identity() = ToIdentity(*arg.identity);
  } else {
    ref.set_customer(arg.name);
  }
}

type_v1::Channel ToChannel(const std::string& name) {
  type_v1::Channel channel = type_v1::CHANNEL_UNSPECIFIED;
  type_v1::Channel_Parse("CHANNEL_" + name, &channel);
  return channel;
}

// customers/ID for `ref`: the name given, or the customer holding the
// identity (ResolveCustomer), for the methods that take only a name.
absl::StatusOr<std::string> CustomerName(const client::ServiceClient& client,
                                         const CustomerRefArg& ref) {
  if (!ref.identity) return ref.name;
  context_v1::ContextService::Stub stub(client.channel());
  context_v1::ResolveCustomerRequest request;
  *request.mutable_identity() = ToIdentity(*ref.identity);
  context_v1::ResolveCustomerResponse response;
  auto context = client.NewCallContext();
  if (grpc::Status s = stub.ResolveCustomer(context.get(), request, &response); !s.ok()) {
    return FromGrpc(s);
  }
  return response.customer().name();
}

// One unary call with the deadline and key; prints the response (JSON, or
// `human` of it) on success.
template <typename Stub, typename Request, typename Response, typename Human>
int Call(const client::ServiceClient& client,
         grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
         const Request& request, bool json, Human human) {
  Stub stub(client.channel());
  Response response;
  auto context = client.NewCallContext();
  const grpc::Status status = (stub.*method)(context.get(), request, &response);
  if (!status.ok()) return Fail(FromGrpc(status));
  if (json) {
    std::cout << Json(response);
  } else {
    human(std::cout, response);
  }
  return 0;
}

int QueueStats(const client::ServiceClient& client, const Invocation& inv) {
  routing_v1::RoutingService::Stub stub(client.channel());
  std::vector<std::string> queues;
  if (!inv.queue.empty()) {
    queues.push_back(inv.queue);
  } else {
    routing_v1::ListQueuesRequest list;
    list.set_page_size(100);
    do {
      routing_v1::ListQueuesResponse page;
      auto context = client.NewCallContext();
      if (grpc::Status s = stub.ListQueues(context.get(), list, &page); !s.ok()) {
        return Fail(FromGrpc(s));
      }
      for (const routing_v1::Queue& queue : page.queues()) queues.push_back(queue.name());
      list.set_page_token(page.next_page_token());
    } while (!list.page_token().empty());
  }
  std::vector<std::string> json;
  for (size_t i = 0; i < queues.size(); ++i) {
    routing_v1::GetQueueStatsRequest request;
    request.set_queue(queues[i]);
    routing_v1::GetQueueStatsResponse response;
    auto context = client.NewCallContext();
    if (grpc::Status s = stub.GetQueueStats(context.get(), request, &response); !s.ok()) {
      return Fail(FromGrpc(s));
    }
    if (inv.global.json) {
      json.push_back(Json(response));
    } else {
      if (i > 0) std::cout << "\n";
      PrintQueueStats(std::cout, response.queue_stats());
    }
  }
  if (inv.global.json) {
    // One queue: its response; every queue: an array of responses.
    if (!inv.queue.empty()) {
      std::cout << json[0];
    } else {
      std::cout << "[" << absl::StrJoin(json, ",") << "]\n";
    }
  } else if (queues.empty()) {
    std::cout << "(no queues)\n";
  }
  return 0;
}

absl::StatusOr<std::string> ReadApiKey(const GlobalOptions& global) {
  if (global.api_key_file.empty()) {
    const char* env = std::getenv("CXP_API_KEY");
    return env == nullptr ? "" : std::string(env);
  }
  std::ifstream in(global.api_key_file);
  if (!in) {
    return absl::FailedPreconditionError(
        absl::StrCat("--api_key_file: cannot read ", global.api_key_file));
  }
  std::stringstream contents;
  contents << in.rdbuf();
  auto key = ApiKeyFromFile(contents.str());
  if (!key.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("--api_key_file ", global.api_key_file, ": ", key.status().message()));
  }
  return key;
}

// The connection to each service, made on first use with the global flags
// and kept for the rest of the command.
class Connections {
 public:
  Connections(const GlobalOptions& global, std::string api_key)
      : global_(global), api_key_(std::move(api_key)) {}

  // FAILED_PRECONDITION when a TLS file cannot be read; UNAVAILABLE when the
  // service does not accept connections within --wait (if set).
  absl::StatusOr<const client::ServiceClient*> Get(Service service) {
    auto it = clients_.find(service);
    if (it == clients_.end()) {
      client::ChannelOptions options;
      options.target = service == Service::kRouting  ? global_.routing_address
                       : service == Service::kNotify ? global_.notify_address
                                                     : global_.context_address;
      options.api_key = api_key_;
      options.tls_ca_file = global_.tls_ca_file;
      options.tls_server_name = global_.tls_server_name;
      options.default_deadline = global_.timeout;
      auto created = client::ServiceClient::Create(options);
      if (!created.ok()) return created.status();
      if (global_.wait > absl::ZeroDuration() &&
          !created->channel()->WaitForConnected(absl::ToChronoTime(absl::Now() + global_.wait))) {
        return absl::UnavailableError(
            absl::StrCat(options.target, " did not accept connections within ",
                         absl::FormatDuration(global_.wait), " (--wait)"));
      }
      it = clients_.emplace(service, *std::move(created)).first;
    }
    return &it->second;
  }

 private:
  const GlobalOptions& global_;
  const std::string api_key_;
  std::map<Service, client::ServiceClient> clients_;
};

// The service a single-call command talks to.
Service ServiceOf(Command command) {
  switch (command) {
    case Command::kTaskSubmit:
    case Command::kQueueStats:
    case Command::kAgentDesk:
      return Service::kRouting;
    case Command::kNotifySend:
      return Service::kNotify;
    default:
      return Service::kContext;
  }
}

// `text` as a JSON string literal.
std::string JsonString(absl::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      absl::StrAppend(&out, "\\", std::string(1, c));
    } else if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppendFormat(&out, "\\u%04x", static_cast<int>(c));
    } else {
      out.push_back(c);
    }
  }
  return out + "\"";
}

// apply --file: checks the whole file, connects to every service it needs,
// then creates the items in order, one line each as it goes ("created
// queues/delivery", "unchanged agents/minji"), or a JSON summary at the end
// (also after a failure, with the failed item last).
int Apply(const Invocation& inv, Connections& connections) {
  std::ifstream in(inv.apply_file);
  if (!in) {
    std::cerr << "cxpctl: apply: cannot read " << inv.apply_file << "\n";
    return kExitUsage;
  }
  std::stringstream contents;
  contents << in.rdbuf();
  auto items = ParseApplyFile(contents.str());
  if (!items.ok()) {
    std::cerr << "cxpctl: " << inv.apply_file << ": " << items.status().message() << "\n";
    return kExitUsage;
  }
  for (const ApplyItem& item : *items) {
    if (auto client = connections.Get(item.service); !client.ok()) return Fail(client.status());
  }
  int created = 0, unchanged = 0;
  std::vector<std::string> results;  // JSON objects, for --json
  auto result = [&](const ApplyItem& item, absl::string_view word, std::string error = "") {
    results.push_back(
        absl::StrCat("  {\"item\": ", JsonString(absl::StrCat(item.key, "[", item.index, "]")),
                     ", \"name\": ", JsonString(item.name), ", \"result\": ", JsonString(word),
                     error.empty() ? "" : absl::StrCat(", \"error\": ", JsonString(error)), "}"));
  };
  auto print_json = [&] {
    std::cout << "{\"created\": " << created << ", \"unchanged\": " << unchanged
              << ", \"items\": [\n"
              << absl::StrJoin(results, ",\n") << "\n]}\n";
  };
  for (const ApplyItem& item : *items) {
    auto outcome = ApplyItemTo(item, **connections.Get(item.service));
    if (!outcome.ok()) {
      if (inv.global.json) {
        result(item, "failed",
               absl::StrCat(absl::StatusCodeToString(outcome.status().code()), ": ",
                            outcome.status().message()));
        print_json();
      }
      return Fail(outcome.status());
    }
    const bool was_created = *outcome == ApplyOutcome::kCreated;
    ++(was_created ? created : unchanged);
    const char* word = was_created ? "created" : "unchanged";
    result(item, word);
    if (!inv.global.json) std::cout << word << " " << item.name << std::endl;
  }
  if (inv.global.json) {
    print_json();
  } else {
    std::cout << created << " created, " << unchanged << " unchanged\n";
  }
  return 0;
}

// Set by SIGINT/SIGTERM during `agent desk`; polled by RunAgentDesk.
std::atomic<bool> stop_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free, "set from a signal handler");

void RequestStop(int) { stop_requested.store(true); }

// agent desk: Ctrl-C or SIGTERM ends the session cleanly instead of killing
// the process.
int AgentDesk(const Invocation& inv, const client::ServiceClient& routing) {
  struct sigaction action = {};
  action.sa_handler = RequestStop;
  sigemptyset(&action.sa_mask);
  // SA_RESETHAND: a second Ctrl-C kills at once (e.g. while the logout
  // call waits for a routing service that does not answer).
  action.sa_flags = SA_RESTART | SA_RESETHAND;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  const AgentDeskOptions options = {.agent = inv.agent,
                                    .accept_offers = inv.accept_offers,
                                    .wrap_up_notes = inv.wrap_up_notes,
                                    .handle_for = inv.handle_for,
                                    .session_for = inv.session_for,
                                    .json = inv.global.json};
  return RunAgentDesk(routing, options, stop_requested, std::cout, std::cerr);
}

int Run(const Invocation& inv) {
  if (inv.command == Command::kHelp) {
    std::cout << Usage();
    return 0;
  }
  auto api_key = ReadApiKey(inv.global);
  if (!api_key.ok()) return Fail(api_key.status());
  Connections connections(inv.global, *std::move(api_key));
  if (inv.command == Command::kApply) return Apply(inv, connections);

  const bool json = inv.global.json;
  using ContextStub = context_v1::ContextService::Stub;
  using RoutingStub = routing_v1::RoutingService::Stub;
  using NotifyStub = notify_v1::NotifyService::Stub;
  // Each other command calls one service.
  auto connected = connections.Get(ServiceOf(inv.command));
  if (!connected.ok()) return Fail(connected.status());
  const client::ServiceClient* client = *connected;

  switch (inv.command) {
    case Command::kHelp:
    case Command::kApply:
      break;  // answered above
    case Command::kCustomerResolve: {
      context_v1::ResolveCustomerRequest request;
      *request.mutable_identity() = ToIdentity(inv.identity);
      return Call(*client, &ContextStub::ResolveCustomer, request, json,
                  [](std::ostream& out, const context_v1::ResolveCustomerResponse& response) {
                    PrintCustomer(out, response.customer());
                  });
    }
    case Command::kCustomerContext: {
      context_v1::GetCustomerContextRequest request;
      ToRef(inv.customer, *request.mutable_customer());
      request.set_interaction_limit(inv.interaction_limit);
      return Call(*client, &ContextStub::GetCustomerContext, request, json,
                  [](std::ostream& out, const context_v1::GetCustomerContextResponse& response) {
                    PrintContext(out, response.customer_context());
                  });
    }
    case Command::kInteractionAppend: {
      context_v1::AppendInteractionRequest request;
      ToRef(inv.customer, *request.mutable_customer());
      context_v1::Interaction& interaction = *request.mutable_interaction();
      interaction.set_channel(ToChannel(inv.channel));
      context_v1::Interaction::Direction direction = context_v1::Interaction::DIRECTION_UNSPECIFIED;
      context_v1::Interaction::Direction_Parse("DIRECTION_" + inv.direction, &direction);
      interaction.set_direction(direction);
      interaction.set_type(inv.type);
      interaction.set_summary(inv.summary);
      interaction.set_agent(inv.agent);
      request.set_request_id(inv.request_id);
      request.set_create_customer_if_missing(inv.create_customer);
      return Call(*client, &ContextStub::AppendInteraction, request, json,
                  [](std::ostream& out, const context_v1::AppendInteractionResponse& response) {
                    Line(out, "interaction", response.interaction().name());
                    Line(out, "entry", InteractionText(response.interaction()));
                    if (response.customer_created()) Line(out, "customer", "created");
                  });
    }
    case Command::kTaskSubmit: {
      routing_v1::SubmitTaskRequest request;
      routing_v1::Task& task = *request.mutable_task();
      task.set_queue(inv.queue);
      task.set_channel(ToChannel(inv.channel));
      if (inv.customer.identity || !inv.customer.name.empty()) {
        ToRef(inv.customer, *task.mutable_customer());
      }
      for (const SkillArg& skill : inv.skills) {
        routing_v1::SkillRequirement& requirement = *task.add_required_skills();
        requirement.set_skill(skill.skill);
        requirement.set_min_proficiency(skill.min_proficiency);
      }
      task.set_priority(inv.priority);
      request.set_request_id(inv.request_id);
      return Call(*client, &RoutingStub::SubmitTask, request, json,
                  [](std::ostream& out, const routing_v1::SubmitTaskResponse& response) {
                    PrintTask(out, response.task());
                  });
    }
    case Command::kQueueStats: {
      return QueueStats(*client, inv);
    }
    case Command::kAgentDesk: {
      return AgentDesk(inv, *client);
    }
    case Command::kJourneyStart: {
      auto parent = CustomerName(*client, inv.customer);
      if (!parent.ok()) return Fail(parent.status());
      context_v1::StartJourneyRequest request;
      request.set_parent(*parent);
      request.mutable_journey()->set_type(inv.journey_type);
      request.set_journey_id(inv.journey_id);
      request.set_step(inv.step);
      return Call(*client, &ContextStub::StartJourney, request, json,
                  [](std::ostream& out, const context_v1::StartJourneyResponse& response) {
                    PrintJourney(out, response.journey());
                  });
    }
    case Command::kJourneyAdvance: {
      context_v1::AdvanceJourneyRequest request;
      request.set_name(inv.journey);
      request.set_step(inv.step);
      if (!inv.journey_state.empty()) {
        context_v1::Journey::State state = context_v1::Journey::STATE_UNSPECIFIED;
        context_v1::Journey::State_Parse("STATE_" + inv.journey_state, &state);
        request.set_state(state);
      }
      for (const auto& [key, value] : inv.attributes) {
        (*request.mutable_attributes())[key].set_string_value(value);
      }
      request.set_note(inv.note);
      return Call(*client, &ContextStub::AdvanceJourney, request, json,
                  [](std::ostream& out, const context_v1::AdvanceJourneyResponse& response) {
                    PrintJourney(out, response.journey());
                  });
    }
    case Command::kConsentSet: {
      auto customer = CustomerName(*client, inv.customer);
      if (!customer.ok()) return Fail(customer.status());
      context_v1::UpdateConsentRequest request;
      request.set_customer(*customer);
      request.set_channel(ToChannel(inv.channel));
      type_v1::Purpose purpose = type_v1::PURPOSE_UNSPECIFIED;
      type_v1::Purpose_Parse("PURPOSE_" + inv.purpose, &purpose);
      request.set_purpose(purpose);
      context_v1::ConsentState state = context_v1::CONSENT_STATE_UNSPECIFIED;
      context_v1::ConsentState_Parse("CONSENT_STATE_" + inv.consent_state, &state);
      request.set_state(state);
      request.mutable_evidence()->set_source(inv.consent_source);
      return Call(*client, &ContextStub::UpdateConsent, request, json,
                  [](std::ostream& out, const context_v1::UpdateConsentResponse& response) {
                    Line(out, "consent", response.consent().name());
                    PrintConsentEntries(out, "entries", response.consent());
                  });
    }
    case Command::kNotifySend: {
      notify_v1::SendNotificationRequest request;
      ToRef(inv.customer, *request.mutable_customer());
      request.set_template_(inv.template_name);
      for (const auto& [key, value] : inv.variables) (*request.mutable_variables())[key] = value;
      type_v1::Purpose purpose = type_v1::PURPOSE_UNSPECIFIED;
      type_v1::Purpose_Parse("PURPOSE_" + inv.purpose, &purpose);
      request.set_purpose(purpose);
      request.set_idempotency_key(inv.idempotency_key);
      return Call(*client, &NotifyStub::SendNotification, request, json,
                  [](std::ostream& out, const notify_v1::SendNotificationResponse& response) {
                    PrintNotification(out, response.notification());
                  });
    }
  }
  return kExitUsage;
}

}  // namespace
}  // namespace cxp::cxpctl

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  auto invocation = cxp::cxpctl::ParseArgs(args);
  if (!invocation.ok()) {
    std::cerr << "cxpctl: " << invocation.status().message() << "\n"
              << "run \"cxpctl help\" for the commands and flags\n";
    return cxp::cxpctl::kExitUsage;
  }
  return cxp::cxpctl::Run(*invocation);
}
