#include "cxpctl/args.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status/status_macros.h"

namespace cxp::cxpctl {
namespace {

absl::Status Usage(absl::string_view message) { return absl::InvalidArgumentError(message); }

// Flags that take no value.
const std::set<std::string>& BoolFlags() {
  static const auto* flags = new std::set<std::string>{"json", "help", "create_customer", "accept"};
  return *flags;
}

// Flags that may be given more than once.
const std::set<std::string>& RepeatedFlags() {
  static const auto* flags = new std::set<std::string>{"var", "skill", "attr"};
  return *flags;
}

const std::set<std::string>& GlobalFlags() {
  static const auto* flags = new std::set<std::string>{
      "context",         "routing", "notify", "api_key_file", "tls_ca_file",
      "tls_server_name", "timeout", "wait",   "json",         "help"};
  return *flags;
}

// "voice" / "CHANNEL_VOICE" -> "VOICE" when it is one of `allowed`.
absl::StatusOr<std::string> EnumValue(absl::string_view flag, absl::string_view prefix,
                                      const std::string& text,
                                      const std::vector<std::string>& allowed) {
  const std::string upper = absl::AsciiStrToUpper(text);
  std::string stripped(absl::StripPrefix(upper, absl::StrCat(prefix, "_")));
  if (std::find(allowed.begin(), allowed.end(), stripped) == allowed.end()) {
    return Usage(absl::StrCat(flag, ": unknown value \"", text, "\" (one of ",
                              absl::AsciiStrToLower(absl::StrJoin(allowed, ", ")), ")"));
  }
  return stripped;
}

const std::vector<std::string> kIdentityKinds = {"PHONE",  "EMAIL",       "CHAT_HANDLE",
                                                 "SOCIAL", "EXTERNAL_ID", "DEVICE_ID"};
const std::vector<std::string> kChannels = {"VOICE",  "CHAT", "EMAIL", "SMS",
                                            "SOCIAL", "WEB",  "PUSH",  "IN_PERSON"};
const std::vector<std::string> kDirections = {"INBOUND", "OUTBOUND"};
const std::vector<std::string> kPurposes = {"TRANSACTIONAL", "SERVICE", "MARKETING"};
// Journey.State without STATE_UNSPECIFIED.
const std::vector<std::string> kJourneyStates = {"OPEN", "WAITING_ON_CUSTOMER",
                                                 "WAITING_ON_BUSINESS", "RESOLVED", "ABANDONED"};
const std::vector<std::string> kConsentStates = {"GRANTED", "DENIED"};

bool NeedsNamespace(const std::string& kind) { return kind != "PHONE" && kind != "EMAIL"; }

// The command line split into positionals and flags.
struct SplitArgs {
  std::vector<std::string> positionals;
  std::map<std::string, std::vector<std::string>> flags;

  bool Has(const std::string& name) const { return flags.contains(name); }
  std::string Get(const std::string& name) const {
    auto it = flags.find(name);
    return it == flags.end() ? "" : it->second.back();
  }
};

absl::StatusOr<SplitArgs> Split(const std::vector<std::string>& args) {
  SplitArgs split;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      split.positionals.insert(split.positionals.end(), args.begin() + i + 1, args.end());
      break;
    }
    if (!absl::StartsWith(arg, "--") || arg.size() == 2) {
      split.positionals.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    std::replace(name.begin(), name.end(), '-', '_');
    if (BoolFlags().contains(name)) {
      if (value && *value != "true" && *value != "false") {
        return Usage(absl::StrCat("--", name, " takes no value"));
      }
      split.flags[name].push_back(value.value_or("true"));
      continue;
    }
    if (!value) {
      if (i + 1 >= args.size()) return Usage(absl::StrCat("--", name, " needs a value"));
      value = args[++i];
    }
    if (split.flags.contains(name) && !RepeatedFlags().contains(name)) {
      return Usage(absl::StrCat("--", name, " given more than once"));
    }
    split.flags[name].push_back(*std::move(value));
  }
  return split;
}

// Rejects flags that are neither global nor in `allowed`.
absl::Status CheckFlags(const SplitArgs& split, const std::string& command,
                        const std::set<std::string>& allowed) {
  for (const auto& [name, values] : split.flags) {
    if (!GlobalFlags().contains(name) && !allowed.contains(name)) {
      return Usage(absl::StrCat("unknown flag --", name, " for \"", command, "\""));
    }
  }
  return absl::OkStatus();
}

absl::Status Require(const SplitArgs& split, const std::string& command,
                     const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    if (!split.Has(name) || split.Get(name).empty()) {
      return Usage(absl::StrCat("\"", command, "\" needs --", name));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckPositionals(const SplitArgs& split, const std::string& command, size_t min,
                              size_t max, const std::string& shape) {
  // The first two positionals are the noun and the verb.
  const size_t count = split.positionals.size() - 2;
  if (count < min || count > max) {
    return Usage(absl::StrCat("usage: cxpctl ", command, shape.empty() ? "" : " ", shape));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Resource(const std::string& flag, const std::string& collection,
                                     const std::string& text) {
  // A bare id is accepted as shorthand: "support" -> "queues/support".
  if (text.find('/') == std::string::npos && !text.empty()) {
    return absl::StrCat(collection, "/", text);
  }
  if (!absl::StartsWith(text, collection + "/") || text.size() == collection.size() + 1) {
    return Usage(absl::StrCat(flag, ": expected ", collection, "/ID, got \"", text, "\""));
  }
  return text;
}

absl::StatusOr<int> PositiveInt(const std::string& flag, const std::string& text, int max) {
  int value = 0;
  if (!absl::SimpleAtoi(text, &value) || value < 1 || value > max) {
    return Usage(
        absl::StrCat(flag, ": expected a whole number from 1 to ", max, ", got \"", text, "\""));
  }
  return value;
}

// A duration such as "2s" or "1m30s"; zero only when `allow_zero`.
absl::StatusOr<absl::Duration> DurationFlag(const std::string& flag, const std::string& text,
                                            bool allow_zero) {
  absl::Duration duration;
  if (!absl::ParseDuration(text, &duration) || duration < absl::ZeroDuration() ||
      (!allow_zero && duration == absl::ZeroDuration()) || duration == absl::InfiniteDuration()) {
    return Usage(absl::StrCat(flag, ": expected a ", allow_zero ? "" : "positive ",
                              "duration such as 2s or 1m30s, got \"", text, "\""));
  }
  return duration;
}

// Repeated `key=value` flags into `out`; each key once.
absl::Status KeyValues(const SplitArgs& split, const std::string& name,
                       std::map<std::string, std::string>& out) {
  auto it = split.flags.find(name);
  if (it == split.flags.end()) return absl::OkStatus();
  for (const std::string& text : it->second) {
    const size_t eq = text.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Usage(absl::StrCat("--", name, ": expected key=value, got \"", text, "\""));
    }
    const std::string key = text.substr(0, eq);
    if (out.contains(key)) {
      return Usage(absl::StrCat("--", name, ": \"", key, "\" given more than once"));
    }
    out[key] = text.substr(eq + 1);
  }
  return absl::OkStatus();
}

// customers/C/journeys/J, both IDs non-empty.
absl::StatusOr<std::string> JourneyName(const std::string& text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, '/');
  if (parts.size() != 4 || parts[0] != "customers" || parts[1].empty() || parts[2] != "journeys" ||
      parts[3].empty()) {
    return Usage(absl::StrCat("journey: expected customers/ID/journeys/ID, got \"", text, "\""));
  }
  return text;
}

absl::Status ParseGlobal(const SplitArgs& split, GlobalOptions& global) {
  if (split.Has("context")) global.context_address = split.Get("context");
  if (split.Has("routing")) global.routing_address = split.Get("routing");
  if (split.Has("notify")) global.notify_address = split.Get("notify");
  global.api_key_file = split.Get("api_key_file");
  global.tls_ca_file = split.Get("tls_ca_file");
  global.tls_server_name = split.Get("tls_server_name");
  global.json = split.Has("json") && split.Get("json") == "true";
  if (split.Has("timeout")) {
    absl::Duration timeout;
    if (!absl::ParseDuration(split.Get("timeout"), &timeout) || timeout <= absl::ZeroDuration()) {
      return Usage(
          absl::StrCat("--timeout: expected a positive duration such as 5s or 500ms, got \"",
                       split.Get("timeout"), "\""));
    }
    global.timeout = timeout;
  }
  if (split.Has("wait")) {
    absl::Duration wait;
    if (!absl::ParseDuration(split.Get("wait"), &wait) || wait < absl::ZeroDuration()) {
      return Usage(
          absl::StrCat("--wait: expected a duration such as 30s, got \"", split.Get("wait"), "\""));
    }
    global.wait = wait;
  }
  for (const char* address : {"context", "routing", "notify"}) {
    if (split.Has(address) && split.Get(address).empty()) {
      return Usage(absl::StrCat("--", address, ": empty address"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CustomerRefArg> ParseCustomerRef(const std::string& text) {
  CustomerRefArg ref;
  if (absl::StartsWith(text, "customers/")) {
    if (text.size() == std::string("customers/").size()) {
      return Usage("customer: \"customers/\" needs an ID");
    }
    ref.name = text;
    return ref;
  }
  const size_t colon = text.find(':');
  if (colon == std::string::npos) {
    return Usage(
        absl::StrCat("customer: expected customers/ID, phone:VALUE, email:VALUE or "
                     "<kind>:<namespace>:<value>, got \"",
                     text, "\""));
  }
  IdentityArg identity;
  ASSIGN_OR_RETURN(identity.kind,
                   EnumValue("customer", "IDENTITY_KIND", text.substr(0, colon), kIdentityKinds));
  std::string rest = text.substr(colon + 1);
  if (NeedsNamespace(identity.kind)) {
    const size_t second = rest.find(':');
    if (second == std::string::npos || second == 0) {
      return Usage(absl::StrCat("customer: ", absl::AsciiStrToLower(identity.kind),
                                " needs a namespace: ", absl::AsciiStrToLower(identity.kind),
                                ":<namespace>:<value>"));
    }
    identity.namespace_ = rest.substr(0, second);
    rest = rest.substr(second + 1);
  }
  if (rest.empty()) return Usage(absl::StrCat("customer: empty value in \"", text, "\""));
  identity.value = rest;
  ref.identity = std::move(identity);
  return ref;
}

absl::StatusOr<std::string> ApiKeyFromFile(const std::string& file_contents) {
  for (absl::string_view line : absl::StrSplit(file_contents, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ', absl::SkipWhitespace());
    if (fields.size() > 2) {
      return Usage("api key file: expected \"<key>\" or \"<tenant> <key>\" on its first line");
    }
    return std::string(fields.back());
  }
  return Usage("api key file: no key in it");
}

absl::StatusOr<Invocation> ParseArgs(const std::vector<std::string>& args) {
  auto split = Split(args);
  if (!split.ok()) return split.status();
  Invocation inv;
  RETURN_IF_ERROR(ParseGlobal(*split, inv.global));
  const std::vector<std::string>& pos = split->positionals;
  if (split->Has("help") || pos.empty() || pos[0] == "help") {
    inv.command = Command::kHelp;
    return inv;
  }
  // The one command without a verb.
  if (pos[0] == "apply") {
    inv.command = Command::kApply;
    RETURN_IF_ERROR(CheckFlags(*split, "apply", {"file"}));
    if (pos.size() != 1 || !split->Has("file") || split->Get("file").empty()) {
      return Usage("usage: cxpctl apply --file FILE");
    }
    inv.apply_file = split->Get("file");
    return inv;
  }
  if (pos.size() < 2) return Usage(absl::StrCat("\"", pos[0], "\" needs a subcommand"));
  const std::string command = pos[0] + " " + pos[1];

  if (command == "customer resolve") {
    inv.command = Command::kCustomerResolve;
    RETURN_IF_ERROR(CheckFlags(*split, command, {"namespace", "region"}));
    RETURN_IF_ERROR(
        CheckPositionals(*split, command, 2, 2, "<kind> <value> [--namespace NS] [--region CC]"));
    ASSIGN_OR_RETURN(inv.identity.kind, EnumValue("kind", "IDENTITY_KIND", pos[2], kIdentityKinds));
    inv.identity.value = pos[3];
    inv.identity.namespace_ = split->Get("namespace");
    inv.identity.region_code = absl::AsciiStrToUpper(split->Get("region"));
    if (NeedsNamespace(inv.identity.kind) && inv.identity.namespace_.empty()) {
      return Usage(
          absl::StrCat("kind ", absl::AsciiStrToLower(inv.identity.kind), " needs --namespace"));
    }
    if (!NeedsNamespace(inv.identity.kind) && !inv.identity.namespace_.empty()) {
      return Usage(absl::StrCat("--namespace: not used with kind ",
                                absl::AsciiStrToLower(inv.identity.kind)));
    }
    return inv;
  }

  if (command == "customer context") {
    inv.command = Command::kCustomerContext;
    RETURN_IF_ERROR(CheckFlags(*split, command, {"limit"}));
    RETURN_IF_ERROR(CheckPositionals(*split, command, 1, 1,
                                     "<customers/ID | phone:VALUE | email:VALUE> [--limit N]"));
    ASSIGN_OR_RETURN(inv.customer, ParseCustomerRef(pos[2]));
    if (split->Has("limit")) {
      ASSIGN_OR_RETURN(inv.interaction_limit, PositiveInt("--limit", split->Get("limit"), 100));
    }
    return inv;
  }

  if (command == "interaction append") {
    inv.command = Command::kInteractionAppend;
    RETURN_IF_ERROR(CheckFlags(
        *split, command,
        {"channel", "direction", "type", "summary", "agent", "request_id", "create_customer"}));
    RETURN_IF_ERROR(CheckPositionals(
        *split, command, 1, 1, "<customer> --channel C --direction D --type T [--summary S]"));
    RETURN_IF_ERROR(Require(*split, command, {"channel", "direction", "type"}));
    ASSIGN_OR_RETURN(inv.customer, ParseCustomerRef(pos[2]));
    ASSIGN_OR_RETURN(inv.channel,
                     EnumValue("--channel", "CHANNEL", split->Get("channel"), kChannels));
    ASSIGN_OR_RETURN(inv.direction,
                     EnumValue("--direction", "DIRECTION", split->Get("direction"), kDirections));
    inv.type = split->Get("type");
    inv.summary = split->Get("summary");
    if (split->Has("agent")) {
      ASSIGN_OR_RETURN(inv.agent, Resource("--agent", "agents", split->Get("agent")));
    }
    inv.request_id = split->Get("request_id");
    inv.create_customer = split->Get("create_customer") == "true";
    return inv;
  }

  if (command == "task submit") {
    inv.command = Command::kTaskSubmit;
    RETURN_IF_ERROR(CheckFlags(
        *split, command, {"queue", "customer", "channel", "skill", "priority", "request_id"}));
    RETURN_IF_ERROR(CheckPositionals(
        *split, command, 0, 0, "--queue queues/X --channel C [--customer REF] [--skill S[:N]]"));
    RETURN_IF_ERROR(Require(*split, command, {"queue", "channel"}));
    ASSIGN_OR_RETURN(inv.queue, Resource("--queue", "queues", split->Get("queue")));
    ASSIGN_OR_RETURN(inv.channel,
                     EnumValue("--channel", "CHANNEL", split->Get("channel"), kChannels));
    if (split->Has("customer")) {
      ASSIGN_OR_RETURN(inv.customer, ParseCustomerRef(split->Get("customer")));
    }
    if (auto it = split->flags.find("skill"); it != split->flags.end()) {
      for (const std::string& text : it->second) {
        // "billing" or "billing:3" (minimum proficiency, default 1).
        std::vector<std::string> parts = absl::StrSplit(text, absl::MaxSplits(':', 1));
        SkillArg skill{.skill = parts[0]};
        if (skill.skill.empty()) return Usage("--skill: empty skill name");
        if (parts.size() == 2) {
          ASSIGN_OR_RETURN(skill.min_proficiency, PositiveInt("--skill", parts[1], 5));
        }
        inv.skills.push_back(std::move(skill));
      }
    }
    if (split->Has("priority")) {
      ASSIGN_OR_RETURN(inv.priority, PositiveInt("--priority", split->Get("priority"), 10));
    }
    inv.request_id = split->Get("request_id");
    return inv;
  }

  if (command == "queue stats") {
    inv.command = Command::kQueueStats;
    RETURN_IF_ERROR(CheckFlags(*split, command, {}));
    RETURN_IF_ERROR(CheckPositionals(*split, command, 0, 1, "[queues/X]"));
    if (pos.size() == 3) {
      ASSIGN_OR_RETURN(inv.queue, Resource("queue", "queues", pos[2]));
    }
    return inv;
  }

  if (command == "notify send") {
    inv.command = Command::kNotifySend;
    RETURN_IF_ERROR(
        CheckFlags(*split, command, {"customer", "template", "var", "purpose", "idempotency_key"}));
    RETURN_IF_ERROR(CheckPositionals(*split, command, 0, 0,
                                     "--customer REF --template templates/X [--var k=v]... "
                                     "[--purpose P] [--idempotency_key K]"));
    RETURN_IF_ERROR(Require(*split, command, {"customer", "template"}));
    ASSIGN_OR_RETURN(inv.customer, ParseCustomerRef(split->Get("customer")));
    ASSIGN_OR_RETURN(inv.template_name,
                     Resource("--template", "templates", split->Get("template")));
    RETURN_IF_ERROR(KeyValues(*split, "var", inv.variables));
    if (split->Has("purpose")) {
      ASSIGN_OR_RETURN(inv.purpose,
                       EnumValue("--purpose", "PURPOSE", split->Get("purpose"), kPurposes));
    }
    inv.idempotency_key = split->Get("idempotency_key");
    return inv;
  }

  if (command == "agent desk") {
    inv.command = Command::kAgentDesk;
    RETURN_IF_ERROR(CheckFlags(*split, command, {"accept", "wrap_up_notes", "handle_for", "for"}));
    RETURN_IF_ERROR(CheckPositionals(*split, command, 1, 1,
                                     "agents/X [--accept] [--wrap_up_notes TEXT] "
                                     "[--handle_for DURATION] [--for DURATION]"));
    ASSIGN_OR_RETURN(inv.agent, Resource("agent", "agents", pos[2]));
    inv.accept_offers = split->Get("accept") == "true";
    if (!inv.accept_offers) {
      for (const char* needs_accept : {"wrap_up_notes", "handle_for"}) {
        if (split->Has(needs_accept)) {
          return Usage(absl::StrCat("--", needs_accept, " is only used with --accept"));
        }
      }
    }
    inv.wrap_up_notes = split->Get("wrap_up_notes");
    if (split->Has("handle_for")) {
      ASSIGN_OR_RETURN(inv.handle_for,
                       DurationFlag("--handle_for", split->Get("handle_for"), true));
    }
    if (split->Has("for")) {
      ASSIGN_OR_RETURN(inv.session_for, DurationFlag("--for", split->Get("for"), false));
    }
    return inv;
  }

  if (command == "journey start") {
    inv.command = Command::kJourneyStart;
    RETURN_IF_ERROR(CheckFlags(*split, command, {"type", "step", "journey_id"}));
    RETURN_IF_ERROR(CheckPositionals(*split, command, 1, 1,
                                     "<customer> --type T [--step S] [--journey_id ID]"));
    RETURN_IF_ERROR(Require(*split, command, {"type"}));
    ASSIGN_OR_RETURN(inv.customer, ParseCustomerRef(pos[2]));
    inv.journey_type = split->Get("type");
    inv.step = split->Get("step");
    inv.journey_id = split->Get("journey_id");
    return inv;
  }

  if (command == "journey advance") {
    inv.command = Command::kJourneyAdvance;
    RETURN_IF_ERROR(CheckFlags(*split, command, {"step", "state", "attr", "note"}));
    RETURN_IF_ERROR(CheckPositionals(*split, command, 1, 1,
                                     "customers/C/journeys/J [--step S] [--state STATE] "
                                     "[--attr k=v]... [--note TEXT]"));
    ASSIGN_OR_RETURN(inv.journey, JourneyName(pos[2]));
    inv.step = split->Get("step");
    if (split->Has("state")) {
      ASSIGN_OR_RETURN(inv.journey_state,
                       EnumValue("--state", "STATE", split->Get("state"), kJourneyStates));
    }
    if (inv.step.empty() && inv.journey_state.empty()) {
      return Usage("\"journey advance\" needs --step or --state");
    }
    RETURN_IF_ERROR(KeyValues(*split, "attr", inv.attributes));
    inv.note = split->Get("note");
    return inv;
  }

  if (command == "consent set") {
    inv.command = Command::kConsentSet;
    RETURN_IF_ERROR(CheckFlags(*split, command, {"channel", "purpose", "state", "source"}));
    RETURN_IF_ERROR(CheckPositionals(*split, command, 1, 1,
                                     "<customer> --channel C --purpose P --state GRANTED|DENIED "
                                     "[--source TEXT]"));
    RETURN_IF_ERROR(Require(*split, command, {"channel", "purpose", "state"}));
    ASSIGN_OR_RETURN(inv.customer, ParseCustomerRef(pos[2]));
    ASSIGN_OR_RETURN(inv.channel,
                     EnumValue("--channel", "CHANNEL", split->Get("channel"), kChannels));
    ASSIGN_OR_RETURN(inv.purpose,
                     EnumValue("--purpose", "PURPOSE", split->Get("purpose"), kPurposes));
    ASSIGN_OR_RETURN(inv.consent_state,
                     EnumValue("--state", "CONSENT_STATE", split->Get("state"), kConsentStates));
    if (split->Has("source")) {
      if (split->Get("source").empty()) return Usage("--source: empty");
      inv.consent_source = split->Get("source");
    }
    return inv;
  }

  return Usage(absl::StrCat("unknown command \"", command, "\""));
}

std::string Usage() {
  return R"(usage: cxpctl [global flags] <command> [args] [flags]

commands:
  customer resolve <kind> <value> [--namespace NS] [--region CC]
      kind: phone, email, chat_handle, social, external_id, device_id
  customer context <customers/ID | phone:VALUE | email:VALUE> [--limit N]
  interaction append <customer> --channel VOICE --direction INBOUND --type call
      [--summary TEXT] [--agent agents/X] [--request_id ID] [--create_customer]
  task submit --queue queues/X --channel VOICE [--customer REF]
      [--skill NAME[:MIN_LEVEL]]... [--priority 1-10] [--request_id ID]
  queue stats [queues/X]              (every queue when none is given)
  notify send --customer REF --template templates/X [--var k=v]...
      [--purpose TRANSACTIONAL|SERVICE|MARKETING] [--idempotency_key K]
  apply --file FILE                   create the customers, journeys, queues, agents,
      templates and trigger_rules FILE lists (Create*Requests in protobuf JSON,
      e.g. deploy/demo/demo.json); what exists already is left unchanged
  agent desk agents/X [--accept] [--wrap_up_notes TEXT] [--handle_for DURATION]
      [--for DURATION]                an agent's desktop: opens its session, sets it
      AVAILABLE and prints each event (state, offers, task changes); --accept
      accepts each offer, then after --handle_for (default 2s) wraps it up and
      completes it; ends after --for (default: on Ctrl-C), setting it OFFLINE
  journey start <customer> --type T [--step S] [--journey_id ID]
  journey advance customers/C/journeys/J [--step S] [--attr k=v]... [--note TEXT]
      [--state OPEN|WAITING_ON_CUSTOMER|WAITING_ON_BUSINESS|RESOLVED|ABANDONED]
  consent set <customer> --channel SMS --purpose MARKETING --state GRANTED|DENIED
      [--source TEXT]                 (source: how it was captured, default cxpctl)

  A customer REF (also <customer>) is customers/ID, phone:VALUE, email:VALUE or
  <kind>:<namespace>:<value> (e.g. external_id:salesforce:003X).

global flags:
  --context ADDR         context_service (default 127.0.0.1:50051)
  --routing ADDR         routing_service (default 127.0.0.1:50052)
  --notify ADDR          notify_service (default 127.0.0.1:50053)
  --api_key_file FILE    API key ("<key>" or "<tenant> <key>"); default $CXP_API_KEY
  --tls_ca_file FILE     use TLS, trusting these roots
  --tls_server_name NAME override the host name checked in the certificate
  --timeout DURATION     deadline of each call (default 5s; agent desk: of the
                         calls it makes, the session itself has none)
  --wait DURATION        first wait up to this long for each service to accept
                         connections (default 0s: fail at once if it does not)
  --json                 print responses as JSON (agent desk: one object a line)

exit status: 0 success, 1 the call failed (printed as "cxpctl: CODE: message"),
2 a usage error. agent desk: 0 when the session ends by --for or a signal and
every call it made succeeded.
)";
}

}  // namespace cxp::cxpctl
