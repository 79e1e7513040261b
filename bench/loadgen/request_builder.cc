#include "bench/loadgen/request_builder.h"

#include <memory>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/util/json_util.h"

namespace cxp::bench {
namespace {

bool IsEmptyJsonObject(const std::string& json) {
  std::string compact;
  for (char c : json) {
    if (!absl::ascii_isspace(static_cast<unsigned char>(c))) compact.push_back(c);
  }
  return compact.empty() || compact == "{}";
}

}  // namespace

absl::StatusOr<std::pair<std::string, std::string>> SplitMethodName(const std::string& method) {
  const size_t slash = method.rfind('/');
  if (method.size() < 4 || method[0] != '/' || slash == 0 || slash == std::string::npos ||
      slash + 1 == method.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--method wants /package.Service/Method, got '", method, "'"));
  }
  return std::make_pair(method.substr(1, slash - 1), method.substr(slash + 1));
}

absl::StatusOr<std::string> SerializeRequestFromJson(const std::string& method,
                                                     const std::string& json) {
  auto parts = SplitMethodName(method);
  if (!parts.ok()) return parts.status();
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  const google::protobuf::ServiceDescriptor* service = pool->FindServiceByName(parts->first);
  const google::protobuf::MethodDescriptor* rpc =
      service == nullptr ? nullptr : service->FindMethodByName(parts->second);
  if (rpc == nullptr) {
    if (IsEmptyJsonObject(json)) return std::string();
    return absl::NotFoundError(absl::StrCat(
        "method ", method, " is not in the descriptor pool linked into cxp_loadgen, so its "
        "request JSON cannot be encoded (only an empty request '{}' can be sent)"));
  }
  google::protobuf::DynamicMessageFactory factory(pool);
  std::unique_ptr<google::protobuf::Message> request(
      factory.GetPrototype(rpc->input_type())->New());
  const std::string text = IsEmptyJsonObject(json) ? std::string("{}") : json;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(text, request.get(), options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("request JSON does not parse as ",
                                                   rpc->input_type()->full_name(), ": ",
                                                   status.ToString()));
  }
  return request->SerializeAsString();
}

}  // namespace cxp::bench
