#include "context_service/core/interaction_head.h"

#include <algorithm>

#include "absl/status/status.h"
#include "cxp/context/v1/customer_context.pb.h"
#include "cxp/context/v1/interaction.pb.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/wire_format_lite.h"

namespace cxp::context {
namespace {

using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedInputStream;

constexpr int kEntryField = 2;
static_assert(kEntryField == v1::CustomerContext::kRecentInteractionsFieldNumber,
              "head rows must parse as CustomerContext.recent_interactions");
constexpr uint32_t kEntryTag =
    WireFormatLite::MakeTag(kEntryField, WireFormatLite::WIRETYPE_LENGTH_DELIMITED);
constexpr uint32_t kOccurTimeTag = WireFormatLite::MakeTag(
    v1::Interaction::kOccurTimeFieldNumber, WireFormatLite::WIRETYPE_LENGTH_DELIMITED);

CodedInputStream InputOf(std::string_view bytes) {
  return CodedInputStream(reinterpret_cast<const uint8_t*>(bytes.data()),
                          static_cast<int>(bytes.size()));
}

absl::Status Corrupt(const char* what) {
  return absl::DataLossError(std::string("corrupt interaction head: ") + what);
}

// Calls visit(entry, offset past it) for each entry of a head row.
template <typename Visit>
absl::Status ForEachEntry(std::string_view head, Visit visit) {
  CodedInputStream input = InputOf(head);
  while (true) {
    const uint32_t tag = input.ReadTag();
    if (tag == 0) break;  // end of row
    uint32_t length = 0;
    if (tag != kEntryTag || !input.ReadVarint32(&length)) return Corrupt("unexpected field");
    const int start = input.CurrentPosition();
    if (!input.Skip(static_cast<int>(length))) return Corrupt("truncated entry");
    visit(head.substr(static_cast<size_t>(start), length),
          static_cast<size_t>(input.CurrentPosition()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<int64_t> InteractionOccurMicros(std::string_view interaction_bytes) {
  CodedInputStream input = InputOf(interaction_bytes);
  while (true) {
    const uint32_t tag = input.ReadTag();
    if (tag == 0) return 0;  // no occur_time
    if (tag != kOccurTimeTag) {
      if (!WireFormatLite::SkipField(&input, tag)) return Corrupt("bad interaction");
      continue;
    }
    uint32_t length = 0;
    if (!input.ReadVarint32(&length)) return Corrupt("bad occur_time");
    const CodedInputStream::Limit limit = input.PushLimit(static_cast<int>(length));
    int64_t seconds = 0;
    int32_t nanos = 0;
    while (const uint32_t field_tag = input.ReadTag()) {
      uint64_t value = 0;
      const int field = WireFormatLite::GetTagFieldNumber(field_tag);
      if ((field == 1 || field == 2) &&
          WireFormatLite::GetTagWireType(field_tag) == WireFormatLite::WIRETYPE_VARINT) {
        if (!input.ReadVarint64(&value)) return Corrupt("bad occur_time");
        if (field == 1) seconds = static_cast<int64_t>(value);
        if (field == 2) nanos = static_cast<int32_t>(value);
      } else if (!WireFormatLite::SkipField(&input, field_tag)) {
        return Corrupt("bad occur_time");
      }
    }
    input.PopLimit(limit);
    return seconds * 1'000'000 + nanos / 1'000;
  }
}

absl::StatusOr<std::vector<std::string_view>> HeadEntries(std::string_view head) {
  std::vector<std::string_view> entries;
  absl::Status status =
      ForEachEntry(head, [&](std::string_view entry, size_t) { entries.push_back(entry); });
  if (!status.ok()) return status;
  return entries;
}

absl::StatusOr<std::vector<uint32_t>> HeadEntryEnds(std::string_view head) {
  std::vector<uint32_t> ends;
  absl::Status status = ForEachEntry(
      head, [&](std::string_view, size_t end) { ends.push_back(static_cast<uint32_t>(end)); });
  if (!status.ok()) return status;
  return ends;
}

std::string EncodeHead(const std::vector<std::string_view>& newest_first, int max_entries) {
  std::string head;
  {
    google::protobuf::io::StringOutputStream stream(&head);
    google::protobuf::io::CodedOutputStream output(&stream);
    const size_t count = std::min(newest_first.size(), static_cast<size_t>(max_entries));
    for (size_t i = 0; i < count; ++i) {
      output.WriteTag(kEntryTag);
      output.WriteVarint32(static_cast<uint32_t>(newest_first[i].size()));
      output.WriteRaw(newest_first[i].data(), static_cast<int>(newest_first[i].size()));
    }
  }
  return head;
}

bool InteractionHeadMergeOperator::FullMergeV2(const MergeOperationInput& merge_in,
                                               MergeOperationOutput* merge_out) const {
  struct Entry {
    int64_t occur_micros;
    std::string_view bytes;
  };
  std::vector<Entry> entries;
  entries.reserve(kInteractionHeadCapacity + merge_in.operand_list.size());
  if (merge_in.existing_value != nullptr) {
    absl::StatusOr<std::vector<std::string_view>> existing =
        HeadEntries(merge_in.existing_value->ToStringView());
    if (!existing.ok()) return false;
    for (std::string_view bytes : *existing) {
      absl::StatusOr<int64_t> occur = InteractionOccurMicros(bytes);
      if (!occur.ok()) return false;
      entries.push_back({*occur, bytes});
    }
  }
  // Operands come oldest write first, and a later write goes before an
  // earlier one with the same occur_time: the timeline's (occur desc, seq
  // desc) order.
  for (const rocksdb::Slice& operand : merge_in.operand_list) {
    absl::StatusOr<int64_t> occur = InteractionOccurMicros(operand.ToStringView());
    if (!occur.ok()) return false;
    auto position = std::find_if(entries.begin(), entries.end(),
                                 [&](const Entry& entry) { return entry.occur_micros <= *occur; });
    entries.insert(position, {*occur, operand.ToStringView()});
  }
  std::vector<std::string_view> newest_first;
  newest_first.reserve(entries.size());
  for (const Entry& entry : entries) newest_first.push_back(entry.bytes);
  merge_out->new_value = EncodeHead(newest_first);
  return true;
}

}  // namespace cxp::context
