#include "routing_service/core/routing_engine.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <deque>
#include <functional>
#include <queue>
#include <set>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/status/errors.h"
#include "common/status/status_macros.h"
#include "cxp/type/v1/channel.pb.h"
#include "google/protobuf/util/time_util.h"

namespace cxp::routing {
namespace {

using google::protobuf::util::TimeUtil;
using Channel = ::cxp::type::v1::Channel;

constexpr int kDefaultPriority = 5;
constexpr int kMaxPriority = 10;
constexpr absl::Duration kDefaultOfferTimeout = absl::Seconds(20);
constexpr absl::Duration kDefaultWrapUpTimeout = absl::Minutes(2);
constexpr absl::Duration kStatsRetention = absl::Hours(24);
// Wait estimates below this many answered tasks are flagged low_data.
constexpr int kWaitEstimateMinSamples = 20;

google::protobuf::Timestamp Ts(absl::Time t) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}
absl::Time FromTs(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(ts));
}
absl::Duration FromProto(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}
google::protobuf::Duration ToProto(absl::Duration d) {
  return TimeUtil::NanosecondsToDuration(absl::ToInt64Nanoseconds(d));
}
std::string ChannelName(int channel) {
  std::string name = ::cxp::type::v1::Channel_Name(static_cast<Channel>(channel));
  absl::string_view short_name = name;
  if (absl::ConsumePrefix(&short_name, "CHANNEL_")) return std::string(short_name);
  return name;
}
// "ko" of "ko-KR", lower-cased.
std::string PrimaryLanguage(absl::string_view tag) {
  return absl::AsciiStrToLower(tag.substr(0, tag.find('-')));
}
bool Terminal(v1::Task::State state) {
  return state == v1::Task::STATE_COMPLETED || state == v1::Task::STATE_CANCELLED ||
         state == v1::Task::STATE_ABANDONED || state == v1::Task::STATE_EXPIRED;
}

}  // namespace

struct RoutingEngine::Impl {
  // Per-channel state lives in small arrays indexed by the Channel value
  // (validation admits only known values; anything else has no capacity).
  static constexpr int kChannels = 16;
  static std::array<absl::Time, kChannels> InfinitePastArray() {
    std::array<absl::Time, kChannels> times;
    times.fill(absl::InfinitePast());
    return times;
  }
  static bool KnownChannel(int channel) { return channel > 0 && channel < kChannels; }

  struct Capacity {
    int max_tasks = 0;    // 0: the channel is not listed
    uint32_t blocks = 0;  // bit c: this channel's tasks block channel c
    std::optional<absl::Duration> wrap_up_timeout;
  };

  struct TaskEntry;

  struct AgentEntry {
    v1::Agent config;  // presence filled on the way out
    v1::AgentState desired = v1::AGENT_STATE_OFFLINE;
    std::string reason;
    absl::Time change_time;
    v1::AgentState shown = v1::AGENT_STATE_OFFLINE;
    int sessions = 0;
    uint64_t session_generation = 0;
    std::array<Capacity, kChannels> capacity;
    std::vector<int> channels;  // listed channels
    int total_capacity = 0;
    absl::flat_hash_map<std::string, int> skills;
    absl::flat_hash_set<std::string> languages;  // primary subtags
    std::vector<std::string> held;               // task names, oldest first
    std::array<int, kChannels> held_per_channel{};
    uint32_t held_mask = 0;  // bit c: holds a task of channel c
    int held_total = 0;
    std::array<absl::Time, kChannels> idle_since = InfinitePastArray();
    absl::Time available_since = absl::InfinitePast();
  };

  // Order of waiting tasks within a queue: higher priority first, then the
  // earlier submission (a task keeps its place through rejections and
  // overflow), then arrival order.
  struct WaitKey {
    int priority;
    absl::Time created;
    uint64_t seq;
    bool operator<(const WaitKey& other) const {
      return std::tie(other.priority, created, seq) < std::tie(priority, other.created, other.seq);
    }
  };

  struct Sample {
    absl::Time at;
    absl::Duration value;
  };

  struct QueueEntry {
    v1::Queue config;
    std::optional<schedule::WeeklySchedule> hours;
    std::map<WaitKey, TaskEntry*> waiting;
    std::map<std::string, AgentEntry*> agents;  // serving it, by name (round-robin order)
    // Per number of bullseye steps in effect (0..n): the rules then.
    struct StepRules {
      absl::Duration after;  // when this many steps are in effect
      bool relax_language = false;
      int lower_by = 0;
    };
    std::vector<StepRules> steps = std::vector<StepRules>(1);  // steps[0]: no step
    std::string round_robin_last;
    absl::flat_hash_set<std::string> widened_from;  // queues whose bullseye steps add this one
    // Rolling statistics (kStatsRetention).
    std::deque<absl::Time> entered;
    std::deque<Sample> answered;   // wait
    std::deque<Sample> abandoned;  // wait
    std::deque<Sample> completed;  // handle time
  };

  struct TaskEntry {
    v1::Task task;
    uint64_t seq = 0;
    uint64_t generation = 0;  // timers of older states are stale
    uint64_t version = 1;     // etag
    int priority = kDefaultPriority;
    absl::Time created;
    absl::Time enqueued;
    absl::Time offer_expire;
    absl::Time accepted;
    // Agents who rejected or missed it -> why (shown in later decisions).
    absl::flat_hash_map<std::string, std::string> refused;
    std::string reserved_for;  // last agent (sticky routing)
    absl::Time reserved_until = absl::InfinitePast();
    std::optional<WaitKey> key;  // while QUEUED
    std::string language;        // primary subtag of task.language_code, lower case
  };

  enum class TimerKind { kOffer, kWrapUp, kReevaluate, kOverflow, kMaxWait, kSessionGrace };
  struct Timer {
    absl::Time at;
    uint64_t order;
    TimerKind kind;
    std::string id;
    uint64_t generation;
    bool operator>(const Timer& other) const {
      return std::tie(at, order) > std::tie(other.at, other.order);
    }
  };

  explicit Impl(RoutingEngineOptions opts) : options(std::move(opts)) {}

  RoutingEngineOptions options;
  absl::flat_hash_map<std::string, QueueEntry> queues;
  // Node maps: queues and agents keep pointers to their entries.
  absl::node_hash_map<std::string, AgentEntry> agents;
  absl::node_hash_map<std::string, TaskEntry> tasks;
  absl::flat_hash_map<std::string, std::string> intents;  // intent -> queue
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers;
  uint64_t timer_order = 0;
  uint64_t task_seq = 0;
  std::vector<RoutingChange> changes;

  // ------------------------------------------------------------ helpers

  void Arm(absl::Time at, TimerKind kind, const std::string& id, uint64_t generation) {
    timers.push(Timer{at, ++timer_order, kind, id, generation});
  }

  static absl::Duration OfferTimeout(const QueueEntry& q) {
    return q.config.has_offer_timeout() ? FromProto(q.config.offer_timeout())
                                        : kDefaultOfferTimeout;
  }

  v1::AgentState ShownState(const AgentEntry& a) const {
    if (a.desired != v1::AGENT_STATE_AVAILABLE) return a.desired;
    for (const std::string& name : a.held) {
      auto it = tasks.find(name);
      if (it != tasks.end() && it->second.task.state() == v1::Task::STATE_WRAP_UP) {
        return v1::AGENT_STATE_WRAP_UP;
      }
    }
    for (int channel : a.channels) {
      if (FreeOn(a, channel).ok()) return v1::AGENT_STATE_AVAILABLE;
    }
    return v1::AGENT_STATE_BUSY;
  }

  // Why an agent may not be offered a task, cheaply (no strings built
  // until a decision is recorded).
  struct Verdict {
    enum Code {
      kEligible,
      kNotAvailable,
      kNotResponding,
      kNoSession,
      kRefused,
      kReserved,
      kNoChannel,
      kNoCapacity,
      kBlocked,
      kLanguage,
      kMissingSkill,
    };
    Code code = kEligible;
    int channel = 0;                    // kNoChannel, kBlocked
    const std::string* text = nullptr;  // kRefused: why; kMissingSkill: the skill
    bool ok() const { return code == kEligible; }
    // AgentCandidate.ineligible_reason.
    std::string Reason() const {
      switch (code) {
        case kEligible:
          return "";
        case kNotAvailable:
          return "not_available";
        case kNotResponding:
          return "not_responding";
        case kNoSession:
          return "no_desktop_session";
        case kRefused:
          return *text;
        case kReserved:
          return "reserved_for_last_agent";
        case kNoChannel:
          return absl::StrCat("no_channel:", ChannelName(channel));
        case kNoCapacity:
          return "no_capacity";
        case kBlocked:
          return absl::StrCat("blocked_by_channel:", ChannelName(channel));
        case kLanguage:
          return "language";
        case kMissingSkill:
          return absl::StrCat("missing_skill:", *text);
      }
      return "";
    }
  };

  // Whether the agent could take a task of `channel` now (capacity and
  // blocking only).
  static Verdict FreeOn(const AgentEntry& a, int channel) {
    if (!KnownChannel(channel) || a.capacity[channel].max_tasks == 0) {
      return {Verdict::kNoChannel, channel};
    }
    if (a.held_per_channel[channel] >= a.capacity[channel].max_tasks) return {Verdict::kNoCapacity};
    for (uint32_t held = a.held_mask; held != 0; held &= held - 1) {
      const int held_channel = __builtin_ctz(held);
      if (a.capacity[held_channel].blocks & (1u << channel)) {
        return {Verdict::kBlocked, held_channel};
      }
    }
    return {};
  }

  static v1::Agent AgentView(const AgentEntry& a) {
    v1::Agent out = a.config;
    out.mutable_presence()->set_state(a.shown);
    out.mutable_presence()->set_reason(a.reason);
    *out.mutable_presence()->mutable_change_time() = Ts(a.change_time);
    return out;
  }

  // Recomputes the shown state; records a change when it moved.
  void RefreshAgent(AgentEntry& a, absl::Time now, bool force = false) {
    const v1::AgentState shown = ShownState(a);
    if (shown == a.shown && !force) return;
    if (shown != a.shown) {
      a.shown = shown;
      a.change_time = now;
    }
    RoutingChange change{.kind = RoutingChange::kAgent};
    change.agent = AgentView(a);
    changes.push_back(std::move(change));
  }

  void PublishTask(TaskEntry& t, absl::Time now) {
    ++t.version;
    t.task.set_etag(absl::StrCat(t.version));
    *t.task.mutable_update_time() = Ts(now);
    RoutingChange change{.kind = RoutingChange::kTask};
    change.task = t.task;
    changes.push_back(std::move(change));
  }

  // Number of bullseye steps in effect for a task waiting in `q`.
  static int ActiveSteps(const QueueEntry& q, const TaskEntry& t, absl::Time now) {
    int steps = 0;
    while (steps + 1 < static_cast<int>(q.steps.size()) &&
           now - t.enqueued >= q.steps[steps + 1].after) {
      ++steps;
    }
    return steps;
  }

  // The queues whose agents may take a task of `q` with `steps` in effect.
  static std::vector<std::string> ServingQueues(const QueueEntry& q, int steps) {
    std::vector<std::string> out = {q.config.name()};
    for (int i = 0; i < steps; ++i) {
      for (const std::string& extra : q.config.bullseye_steps(i).extra_queues()) {
        if (std::find(out.begin(), out.end(), extra) == out.end()) out.push_back(extra);
      }
    }
    return out;
  }

  // The fewest bullseye steps of `q` after which agent `a` serves it (0 if
  // directly), or -1 if never.
  static int StepsUntilServed(const AgentEntry& a, const QueueEntry& q) {
    const auto serves = [&](const std::string& queue) {
      return std::find(a.config.queues().begin(), a.config.queues().end(), queue) !=
             a.config.queues().end();
    };
    if (serves(q.config.name())) return 0;
    for (int i = 0; i < q.config.bullseye_steps_size(); ++i) {
      for (const std::string& extra : q.config.bullseye_steps(i).extra_queues()) {
        if (serves(extra)) return i + 1;
      }
    }
    return -1;
  }

  static Verdict CheckSkills(const AgentEntry& a,
                             const google::protobuf::RepeatedPtrField<v1::SkillRequirement>& needs,
                             int lower_by) {
    for (const v1::SkillRequirement& need : needs) {
      const int minimum = std::max(1, need.min_proficiency() - lower_by);
      auto it = a.skills.find(need.skill());
      if (it == a.skills.end() || it->second < minimum) {
        return {Verdict::kMissingSkill, 0, &need.skill()};
      }
    }
    return {};
  }

  // Whether `a` may be offered `t` (waiting in `q` with `steps` in effect)
  // now. Serving the queue is the caller's check.
  static Verdict Check(const std::string& agent_name, const AgentEntry& a, const TaskEntry& t,
                       const QueueEntry& q, int steps, absl::Time now) {
    if (a.desired != v1::AGENT_STATE_AVAILABLE) {
      return {a.desired == v1::AGENT_STATE_NOT_RESPONDING ? Verdict::kNotResponding
                                                          : Verdict::kNotAvailable};
    }
    if (a.sessions == 0) return {Verdict::kNoSession};
    if (!t.refused.empty()) {
      if (auto it = t.refused.find(agent_name); it != t.refused.end()) {
        return {Verdict::kRefused, 0, &it->second};
      }
    }
    if (Verdict free = FreeOn(a, t.task.channel()); !free.ok()) return free;
    const QueueEntry::StepRules& rules = q.steps[steps];
    if (!t.language.empty() && !rules.relax_language && !a.languages.contains(t.language)) {
      return {Verdict::kLanguage};
    }
    if (Verdict skills = CheckSkills(a, q.config.required_skills(), rules.lower_by); !skills.ok()) {
      return skills;
    }
    if (Verdict skills = CheckSkills(a, t.task.required_skills(), rules.lower_by); !skills.ok()) {
      return skills;
    }
    // Last: an agent the task is held back from for its last agent is one
    // who could take it otherwise, so the explanation names the reservation
    // only for them.
    if (!t.reserved_for.empty() && now < t.reserved_until && agent_name != t.reserved_for) {
      return {Verdict::kReserved};
    }
    return {};
  }

  double IdleSeconds(const AgentEntry& a, int channel, absl::Time now) const {
    absl::Time since = a.available_since;
    if (KnownChannel(channel)) since = std::max(since, a.idle_since[channel]);
    if (since == absl::InfinitePast()) return 0;
    return absl::ToDoubleSeconds(now - since);
  }

  // `turn`: for ROUND_ROBIN, how many agents of the queue come before this
  // one after the last chosen (0: next in turn); -1 if not in the queue.
  double Score(const AgentEntry& a, const TaskEntry& t, const QueueEntry& q, int turn,
               absl::Time now) const {
    switch (q.config.distribution_strategy()) {
      case v1::DISTRIBUTION_STRATEGY_LEAST_OCCUPIED: {
        return a.total_capacity == 0 ? 0
                                     : 1.0 - static_cast<double>(a.held_total) / a.total_capacity;
      }
      case v1::DISTRIBUTION_STRATEGY_MOST_SKILLED: {
        double sum = 0;
        auto add = [&](const v1::SkillRequirement& need) {
          auto it = a.skills.find(need.skill());
          if (it != a.skills.end()) sum += it->second;
        };
        for (const auto& need : q.config.required_skills()) add(need);
        for (const auto& need : t.task.required_skills()) add(need);
        return sum;
      }
      case v1::DISTRIBUTION_STRATEGY_ROUND_ROBIN:
        return turn < 0 ? 0 : static_cast<double>(q.agents.size()) - turn;
      default:
        return IdleSeconds(a, t.task.channel(), now);
    }
  }

  // Round-robin turn of every agent of `q` (see Score), by the agents'
  // order in q.agents: `position` is the agent's index there.
  static int Turn(const QueueEntry& q, int position, int last_position) {
    const int n = static_cast<int>(q.agents.size());
    return ((position - last_position - 1) % n + n) % n;
  }

  // ------------------------------------------------------------ offers

  static void HoldTask(AgentEntry& a, TaskEntry& t) {
    a.held.push_back(t.task.name());
    const int channel = t.task.channel();
    if (KnownChannel(channel)) {
      ++a.held_per_channel[channel];
      a.held_mask |= 1u << channel;
    }
    ++a.held_total;
  }

  static void ReleaseTask(AgentEntry& a, TaskEntry& t, absl::Time now) {
    auto it = std::find(a.held.begin(), a.held.end(), t.task.name());
    if (it == a.held.end()) return;
    a.held.erase(it);
    --a.held_total;
    const int channel = t.task.channel();
    if (KnownChannel(channel) && --a.held_per_channel[channel] <= 0) {
      a.held_per_channel[channel] = 0;
      a.held_mask &= ~(1u << channel);
      a.idle_since[channel] = now;
    }
  }

  void RemoveFromQueue(TaskEntry& t) {
    if (!t.key) return;
    auto q = queues.find(t.task.queue());
    if (q != queues.end()) q->second.waiting.erase(*t.key);
    t.key.reset();
  }

  // Puts `t` in its queue as QUEUED (entering it anew when `entered`) and
  // arms its waiting timers.
  void Enqueue(TaskEntry& t, absl::Time now, bool entered) {
    QueueEntry& q = queues.at(t.task.queue());
    if (entered) {
      t.enqueued = now;
      *t.task.mutable_enqueue_time() = Ts(now);
      q.entered.push_back(now);
      Prune(q.entered, now);
    }
    t.task.set_state(v1::Task::STATE_QUEUED);
    t.key = WaitKey{t.priority, t.created, t.seq};
    q.waiting.emplace(*t.key, &t);
    ++t.generation;
    ArmWaitingTimers(t, q, now);
  }

  void ArmWaitingTimers(TaskEntry& t, const QueueEntry& q, absl::Time now) {
    const std::string& name = t.task.name();
    for (const v1::BullseyeStep& step : q.config.bullseye_steps()) {
      const absl::Time at = t.enqueued + FromProto(step.after());
      if (at > now) Arm(at, TimerKind::kReevaluate, name, t.generation);
    }
    if (!t.reserved_for.empty() && t.reserved_until > now) {
      Arm(t.reserved_until, TimerKind::kReevaluate, name, t.generation);
    }
    if (q.config.has_overflow()) {
      Arm(std::max(now, t.enqueued + FromProto(q.config.overflow().after())), TimerKind::kOverflow,
          name, t.generation);
    }
    if (q.config.has_max_wait()) {
      Arm(std::max(now, t.enqueued + FromProto(q.config.max_wait())), TimerKind::kMaxWait, name,
          t.generation);
    }
  }

  void MakeOffer(TaskEntry& t, const std::string& agent_name, AgentEntry& a, absl::Time now) {
    RemoveFromQueue(t);
    const QueueEntry& q = queues.at(t.task.queue());
    t.task.set_state(v1::Task::STATE_OFFERED);
    t.task.set_agent(agent_name);
    t.offer_expire = now + OfferTimeout(q);
    ++t.generation;
    Arm(t.offer_expire, TimerKind::kOffer, t.task.name(), t.generation);
    HoldTask(a, t);
    if (q.config.distribution_strategy() == v1::DISTRIBUTION_STRATEGY_ROUND_ROBIN) {
      queues.at(t.task.queue()).round_robin_last = agent_name;
    }
    PublishTask(t, now);
    RoutingChange offer{.kind = RoutingChange::kOffer};
    offer.task = t.task;
    offer.offered_to = agent_name;
    offer.offer_expire_time = t.offer_expire;
    changes.push_back(std::move(offer));
    RefreshAgent(a, now);
  }

  struct Candidate {
    const std::string* agent;
    AgentEntry* entry;
    double score = 0;
    double idle = 0;
    Verdict verdict;
  };

  void StartDecision(TaskEntry& t, const QueueEntry& q, int steps, absl::Time now) {
    v1::RoutingDecision& decision = *t.task.mutable_routing_decision();
    decision.clear_candidates();
    decision.clear_chosen_agent();
    *decision.mutable_decide_time() = Ts(now);
    decision.set_queue(q.config.name());
    decision.set_strategy(q.config.distribution_strategy());
    decision.set_bullseye_step(steps);
    decision.set_effective_priority(t.priority);
  }

  // Chooses the best eligible agent for a QUEUED task and offers it; the
  // decision (eligible and ineligible candidates) goes on the task either
  // way. True if offered.
  bool TryOffer(TaskEntry& t, absl::Time now, bool publish_if_unplaced) {
    if (t.task.state() != v1::Task::STATE_QUEUED) return false;
    QueueEntry& q = queues.at(t.task.queue());
    const int steps = ActiveSteps(q, t, now);
    std::vector<Candidate> candidates;
    candidates.reserve(q.agents.size());
    const bool round_robin =
        q.config.distribution_strategy() == v1::DISTRIBUTION_STRATEGY_ROUND_ROBIN;
    int last_position = -1;
    if (round_robin) {
      if (auto it = q.agents.find(q.round_robin_last); it != q.agents.end()) {
        last_position = static_cast<int>(std::distance(q.agents.begin(), it));
      }
    }
    auto consider = [&](const std::string& agent_name, AgentEntry* a, int turn) {
      Candidate c{.agent = &agent_name, .entry = a};
      c.verdict = Check(agent_name, *a, t, q, steps, now);
      if (c.verdict.ok()) {
        c.score = Score(*a, t, q, turn, now);
        c.idle = IdleSeconds(*a, t.task.channel(), now);
      }
      candidates.push_back(c);
    };
    int position = 0;
    for (const auto& [agent_name, a] : q.agents) {
      consider(agent_name, a, round_robin ? Turn(q, position, last_position) : -1);
      ++position;
    }
    if (steps > 0) {
      absl::flat_hash_set<const AgentEntry*> seen;
      for (const auto& [agent_name, a] : q.agents) seen.insert(a);
      for (const std::string& queue_name : ServingQueues(q, steps)) {
        auto served = queues.find(queue_name);
        if (served == queues.end() || queue_name == q.config.name()) continue;
        for (const auto& [agent_name, a] : served->second.agents) {
          if (seen.insert(a).second) consider(agent_name, a, -1);
        }
      }
    }
    auto better = [](const Candidate& x, const Candidate& y) {
      if (x.verdict.ok() != y.verdict.ok()) return x.verdict.ok();
      return std::tie(y.score, y.idle, *x.agent) < std::tie(x.score, x.idle, *y.agent);
    };
    // Only the recorded ones need to be in order.
    const size_t recorded =
        std::min(candidates.size(), static_cast<size_t>(options.max_recorded_candidates));
    std::partial_sort(candidates.begin(), candidates.begin() + recorded, candidates.end(), better);
    const bool placed = !candidates.empty() && candidates.front().verdict.ok();
    StartDecision(t, q, steps, now);
    v1::RoutingDecision& decision = *t.task.mutable_routing_decision();
    for (size_t i = 0; i < recorded; ++i) {
      v1::AgentCandidate& out = *decision.add_candidates();
      out.set_agent(*candidates[i].agent);
      out.set_eligible(candidates[i].verdict.ok());
      out.set_score(candidates[i].score);
      if (!candidates[i].verdict.ok()) out.set_ineligible_reason(candidates[i].verdict.Reason());
    }
    if (placed) {
      const std::string chosen = *candidates.front().agent;
      decision.set_chosen_agent(chosen);
      MakeOffer(t, chosen, *candidates.front().entry, now);
    } else if (publish_if_unplaced) {
      PublishTask(t, now);
    }
    return placed;
  }

  // Offers an agent who may have room the waiting tasks that should go next
  // (queue priority, then task priority, then the earliest submission),
  // across every queue the agent can serve, until nothing fits.
  void FillAgent(const std::string& agent_name, absl::Time now) {
    auto found = agents.find(agent_name);
    if (found == agents.end()) return;
    AgentEntry& a = found->second;
    if (a.desired != v1::AGENT_STATE_AVAILABLE || a.sessions == 0) return;
    // Queues whose tasks this agent may take: served ones, and those whose
    // bullseye steps widen to a served one; each with the fewest steps
    // after which the agent serves it. A queue whose own skill rules the
    // agent misses even at its widest is skipped whole.
    struct Source {
      QueueEntry* queue;
      int min_steps;
    };
    std::vector<Source> sources;
    auto add = [&](QueueEntry& q) {
      for (const Source& source : sources) {
        if (source.queue == &q) return;
      }
      const int min_steps = StepsUntilServed(a, q);
      if (min_steps < 0) return;
      if (!CheckSkills(a, q.config.required_skills(), q.steps.back().lower_by).ok()) return;
      sources.push_back({&q, min_steps});
    };
    for (const std::string& served : a.config.queues()) {
      auto q = queues.find(served);
      if (q == queues.end()) continue;
      add(q->second);
      for (const std::string& widened : q->second.widened_from) {
        auto w = queues.find(widened);
        if (w != queues.end()) add(w->second);
      }
    }
    while (true) {
      // Channels the agent has room on now.
      uint32_t free_channels = 0;
      for (int channel : a.channels) {
        if (FreeOn(a, channel).ok()) free_channels |= 1u << channel;
      }
      if (free_channels == 0) return;
      TaskEntry* best = nullptr;
      int best_queue_priority = 0;
      int best_steps = 0;
      for (const Source& source : sources) {
        QueueEntry& q = *source.queue;
        int scanned = 0;
        for (const auto& [key, task] : q.waiting) {
          if (++scanned > kScanPerQueue) break;
          if (best != nullptr &&
              std::make_tuple(q.config.priority(), key.priority, -absl::ToUnixMicros(key.created)) <
                  std::make_tuple(best_queue_priority, best->priority,
                                  -absl::ToUnixMicros(best->created))) {
            break;  // nothing later in this queue beats the best so far
          }
          TaskEntry& t = *task;
          if (!KnownChannel(t.task.channel()) || !(free_channels & (1u << t.task.channel()))) {
            continue;
          }
          const int steps = ActiveSteps(q, t, now);
          if (steps < source.min_steps) continue;
          if (!Check(agent_name, a, t, q, steps, now).ok()) continue;
          best = &t;
          best_queue_priority = q.config.priority();
          best_steps = steps;
          break;
        }
      }
      if (best == nullptr) return;
      const QueueEntry& q = queues.at(best->task.queue());
      StartDecision(*best, q, best_steps, now);
      v1::RoutingDecision& decision = *best->task.mutable_routing_decision();
      v1::AgentCandidate& chosen = *decision.add_candidates();
      chosen.set_agent(agent_name);
      chosen.set_eligible(true);
      int turn = -1;
      if (q.config.distribution_strategy() == v1::DISTRIBUTION_STRATEGY_ROUND_ROBIN) turn = 0;
      chosen.set_score(Score(a, *best, q, turn, now));
      decision.set_chosen_agent(agent_name);
      MakeOffer(*best, agent_name, a, now);
    }
  }

  // ---------------------------------------------------------- lifecycle

  // Back to QUEUED in the same queue after a rejected, missed or withdrawn
  // offer: the same place in line (submission order), the same wait.
  void Requeue(TaskEntry& t, absl::Time now) {
    t.task.set_agent("");
    const QueueEntry& q = queues.at(t.task.queue());
    if (q.config.has_max_wait() && now - t.enqueued >= FromProto(q.config.max_wait())) {
      End(t, v1::Task::STATE_EXPIRED, "waited longer than the queue's max_wait", now);
      return;
    }
    Enqueue(t, now, /*entered=*/false);
    TryOffer(t, now, /*publish_if_unplaced=*/true);
  }

  // Ends a task (terminal): stats, release, publish, forget.
  void End(TaskEntry& t, v1::Task::State state, const std::string& reason, absl::Time now) {
    RemoveFromQueue(t);
    std::string holder;
    if (t.task.state() == v1::Task::STATE_OFFERED || t.task.state() == v1::Task::STATE_ACCEPTED ||
        t.task.state() == v1::Task::STATE_WRAP_UP) {
      holder = t.task.agent();
    }
    auto q = queues.find(t.task.queue());
    if (q != queues.end()) {
      if (state == v1::Task::STATE_ABANDONED) {
        q->second.abandoned.push_back({now, now - t.enqueued});
        Prune(q->second.abandoned, now);
      } else if (state == v1::Task::STATE_COMPLETED) {
        q->second.completed.push_back({now, now - t.accepted});
        Prune(q->second.completed, now);
      }
    }
    t.task.set_state(state);
    if (!reason.empty()) t.task.set_end_reason(reason);
    *t.task.mutable_end_time() = Ts(now);
    ++t.generation;
    PublishTask(t, now);
    const std::string name = t.task.name();
    if (!holder.empty()) {
      auto a = agents.find(holder);
      if (a != agents.end()) {
        ReleaseTask(a->second, t, now);
        RefreshAgent(a->second, now);
      }
    }
    tasks.erase(name);  // `t` is gone from here on
    if (!holder.empty()) FillAgent(holder, now);
  }

  void Fire(const Timer& timer, absl::Time now) {
    if (timer.kind == TimerKind::kSessionGrace) {
      auto a = agents.find(timer.id);
      if (a == agents.end() || a->second.sessions > 0 ||
          a->second.session_generation != timer.generation) {
        return;
      }
      DesktopLost(a->second, now);
      return;
    }
    auto found = tasks.find(timer.id);
    if (found == tasks.end() || found->second.generation != timer.generation) return;
    TaskEntry& t = found->second;
    switch (timer.kind) {
      case TimerKind::kOffer: {
        const std::string agent_name = t.task.agent();
        AgentEntry& a = agents.at(agent_name);
        const QueueEntry& q = queues.at(t.task.queue());
        ReleaseTask(a, t, now);
        t.refused[agent_name] = "offer_timed_out";
        if (!q.config.keep_agent_available_on_missed_offer() &&
            a.desired == v1::AGENT_STATE_AVAILABLE) {
          a.desired = v1::AGENT_STATE_NOT_RESPONDING;
          a.reason = absl::StrCat("offer timed out: ", t.task.name());
        }
        RefreshAgent(a, now, /*force=*/true);
        Requeue(t, now);
        FillAgent(agent_name, now);
        return;
      }
      case TimerKind::kWrapUp:
        End(t, v1::Task::STATE_COMPLETED, "", now);
        return;
      case TimerKind::kReevaluate:
        TryOffer(t, now, /*publish_if_unplaced=*/false);
        return;
      case TimerKind::kOverflow: {
        if (t.task.state() != v1::Task::STATE_QUEUED) return;
        const std::string& target = queues.at(t.task.queue()).config.overflow().target_queue();
        auto q = queues.find(target);
        if (q == queues.end() || (q->second.hours && !q->second.hours->Contains(now))) return;
        RemoveFromQueue(t);
        t.task.set_queue(target);
        t.reserved_for.clear();
        Enqueue(t, now, /*entered=*/true);
        TryOffer(t, now, /*publish_if_unplaced=*/true);
        return;
      }
      case TimerKind::kMaxWait:
        if (t.task.state() == v1::Task::STATE_QUEUED) {
          End(t, v1::Task::STATE_EXPIRED, "waited longer than the queue's max_wait", now);
        }
        return;
      case TimerKind::kSessionGrace:
        return;
    }
  }

  // No desktop for the whole grace period: not available any more, and
  // offers nobody can see go back to their queues.
  void DesktopLost(AgentEntry& a, absl::Time now) {
    if (a.desired == v1::AGENT_STATE_AVAILABLE) {
      a.desired = v1::AGENT_STATE_AWAY;
      a.reason = "desktop disconnected";
    }
    std::vector<std::string> offered;
    for (const std::string& name : a.held) {
      if (tasks.at(name).task.state() == v1::Task::STATE_OFFERED) offered.push_back(name);
    }
    for (const std::string& name : offered) {
      TaskEntry& t = tasks.at(name);
      ReleaseTask(a, t, now);
      Requeue(t, now);
    }
    RefreshAgent(a, now, /*force=*/true);
  }

  void AdvanceTo(absl::Time now) {
    while (!timers.empty() && timers.top().at <= now) {
      Timer timer = timers.top();
      timers.pop();
      // Each timer fires at its own time, so what it records (waits,
      // decisions) is as if the caller had come exactly then.
      Fire(timer, timer.at);
    }
  }

  template <typename T>
  static void Prune(std::deque<T>& samples, absl::Time now) {
    while (!samples.empty() && TimeOf(samples.front()) < now - kStatsRetention) {
      samples.pop_front();
    }
  }
  static absl::Time TimeOf(absl::Time t) { return t; }
  static absl::Time TimeOf(const Sample& s) { return s.at; }

  absl::StatusOr<TaskEntry*> FindTask(const std::string& name) {
    auto it = tasks.find(name);
    if (it == tasks.end()) {
      return absl::NotFoundError(absl::StrCat("name: ", name, " is not an active task"));
    }
    return &it->second;
  }
  // An active task a client changes (CancelTask, TransferTask): ABORTED on
  // a stale etag, FAILED_PRECONDITION unless QUEUED or in `other_state`.
  absl::StatusOr<TaskEntry*> FindTaskToChange(const std::string& name, const std::string& etag,
                                              v1::Task::State other_state, absl::string_view verb) {
    ASSIGN_OR_RETURN(TaskEntry * t, FindTask(name));
    if (!etag.empty() && etag != t->task.etag()) {
      return absl::AbortedError(
          absl::StrCat("etag: ", name, " changed (etag ", t->task.etag(), "); read it again"));
    }
    if (t->task.state() != v1::Task::STATE_QUEUED && t->task.state() != other_state) {
      return absl::FailedPreconditionError(absl::StrCat(
          "name: ", name, " is ", v1::Task::State_Name(t->task.state()), "; only QUEUED or ",
          v1::Task::State_Name(other_state), " tasks can be ", verb));
    }
    return t;
  }

  absl::StatusOr<AgentEntry*> FindAgent(const std::string& name, absl::string_view field) {
    auto it = agents.find(name);
    if (it == agents.end()) {
      return absl::NotFoundError(absl::StrCat(field, ": ", name, " does not exist"));
    }
    return &it->second;
  }

  // The task as it is now, or as it ended (terminal tasks leave `tasks`
  // but their last state is in `changes`).
  v1::Task LastTaskState(const std::string& name) const {
    if (auto it = tasks.find(name); it != tasks.end()) return it->second.task;
    for (auto it = changes.rbegin(); it != changes.rend(); ++it) {
      if (it->kind == RoutingChange::kTask && it->task.name() == name) return it->task;
    }
    return v1::Task();
  }

  // Removes `agent_name` from the served-agent sets of its queues.
  void Unserve(const std::string& agent_name, const AgentEntry& a) {
    for (const std::string& served : a.config.queues()) {
      auto q = queues.find(served);
      if (q != queues.end()) q->second.agents.erase(agent_name);
    }
  }
};

// ------------------------------------------------------------------ public

RoutingEngine::RoutingEngine(RoutingEngineOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
RoutingEngine::~RoutingEngine() = default;

absl::StatusOr<v1::Queue> RoutingEngine::PutQueue(const v1::Queue& queue, absl::Time now) {
  Impl& s = *impl_;
  s.AdvanceTo(now);
  const std::string& name = queue.name();
  auto references = [&](const std::string& other, absl::string_view field) -> absl::Status {
    if (other != name && !s.queues.contains(other)) {
      return absl::NotFoundError(absl::StrCat(field, ": ", other, " does not exist"));
    }
    return absl::OkStatus();
  };
  if (queue.has_overflow()) {
    RETURN_IF_ERROR(references(queue.overflow().target_queue(), "queue.overflow.target_queue"));
    // Follow the overflow chain from the target: reaching this queue is a cycle.
    std::string next = queue.overflow().target_queue();
    for (size_t hops = 0; hops <= s.queues.size() + 1 && !next.empty(); ++hops) {
      if (next == name) {
        return InvalidArgument("queue.overflow.target_queue",
                               absl::StrCat(queue.overflow().target_queue(),
                                            " overflows back into ", name, " (a cycle)"));
      }
      auto it = s.queues.find(next);
      next = it != s.queues.end() && it->second.config.has_overflow()
                 ? it->second.config.overflow().target_queue()
                 : "";
    }
  }
  for (int i = 0; i < queue.bullseye_steps_size(); ++i) {
    for (int j = 0; j < queue.bullseye_steps(i).extra_queues_size(); ++j) {
      RETURN_IF_ERROR(
          references(queue.bullseye_steps(i).extra_queues(j),
                     absl::StrCat("queue.bullseye_steps[", i, "].extra_queues[", j, "]")));
    }
  }
  for (int i = 0; i < queue.intents_size(); ++i) {
    auto it = s.intents.find(queue.intents(i));
    if (it != s.intents.end() && it->second != name) {
      return absl::AlreadyExistsError(absl::StrCat("queue.intents[", i, "]: \"", queue.intents(i),
                                                   "\" already routes to ", it->second));
    }
  }
  std::optional<schedule::WeeklySchedule> hours;
  if (queue.has_business_hours()) {
    ASSIGN_OR_RETURN(hours, schedule::WeeklySchedule::FromBusinessHours(queue.business_hours(),
                                                                        "queue.business_hours"));
  }
  // Validated: apply.
  Impl::QueueEntry& q = s.queues[name];
  for (const v1::BullseyeStep& step : q.config.bullseye_steps()) {
    for (const std::string& extra : step.extra_queues()) {
      auto it = s.queues.find(extra);
      if (it != s.queues.end()) it->second.widened_from.erase(name);
    }
  }
  for (const std::string& intent : q.config.intents()) s.intents.erase(intent);
  q.config = queue;
  q.hours = std::move(hours);
  for (const std::string& intent : queue.intents()) s.intents[intent] = name;
  for (const v1::BullseyeStep& step : queue.bullseye_steps()) {
    for (const std::string& extra : step.extra_queues()) s.queues[extra].widened_from.insert(name);
  }
  // Agents who list it (configured before it existed, e.g. after a restart).
  for (auto& [agent_name, a] : s.agents) {
    for (const std::string& served : a.config.queues()) {
      if (served == name) q.agents.emplace(agent_name, &a);
    }
  }
  // The rules in effect after 0..n bullseye steps.
  q.steps.assign(1, {});
  for (const v1::BullseyeStep& step : queue.bullseye_steps()) {
    Impl::QueueEntry::StepRules rules = q.steps.back();
    rules.after = FromProto(step.after());
    rules.relax_language |= step.relax_language();
    rules.lower_by += step.lower_min_proficiency_by();
    q.steps.push_back(rules);
  }
  RoutingChange change{.kind = RoutingChange::kQueue};
  change.queue = queue;
  s.changes.push_back(std::move(change));
  // Waiting tasks meet the new rules: timers re-armed, offers retried.
  std::vector<std::string> waiting;
  for (const auto& [key, task] : q.waiting) waiting.push_back(task->task.name());
  for (const std::string& task_name : waiting) {
    Impl::TaskEntry& t = s.tasks.at(task_name);
    ++t.generation;
    s.ArmWaitingTimers(t, q, now);
    s.TryOffer(t, now, /*publish_if_unplaced=*/false);
  }
  return queue;
}

absl::Status RoutingEngine::RemoveQueue(const std::string& name, absl::Time now) {
  Impl& s = *impl_;
  auto it = s.queues.find(name);
  if (it == s.queues.end())
    return absl::NotFoundError(absl::StrCat("name: ", name, " does not exist"));
  if (!it->second.waiting.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("name: ", it->second.waiting.size(),
                                                      " tasks wait in ", name,
                                                      "; move or cancel them first"));
  }
  for (const auto& [task_name, t] : s.tasks) {
    if (t.task.queue() == name) {
      return absl::FailedPreconditionError(
          absl::StrCat("name: ", task_name, " is still offered from ", name));
    }
  }
  for (const auto& [other, q] : s.queues) {
    if (other == name) continue;
    if (q.config.overflow().target_queue() == name) {
      return absl::FailedPreconditionError(
          absl::StrCat("name: ", other, " overflows into ", name, "; change it first"));
    }
    for (const auto& step : q.config.bullseye_steps()) {
      for (const std::string& extra : step.extra_queues()) {
        if (extra == name) {
          return absl::FailedPreconditionError(absl::StrCat(
              "name: a bullseye step of ", other, " widens to ", name, "; change it first"));
        }
      }
    }
  }
  for (const std::string& intent : it->second.config.intents()) s.intents.erase(intent);
  for (const auto& step : it->second.config.bullseye_steps()) {
    for (const std::string& extra : step.extra_queues()) {
      auto target = s.queues.find(extra);
      if (target != s.queues.end()) target->second.widened_from.erase(name);
    }
  }
  s.queues.erase(it);
  RoutingChange removed{.kind = RoutingChange::kQueueRemoved};
  removed.queue.set_name(name);
  s.changes.push_back(std::move(removed));
  // Agents stop listing it: a configuration change of theirs.
  for (auto& [agent_name, a] : s.agents) {
    auto* queues = a.config.mutable_queues();
    auto end = std::remove(queues->begin(), queues->end(), name);
    if (end == queues->end()) continue;
    queues->erase(end, queues->end());
    if (uint64_t version = 0; absl::SimpleAtoi(a.config.etag(), &version)) {
      a.config.set_etag(absl::StrCat(version + 1));
    }
    *a.config.mutable_update_time() = Ts(now);
    s.RefreshAgent(a, now, /*force=*/true);
  }
  return absl::OkStatus();
}

const v1::Queue* RoutingEngine::FindQueue(const std::string& name) const {
  auto it = impl_->queues.find(name);
  return it == impl_->queues.end() ? nullptr : &it->second.config;
}

const v1::Queue* RoutingEngine::QueueForIntent(const std::string& intent) const {
  auto it = impl_->intents.find(intent);
  return it == impl_->intents.end() ? nullptr : FindQueue(it->second);
}

absl::StatusOr<v1::Agent> RoutingEngine::PutAgent(const v1::Agent& agent, absl::Time now) {
  Impl& s = *impl_;
  s.AdvanceTo(now);
  for (int i = 0; i < agent.queues_size(); ++i) {
    if (!s.queues.contains(agent.queues(i))) {
      return absl::NotFoundError(
          absl::StrCat("agent.queues[", i, "]: ", agent.queues(i), " does not exist"));
    }
  }
  const std::string& name = agent.name();
  auto [it, created] = s.agents.try_emplace(name);
  Impl::AgentEntry& a = it->second;
  if (created) a.change_time = now;
  s.Unserve(name, a);
  a.config = agent;
  a.config.clear_presence();
  a.capacity = {};
  a.channels.clear();
  a.total_capacity = 0;
  for (const v1::ChannelCapacity& cap : agent.channel_capacities()) {
    if (!Impl::KnownChannel(cap.channel())) continue;
    Impl::Capacity& c = a.capacity[cap.channel()];
    c.max_tasks = cap.max_tasks();
    a.channels.push_back(cap.channel());
    a.total_capacity += cap.max_tasks();
    for (int blocked : cap.blocked_channels()) {
      if (Impl::KnownChannel(blocked)) c.blocks |= 1u << blocked;
    }
    if (cap.has_wrap_up_timeout()) c.wrap_up_timeout = FromProto(cap.wrap_up_timeout());
  }
  a.skills.clear();
  for (const v1::AgentSkill& skill : agent.skills()) a.skills[skill.skill()] = skill.proficiency();
  a.languages.clear();
  for (const std::string& tag : agent.language_codes()) a.languages.insert(PrimaryLanguage(tag));
  for (const std::string& served : agent.queues()) s.queues.at(served).agents.emplace(name, &a);
  s.RefreshAgent(a, now, /*force=*/true);
  s.FillAgent(name, now);
  return s.AgentView(s.agents.at(name));
}

absl::Status RoutingEngine::RemoveAgent(const std::string& name) {
  Impl& s = *impl_;
  ASSIGN_OR_RETURN(Impl::AgentEntry * a, s.FindAgent(name, "name"));
  if (!a->held.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("name: ", name, " holds ", a->held.size(),
                                                      " tasks (", a->held.front(),
                                                      "...); complete or transfer them first"));
  }
  s.Unserve(name, *a);
  s.agents.erase(name);
  RoutingChange removed{.kind = RoutingChange::kAgentRemoved};
  removed.agent.set_name(name);
  s.changes.push_back(std::move(removed));
  return absl::OkStatus();
}

absl::StatusOr<v1::Agent> RoutingEngine::GetAgent(const std::string& name) const {
  auto it = impl_->agents.find(name);
  if (it == impl_->agents.end()) {
    return absl::NotFoundError(absl::StrCat("name: ", name, " does not exist"));
  }
  return impl_->AgentView(it->second);
}

absl::StatusOr<v1::Agent> RoutingEngine::SetAgentState(const std::string& name,
                                                       v1::AgentState state,
                                                       const std::string& reason, absl::Time now) {
  Impl& s = *impl_;
  s.AdvanceTo(now);
  ASSIGN_OR_RETURN(Impl::AgentEntry * a, s.FindAgent(name, "name"));
  const bool becomes_available =
      state == v1::AGENT_STATE_AVAILABLE && a->desired != v1::AGENT_STATE_AVAILABLE;
  a->desired = state;
  a->reason = reason;
  if (becomes_available) a->available_since = now;
  a->change_time = now;
  s.RefreshAgent(*a, now, /*force=*/true);
  if (state == v1::AGENT_STATE_AVAILABLE) s.FillAgent(name, now);
  return s.AgentView(s.agents.at(name));
}

absl::Status RoutingEngine::OpenSession(const std::string& agent, absl::Time now) {
  Impl& s = *impl_;
  s.AdvanceTo(now);
  ASSIGN_OR_RETURN(Impl::AgentEntry * a, s.FindAgent(agent, "agent"));
  ++a->sessions;
  ++a->session_generation;
  if (a->sessions == 1) s.FillAgent(agent, now);
  return absl::OkStatus();
}

void RoutingEngine::CloseSession(const std::string& agent, absl::Time now) {
  Impl& s = *impl_;
  s.AdvanceTo(now);
  auto it = s.agents.find(agent);
  if (it == s.agents.end() || it->second.sessions == 0) return;
  if (--it->second.sessions == 0) {
    s.Arm(now + s.options.session_grace, Impl::TimerKind::kSessionGrace, agent,
          ++it->second.session_generation);
  }
}

void RoutingEngine::AwaitSession(const std::string& agent, absl::Time now) {
  Impl& s = *impl_;
  auto it = s.agents.find(agent);
  if (it == s.agents.end() || it->second.sessions > 0) return;
  s.Arm(now + s.options.session_grace, Impl::TimerKind::kSessionGrace, agent,
        ++it->second.session_generation);
}

absl::StatusOr<v1::Task> RoutingEngine::Submit(v1::Task task, const CustomerInfo& customer,
                                               absl::Time now) {
  Impl& s = *impl_;
  s.AdvanceTo(now);
  if (s.tasks.contains(task.name())) {
    return absl::AlreadyExistsError(absl::StrCat("task.name: ", task.name(), " exists"));
  }
  std::string queue_name = task.queue();
  if (queue_name.empty()) {
    auto intent = s.intents.find(task.intent());
    if (intent == s.intents.end()) {
      return absl::NotFoundError(
          absl::StrCat("task.intent: no queue routes intent \"", task.intent(), "\""));
    }
    queue_name = intent->second;
  }
  auto q = s.queues.find(queue_name);
  if (q == s.queues.end()) {
    return absl::NotFoundError(absl::StrCat("task.queue: ", queue_name, " does not exist"));
  }
  if (q->second.hours && !q->second.hours->Contains(now)) {
    std::optional<absl::Time> opens = q->second.hours->NextStart(now);
    return absl::FailedPreconditionError(absl::StrCat(
        "task.queue: ", queue_name, " is closed by its business hours",
        opens ? absl::StrCat("; it opens at ", absl::FormatTime(absl::RFC3339_sec, *opens,
                                                                q->second.hours->time_zone()))
              : ""));
  }
  const v1::Queue& config = q->second.config;
  task.set_queue(queue_name);
  Impl::TaskEntry t;
  t.seq = ++s.task_seq;
  t.created = now;
  t.priority = task.priority() == 0 ? kDefaultPriority : task.priority();
  v1::ContextEnrichment& enrichment =
      *task.mutable_routing_decision()->mutable_context_enrichment();
  enrichment.Clear();
  if (!customer.looked_up) {
    enrichment.set_status(v1::ContextEnrichment::STATUS_SKIPPED);
    enrichment.set_reason(customer.skip_reason);
  } else {
    enrichment.set_status(v1::ContextEnrichment::STATUS_APPLIED);
    enrichment.set_customer(customer.customer);
    for (const v1::TierPriority& tier : config.tier_priorities()) {
      if (!customer.tier.empty() && tier.tier() == customer.tier) {
        const int raised = std::min(kMaxPriority, t.priority + tier.priority_boost());
        enrichment.add_effects(
            absl::StrCat("priority ", t.priority, " -> ", raised, " (tier ", customer.tier, ")"));
        t.priority = raised;
      }
    }
    if (task.language_code().empty() && !customer.language_code.empty()) {
      task.set_language_code(customer.language_code);
      enrichment.add_effects(absl::StrCat("language ", customer.language_code, " from profile"));
    }
    const absl::Duration window = config.has_last_agent_window()
                                      ? FromProto(config.last_agent_window())
                                      : absl::ZeroDuration();
    if (!customer.last_agent.empty() && window > absl::ZeroDuration()) {
      auto last = s.agents.find(customer.last_agent);
      if (last == s.agents.end() || !q->second.agents.contains(customer.last_agent)) {
        enrichment.add_effects(
            absl::StrCat("last agent ", customer.last_agent, " does not serve ", queue_name));
      } else if (last->second.desired == v1::AGENT_STATE_OFFLINE) {
        enrichment.add_effects(
            absl::StrCat("last agent ", customer.last_agent, " is offline; not waited for"));
      } else {
        t.reserved_for = customer.last_agent;
        t.reserved_until = now + window;
        enrichment.add_effects(absl::StrCat("last agent ", customer.last_agent, " preferred for ",
                                            absl::FormatDuration(window)));
      }
    }
  }
  task.mutable_routing_decision()->set_effective_priority(t.priority);
  if (!task.language_code().empty()) t.language = PrimaryLanguage(task.language_code());
  task.set_state(v1::Task::STATE_QUEUED);
  task.set_agent("");
  *task.mutable_create_time() = Ts(now);
  task.set_etag("1");
  t.task = std::move(task);
  const std::string name = t.task.name();
  Impl::TaskEntry& stored = s.tasks.emplace(name, std::move(t)).first->second;
  s.Enqueue(stored, now, /*entered=*/true);
  s.TryOffer(stored, now, /*publish_if_unplaced=*/true);
  return s.tasks.at(name).task;
}

absl::StatusOr<v1::Task> RoutingEngine::GetTask(const std::string& name) const {
  auto it = impl_->tasks.find(name);
  if (it == impl_->tasks.end()) {
    return absl::NotFoundError(absl::StrCat("name: ", name, " is not an active task"));
  }
  return it->second.task;
}

absl::StatusOr<v1::Task> RoutingEngine::Accept(const std::string& task, const std::string& agent,
                                               absl::Time now) {
  Impl& s = *impl_;
  s.AdvanceTo(now);
  ASSIGN_OR_RETURN(Impl::TaskEntry * t, s.FindTask(task));
  if (t->task.state() != v1::Task::STATE_OFFERED || t->task.agent() != agent) {
    return absl::FailedPreconditionError(absl::StrCat("name: ", task, " is not offered to ", agent,
                                                      " (the offer may have expired)"));
  }
  Impl::QueueEntry& q = s.queues.at(t->task.queue());
  q.answered.push_back({now, now - t->enqueued});
  Impl::Prune(q.answered, now);
  t->task.set_state(v1::Task::STATE_ACCEPTED);
  t->accepted = now;
  ++t->generation;
  s.PublishTask(*t, now);
  Impl::AgentEntry& a = s.agents.at(agent);
  s.RefreshAgent(a, now);
  return t->task;
}

absl::StatusOr<v1::Task> RoutingEngine::Reject(const std::string& task, const std::string& agent,
                                               const std::string& reason, absl::Time now) {
  Impl& s = *impl_;
  s.AdvanceTo(now);
  ASSIGN_OR_RETURN(Impl::TaskEntry * t, s.FindTask(task));
  if (t->task.state() != v1::Task::STATE_OFFERED || t->task.agent() != agent) {
    return absl::FailedPreconditionError(
        absl::StrCat("name: ", task, " is not offered to ", agent));
  }
  Impl::AgentEntry& a = s.agents.at(agent);
  s.ReleaseTask(a, *t, now);
  t->refused[agent] = reason.empty() ? "rejected" : absl::StrCat("rejected: ", reason);
  s.RefreshAgent(a, now);
  s.Requeue(*t, now);
  s.FillAgent(agent, now);
  return s.LastTaskState(task);
}

absl::StatusOr<v1::Task> RoutingEngine::WrapUp(const std::string& task, const std::string& agent,
                                               absl::Time now) {
  Impl& s = *impl_;
  s.AdvanceTo(now);
  ASSIGN_OR_RETURN(Impl::TaskEntry * t, s.FindTask(task));
  if (t->task.state() != v1::Task::STATE_ACCEPTED || t->task.agent() != agent) {
    return absl::FailedPreconditionError(
        absl::StrCat("name: ", task, " is not ACCEPTED by ", agent));
  }
  const Impl::QueueEntry& q = s.queues.at(t->task.queue());
  Impl::AgentEntry& a = s.agents.at(agent);
  absl::Duration timeout = q.config.has_wrap_up_timeout() ? FromProto(q.config.wrap_up_timeout())
                                                          : kDefaultWrapUpTimeout;
  if (Impl::KnownChannel(t->task.channel()) && a.capacity[t->task.channel()].wrap_up_timeout) {
    timeout = *a.capacity[t->task.channel()].wrap_up_timeout;
  }
  t->task.set_state(v1::Task::STATE_WRAP_UP);
  ++t->generation;
  s.Arm(now + timeout, Impl::TimerKind::kWrapUp, task, t->generation);
  s.PublishTask(*t, now);
  s.RefreshAgent(a, now);
  return t->task;
}

absl::StatusOr<v1::Task> RoutingEngine::Complete(const std::string& task, const std::string& agent,
                                                 const std::string& notes, absl::Time now) {
  Impl& s = *impl_;
  s.AdvanceTo(now);
  ASSIGN_OR_RETURN(Impl::TaskEntry * t, s.FindTask(task));
  if ((t->task.state() != v1::Task::STATE_ACCEPTED && t->task.state() != v1::Task::STATE_WRAP_UP) ||
      t->task.agent() != agent) {
    return absl::FailedPreconditionError(absl::StrCat("name: ", task, " is not held by ", agent));
  }
  t->task.set_wrap_up_notes(notes);
  s.End(*t, v1::Task::STATE_COMPLETED, "", now);
  return s.LastTaskState(task);
}

absl::StatusOr<v1::Task> RoutingEngine::Cancel(const std::string& task, const std::string& reason,
                                               bool abandoned, const std::string& etag,
                                               absl::Time now) {
  Impl& s = *impl_;
  s.AdvanceTo(now);
  ASSIGN_OR_RETURN(Impl::TaskEntry * t,
                   s.FindTaskToChange(task, etag, v1::Task::STATE_OFFERED, "cancelled"));
  s.End(*t, abandoned ? v1::Task::STATE_ABANDONED : v1::Task::STATE_CANCELLED, reason, now);
  return s.LastTaskState(task);
}

absl::StatusOr<v1::Task> RoutingEngine::Transfer(const std::string& task, const std::string& queue,
                                                 const std::string& agent,
                                                 const std::string& reason, const std::string& etag,
                                                 absl::Time now) {
  Impl& s = *impl_;
  s.AdvanceTo(now);
  ASSIGN_OR_RETURN(Impl::TaskEntry * t,
                   s.FindTaskToChange(task, etag, v1::Task::STATE_ACCEPTED, "transferred"));
  Impl::AgentEntry* target_agent = nullptr;
  Impl::QueueEntry* target_queue = nullptr;
  if (!agent.empty()) {
    ASSIGN_OR_RETURN(target_agent, s.FindAgent(agent, "agent"));
    if (agent == t->task.agent()) {
      return absl::FailedPreconditionError(absl::StrCat("agent: ", agent, " already holds ", task));
    }
    if (target_agent->desired != v1::AGENT_STATE_AVAILABLE) {
      return absl::FailedPreconditionError(absl::StrCat("agent: ", agent, " is not AVAILABLE"));
    }
    if (target_agent->sessions == 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("agent: ", agent, " has no open desktop session"));
    }
    if (Impl::Verdict free = s.FreeOn(*target_agent, t->task.channel()); !free.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("agent: ", agent, " cannot take it (", free.Reason(), ")"));
    }
  } else {
    auto it = s.queues.find(queue);
    if (it == s.queues.end()) {
      return absl::NotFoundError(absl::StrCat("queue: ", queue, " does not exist"));
    }
    target_queue = &it->second;
    if (target_queue->hours && !target_queue->hours->Contains(now)) {
      return absl::FailedPreconditionError(
          absl::StrCat("queue: ", queue, " is closed by its business hours"));
    }
  }
  // Leave the current holder or queue.
  const std::string previous = t->task.state() == v1::Task::STATE_ACCEPTED ? t->task.agent() : "";
  s.RemoveFromQueue(*t);
  if (!previous.empty()) {
    Impl::AgentEntry& held_by = s.agents.at(previous);
    s.ReleaseTask(held_by, *t, now);
    s.RefreshAgent(held_by, now);
  }
  t->reserved_for.clear();
  t->refused.clear();
  if (!reason.empty()) {
    t->task.mutable_routing_decision()->mutable_context_enrichment()->add_effects(
        absl::StrCat("transferred: ", reason));
  }
  if (target_agent != nullptr) {
    v1::RoutingDecision& decision = *t->task.mutable_routing_decision();
    *decision.mutable_decide_time() = Ts(now);
    decision.clear_candidates();
    v1::AgentCandidate& chosen = *decision.add_candidates();
    chosen.set_agent(agent);
    chosen.set_eligible(true);
    decision.set_chosen_agent(agent);
    t->task.set_state(v1::Task::STATE_QUEUED);  // MakeOffer expects a waiting task
    s.MakeOffer(*t, agent, *target_agent, now);
  } else {
    t->task.set_queue(queue);
    t->task.set_agent("");
    s.Enqueue(*t, now, /*entered=*/true);
    s.TryOffer(*t, now, /*publish_if_unplaced=*/true);
  }
  if (!previous.empty()) s.FillAgent(previous, now);
  return s.LastTaskState(task);
}

std::vector<v1::Task> RoutingEngine::HeldTasks(const std::string& agent) const {
  std::vector<v1::Task> out;
  auto it = impl_->agents.find(agent);
  if (it == impl_->agents.end()) return out;
  for (const std::string& name : it->second.held) out.push_back(impl_->tasks.at(name).task);
  return out;
}

void RoutingEngine::AdvanceTo(absl::Time now) { impl_->AdvanceTo(now); }

std::optional<absl::Time> RoutingEngine::NextDeadline() const {
  if (impl_->timers.empty()) return std::nullopt;
  return impl_->timers.top().at;
}

absl::Status RoutingEngine::Restore(v1::Task task, absl::Time now) {
  Impl& s = *impl_;
  if (Terminal(task.state())) return absl::OkStatus();
  auto q = s.queues.find(task.queue());
  if (q == s.queues.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("task ", task.name(), ": its queue ", task.queue(), " is gone"));
  }
  Impl::TaskEntry t;
  t.seq = ++s.task_seq;
  t.created = FromTs(task.create_time());
  t.enqueued = FromTs(task.enqueue_time());
  t.priority = task.routing_decision().effective_priority() > 0
                   ? task.routing_decision().effective_priority()
                   : (task.priority() == 0 ? kDefaultPriority : task.priority());
  uint64_t version = 1;
  if (!absl::SimpleAtoi(task.etag(), &version)) version = 1;
  t.version = version;
  const v1::Task::State state = task.state();
  const std::string name = task.name();
  if (!task.language_code().empty()) t.language = PrimaryLanguage(task.language_code());
  t.task = std::move(task);
  Impl::TaskEntry& stored = s.tasks.emplace(name, std::move(t)).first->second;
  if (state == v1::Task::STATE_QUEUED || state == v1::Task::STATE_OFFERED) {
    stored.task.set_agent("");
    s.Enqueue(stored, now, /*entered=*/false);
    if (state == v1::Task::STATE_OFFERED) s.PublishTask(stored, now);
    return absl::OkStatus();
  }
  auto a = s.agents.find(stored.task.agent());
  if (a == s.agents.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("task ", name, ": its agent ", stored.task.agent(), " is gone"));
  }
  stored.accepted = FromTs(stored.task.update_time());
  s.HoldTask(a->second, stored);
  if (state == v1::Task::STATE_WRAP_UP) {
    s.Arm(now + kDefaultWrapUpTimeout, Impl::TimerKind::kWrapUp, name, stored.generation);
  }
  s.RefreshAgent(a->second, now);
  return absl::OkStatus();
}

void RoutingEngine::DispatchAll(absl::Time now) {
  Impl& s = *impl_;
  s.AdvanceTo(now);
  std::vector<std::string> names;
  for (const auto& [name, q] : s.queues) {
    for (const auto& [key, task] : q.waiting) names.push_back(task->task.name());
  }
  for (const std::string& name : names) {
    auto it = s.tasks.find(name);
    if (it != s.tasks.end()) s.TryOffer(it->second, now, /*publish_if_unplaced=*/false);
  }
}

absl::StatusOr<v1::QueueStats> RoutingEngine::Stats(const std::string& queue,
                                                    absl::Duration interval, absl::Time now) const {
  const Impl& s = *impl_;
  auto it = s.queues.find(queue);
  if (it == s.queues.end()) {
    return absl::NotFoundError(absl::StrCat("queue: ", queue, " does not exist"));
  }
  const Impl::QueueEntry& q = it->second;
  const absl::Time from = now - interval;
  v1::QueueStats stats;
  stats.set_queue(queue);
  *stats.mutable_compute_time() = Ts(now);
  *stats.mutable_interval() = ToProto(interval);
  absl::Time oldest = now;
  int waiting = 0;
  for (const auto& [name, t] : s.tasks) {
    if (t.task.queue() != queue) continue;
    if (t.task.state() == v1::Task::STATE_QUEUED || t.task.state() == v1::Task::STATE_OFFERED) {
      ++waiting;
      oldest = std::min(oldest, t.enqueued);
    }
  }
  stats.set_tasks_waiting(waiting);
  *stats.mutable_longest_wait() = ToProto(now - oldest);
  int available = 0, busy = 0, staffed_capacity = 0;
  for (const auto& [agent_name, agent] : q.agents) {
    const Impl::AgentEntry& a = *agent;
    const v1::AgentState shown = s.ShownState(a);
    bool has_room = false;
    for (int channel : a.channels) has_room |= s.FreeOn(a, channel).ok();
    if (shown == v1::AGENT_STATE_AVAILABLE && a.sessions > 0 && has_room) {
      ++available;
    } else if (shown == v1::AGENT_STATE_BUSY || shown == v1::AGENT_STATE_WRAP_UP ||
               (shown == v1::AGENT_STATE_AVAILABLE && !has_room)) {
      ++busy;
    }
    if (shown == v1::AGENT_STATE_AVAILABLE || shown == v1::AGENT_STATE_BUSY ||
        shown == v1::AGENT_STATE_WRAP_UP) {
      int most = 0;
      for (int channel : a.channels) most = std::max(most, a.capacity[channel].max_tasks);
      staffed_capacity += std::max(1, most);
    }
  }
  stats.set_agents_available(available);
  stats.set_agents_busy(busy);
  int64_t entered = 0;
  for (absl::Time t : q.entered) entered += t >= from;
  stats.set_tasks_offered(entered);
  std::vector<absl::Duration> waits;
  int64_t within = 0, counted = 0;
  const bool has_target = q.config.has_service_level_target();
  const absl::Duration threshold =
      has_target ? FromProto(q.config.service_level_target().threshold()) : absl::ZeroDuration();
  for (const Impl::Sample& sample : q.answered) {
    if (sample.at < from) continue;
    waits.push_back(sample.value);
    ++counted;
    within += sample.value <= threshold;
  }
  stats.set_tasks_answered(static_cast<int64_t>(waits.size()));
  int64_t abandoned = 0;
  for (const Impl::Sample& sample : q.abandoned) {
    if (sample.at < from) continue;
    ++abandoned;
    ++counted;
  }
  stats.set_tasks_abandoned(abandoned);
  if (has_target && counted > 0) {
    stats.set_service_level_percent(100.0 * static_cast<double>(within) /
                                    static_cast<double>(counted));
  }
  absl::Duration handle_sum;
  int64_t handled = 0;
  for (const Impl::Sample& sample : q.completed) {
    if (sample.at < from) continue;
    handle_sum += sample.value;
    ++handled;
  }
  std::optional<absl::Duration> average_handle;
  if (handled > 0) {
    average_handle = handle_sum / handled;
    *stats.mutable_average_handle_time() = ToProto(*average_handle);
  }
  // Wait estimate for a new task at default priority: with a free agent and
  // nobody waiting, none. Otherwise, from the queue ahead of it and the
  // staffed capacity draining it at the recent handle time; the spread (p90
  // over p50) comes from recently answered waits when there are enough of
  // them, else a conservative 2x. Low data is said, not hidden.
  v1::WaitEstimate& estimate = *stats.mutable_estimated_wait();
  estimate.set_sample_count(static_cast<int32_t>(waits.size()));
  estimate.set_low_data(static_cast<int>(waits.size()) < kWaitEstimateMinSamples ||
                        !average_handle);
  std::sort(waits.begin(), waits.end());
  auto quantile = [&](double p) {
    return waits[std::min(waits.size() - 1, static_cast<size_t>(p * (waits.size() - 1) + 0.5))];
  };
  absl::Duration p50, p90;
  if (available > 0 && waiting == 0) {
    p50 = p90 = absl::ZeroDuration();
  } else if (average_handle && staffed_capacity > 0) {
    p50 = *average_handle * (waiting + 1) / staffed_capacity;
    double spread = 2.0;
    if (static_cast<int>(waits.size()) >= kWaitEstimateMinSamples &&
        quantile(0.5) > absl::ZeroDuration()) {
      spread = std::max(1.0, absl::FDivDuration(quantile(0.9), quantile(0.5)));
    }
    p90 = p50 * spread;
  } else if (!waits.empty()) {
    p50 = quantile(0.5);
    p90 = quantile(0.9);
  } else {
    p50 = p90 = absl::ZeroDuration();
    estimate.set_low_data(true);
  }
  *estimate.mutable_p50() = ToProto(absl::Trunc(p50, absl::Seconds(1)));
  *estimate.mutable_p90() = ToProto(absl::Trunc(p90, absl::Seconds(1)));
  return stats;
}

std::vector<std::string> RoutingEngine::QueueNames() const {
  std::vector<std::string> names;
  for (const auto& [name, q] : impl_->queues) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> RoutingEngine::AgentNames() const {
  std::vector<std::string> names;
  names.reserve(impl_->agents.size());
  for (const auto& [name, a] : impl_->agents) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<RoutingChange> RoutingEngine::TakeChanges() {
  std::vector<RoutingChange> out;
  out.swap(impl_->changes);
  return out;
}

size_t RoutingEngine::waiting_tasks() const {
  size_t n = 0;
  for (const auto& [name, q] : impl_->queues) n += q.waiting.size();
  return n;
}

}  // namespace cxp::routing
