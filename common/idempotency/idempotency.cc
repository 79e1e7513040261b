#include "common/idempotency/idempotency.h"

#include <openssl/sha.h>

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace cxp::idempotency {

std::string RequestDigest(const google::protobuf::Message& request) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    request.SerializeToCodedStream(&coded);
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

absl::StatusOr<bool> ReplayStoredResponse(const std::optional<StoredResponse>& stored,
                                          absl::string_view fingerprint, absl::Time now,
                                          google::protobuf::Message& response,
                                          absl::string_view field) {
  if (!stored || stored->expire_micros() <= absl::ToUnixMicros(now)) return false;
  if (stored->request_fingerprint() != fingerprint) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": was already used for a different request"));
  }
  if (!response.ParseFromString(stored->response())) {
    return absl::DataLossError("corrupt stored response");
  }
  return true;
}

StoredResponse NewStoredResponse(std::string fingerprint, const google::protobuf::Message& response,
                                 absl::Time expire_time) {
  StoredResponse stored;
  stored.set_request_fingerprint(std::move(fingerprint));
  stored.set_response(response.SerializeAsString());
  stored.set_expire_micros(absl::ToUnixMicros(expire_time));
  return stored;
}

}  // namespace cxp::idempotency
