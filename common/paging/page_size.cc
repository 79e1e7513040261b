#include "common/paging/page_size.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/status/errors.h"

namespace cxp::paging {

absl::StatusOr<int> EffectivePageSize(int32_t page_size, int default_size, int max_size) {
  if (page_size < 0) {
    return InvalidArgument("page_size", absl::StrCat("must not be negative (got ", page_size, ")"));
  }
  if (page_size == 0) return std::min(default_size, max_size);
  return std::min<int>(page_size, max_size);
}

}  // namespace cxp::paging
