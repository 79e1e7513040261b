#include "common/status/errors.h"

#include <string>

namespace cxp {
namespace {

// Debian's Abseil is built with its own absl::string_view (not an alias of
// std::string_view), so messages are assembled with std::string directly.
std::string SubjectMessage(std::string_view subject, std::string_view problem) {
  std::string message;
  if (!subject.empty()) {
    message.reserve(subject.size() + 2 + problem.size());
    message.append(subject).append(": ");
  }
  message.append(problem);
  return message;
}

}  // namespace

absl::Status InvalidArgument(std::string_view field, std::string_view problem) {
  return absl::InvalidArgumentError(SubjectMessage(field, problem));
}

absl::Status FailedPrecondition(std::string_view subject, std::string_view problem) {
  return absl::FailedPreconditionError(SubjectMessage(subject, problem));
}

absl::Status NotFound(std::string_view resource_name) {
  return absl::NotFoundError(SubjectMessage(resource_name, "not found"));
}

absl::Status AlreadyExists(std::string_view resource_name) {
  return absl::AlreadyExistsError(SubjectMessage(resource_name, "already exists"));
}

absl::Status StaleEtag(std::string_view resource_name, std::string_view supplied_etag,
                       std::string_view current_etag) {
  std::string problem = "etag \"";
  problem.append(supplied_etag).append("\" is stale (current \"");
  problem.append(current_etag).append("\"); re-read and retry");
  return absl::AbortedError(SubjectMessage(resource_name, problem));
}

}  // namespace cxp
