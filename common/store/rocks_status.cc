#include "common/store/rocks_status.h"

#include <string>

namespace cxp::store {
namespace {

absl::StatusCode MapCode(const rocksdb::Status& status) {
  using Code = rocksdb::Status::Code;
  using SubCode = rocksdb::Status::SubCode;
  switch (status.code()) {
    case Code::kOk: return absl::StatusCode::kOk;
    case Code::kNotFound: return absl::StatusCode::kNotFound;
    case Code::kCorruption: return absl::StatusCode::kDataLoss;
    case Code::kNotSupported: return absl::StatusCode::kUnimplemented;
    case Code::kInvalidArgument: return absl::StatusCode::kInvalidArgument;
    case Code::kIOError:
      if (status.subcode() == SubCode::kNoSpace || status.subcode() == SubCode::kSpaceLimit) {
        return absl::StatusCode::kResourceExhausted;
      }
      return absl::StatusCode::kInternal;
    case Code::kMergeInProgress: return absl::StatusCode::kInternal;
    case Code::kIncomplete: return absl::StatusCode::kUnavailable;
    case Code::kShutdownInProgress: return absl::StatusCode::kUnavailable;
    case Code::kTimedOut: return absl::StatusCode::kDeadlineExceeded;
    case Code::kAborted: return absl::StatusCode::kAborted;
    case Code::kBusy: return absl::StatusCode::kAborted;
    case Code::kExpired: return absl::StatusCode::kAborted;
    case Code::kTryAgain: return absl::StatusCode::kUnavailable;
    case Code::kCompactionTooLarge: return absl::StatusCode::kResourceExhausted;
    case Code::kColumnFamilyDropped: return absl::StatusCode::kFailedPrecondition;
    default: return absl::StatusCode::kUnknown;
  }
}

}  // namespace

absl::Status FromRocksStatus(const rocksdb::Status& status, std::string_view operation) {
  if (status.ok()) return absl::OkStatus();
  std::string message(operation);
  message.append(": ").append(status.ToString());
  return absl::Status(MapCode(status), message);
}

}  // namespace cxp::store
