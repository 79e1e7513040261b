// Idempotent requests (AIP-155): a request that carries a request_id is
// answered once; a retry with the same id and the same content gets the
// first answer back, a retry with other content is refused, and the record
// expires after a retention (24 hours in CXP's protos).
//
// Usage in a domain core, under a lock that serialises requests with the
// same id:
//   const std::string fingerprint = RequestDigest(request);
//   ASSIGN_OR_RETURN(bool replayed,
//                    ReplayStoredResponse(stored_or_nullopt, fingerprint, now, response));
//   if (replayed) return OkStatus();
//   ... decide, fill `response` ...
//   batch.Put(key, NewStoredResponse(fingerprint, response, now + ttl).SerializeAsString());
// in the same write batch as the change itself, so a crash keeps both or
// neither. Expired rows are dropped by ExpiredResponseFilterFactory.
//
// Pure functions, thread-safe. Errors: INVALID_ARGUMENT "request_id: was
// already used for a different request"; DATA_LOSS for a stored answer that
// does not parse.

#ifndef CXP_COMMON_IDEMPOTENCY_IDEMPOTENCY_H_
#define CXP_COMMON_IDEMPOTENCY_IDEMPOTENCY_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/idempotency/stored_response.pb.h"
#include "google/protobuf/message.h"

namespace cxp::idempotency {

// SHA-256 (32 raw bytes) of the request's deterministic serialization:
// equal requests give equal digests within one build of the protos.
std::string RequestDigest(const google::protobuf::Message& request);

// True, with `response` filled from `stored`, when `stored` is an unexpired
// answer to a request with `fingerprint`; false when there is none (or it
// expired) and the request should run. `field` names the request id in the
// error, e.g. "request_id".
absl::StatusOr<bool> ReplayStoredResponse(const std::optional<StoredResponse>& stored,
                                          absl::string_view fingerprint, absl::Time now,
                                          google::protobuf::Message& response,
                                          absl::string_view field = "request_id");

// The record to keep for `response`, replayable until `expire_time`.
StoredResponse NewStoredResponse(std::string fingerprint, const google::protobuf::Message& response,
                                 absl::Time expire_time);

}  // namespace cxp::idempotency

#endif  // CXP_COMMON_IDEMPOTENCY_IDEMPOTENCY_H_
