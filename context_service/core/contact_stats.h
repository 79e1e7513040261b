// Contact statistics maintained on write (ContactStats in records.proto).
//
// RecordContact() folds one interaction into the per-channel UTC hour and day
// buckets (dropping buckets too old to matter), the last contact and agent,
// and the recent inbound contacts. ComputeAttributes() turns the stats into
// the API's ComputedAttributes at `now` without touching the timeline:
//   last_24_hours = contacts in the current UTC hour and the 23 before it;
//   last_7_days / last_30_days = contacts in the current UTC day and the 6 /
//   29 before it;
//   repeat_contact = the customer's two most recent inbound contacts on
//   assisted channels (all but WEB and PUSH) both happened within the last
//   7 days.
// Pure functions: no I/O, no clock, no threading concerns.

#ifndef CXP_CONTEXT_SERVICE_CORE_CONTACT_STATS_H_
#define CXP_CONTEXT_SERVICE_CORE_CONTACT_STATS_H_

#include "absl/time/time.h"
#include "context_service/core/records.pb.h"
#include "cxp/context/v1/customer_context.pb.h"
#include "cxp/context/v1/interaction.pb.h"

namespace cxp::context {

void RecordContact(const cxp::context::v1::Interaction& interaction, absl::Time now,
                   cxp::context::storage::ContactStats& stats);

// Folds `other` (another customer's stats) into `stats`: the view of a
// survivor with the customers merged into it. Bucket counts add up; the
// last contact, last agent and recent inbound contacts are the newest of
// both. next_interaction_seq and customer_merged are left alone.
void AddContactStats(const cxp::context::storage::ContactStats& other,
                     cxp::context::storage::ContactStats& stats);

cxp::context::v1::ComputedAttributes ComputeAttributes(
    const cxp::context::storage::ContactStats& stats, absl::Time now);

// The interval [from, until) around `now` in which ComputeAttributes gives
// the same answer apart from compute_time: counts change only at hour
// boundaries, and the repeat-contact flag when its 7-day window passes the
// second-newest inbound contact. Lets callers reuse a computed answer.
struct AttributesValidity {
  absl::Time from;
  absl::Time until;
};
AttributesValidity ComputedAttributesValidity(const cxp::context::storage::ContactStats& stats,
                                              absl::Time now);

}  // namespace cxp::context

#endif  // CXP_CONTEXT_SERVICE_CORE_CONTACT_STATS_H_
