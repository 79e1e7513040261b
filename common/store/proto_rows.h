// Protobuf messages as RocksDB row values: parse a stored row, or read one
// by key. Every service store keeps its records this way.
//
// Errors: a row that does not parse is DATA_LOSS "corrupt <what> row" (a
// bug or corruption: never silently skipped); RocksDB errors as RocksStore
// reports them. Absent rows are std::nullopt. Header-only templates;
// thread-safe as RocksStore is.

#ifndef CXP_COMMON_STORE_PROTO_ROWS_H_
#define CXP_COMMON_STORE_PROTO_ROWS_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/store/rocks_store.h"

namespace cxp::store {

template <typename Message>
absl::StatusOr<Message> ParseRow(std::string_view bytes, absl::string_view what) {
  Message message;
  if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(absl::StrCat("corrupt ", what, " row"));
  }
  return message;
}

template <typename Message>
absl::StatusOr<std::optional<Message>> GetRow(const RocksStore& rocks,
                                              rocksdb::ColumnFamilyHandle* family,
                                              std::string_view key, absl::string_view what) {
  absl::StatusOr<std::optional<std::string>> bytes = rocks.Get(family, key);
  if (!bytes.ok()) return bytes.status();
  if (!*bytes) return std::nullopt;
  absl::StatusOr<Message> message = ParseRow<Message>(**bytes, what);
  if (!message.ok()) return message.status();
  return *std::move(message);
}

}  // namespace cxp::store

#endif  // CXP_COMMON_STORE_PROTO_ROWS_H_
