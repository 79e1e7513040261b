// ApiKeyRegistry — which tenant an API key belongs to.
//
// Loaded once from the --api_keys_file: one "<tenant> <key>" pair per line,
// blank lines and '#' comments ignored. Tenants are 1-63 characters of
// [a-z0-9_-] starting with a letter or digit, so they are safe as key
// prefixes and label values. Keys are at least 16 characters; the registry
// keeps only their SHA-256 digests, so a lookup's timing says nothing about
// how much of a wrong key matched, and a memory dump holds no usable key.
//
// Threading: immutable after Load(); safe to share across threads.
// Errors: Load() returns NOT_FOUND for a missing file and INVALID_ARGUMENT
// naming the line for a malformed one or a key listed twice.

#ifndef CXP_COMMON_SERVER_API_KEYS_H_
#define CXP_COMMON_SERVER_API_KEYS_H_

#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cxp::server {

// The tenant every call belongs to when the server runs without API keys.
inline constexpr absl::string_view kDefaultTenant = "default";

// True when `tenant` is a valid tenant id (see the contract above).
bool IsValidTenantId(absl::string_view tenant);

class ApiKeyRegistry {
 public:
  static absl::StatusOr<ApiKeyRegistry> LoadFile(const std::string& path);
  static absl::StatusOr<ApiKeyRegistry> Parse(absl::string_view contents);

  // The tenant owning `key`, or nullopt for an unknown key.
  std::optional<std::string> TenantForKey(absl::string_view key) const;
  size_t size() const { return tenant_by_digest_.size(); }

 private:
  absl::flat_hash_map<std::string, std::string> tenant_by_digest_;
};

}  // namespace cxp::server

#endif  // CXP_COMMON_SERVER_API_KEYS_H_
