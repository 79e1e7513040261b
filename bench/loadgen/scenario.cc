#include "bench/loadgen/scenario.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "grpcpp/support/slice.h"

namespace cxp::bench {
namespace {

grpc::ByteBuffer ToByteBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

class FixedSource final : public RequestSource {
 public:
  explicit FixedSource(const std::string& bytes) : buffer_(ToByteBuffer(bytes)) {}
  void Next(ScenarioRng&, grpc::ByteBuffer* out) const override { *out = buffer_; }

 private:
  grpc::ByteBuffer buffer_;
};

class GeneratedSource final : public RequestSource {
 public:
  explicit GeneratedSource(std::function<std::string(ScenarioRng&)> generate)
      : generate_(std::move(generate)) {}
  void Next(ScenarioRng& rng, grpc::ByteBuffer* out) const override {
    *out = ToByteBuffer(generate_(rng));
  }

 private:
  std::function<std::string(ScenarioRng&)> generate_;
};

}  // namespace

std::unique_ptr<RequestSource> FixedRequest(const std::string& serialized) {
  return std::make_unique<FixedSource>(serialized);
}

std::unique_ptr<RequestSource> FixedRequest(const google::protobuf::Message& message) {
  return std::make_unique<FixedSource>(message.SerializeAsString());
}

std::unique_ptr<RequestSource> GeneratedRequest(
    std::function<std::string(ScenarioRng&)> generate) {
  return std::make_unique<GeneratedSource>(std::move(generate));
}

absl::StatusOr<ScenarioParams> ScenarioParams::Parse(const std::vector<std::string>& items) {
  ScenarioParams params;
  for (const std::string& item : items) {
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--scenario_param wants key=value, got '", item, "'"));
    }
    params.values_[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return params;
}

std::string ScenarioParams::GetString(const std::string& key,
                                      const std::string& fallback) const {
  auto it = values_.find(key);
  return it == values_.end() ? fallback : it->second;
}

absl::StatusOr<int64_t> ScenarioParams::GetInt(const std::string& key, int64_t fallback) const {
  auto it = values_.find(key);
  if (it == values_.end()) return fallback;
  int64_t value = 0;
  if (!absl::SimpleAtoi(it->second, &value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--scenario_param ", key, " wants an integer, got '", it->second, "'"));
  }
  return value;
}

const Scenario* FindScenario(const std::string& name) {
  for (const Scenario& scenario : BuiltinScenarios()) {
    if (scenario.name == name) return &scenario;
  }
  return nullptr;
}

std::string ScenarioNames() {
  std::vector<std::string> names;
  for (const Scenario& scenario : BuiltinScenarios()) names.push_back(scenario.name);
  return absl::StrJoin(names, ", ");
}

}  // namespace cxp::bench
