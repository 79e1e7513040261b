// The context_service benchmark dataset: how customer ids, identities and
// interactions are made, shared by the bulk loader (cxp_context_loader) and
// the load-generator scenarios (get_customer_context, append_interaction) so
// that the scenarios address exactly the customers the loader created.
//
// Customer i (0 <= i < N) of a dataset with id prefix P is:
//   id        P + decimal i               ("c0", "c1", ... "c99999")
//   name      "customers/" + id
//   phone     +8210 followed by 8 digits (2000_0000 + i): a valid Korean
//             mobile number, unique per i (i < 80 000 000)
//   email     P + i + "@bench.example.com", for even i only (so customers
//             have one or two identities)
// Interactions are synthetic but shaped like real ones: a channel, a
// direction, a channel-specific type, an agent and queue for most, a
// ~100-byte summary.
//
// Threading: pure functions; the RNG is the caller's.

#ifndef CXP_BENCH_CONTEXT_DATASET_H_
#define CXP_BENCH_CONTEXT_DATASET_H_

#include <cstdint>
#include <random>
#include <string>

#include "absl/time/time.h"
#include "cxp/context/v1/context_service.pb.h"

namespace cxp::bench::context {

using DatasetRng = std::mt19937_64;

std::string CustomerId(const std::string& prefix, int64_t i);
std::string CustomerName(const std::string& prefix, int64_t i);
// E.164, e.g. "+821020000042" for i = 42.
std::string CustomerPhone(int64_t i);
// Empty for customers without an email (odd i).
std::string CustomerEmail(const std::string& prefix, int64_t i);

// The CreateCustomer request of customer i (customer_id set, no request_id).
cxp::context::v1::CreateCustomerRequest MakeCreateCustomer(const std::string& prefix, int64_t i,
                                                           DatasetRng& rng);

// Fills a realistic interaction that occurred at `occur_time` (channel,
// direction, type, agent/queue, ~100-byte summary). Leaves name empty.
void FillInteraction(DatasetRng& rng, absl::Time occur_time, cxp::context::v1::Interaction* out);

// A random version-4 UUID, e.g. for request_id.
std::string RandomUuid(DatasetRng& rng);

}  // namespace cxp::bench::context

#endif  // CXP_BENCH_CONTEXT_DATASET_H_
