// Rules for custom-attribute maps (map<string, cxp.type.v1.AttributeValue>):
// customer profiles, interactions and journeys in context_service, tasks in
// routing_service ("same key rules as customer attributes").
// protos/cxp/type/v1/attribute_value.proto is the contract.
//
// Each function takes the full field path of what it checks and returns OK
// or INVALID_ARGUMENT "<field>: <problem>" (text_rules.h). Keys are echoed
// (quoted and escaped, they name tenant-defined fields); values never are.
//
// Pure functions, thread-safe.

#ifndef CXP_COMMON_VALIDATION_ATTRIBUTE_RULES_H_
#define CXP_COMMON_VALIDATION_ATTRIBUTE_RULES_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "cxp/type/v1/attribute_value.pb.h"
#include "google/protobuf/map.h"

namespace cxp::validation {

inline constexpr size_t kMaxAttributeKeyChars = 64;
// AttributeValue.string_value limit. The contract counts BYTES of UTF-8 here
// (unlike most text fields, which count characters).
inline constexpr size_t kMaxAttributeStringBytes = 4096;

// An attribute key: 1 to 64 characters of [a-z][a-z0-9_]*. `field` is the
// map's path: "customer.attributes: invalid key \"Plan\": ...".
absl::Status ValidateAttributeKey(absl::string_view key, absl::string_view field);

// One AttributeValue: exactly one oneof member set ("must have a value");
// string_value valid UTF-8 of at most 4096 bytes (control characters other
// than TAB/LF/CR rejected); number_value finite; timestamp_value a valid
// Timestamp. `field` is the value's path ("customer.attributes.plan").
absl::Status ValidateAttributeValue(const cxp::type::v1::AttributeValue& value,
                                    absl::string_view field);

// A custom-attribute map: at most `max_entries` entries (each service states
// its own limit), every key per ValidateAttributeKey, every value per
// ValidateAttributeValue with path "<field>.<key>" (the update_mask / filter
// spelling). Keys are checked in sorted order, so the reported error is
// deterministic.
absl::Status ValidateAttributes(
    const google::protobuf::Map<std::string, cxp::type::v1::AttributeValue>& attributes,
    int max_entries, absl::string_view field);

}  // namespace cxp::validation

#endif  // CXP_COMMON_VALIDATION_ATTRIBUTE_RULES_H_
