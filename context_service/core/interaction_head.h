// The interaction head: each customer's newest interactions, kept in one
// RocksDB row so the single customer view reads them with one point lookup
// instead of a timeline scan.
//
// Layout: the row holds a serialized storage::InteractionHead — a sequence
// of length-delimited Interaction messages under field number 2, newest
// first in timeline order (occur_time desc, then newest write first), at most
// kInteractionHeadCapacity of them. Field 2 is CustomerContext's
// recent_interactions, so a prefix of the row parses straight into a
// CustomerContext (HeadEntryEnds gives the prefix lengths).
//
// Maintenance: AppendInteraction adds a RocksDB Merge operand that is just
// the serialized Interaction; InteractionHeadMergeOperator inserts operands
// at their place and keeps the newest kInteractionHeadCapacity. So appends
// never read the head and write only the new interaction's bytes; RocksDB
// folds operands in at flush/compaction or when a read finds them.
//
// Threading: everything here is stateless and thread-safe.

#ifndef CXP_CONTEXT_SERVICE_CORE_INTERACTION_HEAD_H_
#define CXP_CONTEXT_SERVICE_CORE_INTERACTION_HEAD_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "rocksdb/merge_operator.h"

namespace cxp::context {

// Interactions kept per head. GetCustomerContext asking for more (up to its
// cap of 100) scans the timeline instead.
inline constexpr int kInteractionHeadCapacity = 32;

// occur_time of a serialized Interaction in unix microseconds (0 if unset),
// read without parsing the rest of the message.
absl::StatusOr<int64_t> InteractionOccurMicros(std::string_view interaction_bytes);

// The serialized Interactions of a head row, newest first.
absl::StatusOr<std::vector<std::string_view>> HeadEntries(std::string_view head);

// The byte offset just past each entry of a head row.
absl::StatusOr<std::vector<uint32_t>> HeadEntryEnds(std::string_view head);

// A head row of `newest_first` (already in timeline order), at most
// `max_entries` of them.
std::string EncodeHead(const std::vector<std::string_view>& newest_first,
                       int max_entries = kInteractionHeadCapacity);

class InteractionHeadMergeOperator : public rocksdb::MergeOperator {
 public:
  const char* Name() const override { return "cxp.context.InteractionHead"; }
  bool FullMergeV2(const MergeOperationInput& merge_in,
                   MergeOperationOutput* merge_out) const override;
};

}  // namespace cxp::context

#endif  // CXP_CONTEXT_SERVICE_CORE_INTERACTION_HEAD_H_
