// EffectivePageSize — the AIP-158 page-size rules every List RPC applies to
// its request's page_size field.
//
// Pure function, thread-safe. Errors: INVALID_ARGUMENT
// "page_size: must not be negative (got -5)" for negative sizes; nothing else
// is an error (0 means "server default", oversized requests are clamped).

#ifndef CXP_COMMON_PAGING_PAGE_SIZE_H_
#define CXP_COMMON_PAGING_PAGE_SIZE_H_

#include <cstdint>

#include "absl/status/statusor.h"

namespace cxp::paging {

inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 1000;

// page_size < 0 -> INVALID_ARGUMENT; 0 -> default_size; above max_size ->
// max_size; otherwise page_size. Requires 0 < default_size <= max_size.
absl::StatusOr<int> EffectivePageSize(int32_t page_size, int default_size = kDefaultPageSize,
                                      int max_size = kMaxPageSize);

}  // namespace cxp::paging

#endif  // CXP_COMMON_PAGING_PAGE_SIZE_H_
