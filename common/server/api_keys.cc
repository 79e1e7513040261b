#include "common/server/api_keys.h"

#include <openssl/sha.h>

#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace cxp::server {
namespace {

constexpr size_t kMinKeyLength = 16;

std::string Sha256(absl::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

}  // namespace

bool IsValidTenantId(absl::string_view tenant) {
  if (tenant.empty() || tenant.size() > 63) return false;
  for (size_t i = 0; i < tenant.size(); ++i) {
    const char c = tenant[i];
    const bool alnum = absl::ascii_islower(c) || absl::ascii_isdigit(c);
    if (!alnum && (i == 0 || (c != '-' && c != '_'))) return false;
  }
  return true;
}

absl::StatusOr<ApiKeyRegistry> ApiKeyRegistry::LoadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("api_keys_file: cannot read ", path));
  std::stringstream contents;
  contents << in.rdbuf();
  return Parse(contents.str());
}

absl::StatusOr<ApiKeyRegistry> ApiKeyRegistry::Parse(absl::string_view contents) {
  ApiKeyRegistry registry;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(contents, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    auto bad_line = [&](absl::string_view problem) {
      return absl::InvalidArgumentError(
          absl::StrCat("api_keys_file line ", line_number, ": ", problem));
    };
    if (fields.size() != 2) return bad_line("expected '<tenant> <key>'");
    if (!IsValidTenantId(fields[0])) {
      return bad_line(
          absl::StrCat("invalid tenant id '", fields[0], "' (1-63 chars of [a-z0-9_-])"));
    }
    if (fields[1].size() < kMinKeyLength) {
      return bad_line(absl::StrCat("key shorter than ", kMinKeyLength, " characters"));
    }
    if (!registry.tenant_by_digest_.emplace(Sha256(fields[1]), std::string(fields[0])).second) {
      return bad_line("key listed twice");
    }
  }
  return registry;
}

std::optional<std::string> ApiKeyRegistry::TenantForKey(absl::string_view key) const {
  auto it = tenant_by_digest_.find(Sha256(key));
  if (it == tenant_by_digest_.end()) return std::nullopt;
  return it->second;
}

}  // namespace cxp::server
