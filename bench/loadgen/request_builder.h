// Builds an ad-hoc scenario from `--method` and a request in proto JSON.
//
// The method's request type is looked up in the protobuf generated descriptor
// pool, so every proto library whose methods should be callable must be
// linked whole into the binary (bench/CMakeLists.txt does this for cxp_protos
// and cxp_bench_protos). The JSON is parsed into a dynamic message of that
// type and serialized once; every call sends the same bytes.

#ifndef CXP_BENCH_LOADGEN_REQUEST_BUILDER_H_
#define CXP_BENCH_LOADGEN_REQUEST_BUILDER_H_

#include <string>

#include "absl/status/statusor.h"

namespace cxp::bench {

// Splits "/pkg.Service/Method" into ("pkg.Service", "Method");
// INVALID_ARGUMENT when malformed.
absl::StatusOr<std::pair<std::string, std::string>> SplitMethodName(const std::string& method);

// Serialized request for `method` from `json` (proto3 JSON mapping).
// NOT_FOUND when the service or method is not in the generated pool, unless
// `json` is empty or "{}" (an empty message is zero bytes whatever its type);
// INVALID_ARGUMENT when the JSON does not match the request type.
absl::StatusOr<std::string> SerializeRequestFromJson(const std::string& method,
                                                     const std::string& json);

}  // namespace cxp::bench

#endif  // CXP_BENCH_LOADGEN_REQUEST_BUILDER_H_
