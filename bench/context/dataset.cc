#include "bench/context/dataset.h"

#include <array>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cxp/type/v1/channel.pb.h"
#include "cxp/type/v1/identity.pb.h"

namespace cxp::bench::context {
namespace {

using cxp::context::v1::Interaction;
using cxp::type::v1::Channel;

struct ChannelShape {
  Channel channel;
  const char* inbound_type;
  const char* outbound_type;
  int weight;  // relative frequency
};

// Voice and chat dominate contact-centre traffic; email, SMS, social, web follow.
constexpr std::array<ChannelShape, 6> kChannels = {{
    {cxp::type::v1::CHANNEL_VOICE, "call", "callback", 30},
    {cxp::type::v1::CHANNEL_CHAT, "chat", "chat.proactive", 25},
    {cxp::type::v1::CHANNEL_EMAIL, "email", "email.reply", 15},
    {cxp::type::v1::CHANNEL_SMS, "sms", "sms.notification", 12},
    {cxp::type::v1::CHANNEL_SOCIAL, "social.dm", "social.reply", 8},
    {cxp::type::v1::CHANNEL_WEB, "web.form", "web.followup", 10},
}};

constexpr std::array<const char*, 6> kQueues = {"billing", "support", "sales",
                                                "retention", "delivery", "tech"};

int PickChannel(DatasetRng& rng) {
  int total = 0;
  for (const ChannelShape& c : kChannels) total += c.weight;
  int pick = static_cast<int>(rng() % static_cast<uint64_t>(total));
  for (size_t i = 0; i < kChannels.size(); ++i) {
    if (pick < kChannels[i].weight) return static_cast<int>(i);
    pick -= kChannels[i].weight;
  }
  return 0;
}

}  // namespace

std::string CustomerId(const std::string& prefix, int64_t i) { return absl::StrCat(prefix, i); }

std::string CustomerName(const std::string& prefix, int64_t i) {
  return absl::StrCat("customers/", prefix, i);
}

std::string CustomerPhone(int64_t i) { return absl::StrFormat("+8210%08d", 20000000 + i); }

std::string CustomerEmail(const std::string& prefix, int64_t i) {
  if (i % 2 != 0) return "";
  return absl::StrCat(prefix, i, "@bench.example.com");
}

cxp::context::v1::CreateCustomerRequest MakeCreateCustomer(const std::string& prefix, int64_t i,
                                                           DatasetRng& rng) {
  static constexpr std::array<const char*, 4> kTiers = {"standard", "standard", "gold", "vip"};
  cxp::context::v1::CreateCustomerRequest request;
  request.set_customer_id(CustomerId(prefix, i));
  cxp::context::v1::Customer* customer = request.mutable_customer();
  customer->set_display_name(absl::StrCat("Bench Customer ", i));
  customer->set_language_code(rng() % 4 == 0 ? "en" : "ko");
  customer->set_time_zone("Asia/Seoul");
  customer->set_tier(kTiers[rng() % kTiers.size()]);
  cxp::context::v1::CustomerIdentity* phone = customer->add_identities();
  phone->mutable_identity()->set_kind(cxp::type::v1::IDENTITY_KIND_PHONE);
  phone->mutable_identity()->set_value(CustomerPhone(i));
  phone->set_verified(true);
  const std::string email = CustomerEmail(prefix, i);
  if (!email.empty()) {
    cxp::context::v1::CustomerIdentity* linked = customer->add_identities();
    linked->mutable_identity()->set_kind(cxp::type::v1::IDENTITY_KIND_EMAIL);
    linked->mutable_identity()->set_value(email);
  }
  return request;
}

void FillInteraction(DatasetRng& rng, absl::Time occur_time, Interaction* out) {
  const ChannelShape& shape = kChannels[PickChannel(rng)];
  const bool inbound = rng() % 10 < 7;
  out->set_channel(shape.channel);
  out->set_direction(inbound ? Interaction::DIRECTION_INBOUND : Interaction::DIRECTION_OUTBOUND);
  out->set_type(inbound ? shape.inbound_type : shape.outbound_type);
  const int64_t micros = absl::ToUnixMicros(occur_time);
  out->mutable_occur_time()->set_seconds(micros / 1000000);
  out->mutable_occur_time()->set_nanos(static_cast<int32_t>(micros % 1000000) * 1000);
  if (shape.channel != cxp::type::v1::CHANNEL_WEB || !inbound) {
    out->set_agent(absl::StrFormat("agent-%03d", static_cast<int>(rng() % 400)));
    out->set_queue(kQueues[rng() % kQueues.size()]);
  }
  const int a = static_cast<int>(rng() % 1000000);
  const int b = static_cast<int>(rng() % 9) + 1;
  // ~90-110 bytes each, a few numbers filled in.
  std::string summary;
  switch (rng() % 6) {
    case 0:
      summary = absl::StrFormat(
          "Customer asked about the delivery status of order #%06d; tracking link re-sent, ETA %d days.",
          a, b);
      break;
    case 1:
      summary = absl::StrFormat(
          "Billing question on invoice %06d: charge of %d.00 explained, customer satisfied, no refund.",
          a, b * 10);
      break;
    case 2:
      summary = absl::StrFormat(
          "Reported login failure on the mobile app (error %d); password reset, follow-up case %06d.",
          b * 100, a);
      break;
    case 3:
      summary = absl::StrFormat(
          "Requested plan change to tier %d from next cycle; quoted price confirmed, ref %06d opened.",
          b, a);
      break;
    case 4:
      summary = absl::StrFormat(
          "Complaint about late technician visit #%06d; apology given, %d%% discount applied to bill.",
          a, b * 5);
      break;
    default:
      summary = absl::StrFormat(
          "Asked to update contact address; verified identity with code %06d, change effective in %dh.",
          a, b * 12);
      break;
  }
  out->set_summary(std::move(summary));
}

std::string RandomUuid(DatasetRng& rng) {
  const uint64_t hi = (rng() & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  const uint64_t lo = (rng() & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 10
  return absl::StrFormat("%08x-%04x-%04x-%04x-%012x", hi >> 32, (hi >> 16) & 0xffff, hi & 0xffff,
                         lo >> 48, lo & 0xffffffffffffULL);
}

}  // namespace cxp::bench::context
