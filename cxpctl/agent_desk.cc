#include "cxpctl/agent_desk.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "cxp/routing/v1/routing_service.grpc.pb.h"
#include "google/protobuf/util/json_util.h"

namespace cxp::cxpctl {
namespace {

namespace routing_v1 = ::cxp::routing::v1;
namespace type_v1 = ::cxp::type::v1;

// How often the timekeeping thread looks at stop_requested (a signal handler
// cannot wake a condition variable).
constexpr absl::Duration kStopPollInterval = absl::Milliseconds(100);

std::string Bare(const std::string& enum_name, absl::string_view prefix) {
  return std::string(absl::StripPrefix(enum_name, prefix));
}

std::string StateName(routing_v1::AgentState state) {
  return Bare(routing_v1::AgentState_Name(state), "AGENT_STATE_");
}

std::string TaskStateName(routing_v1::Task::State state) {
  return Bare(routing_v1::Task::State_Name(state), "STATE_");
}

std::string OneLineJson(const google::protobuf::Message& message) {
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(message, &out);
  return out;
}

// customers/X, or the identity as kind:value when the task names none.
std::string CustomerText(const routing_v1::Task& task) {
  const std::string& resolved = task.routing_decision().context_enrichment().customer();
  if (!resolved.empty()) return resolved;
  if (!task.has_customer()) return "";
  if (!task.customer().has_identity()) return task.customer().customer();
  const type_v1::Identity& identity = task.customer().identity();
  std::string text =
      absl::AsciiStrToLower(Bare(type_v1::IdentityKind_Name(identity.kind()), "IDENTITY_KIND_"));
  if (!identity.namespace_().empty()) absl::StrAppend(&text, ":", identity.namespace_());
  return absl::StrCat(text, ":", identity.value());
}

std::string OfferText(const routing_v1::TaskOffer& offer) {
  const routing_v1::Task& task = offer.task();
  const routing_v1::RoutingDecision& decision = task.routing_decision();
  std::vector<std::string> parts = {task.name(),
                                    Bare(type_v1::Channel_Name(task.channel()), "CHANNEL_")};
  if (const std::string customer = CustomerText(task); !customer.empty()) {
    parts.push_back(absl::StrCat("customer=", customer));
  }
  parts.push_back(absl::StrCat("queue=", task.queue()));
  parts.push_back(absl::StrCat("chosen=", decision.chosen_agent()));
  parts.push_back(absl::StrCat("priority=", decision.effective_priority()));
  if (decision.has_context_enrichment()) {
    const routing_v1::ContextEnrichment& enrichment = decision.context_enrichment();
    std::string context = absl::StrCat(
        "context=",
        Bare(routing_v1::ContextEnrichment::Status_Name(enrichment.status()), "STATUS_"));
    if (!enrichment.reason().empty()) absl::StrAppend(&context, " (", enrichment.reason(), ")");
    if (!enrichment.effects().empty()) {
      absl::StrAppend(&context, ": ", absl::StrJoin(enrichment.effects(), "; "));
    }
    parts.push_back(std::move(context));
  }
  if (offer.has_expire_time()) {
    parts.push_back(absl::StrCat(
        "expires=",
        absl::FormatTime("%H:%M:%S UTC", absl::FromUnixSeconds(offer.expire_time().seconds()),
                         absl::UTCTimeZone())));
  }
  return absl::StrJoin(parts, "  ");
}

std::string TaskText(const routing_v1::Task& task) {
  std::string text = absl::StrCat(task.name(), "  ", TaskStateName(task.state()));
  if (!task.agent().empty()) absl::StrAppend(&text, "  agent=", task.agent());
  if (!task.wrap_up_notes().empty())
    absl::StrAppend(&text, "  notes=\"", task.wrap_up_notes(), "\"");
  if (!task.end_reason().empty()) absl::StrAppend(&text, "  reason=\"", task.end_reason(), "\"");
  return text;
}

std::string AgentText(const routing_v1::Agent& agent) {
  std::string text = StateName(agent.presence().state());
  if (!agent.presence().reason().empty()) {
    absl::StrAppend(&text, " (", agent.presence().reason(), ")");
  }
  return text;
}

absl::Status FromGrpc(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

// "label" padded to the event column, then the text.
std::string Labelled(absl::string_view label, absl::string_view text) {
  return absl::StrCat(label, std::string(label.size() < 11 ? 11 - label.size() : 1, ' '), text);
}

class AgentDesk {
 public:
  AgentDesk(const client::ServiceClient& routing, const AgentDeskOptions& options,
            std::ostream& out, std::ostream& err)
      : routing_(routing), stub_(routing.channel()), options_(options), out_(out), err_(err) {}

  int Run(const std::atomic<bool>& stop_requested) {
    // The stream is cancelled from this thread, so it must not be bounded by
    // the unary calls' deadline.
    stream_context_ = routing_.NewCallContext();
    stream_context_->set_deadline(std::chrono::system_clock::time_point::max());
    std::thread reader([this] { ReadEvents(); });

    const absl::Time session_end = absl::Now() + options_.session_for;
    std::unique_lock<std::mutex> lock(mu_);
    while (!stream_ended_ && !stop_requested.load() && absl::Now() < session_end) {
      absl::Time wake = std::min(absl::Now() + kStopPollInterval, session_end);
      for (const PendingTask& pending : pending_) wake = std::min(wake, pending.finish_at);
      cv_.wait_until(lock, absl::ToChronoTime(wake));
      FinishDueTasks(lock);
    }
    const bool ended_by_us = !stream_ended_;
    lock.unlock();

    if (ended_by_us) {
      // Log out first, so the session still shows the change.
      if (session_open_.load()) SetState(routing_v1::AGENT_STATE_OFFLINE);
      stream_context_->TryCancel();
    }
    reader.join();
    for (const PendingTask& pending : pending_) {
      PrintLine(Labelled("unfinished", absl::StrCat(pending.task, " (the session ended first)")),
                absl::StrCat("{\"unfinished\":\"", pending.task, "\"}"));
    }
    if (!ended_by_us) {
      absl::Status status = fatal_.ok() ? FromGrpc(stream_status_) : fatal_;
      if (status.ok()) status = absl::UnavailableError("the routing service ended the session");
      if (fatal_.ok()) {  // a failed call was printed when it failed
        std::lock_guard<std::mutex> print_lock(print_mu_);
        err_ << "cxpctl: " << absl::StatusCodeToString(status.code()) << ": " << status.message()
             << std::endl;
      }
      return 1;
    }
    return failed_calls_.load() == 0 ? 0 : 1;
  }

 private:
  struct PendingTask {
    std::string task;
    absl::Time finish_at;
    bool wrapped_up = false;  // already WRAP_UP: only CompleteTask is left
  };

  // The reader thread: every event until the stream ends.
  void ReadEvents() {
    routing_v1::AgentSessionRequest request;
    request.set_agent(options_.agent);
    std::unique_ptr<grpc::ClientReader<routing_v1::AgentSessionResponse>> reader =
        stub_.AgentSession(stream_context_.get(), request);
    routing_v1::AgentSessionResponse event;
    while (reader->Read(&event)) {
      OnEvent(event);
    }
    const grpc::Status status = reader->Finish();
    std::lock_guard<std::mutex> lock(mu_);
    stream_ended_ = true;
    stream_status_ = status;
    cv_.notify_all();
  }

  void OnEvent(const routing_v1::AgentSessionResponse& event) {
    const std::string json = OneLineJson(event);
    switch (event.event_case()) {
      case routing_v1::AgentSessionResponse::kAgent:
        if (!session_open_.exchange(true)) {
          PrintLine(Labelled("session",
                             absl::StrCat(options_.agent, " open, ", AgentText(event.agent()))),
                    json);
          // The session is open: offers can come once the agent is AVAILABLE.
          if (!SetState(routing_v1::AGENT_STATE_AVAILABLE)) {
            fatal_ = absl::FailedPreconditionError("could not set the agent AVAILABLE");
            stream_context_->TryCancel();
          }
          return;
        }
        PrintLine(Labelled("state", AgentText(event.agent())), json);
        return;
      case routing_v1::AgentSessionResponse::kOffer:
        PrintLine(Labelled("offer", OfferText(event.offer())), json);
        if (options_.accept_offers) Accept(event.offer().task().name());
        return;
      case routing_v1::AgentSessionResponse::kTask:
        PrintLine(Labelled("task", TaskText(event.task())), json);
        if (options_.accept_offers) TakeOverHeldTask(event.task());
        return;
      case routing_v1::AgentSessionResponse::EVENT_NOT_SET:
        return;
    }
  }

  // A task event for one this desk has not handled yet: one the agent held
  // when the session opened.
  void TakeOverHeldTask(const routing_v1::Task& task) {
    if (task.agent() != options_.agent || handled_.contains(task.name())) return;
    switch (task.state()) {
      case routing_v1::Task::STATE_OFFERED:
        Accept(task.name());
        return;
      case routing_v1::Task::STATE_ACCEPTED:
      case routing_v1::Task::STATE_WRAP_UP:
        handled_.insert(task.name());
        Schedule(task.name(), task.state() == routing_v1::Task::STATE_WRAP_UP);
        return;
      default:
        return;
    }
  }

  void Accept(const std::string& task) {
    if (!handled_.insert(task).second) return;
    routing_v1::AcceptTaskRequest request;
    request.set_name(task);
    request.set_agent(options_.agent);
    routing_v1::AcceptTaskResponse response;
    if (!Call("AcceptTask", task, &routing_v1::RoutingService::Stub::AcceptTask, request,
              response)) {
      return;
    }
    PrintCall("accepted", task, "AcceptTask", response);
    Schedule(task, /*wrapped_up=*/false);
  }

  void Schedule(const std::string& task, bool wrapped_up) {
    std::lock_guard<std::mutex> lock(mu_);
    pending_.push_back({task, absl::Now() + options_.handle_for, wrapped_up});
    cv_.notify_all();
  }

  // Wraps up and completes every task whose handle_for has passed; `lock`
  // (on mu_) is released during the calls.
  void FinishDueTasks(std::unique_lock<std::mutex>& lock) {
    const absl::Time now = absl::Now();
    std::vector<PendingTask> due;
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->finish_at <= now) {
        due.push_back(*it);
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
    if (due.empty()) return;
    lock.unlock();
    for (const PendingTask& pending : due) {
      if (!pending.wrapped_up) {
        routing_v1::WrapUpTaskRequest request;
        request.set_name(pending.task);
        request.set_agent(options_.agent);
        routing_v1::WrapUpTaskResponse response;
        if (!Call("WrapUpTask", pending.task, &routing_v1::RoutingService::Stub::WrapUpTask,
                  request, response)) {
          continue;
        }
        PrintCall("wrapped_up", pending.task, "WrapUpTask", response);
      }
      routing_v1::CompleteTaskRequest request;
      request.set_name(pending.task);
      request.set_agent(options_.agent);
      request.set_wrap_up_notes(options_.wrap_up_notes);
      routing_v1::CompleteTaskResponse response;
      if (Call("CompleteTask", pending.task, &routing_v1::RoutingService::Stub::CompleteTask,
               request, response)) {
        PrintCall("completed", pending.task, "CompleteTask", response);
      }
    }
    lock.lock();
  }

  bool SetState(routing_v1::AgentState state) {
    routing_v1::SetAgentStateRequest request;
    request.set_name(options_.agent);
    request.set_state(state);
    routing_v1::SetAgentStateResponse response;
    if (!Call("SetAgentState", options_.agent, &routing_v1::RoutingService::Stub::SetAgentState,
              request, response)) {
      return false;
    }
    PrintLine(
        Labelled("set", absl::StrCat(options_.agent, " ", StateName(state))),
        absl::StrCat("{\"call\":\"SetAgentState\",\"response\":", OneLineJson(response), "}"));
    return true;
  }

  // One unary call with --timeout; a failure is printed and counted.
  template <typename Request, typename Response>
  bool Call(absl::string_view method, absl::string_view resource,
            grpc::Status (routing_v1::RoutingService::Stub::*rpc)(grpc::ClientContext*,
                                                                  const Request&, Response*),
            const Request& request, Response& response) {
    auto context = routing_.NewCallContext();
    const grpc::Status status = (stub_.*rpc)(context.get(), request, &response);
    if (status.ok()) return true;
    ++failed_calls_;
    std::lock_guard<std::mutex> lock(print_mu_);
    err_ << "cxpctl: " << absl::StatusCodeToString(FromGrpc(status).code()) << ": " << method << " "
         << resource << ": " << status.error_message() << std::endl;
    return false;
  }

  template <typename Response>
  void PrintCall(absl::string_view label, const std::string& task, absl::string_view method,
                 const Response& response) {
    std::string text = task;
    if constexpr (std::is_same_v<Response, routing_v1::CompleteTaskResponse>) {
      if (!response.task().wrap_up_notes().empty()) {
        absl::StrAppend(&text, "  notes=\"", response.task().wrap_up_notes(), "\"");
      }
    }
    PrintLine(Labelled(label, text),
              absl::StrCat("{\"call\":\"", method, "\",\"response\":", OneLineJson(response), "}"));
  }

  void PrintLine(const std::string& human, const std::string& json) {
    std::lock_guard<std::mutex> lock(print_mu_);
    out_ << (options_.json ? json : human) << std::endl;
  }

  const client::ServiceClient& routing_;
  routing_v1::RoutingService::Stub stub_;
  const AgentDeskOptions& options_;
  std::ostream& out_;
  std::ostream& err_;
  std::unique_ptr<grpc::ClientContext> stream_context_;
  std::atomic<bool> session_open_{false};
  std::atomic<int> failed_calls_{0};
  std::mutex print_mu_;  // one line at a time on out_ and err_

  // Reader thread only.
  std::set<std::string> handled_;  // tasks accepted or scheduled to finish
  absl::Status fatal_;             // read by Run after the reader has ended

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<PendingTask> pending_;  // accepted tasks waiting for handle_for
  bool stream_ended_ = false;
  grpc::Status stream_status_;
};

}  // namespace

int RunAgentDesk(const client::ServiceClient& routing, const AgentDeskOptions& options,
                 const std::atomic<bool>& stop_requested, std::ostream& out, std::ostream& err) {
  return AgentDesk(routing, options, out, err).Run(stop_requested);
}

}  // namespace cxp::cxpctl
