#include "common/status/would_block.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace cxp {
namespace {

constexpr absl::string_view kWouldBlockPayload = "cxp.dev/would-block";

}  // namespace

absl::Status WouldBlock(absl::string_view what) {
  absl::Status status =
      absl::UnavailableError(absl::StrCat(what, ": needs disk I/O, not allowed on this thread"));
  status.SetPayload(kWouldBlockPayload, absl::Cord("1"));
  return status;
}

bool IsWouldBlock(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable &&
         status.GetPayload(kWouldBlockPayload).has_value();
}

}  // namespace cxp
