#include "notify_service/dispatch/providers_config.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/status/status_macros.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace cxp::notify::dispatch {
namespace {

namespace type = ::cxp::type::v1;
using google::protobuf::Struct;
using google::protobuf::Value;

absl::Status Invalid(absl::string_view setting, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(setting, ": ", problem));
}

// Reads the fields of one JSON object, each named "<path>.<key>" in errors,
// and refuses keys nobody asked for.
class ObjectReader {
 public:
  ObjectReader(const Struct& object, std::string path) : object_(object), path_(std::move(path)) {}

  std::string Setting(absl::string_view key) const { return absl::StrCat(path_, ".", key); }

  absl::StatusOr<std::optional<std::string>> String(absl::string_view key) {
    const Value* value = Find(key);
    if (value == nullptr) return std::nullopt;
    if (!value->has_string_value()) return Invalid(Setting(key), "must be a string");
    return value->string_value();
  }
  absl::StatusOr<std::string> StringOr(absl::string_view key, std::string fallback) {
    absl::StatusOr<std::optional<std::string>> value = String(key);
    if (!value.ok()) return value.status();
    return value->value_or(std::move(fallback));
  }
  absl::StatusOr<std::optional<int64_t>> Integer(absl::string_view key) {
    const Value* value = Find(key);
    if (value == nullptr) return std::nullopt;
    if (!value->has_number_value() || std::floor(value->number_value()) != value->number_value() ||
        std::fabs(value->number_value()) > 1e15) {
      return Invalid(Setting(key), "must be an integer");
    }
    return static_cast<int64_t>(value->number_value());
  }
  absl::StatusOr<bool> Bool(absl::string_view key, bool fallback) {
    const Value* value = Find(key);
    if (value == nullptr) return fallback;
    if (!value->has_bool_value()) return Invalid(Setting(key), "must be true or false");
    return value->bool_value();
  }
  absl::StatusOr<absl::Duration> Duration(absl::string_view key, absl::Duration fallback) {
    absl::StatusOr<std::optional<std::string>> text = String(key);
    if (!text.ok()) return text.status();
    if (!*text) return fallback;
    absl::Duration duration;
    if (!absl::ParseDuration(**text, &duration) || duration <= absl::ZeroDuration()) {
      return Invalid(Setting(key), "must be a positive duration such as \"5s\" or \"1m30s\"");
    }
    return duration;
  }
  // A secret given inline (`key`) or in a file (`key`_file), not both.
  absl::StatusOr<std::string> Secret(absl::string_view key, bool required) {
    const std::string file_key = absl::StrCat(key, "_file");
    absl::StatusOr<std::optional<std::string>> inline_value = String(key);
    if (!inline_value.ok()) return inline_value.status();
    absl::StatusOr<std::optional<std::string>> file = String(file_key);
    if (!file.ok()) return file.status();
    if (*inline_value && *file) {
      return Invalid(path_, absl::StrCat("set ", key, " or ", file_key, ", not both"));
    }
    if (*file) return ReadSecretFile(**file, Setting(file_key));
    if (*inline_value) return **inline_value;
    if (required) return Invalid(Setting(key), absl::StrCat("required (or ", file_key, ")"));
    return std::string();
  }
  absl::Status Finish() const {
    std::vector<std::string> unknown;
    for (const auto& [key, value] : object_.fields()) {
      if (!used_.contains(key)) unknown.push_back(key);
    }
    if (unknown.empty()) return absl::OkStatus();
    std::sort(unknown.begin(), unknown.end());
    return Invalid(path_, absl::StrCat("unknown setting ", absl::StrJoin(unknown, ", ")));
  }

 private:
  const Value* Find(absl::string_view key) {
    used_.insert(std::string(key));
    auto it = object_.fields().find(std::string(key));
    if (it == object_.fields().end() || it->second.has_null_value()) return nullptr;
    return &it->second;
  }

  const Struct& object_;
  std::string path_;
  absl::flat_hash_set<std::string> used_;
};

absl::StatusOr<EmailProvider> ParseEmail(const Struct& object, const std::string& path,
                                         absl::Duration connect, absl::Duration total) {
  ObjectReader reader(object, path);
  EmailProvider provider;
  ASSIGN_OR_RETURN(provider.name, reader.StringOr("name", "smtp"));
  ASSIGN_OR_RETURN(provider.smtp.host, reader.StringOr("host", ""));
  std::optional<int64_t> port;
  ASSIGN_OR_RETURN(port, reader.Integer("port"));
  ASSIGN_OR_RETURN(provider.smtp.implicit_tls, reader.Bool("implicit_tls", false));
  provider.smtp.port = static_cast<int>(port.value_or(provider.smtp.implicit_tls ? 465 : 587));
  if (port && (*port < 1 || *port > 65535)) {
    return Invalid(reader.Setting("port"), "must be from 1 to 65535");
  }
  std::string starttls;
  ASSIGN_OR_RETURN(starttls, reader.StringOr("starttls", "required"));
  ASSIGN_OR_RETURN(provider.smtp.starttls, ParseStartTls(starttls, reader.Setting("starttls")));
  ASSIGN_OR_RETURN(provider.smtp.username, reader.StringOr("username", ""));
  ASSIGN_OR_RETURN(provider.smtp.password, reader.Secret("password", false));
  std::string from;
  ASSIGN_OR_RETURN(from, reader.StringOr("from", ""));
  ASSIGN_OR_RETURN(provider.smtp.from, ParseFromAddress(from, reader.Setting("from")));
  std::optional<std::string> from_name;
  ASSIGN_OR_RETURN(from_name, reader.String("from_name"));
  if (from_name) provider.smtp.from.display_name = *from_name;
  ASSIGN_OR_RETURN(provider.smtp.ehlo_name, reader.StringOr("ehlo_name", ""));
  ASSIGN_OR_RETURN(provider.smtp.ca_file, reader.StringOr("ca_file", ""));
  ASSIGN_OR_RETURN(provider.smtp.connect_timeout, reader.Duration("connect_timeout", connect));
  ASSIGN_OR_RETURN(provider.smtp.total_timeout, reader.Duration("total_timeout", total));
  if (absl::Status status = reader.Finish(); !status.ok()) return status;
  return provider;
}

absl::StatusOr<HttpProvider> ParseHttp(const Struct& object, const std::string& path,
                                       absl::string_view default_name, bool with_from,
                                       absl::Duration connect, absl::Duration total) {
  ObjectReader reader(object, path);
  HttpProvider provider;
  ASSIGN_OR_RETURN(provider.http.name, reader.StringOr("name", std::string(default_name)));
  ASSIGN_OR_RETURN(provider.http.url, reader.StringOr("url", ""));
  if (provider.http.url.empty()) return Invalid(reader.Setting("url"), "required");
  std::string header;
  ASSIGN_OR_RETURN(header, reader.Secret("auth_header", false));
  if (!header.empty()) {
    if (absl::Status status =
            SplitAuthHeader(header, reader.Setting("auth_header"), provider.http.auth_header_name,
                            provider.http.auth_header_value);
        !status.ok()) {
      return status;
    }
  }
  ASSIGN_OR_RETURN(provider.http.message_id_path, reader.StringOr("message_id_path", ""));
  ASSIGN_OR_RETURN(provider.sends_receipts, reader.Bool("sends_receipts", false));
  if (with_from) {
    ASSIGN_OR_RETURN(provider.from, reader.StringOr("from", ""));
  }
  ASSIGN_OR_RETURN(provider.http.connect_timeout, reader.Duration("connect_timeout", connect));
  ASSIGN_OR_RETURN(provider.http.total_timeout, reader.Duration("total_timeout", total));
  if (absl::Status status = reader.Finish(); !status.ok()) return status;
  return provider;
}

absl::StatusOr<WebhookTarget> ParseWebhook(const Struct& object, const std::string& path,
                                           absl::Duration connect, absl::Duration total) {
  ObjectReader reader(object, path);
  WebhookTarget target;
  ASSIGN_OR_RETURN(target.tenant, reader.StringOr("tenant", ""));
  std::string channel;
  ASSIGN_OR_RETURN(channel, reader.StringOr("channel", ""));
  if (!channel.empty()) {
    const std::string upper = absl::AsciiStrToUpper(channel);
    if (upper == "CHAT") {
      target.channel = type::CHANNEL_CHAT;
    } else if (upper == "SOCIAL") {
      target.channel = type::CHANNEL_SOCIAL;
    } else if (upper == "WEB") {
      target.channel = type::CHANNEL_WEB;
    } else {
      return Invalid(reader.Setting("channel"), "must be CHAT, SOCIAL or WEB");
    }
  }
  ASSIGN_OR_RETURN(target.endpoint.url, reader.StringOr("url", ""));
  if (target.endpoint.url.empty()) return Invalid(reader.Setting("url"), "required");
  ASSIGN_OR_RETURN(target.endpoint.secret, reader.Secret("secret", true));
  ASSIGN_OR_RETURN(target.endpoint.connect_timeout, reader.Duration("connect_timeout", connect));
  ASSIGN_OR_RETURN(target.endpoint.total_timeout, reader.Duration("total_timeout", total));
  if (absl::Status status = reader.Finish(); !status.ok()) return status;
  return target;
}

// The objects of the list at `key` of the document, each with its path.
absl::Status ForEachObject(
    const Struct& document, absl::string_view source, absl::string_view key,
    const std::function<absl::Status(const Struct&, const std::string&)>& f) {
  auto it = document.fields().find(std::string(key));
  if (it == document.fields().end() || it->second.has_null_value()) return absl::OkStatus();
  const std::string path = absl::StrCat(source, ": ", key);
  if (!it->second.has_list_value()) return Invalid(path, "must be a list of objects");
  const auto& values = it->second.list_value().values();
  for (int i = 0; i < values.size(); ++i) {
    const std::string item = absl::StrCat(path, "[", i, "]");
    if (!values[i].has_struct_value()) return Invalid(item, "must be an object");
    if (absl::Status status = f(values[i].struct_value(), item); !status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status UniqueNames(const std::vector<std::string>& names, absl::string_view setting) {
  absl::flat_hash_set<std::string> seen;
  for (const std::string& name : names) {
    if (!seen.insert(name).second) {
      return Invalid(setting, absl::StrCat("two providers are named \"", name,
                                           "\"; names must be unique per channel"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateHttp(const std::vector<HttpProvider>& providers, absl::string_view source,
                          absl::string_view channel) {
  std::vector<std::string> names;
  delivery::HttpClient client(0);
  for (size_t i = 0; i < providers.size(); ++i) {
    const std::string setting = absl::StrCat(source, ": ", channel, "[", i, "]");
    absl::StatusOr<delivery::HttpProviderSender> sender =
        delivery::HttpProviderSender::Create(providers[i].http, client);
    if (!sender.ok()) return Invalid(setting, sender.status().message());
    if (absl::StrContains(providers[i].from, "\n") || absl::StrContains(providers[i].from, "\r")) {
      return Invalid(absl::StrCat(setting, ".from"), "must not contain line breaks");
    }
    names.push_back(providers[i].http.name);
  }
  return UniqueNames(names, absl::StrCat(source, ": ", channel));
}

}  // namespace

const WebhookTarget* ProvidersConfig::WebhookFor(absl::string_view tenant,
                                                 type::Channel channel) const {
  const WebhookTarget* best = nullptr;
  int best_rank = -1;
  for (const WebhookTarget& target : webhooks) {
    const bool tenant_matches = target.tenant.empty() || target.tenant == tenant;
    const bool channel_matches =
        target.channel == type::CHANNEL_UNSPECIFIED || target.channel == channel;
    if (!tenant_matches || !channel_matches) continue;
    const int rank = (target.tenant.empty() ? 0 : 2) + (target.channel == channel ? 1 : 0);
    if (rank > best_rank) {
      best = &target;
      best_rank = rank;
    }
  }
  return best;
}

absl::Duration ProvidersConfig::LongestAttempt() const {
  absl::Duration longest;
  absl::Duration sum;
  for (const EmailProvider& provider : email) sum += provider.smtp.total_timeout;
  longest = std::max(longest, sum);
  for (const std::vector<HttpProvider>* chain : {&sms, &push}) {
    sum = absl::ZeroDuration();
    for (const HttpProvider& provider : *chain) sum += provider.http.total_timeout;
    longest = std::max(longest, sum);
  }
  for (const WebhookTarget& target : webhooks) {
    longest = std::max(longest, target.endpoint.total_timeout);
  }
  return longest;
}

std::string ProvidersConfig::Summary() const {
  auto names = [](const auto& providers, auto name_of) {
    if (providers.empty()) return std::string("none");
    std::vector<std::string> out;
    for (const auto& provider : providers) out.push_back(name_of(provider));
    return absl::StrJoin(out, ", ");
  };
  return absl::StrCat("email: ", names(email, [](const EmailProvider& p) { return p.name; }),
                      "; sms: ", names(sms, [](const HttpProvider& p) { return p.http.name; }),
                      "; push: ", names(push, [](const HttpProvider& p) { return p.http.name; }),
                      "; webhooks: ", webhooks.size());
}

absl::Status ValidateProvidersConfig(const ProvidersConfig& config, absl::string_view source) {
  std::vector<std::string> names;
  for (size_t i = 0; i < config.email.size(); ++i) {
    const std::string setting = absl::StrCat(source, ": email[", i, "]");
    if (config.email[i].name.empty()) return Invalid(absl::StrCat(setting, ".name"), "required");
    absl::StatusOr<delivery::SmtpSender> sender =
        delivery::SmtpSender::Create(config.email[i].smtp);
    if (!sender.ok()) return Invalid(setting, sender.status().message());
    names.push_back(config.email[i].name);
  }
  if (absl::Status status = UniqueNames(names, absl::StrCat(source, ": email")); !status.ok()) {
    return status;
  }
  if (absl::Status status = ValidateHttp(config.sms, source, "sms"); !status.ok()) return status;
  if (absl::Status status = ValidateHttp(config.push, source, "push"); !status.ok()) return status;
  absl::flat_hash_set<std::pair<std::string, int>> targets;
  for (size_t i = 0; i < config.webhooks.size(); ++i) {
    const WebhookTarget& target = config.webhooks[i];
    const std::string setting = absl::StrCat(source, ": webhooks[", i, "]");
    if (absl::Status status = delivery::ValidateWebhookEndpoint(target.endpoint); !status.ok()) {
      return Invalid(setting, status.message());
    }
    if (!targets.insert({target.tenant, static_cast<int>(target.channel)}).second) {
      return Invalid(setting, "another webhook has the same tenant and channel");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ProvidersConfig> ParseProvidersConfig(absl::string_view json,
                                                     absl::string_view source,
                                                     absl::Duration default_connect_timeout,
                                                     absl::Duration default_total_timeout) {
  Struct document;
  const auto parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &document);
  if (!parsed.ok()) {
    return Invalid(source, absl::StrCat("not a JSON object: ", parsed.message().as_string()));
  }
  ProvidersConfig config;
  for (const auto& [key, value] : document.fields()) {
    if (key != "email" && key != "sms" && key != "push" && key != "webhooks") {
      return Invalid(
          source, absl::StrCat("unknown setting ", key, " (expected email, sms, push, webhooks)"));
    }
  }
  const absl::Duration connect = default_connect_timeout;
  const absl::Duration total = default_total_timeout;
  absl::Status status =
      ForEachObject(document, source, "email", [&](const Struct& object, const std::string& path) {
        absl::StatusOr<EmailProvider> provider = ParseEmail(object, path, connect, total);
        if (!provider.ok()) return provider.status();
        config.email.push_back(*std::move(provider));
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  for (const auto& [key, with_from] :
       {std::pair<const char*, bool>{"sms", true}, {"push", false}}) {
    std::vector<HttpProvider>& chain = std::string(key) == "sms" ? config.sms : config.push;
    status = ForEachObject(
        document, source, key,
        [&, key = key, with_from = with_from](const Struct& object, const std::string& path) {
          absl::StatusOr<HttpProvider> provider =
              ParseHttp(object, path, key, with_from, connect, total);
          if (!provider.ok()) return provider.status();
          chain.push_back(*std::move(provider));
          return absl::OkStatus();
        });
    if (!status.ok()) return status;
  }
  status = ForEachObject(
      document, source, "webhooks", [&](const Struct& object, const std::string& path) {
        absl::StatusOr<WebhookTarget> target = ParseWebhook(object, path, connect, total);
        if (!target.ok()) return target.status();
        config.webhooks.push_back(*std::move(target));
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  if (status = ValidateProvidersConfig(config, source); !status.ok()) return status;
  return config;
}

absl::StatusOr<ProvidersConfig> ReadProvidersConfigFile(const std::string& path,
                                                        absl::Duration default_connect_timeout,
                                                        absl::Duration default_total_timeout) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Invalid("providers_config",
                   absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  std::stringstream contents;
  contents << in.rdbuf();
  return ParseProvidersConfig(contents.str(), absl::StrCat("providers_config ", path),
                              default_connect_timeout, default_total_timeout);
}

absl::StatusOr<std::string> ReadSecretFile(const std::string& path, absl::string_view setting) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Invalid(setting, absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  std::stringstream contents;
  contents << in.rdbuf();
  std::string secret = contents.str();
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r' ||
                             secret.back() == ' ' || secret.back() == '\t')) {
    secret.pop_back();
  }
  if (secret.empty()) return Invalid(setting, absl::StrCat(path, " is empty"));
  return secret;
}

absl::Status SplitAuthHeader(absl::string_view header, absl::string_view setting, std::string& name,
                             std::string& value) {
  const size_t colon = header.find(':');
  if (colon == absl::string_view::npos) {
    return Invalid(setting,
                   "must be \"<header name>: <value>\", e.g. \"Authorization: Bearer ...\"");
  }
  name = std::string(absl::StripAsciiWhitespace(header.substr(0, colon)));
  value = std::string(absl::StripAsciiWhitespace(header.substr(colon + 1)));
  if (name.empty()) return Invalid(setting, "the header name before ':' is empty");
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') {
      return Invalid(setting, "the header name may hold only letters, digits, '-' and '_'");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<delivery::StartTls> ParseStartTls(absl::string_view text,
                                                 absl::string_view setting) {
  const std::string lower = absl::AsciiStrToLower(text);
  if (lower == "none") return delivery::StartTls::kNone;
  if (lower == "opportunistic") return delivery::StartTls::kOpportunistic;
  if (lower == "required") return delivery::StartTls::kRequired;
  return Invalid(setting, "must be none, opportunistic or required");
}

absl::StatusOr<delivery::EmailAddress> ParseFromAddress(absl::string_view text,
                                                        absl::string_view setting) {
  text = absl::StripAsciiWhitespace(text);
  if (text.empty()) return Invalid(setting, "required (the sender address)");
  delivery::EmailAddress address;
  const size_t open = text.rfind('<');
  if (open != absl::string_view::npos && absl::EndsWith(text, ">")) {
    address.display_name = std::string(absl::StripAsciiWhitespace(text.substr(0, open)));
    address.address = std::string(text.substr(open + 1, text.size() - open - 2));
  } else {
    address.address = std::string(text);
  }
  if (absl::Status status = delivery::ValidateEmailAddress(setting, address.address);
      !status.ok()) {
    return status;
  }
  return address;
}

}  // namespace cxp::notify::dispatch
