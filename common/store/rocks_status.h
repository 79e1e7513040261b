// Conversion of rocksdb::Status into absl::Status.
//
// Contract: the returned message is "<operation>: <rocksdb message>" so logs
// say which store call failed. The code mapping (see FromRocksStatus) is the
// single place that decides how storage failures surface to callers.
// Pure function, thread-safe.
#ifndef CXP_COMMON_STORE_ROCKS_STATUS_H_
#define CXP_COMMON_STORE_ROCKS_STATUS_H_

#include <string_view>

#include "absl/status/status.h"
#include "rocksdb/status.h"

namespace cxp::store {

// Mapping (rocksdb -> absl):
//   OK                         -> OK
//   NotFound                   -> NOT_FOUND
//   Corruption                 -> DATA_LOSS
//   NotSupported               -> UNIMPLEMENTED
//   InvalidArgument            -> INVALID_ARGUMENT
//   IOError(NoSpace/SpaceLimit)-> RESOURCE_EXHAUSTED
//   IOError(other)             -> INTERNAL (disk faults need an operator;
//                                 blind retries do not help)
//   MergeInProgress            -> INTERNAL
//   Incomplete                 -> UNAVAILABLE (data not in memory; retry)
//   ShutdownInProgress         -> UNAVAILABLE
//   TimedOut                   -> DEADLINE_EXCEEDED
//   Aborted                    -> ABORTED
//   Busy                       -> ABORTED (write conflict; retry the
//                                 read-modify-write at a higher level)
//   Expired                    -> ABORTED
//   TryAgain                   -> UNAVAILABLE (retry the same call)
//   CompactionTooLarge         -> RESOURCE_EXHAUSTED
//   ColumnFamilyDropped        -> FAILED_PRECONDITION
//   anything else              -> UNKNOWN
absl::Status FromRocksStatus(const rocksdb::Status& status, std::string_view operation);

}  // namespace cxp::store

#endif  // CXP_COMMON_STORE_ROCKS_STATUS_H_
