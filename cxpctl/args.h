// cxpctl's command line, parsed into plain values: no gRPC or protobuf types,
// so every rule here is unit-tested without a server (tests/cxpctl).
//
//   cxpctl [global flags] <noun> <verb> [args] [flags]
//
// Flags take `--name value` or `--name=value` and may appear anywhere after
// the program name. Enum-like values (channel, direction, purpose) are
// accepted in any case, with or without their proto prefix ("voice",
// "CHANNEL_VOICE"), and come out as the bare upper-case name ("VOICE").
//
// Errors: ParseArgs returns INVALID_ARGUMENT naming the flag or argument and
// the problem; the caller prints it with the usage and exits 2.

#ifndef CXP_CXPCTL_ARGS_H_
#define CXP_CXPCTL_ARGS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace cxp::cxpctl {

enum class Command {
  kHelp,
  kCustomerResolve,    // customer resolve <kind> <value>
  kCustomerContext,    // customer context <ref>
  kInteractionAppend,  // interaction append <ref> --channel --direction --type
  kTaskSubmit,         // task submit --queue --customer --channel
  kQueueStats,         // queue stats [queues/X]
  kNotifySend,         // notify send --customer --template
  kApply,              // apply --file FILE (cxpctl/apply.h)
  kAgentDesk,          // agent desk agents/X [--accept] ... (cxpctl/agent_desk.h)
  kJourneyStart,       // journey start <ref> --type T [--step S]
  kJourneyAdvance,     // journey advance customers/C/journeys/J --step S / --state S
  kConsentSet,         // consent set <ref> --channel --purpose --state
};

// Where to connect and how; defaults are scripts/run.sh's local ports.
struct GlobalOptions {
  std::string context_address = "127.0.0.1:50051";
  std::string routing_address = "127.0.0.1:50052";
  std::string notify_address = "127.0.0.1:50053";
  std::string api_key_file;     // empty: the CXP_API_KEY environment variable
  std::string tls_ca_file;      // set: TLS with these roots
  std::string tls_server_name;  // overrides the certificate host name
  absl::Duration timeout = absl::Seconds(5);
  // Before its first call to a service, wait up to this long for the service
  // to accept connections (for scripts that have just started it); zero:
  // fail at once with UNAVAILABLE.
  absl::Duration wait = absl::ZeroDuration();
  bool json = false;
};

// An identity: kind is the bare upper-case IdentityKind ("PHONE").
struct IdentityArg {
  std::string kind;
  std::string value;
  std::string namespace_;  // for CHAT_HANDLE, SOCIAL, EXTERNAL_ID, DEVICE_ID
  std::string region_code;
};

// A customer reference: `customers/ID`, `phone:VALUE`, `email:VALUE`, or
// `<kind>:<namespace>:<value>` for the namespaced kinds.
struct CustomerRefArg {
  std::string name;                     // set for customers/ID
  std::optional<IdentityArg> identity;  // set otherwise
};

struct SkillArg {
  std::string skill;
  int min_proficiency = 1;
};

struct Invocation {
  GlobalOptions global;
  Command command = Command::kHelp;

  IdentityArg identity;       // customer resolve
  CustomerRefArg customer;    // context, interaction append, task submit, notify send
  int interaction_limit = 0;  // customer context --limit; 0 = server default

  // interaction append
  std::string channel;    // also task submit, consent set
  std::string direction;  // INBOUND | OUTBOUND
  std::string type;
  std::string summary;
  std::string agent;             // agents/X; also agent desk
  std::string request_id;        // also task submit
  bool create_customer = false;  // an identity that matches no one creates a customer

  // task submit / queue stats
  std::string queue;  // queues/X; empty for queue stats = every queue
  std::vector<SkillArg> skills;
  int priority = 0;

  // notify send
  std::string template_name;
  std::map<std::string, std::string> variables;
  std::string purpose = "TRANSACTIONAL";  // consent set: required, no default
  std::string idempotency_key;

  // apply: the JSON file of Create*Requests; read and checked by main.cc.
  std::string apply_file;

  // agent desk (the agent is `agent`)
  bool accept_offers = false;  // --accept: accept each offer, then wrap up and complete it
  std::string wrap_up_notes;
  absl::Duration handle_for = absl::Seconds(2);  // from accepting to wrapping up
  // --for: how long the session stays open; infinite = until SIGINT/SIGTERM.
  absl::Duration session_for = absl::InfiniteDuration();

  // journey start (customer, journey_type, step, journey_id) and journey
  // advance (journey, step, journey_state, attributes, note).
  std::string journey;  // customers/C/journeys/J
  std::string journey_type;
  std::string journey_id;  // empty: the service generates one
  std::string step;
  std::string journey_state;  // bare Journey.State name ("WAITING_ON_CUSTOMER"); empty = keep
  std::map<std::string, std::string> attributes;  // string values
  std::string note;

  // consent set (customer, channel, purpose)
  std::string consent_state;  // GRANTED | DENIED
  std::string consent_source = "cxpctl";
};

// `args` excludes the program name. The environment ($CXP_API_KEY) is not
// read here, so tests stay hermetic.
absl::StatusOr<Invocation> ParseArgs(const std::vector<std::string>& args);

// Parses "<kind> <value>"-style references; exposed for tests.
absl::StatusOr<CustomerRefArg> ParseCustomerRef(const std::string& text);

// The API key in `file_contents`: the first line that is neither blank nor a
// comment, either "<key>" or "<tenant> <key>" (the servers' key-file format).
// INVALID_ARGUMENT when there is none.
absl::StatusOr<std::string> ApiKeyFromFile(const std::string& file_contents);

std::string Usage();

}  // namespace cxp::cxpctl

#endif  // CXP_CXPCTL_ARGS_H_
