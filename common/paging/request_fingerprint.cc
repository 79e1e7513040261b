#include "common/paging/request_fingerprint.h"

#include <openssl/sha.h>

#include <cstdint>

#include "absl/strings/escaping.h"

namespace cxp::paging {

std::string RequestFingerprint(std::initializer_list<absl::string_view> parts) {
  std::string input;
  size_t total = 0;
  for (absl::string_view part : parts) total += 8 + part.size();
  input.reserve(total);
  for (absl::string_view part : parts) {
    uint64_t size = part.size();
    for (int i = 0; i < 8; ++i) input.push_back(static_cast<char>((size >> (8 * i)) & 0xff));
    input.append(part.data(), part.size());
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), 16));
}

}  // namespace cxp::paging
