// WouldBlock — "this needs I/O, and the caller asked for none".
//
// A handler first tries a request on gRPC's reactor thread reading only what
// is in memory (RocksDB memtables and block cache); when a read would have to
// touch the disk, the store answers WouldBlock and the call moves to the
// handler pool, where blocking is allowed. Never sent to a client.
//
// Thread-safe, pure functions.

#ifndef CXP_COMMON_STATUS_WOULD_BLOCK_H_
#define CXP_COMMON_STATUS_WOULD_BLOCK_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace cxp {

// UNAVAILABLE, marked so IsWouldBlock recognises it; `what` names the read.
absl::Status WouldBlock(absl::string_view what);
bool IsWouldBlock(const absl::Status& status);

}  // namespace cxp

#endif  // CXP_COMMON_STATUS_WOULD_BLOCK_H_
