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

cxp::context::v1::ComputedAttributes ComputeAttributes(
    const cxp::context::storage::ContactStats& stats, absl::Time now);

}  // namespace cxp::context

#endif  // CXP_CONTEXT_SERVICE_CORE_CONTACT_STATS_H_
