// RequestFingerprint — a stable digest of the List-request parameters a page
// token is bound to (parent, canonical filter, order_by, ...), so a token
// cannot be replayed with different parameters (see page_token.h).
//
// Stable across processes, builds and machines (SHA-256, not absl::Hash), so
// tokens survive a restart when the token key does. The parts are
// length-prefixed before hashing: {"ab", "c"} and {"a", "bc"} differ.
// Output: 32 lower-case hex characters (the first 128 bits of the SHA-256):
// 64 bits would let a client search for a deliberate collision in ~2^32
// tries; 128 bits cannot be brute-forced.
//
// Pure function, thread-safe, cannot fail.

#ifndef CXP_COMMON_PAGING_REQUEST_FINGERPRINT_H_
#define CXP_COMMON_PAGING_REQUEST_FINGERPRINT_H_

#include <initializer_list>
#include <string>

#include "absl/strings/string_view.h"

namespace cxp::paging {

// E.g. RequestFingerprint({"ListTasks", parent, filter.CanonicalText()}).
// Include the RPC name so tokens of one List RPC do not fit another.
std::string RequestFingerprint(std::initializer_list<absl::string_view> parts);

}  // namespace cxp::paging

#endif  // CXP_COMMON_PAGING_REQUEST_FINGERPRINT_H_
