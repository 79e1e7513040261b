// `cxpctl agent desk agents/X`: an agent-desktop simulator, so the routing
// of a task can be tried end to end from a terminal (README "cxpctl").
//
// It opens the agent's AgentSession stream (routing_service.proto), and once
// the session is open (its first event, the agent itself) sets the agent
// AVAILABLE, since offers go only to AVAILABLE agents with an open session.
// Every event is printed as it arrives: state changes, offers (task, channel,
// customer, queue, the routing decision's chosen agent, priority and
// context-enrichment effects) and task changes.
//
// With accept_offers it accepts each offer (AcceptTask), and handle_for
// later wraps the task up and completes it (WrapUpTask, CompleteTask with
// wrap_up_notes), printing each call. Tasks the agent already holds when the
// session opens (the server resends them) are handled the same way: OFFERED
// ones accepted, ACCEPTED and WRAP_UP ones finished after handle_for.
//
// The session ends when `session_for` has passed or `stop_requested` becomes
// true (cxpctl sets it on SIGINT/SIGTERM): the agent is set OFFLINE, the
// stream cancelled, and tasks still being handled are left with the agent as
// they are (each printed as unfinished; a later desk with accept_offers
// finishes them).
//
// Output: one line per event or call on `out`, flushed at once;
// human-readable, or with json one JSON object per line: the
// AgentSessionResponse itself for an event ({"agent": ...}, {"offer": ...},
// {"task": ...}), {"call": "AcceptTask", "response": {...}} for a call, and
// {"unfinished": "tasks/X"} for a task left with the agent.
//
// Errors: a failed call is printed on `err` as "cxpctl: CODE: <Method>
// <resource>: message". A failed SetAgentState(AVAILABLE) ends the session
// (the desk would never get an offer); failures of the per-task calls do
// not. The stream failing or ending on the server's side (agent NOT_FOUND,
// routing_service UNAVAILABLE) ends the session and is printed as
// "cxpctl: CODE: message". No reconnection.
//
// Threading: RunAgentDesk blocks the calling thread; inside, one thread
// reads the stream (and accepts offers), the calling thread keeps time
// (handle_for, session_for), polls `stop_requested` every 100 ms, finishes
// tasks and cancels the stream. Unary calls use the client's default
// deadline (cxpctl --timeout); the stream has none.

#ifndef CXP_CXPCTL_AGENT_DESK_H_
#define CXP_CXPCTL_AGENT_DESK_H_

#include <atomic>
#include <ostream>
#include <string>

#include "absl/time/time.h"
#include "common/client/channel.h"

namespace cxp::cxpctl {

struct AgentDeskOptions {
  std::string agent;  // agents/X
  bool accept_offers = false;
  std::string wrap_up_notes;
  absl::Duration handle_for = absl::Seconds(2);  // from AcceptTask to WrapUpTask
  absl::Duration session_for = absl::InfiniteDuration();
  bool json = false;
};

// Runs the desk through `routing` (a routing_service client) until the
// session ends (see above). Returns the exit status: 0 when it ended by
// session_for or stop_requested and every call succeeded, 1 otherwise.
int RunAgentDesk(const client::ServiceClient& routing, const AgentDeskOptions& options,
                 const std::atomic<bool>& stop_requested, std::ostream& out, std::ostream& err);

}  // namespace cxp::cxpctl

#endif  // CXP_CXPCTL_AGENT_DESK_H_
