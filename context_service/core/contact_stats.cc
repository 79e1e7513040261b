#include "context_service/core/contact_stats.h"

#include <algorithm>

#include "google/protobuf/util/time_util.h"

namespace cxp::context {
namespace {

using cxp::context::storage::ChannelBuckets;
using cxp::context::storage::ContactStats;
using google::protobuf::util::TimeUtil;

constexpr int64_t kSecondsPerHour = 3600;
constexpr int64_t kSecondsPerDay = 86400;
constexpr int64_t kHoursKept = 24;
constexpr int64_t kDaysKept = 30;
constexpr absl::Duration kRepeatWindow = absl::Hours(24 * 7);

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

absl::Time ToTime(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(ts));
}

google::protobuf::Timestamp ToTimestamp(int64_t micros) {
  return TimeUtil::MicrosecondsToTimestamp(micros);
}

// Drops buckets older than `oldest` and adds one contact to `bucket`.
void Bump(google::protobuf::RepeatedField<int64_t>& starts,
          google::protobuf::RepeatedField<int32_t>& counts, int64_t bucket, int64_t oldest) {
  google::protobuf::RepeatedField<int64_t> kept_starts;
  google::protobuf::RepeatedField<int32_t> kept_counts;
  bool added = false;
  for (int i = 0; i < starts.size(); ++i) {
    if (starts[i] < oldest) continue;
    int32_t count = counts[i];
    if (starts[i] == bucket) {
      ++count;
      added = true;
    }
    kept_starts.Add(starts[i]);
    kept_counts.Add(count);
  }
  if (!added && bucket >= oldest) {
    kept_starts.Add(bucket);
    kept_counts.Add(1);
  }
  starts.Swap(&kept_starts);
  counts.Swap(&kept_counts);
}

// Buckets from `first` on; slightly-future contacts (clock skew) count too.
int32_t SumSince(const google::protobuf::RepeatedField<int64_t>& starts,
                 const google::protobuf::RepeatedField<int32_t>& counts, int64_t first) {
  int32_t sum = 0;
  for (int i = 0; i < starts.size(); ++i) {
    if (starts[i] >= first) sum += counts[i];
  }
  return sum;
}

}  // namespace

void RecordContact(const cxp::context::v1::Interaction& interaction, absl::Time now,
                   ContactStats& stats) {
  const absl::Time when = ToTime(interaction.occur_time());
  const int64_t seconds = absl::ToUnixSeconds(when);
  const int64_t now_seconds = absl::ToUnixSeconds(now);
  const int64_t micros = absl::ToUnixMicros(when);

  ChannelBuckets* buckets = nullptr;
  for (ChannelBuckets& candidate : *stats.mutable_channels()) {
    if (candidate.channel() == interaction.channel()) buckets = &candidate;
  }
  if (buckets == nullptr) {
    buckets = stats.add_channels();
    buckets->set_channel(interaction.channel());
  }
  Bump(*buckets->mutable_hours(), *buckets->mutable_hour_counts(),
       FloorDiv(seconds, kSecondsPerHour), FloorDiv(now_seconds, kSecondsPerHour) - kHoursKept + 1);
  Bump(*buckets->mutable_days(), *buckets->mutable_day_counts(), FloorDiv(seconds, kSecondsPerDay),
       FloorDiv(now_seconds, kSecondsPerDay) - kDaysKept + 1);

  if (micros >= stats.last_contact_micros()) {
    stats.set_last_contact_micros(micros);
    stats.set_last_contact_channel(interaction.channel());
  }
  if (!interaction.agent().empty() && micros >= stats.last_agent_micros()) {
    stats.set_last_agent(interaction.agent());
    stats.set_last_agent_micros(micros);
  }
  // Page views and push opens are not the customer coming back to us.
  const bool assisted = interaction.channel() != cxp::type::v1::CHANNEL_WEB &&
                        interaction.channel() != cxp::type::v1::CHANNEL_PUSH;
  if (assisted && interaction.direction() == cxp::context::v1::Interaction::DIRECTION_INBOUND) {
    auto& recent = *stats.mutable_recent_inbound_micros();
    recent.Add(micros);
    std::sort(recent.begin(), recent.end(), std::greater<int64_t>());
    recent.Truncate(std::min(recent.size(), 2));
  }
  stats.set_interaction_count(stats.interaction_count() + 1);
}

cxp::context::v1::ComputedAttributes ComputeAttributes(const ContactStats& stats, absl::Time now) {
  cxp::context::v1::ComputedAttributes attributes;
  const int64_t now_seconds = absl::ToUnixSeconds(now);
  const int64_t hour = FloorDiv(now_seconds, kSecondsPerHour);
  const int64_t day = FloorDiv(now_seconds, kSecondsPerDay);
  cxp::context::v1::ContactCounts* all = attributes.mutable_all_channels();
  for (const ChannelBuckets& buckets : stats.channels()) {
    cxp::context::v1::ContactCounts counts;
    counts.set_last_24_hours(SumSince(buckets.hours(), buckets.hour_counts(), hour - 23));
    counts.set_last_7_days(SumSince(buckets.days(), buckets.day_counts(), day - 6));
    counts.set_last_30_days(SumSince(buckets.days(), buckets.day_counts(), day - 29));
    if (counts.last_30_days() == 0 && counts.last_24_hours() == 0) continue;
    all->set_last_24_hours(all->last_24_hours() + counts.last_24_hours());
    all->set_last_7_days(all->last_7_days() + counts.last_7_days());
    all->set_last_30_days(all->last_30_days() + counts.last_30_days());
    cxp::context::v1::ChannelContactCounts* per_channel = attributes.add_channels();
    per_channel->set_channel(static_cast<cxp::type::v1::Channel>(buckets.channel()));
    *per_channel->mutable_counts() = counts;
  }
  std::sort(attributes.mutable_channels()->begin(), attributes.mutable_channels()->end(),
            [](const auto& a, const auto& b) { return a.channel() < b.channel(); });
  if (stats.last_contact_micros() != 0) {
    *attributes.mutable_last_contact_time() = ToTimestamp(stats.last_contact_micros());
    attributes.set_last_contact_channel(
        static_cast<cxp::type::v1::Channel>(stats.last_contact_channel()));
  }
  attributes.set_last_agent(stats.last_agent());
  const auto& recent = stats.recent_inbound_micros();
  attributes.set_repeat_contact(recent.size() >= 2 &&
                                absl::FromUnixMicros(recent[1]) >= now - kRepeatWindow);
  *attributes.mutable_compute_time() = ToTimestamp(absl::ToUnixMicros(now));
  return attributes;
}

AttributesValidity ComputedAttributesValidity(const ContactStats& stats, absl::Time now) {
  const int64_t hour = FloorDiv(absl::ToUnixSeconds(now), kSecondsPerHour);
  AttributesValidity validity{absl::FromUnixSeconds(hour * kSecondsPerHour),
                              absl::FromUnixSeconds((hour + 1) * kSecondsPerHour)};
  const auto& recent = stats.recent_inbound_micros();
  if (recent.size() >= 2) {
    // repeat_contact holds while now <= recent[1] + kRepeatWindow.
    const absl::Time last_repeat = absl::FromUnixMicros(recent[1]) + kRepeatWindow;
    if (last_repeat >= now) {
      validity.until = std::min(validity.until, last_repeat);
    } else {
      validity.from = std::max(validity.from, last_repeat + absl::Microseconds(1));
    }
  }
  return validity;
}

void AddContactStats(const ContactStats& other, ContactStats& stats) {
  for (const ChannelBuckets& from : other.channels()) {
    ChannelBuckets* into = nullptr;
    for (ChannelBuckets& candidate : *stats.mutable_channels()) {
      if (candidate.channel() == from.channel()) into = &candidate;
    }
    if (into == nullptr) {
      *stats.add_channels() = from;
      continue;
    }
    auto add = [](const google::protobuf::RepeatedField<int64_t>& starts,
                  const google::protobuf::RepeatedField<int32_t>& counts,
                  google::protobuf::RepeatedField<int64_t>& into_starts,
                  google::protobuf::RepeatedField<int32_t>& into_counts) {
      for (int i = 0; i < starts.size(); ++i) {
        auto it = std::find(into_starts.begin(), into_starts.end(), starts[i]);
        if (it == into_starts.end()) {
          into_starts.Add(starts[i]);
          into_counts.Add(counts[i]);
        } else {
          into_counts[static_cast<int>(it - into_starts.begin())] += counts[i];
        }
      }
    };
    add(from.hours(), from.hour_counts(), *into->mutable_hours(), *into->mutable_hour_counts());
    add(from.days(), from.day_counts(), *into->mutable_days(), *into->mutable_day_counts());
  }
  if (other.last_contact_micros() > stats.last_contact_micros()) {
    stats.set_last_contact_micros(other.last_contact_micros());
    stats.set_last_contact_channel(other.last_contact_channel());
  }
  if (!other.last_agent().empty() && other.last_agent_micros() > stats.last_agent_micros()) {
    stats.set_last_agent(other.last_agent());
    stats.set_last_agent_micros(other.last_agent_micros());
  }
  auto& recent = *stats.mutable_recent_inbound_micros();
  for (const int64_t micros : other.recent_inbound_micros()) recent.Add(micros);
  std::sort(recent.begin(), recent.end(), std::greater<int64_t>());
  recent.Truncate(std::min(recent.size(), 2));
  stats.set_interaction_count(stats.interaction_count() + other.interaction_count());
}

}  // namespace cxp::context
