#include "context_service/validation/consent_validation.h"

#include <string>

#include "gtest/gtest.h"
#include "tests/context_service/validation/status_matchers.h"

namespace cxp::context::validation {
namespace {

using cxp::context::v1::ConsentEvidence;
using cxp::context::v1::ContactPreferences;
using cxp::context::v1::UpdateConsentRequest;
using cxp::type::v1::WeeklyTimeWindow;
using testing_util::IsInvalid;

const absl::Time kNow = absl::FromUnixSeconds(1714521600);

std::string Repeat(absl::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out.append(s.data(), s.size());
  return out;
}

UpdateConsentRequest ValidRequest() {
  UpdateConsentRequest request;
  request.set_customer("customers/c1");
  request.set_channel(cxp::type::v1::CHANNEL_SMS);
  request.set_purpose(cxp::type::v1::PURPOSE_MARKETING);
  request.set_state(cxp::context::v1::CONSENT_STATE_GRANTED);
  request.mutable_evidence()->set_source("web_form");
  return request;
}

absl::Status Check(const UpdateConsentRequest& request) {
  return ValidateUpdateConsent(request, kNow, "");
}

// --- UpdateConsent ----------------------------------------------------------

TEST(ValidateUpdateConsentTest, AcceptsValidRequests) {
  EXPECT_TRUE(Check(ValidRequest()).ok());
  UpdateConsentRequest everything = ValidRequest();
  everything.set_channel(cxp::type::v1::CHANNEL_UNSPECIFIED);         // every channel
  everything.set_purpose(cxp::type::v1::PURPOSE_UNSPECIFIED);         // every purpose
  everything.set_state(cxp::context::v1::CONSENT_STATE_UNSPECIFIED);  // clear
  everything.mutable_evidence()->set_text("마케팅 정보 수신에 동의합니다.\n(선택)");
  everything.mutable_evidence()->mutable_capture_time()->set_seconds(1714521600);
  EXPECT_TRUE(Check(everything).ok());
}

TEST(ValidateUpdateConsentTest, RejectsUnknownEnumValues) {
  UpdateConsentRequest request = ValidRequest();
  request.set_channel(static_cast<cxp::type::v1::Channel>(42));
  EXPECT_TRUE(IsInvalid(Check(request), "channel: unknown Channel value 42"));
  EXPECT_TRUE(IsInvalid(ValidateUpdateConsent(request, kNow, "request"),
                        "request.channel: unknown Channel value 42"));
  request = ValidRequest();
  request.set_purpose(static_cast<cxp::type::v1::Purpose>(9));
  EXPECT_TRUE(IsInvalid(Check(request), "purpose: unknown Purpose value 9"));
  request = ValidRequest();
  request.set_state(static_cast<cxp::context::v1::ConsentState>(5));
  EXPECT_TRUE(IsInvalid(Check(request), "state: unknown ConsentState value 5"));
}

TEST(ValidateUpdateConsentTest, EvidenceSourceRequiredAtMost64) {
  UpdateConsentRequest request = ValidRequest();
  request.clear_evidence();
  EXPECT_TRUE(IsInvalid(Check(request), "evidence.source: must not be empty"));
  request.mutable_evidence()->set_source(Repeat("s", 64));
  EXPECT_TRUE(Check(request).ok());
  request.mutable_evidence()->set_source(Repeat("s", 65));
  EXPECT_TRUE(IsInvalid(Check(request), "evidence.source: must be at most 64 characters (got 65)"));
  request.mutable_evidence()->set_source("ivr\n");
  EXPECT_TRUE(IsInvalid(Check(request), "evidence.source: must not contain control characters"));
}

TEST(ValidateConsentEvidenceTest, CaptureTimeMustNotBeInTheFuture) {
  ConsentEvidence evidence;
  evidence.set_source("agent");
  evidence.mutable_capture_time()->set_seconds(1714521600);  // == now
  EXPECT_TRUE(ValidateConsentEvidence(evidence, kNow, "evidence").ok());
  evidence.mutable_capture_time()->set_seconds(1600000000);
  EXPECT_TRUE(ValidateConsentEvidence(evidence, kNow, "evidence").ok());
  evidence.mutable_capture_time()->set_seconds(1714521600);
  evidence.mutable_capture_time()->set_nanos(1);
  EXPECT_TRUE(IsInvalid(ValidateConsentEvidence(evidence, kNow, "evidence"),
                        "evidence.capture_time: must not be in the future"));
  evidence.mutable_capture_time()->set_nanos(-1);
  EXPECT_TRUE(IsInvalid(ValidateConsentEvidence(evidence, kNow, "evidence"),
                        "evidence.capture_time: must be a valid timestamp between "
                        "0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z"));
}

TEST(ValidateConsentEvidenceTest, WordingLimits) {
  ConsentEvidence evidence;
  evidence.set_source("paper");
  evidence.set_text(Repeat("동", 4096));
  EXPECT_TRUE(ValidateConsentEvidence(evidence, kNow, "evidence").ok());
  evidence.set_text(Repeat("동", 4097));
  EXPECT_TRUE(IsInvalid(ValidateConsentEvidence(evidence, kNow, "evidence"),
                        "evidence.text: must be at most 4096 characters (got 4097)"));
  evidence.set_text("\x1b[1m");
  EXPECT_TRUE(IsInvalid(ValidateConsentEvidence(evidence, kNow, "evidence"),
                        "evidence.text: must not contain control characters"));
  evidence.set_text_version("privacy-2024-03");
  EXPECT_TRUE(ValidateConsentEvidence(evidence, kNow, "evidence").ok());
  evidence.set_text_version(Repeat("v", 128));
  EXPECT_TRUE(ValidateConsentEvidence(evidence, kNow, "evidence").ok());
  evidence.set_text_version(Repeat("v", 129));
  EXPECT_TRUE(IsInvalid(ValidateConsentEvidence(evidence, kNow, "evidence"),
                        "evidence.text_version: must be at most 128 characters (got 129)"));
  evidence.set_text_version("v1\nv2");
  EXPECT_TRUE(IsInvalid(ValidateConsentEvidence(evidence, kNow, "evidence"),
                        "evidence.text_version: must not contain control characters"));
}

// --- channel_order ----------------------------------------------------------

google::protobuf::RepeatedField<int> Channels(std::initializer_list<int> values) {
  google::protobuf::RepeatedField<int> out;
  for (int v : values) out.Add(v);
  return out;
}

TEST(ValidateChannelOrderTest, AcceptsDistinctKnownChannels) {
  using namespace cxp::type::v1;  // NOLINT
  EXPECT_TRUE(ValidateChannelOrder(Channels({}), "f").ok());
  EXPECT_TRUE(ValidateChannelOrder(Channels({CHANNEL_CHAT, CHANNEL_SMS, CHANNEL_EMAIL}), "f").ok());
  EXPECT_TRUE(ValidateChannelOrder(Channels({8, 7, 6, 5, 4, 3, 2, 1}), "f").ok());
}

TEST(ValidateChannelOrderTest, RejectsDuplicatesUnknownUnspecifiedAndTooMany) {
  using namespace cxp::type::v1;  // NOLINT
  const std::string f = "contact_preferences.channel_order";
  EXPECT_TRUE(
      IsInvalid(ValidateChannelOrder(Channels({CHANNEL_CHAT, CHANNEL_SMS, CHANNEL_CHAT}), f),
                f + "[2]: CHANNEL_CHAT is listed twice"));
  EXPECT_TRUE(IsInvalid(ValidateChannelOrder(Channels({CHANNEL_SMS, CHANNEL_UNSPECIFIED}), f),
                        f + "[1]: must be a channel, not CHANNEL_UNSPECIFIED"));
  EXPECT_TRUE(
      IsInvalid(ValidateChannelOrder(Channels({42}), f), f + "[0]: unknown Channel value 42"));
  EXPECT_TRUE(IsInvalid(ValidateChannelOrder(Channels({1, 2, 3, 4, 5, 6, 7, 8, 1}), f),
                        f + ": must have at most 8 entries (got 9)"));
}

// --- quiet_hours ------------------------------------------------------------

WeeklyTimeWindow Window(std::initializer_list<int> days, int start_h, int start_m, int end_h,
                        int end_m) {
  WeeklyTimeWindow window;
  for (int d : days) window.add_days(static_cast<cxp::type::v1::DayOfWeek>(d));
  window.mutable_start_time()->set_hours(start_h);
  window.mutable_start_time()->set_minutes(start_m);
  window.mutable_end_time()->set_hours(end_h);
  window.mutable_end_time()->set_minutes(end_m);
  return window;
}

TEST(ValidateWeeklyTimeWindowTest, AcceptsOrdinaryOvernightAndFullDayWindows) {
  EXPECT_TRUE(ValidateWeeklyTimeWindow(Window({1, 2, 3, 4, 5}, 9, 0, 18, 0), "w").ok());
  EXPECT_TRUE(ValidateWeeklyTimeWindow(Window({1, 2, 3, 4, 5, 6, 7}, 21, 0, 8, 0), "w").ok());
  // Equal start and end mean the whole 24 hours (schedule.proto).
  EXPECT_TRUE(ValidateWeeklyTimeWindow(Window({7}, 0, 0, 0, 0), "w").ok());
  EXPECT_TRUE(ValidateWeeklyTimeWindow(Window({6}, 23, 59, 0, 0), "w").ok());
}

TEST(ValidateWeeklyTimeWindowTest, RejectsBadDays) {
  EXPECT_TRUE(IsInvalid(ValidateWeeklyTimeWindow(Window({}, 9, 0, 18, 0), "w"),
                        "w.days: must not be empty"));
  EXPECT_TRUE(IsInvalid(ValidateWeeklyTimeWindow(Window({1, 3, 1}, 9, 0, 18, 0), "w"),
                        "w.days[2]: DAY_OF_WEEK_MONDAY is listed twice"));
  EXPECT_TRUE(IsInvalid(ValidateWeeklyTimeWindow(Window({0}, 9, 0, 18, 0), "w"),
                        "w.days[0]: must be a day, not DAY_OF_WEEK_UNSPECIFIED"));
  EXPECT_TRUE(IsInvalid(ValidateWeeklyTimeWindow(Window({1, 8}, 9, 0, 18, 0), "w"),
                        "w.days[1]: unknown DayOfWeek value 8"));
}

TEST(ValidateWeeklyTimeWindowTest, RejectsBadTimes) {
  EXPECT_TRUE(IsInvalid(ValidateWeeklyTimeWindow(Window({1}, 24, 0, 8, 0), "w"),
                        "w.start_time.hours: must be 0 to 23 (got 24)"));
  EXPECT_TRUE(IsInvalid(ValidateWeeklyTimeWindow(Window({1}, -1, 0, 8, 0), "w"),
                        "w.start_time.hours: must be 0 to 23 (got -1)"));
  EXPECT_TRUE(IsInvalid(ValidateWeeklyTimeWindow(Window({1}, 21, 60, 8, 0), "w"),
                        "w.start_time.minutes: must be 0 to 59 (got 60)"));
  EXPECT_TRUE(IsInvalid(ValidateWeeklyTimeWindow(Window({1}, 21, 0, 8, -5), "w"),
                        "w.end_time.minutes: must be 0 to 59 (got -5)"));
  WeeklyTimeWindow no_start = Window({1}, 21, 0, 8, 0);
  no_start.clear_start_time();
  EXPECT_TRUE(IsInvalid(ValidateWeeklyTimeWindow(no_start, "w"), "w.start_time: must be set"));
  WeeklyTimeWindow no_end = Window({1}, 21, 0, 8, 0);
  no_end.clear_end_time();
  EXPECT_TRUE(IsInvalid(ValidateWeeklyTimeWindow(no_end, "w"), "w.end_time: must be set"));
}

TEST(ValidateQuietHoursTest, AtMost14WindowsAndIndexedPaths) {
  google::protobuf::RepeatedPtrField<WeeklyTimeWindow> windows;
  for (int i = 0; i < 14; ++i) *windows.Add() = Window({1 + i % 7}, 21, 0, 8, 0);
  EXPECT_TRUE(ValidateQuietHours(windows, "contact_preferences.quiet_hours").ok());
  *windows.Add() = Window({1}, 12, 0, 13, 0);
  EXPECT_TRUE(IsInvalid(ValidateQuietHours(windows, "contact_preferences.quiet_hours"),
                        "contact_preferences.quiet_hours: must have at most 14 entries (got 15)"));
  google::protobuf::RepeatedPtrField<WeeklyTimeWindow> two;
  *two.Add() = Window({1}, 21, 0, 8, 0);
  *two.Add() = Window({2}, 24, 0, 8, 0);
  EXPECT_TRUE(IsInvalid(ValidateQuietHours(two, "contact_preferences.quiet_hours"),
                        "contact_preferences.quiet_hours[1].start_time.hours: must be 0 to 23 "
                        "(got 24)"));
}

// --- ContactPreferences -----------------------------------------------------

TEST(NormalizeContactPreferencesTest, CanonicalisesLanguageAndKeepsTheRest) {
  ContactPreferences in;
  in.set_name("customers/c1/contactPreferences");
  in.set_etag("3");
  in.add_channel_order(cxp::type::v1::CHANNEL_CHAT);
  in.add_channel_order(cxp::type::v1::CHANNEL_SMS);
  *in.add_quiet_hours() = Window({1, 2, 3, 4, 5, 6, 7}, 21, 0, 8, 0);
  in.set_language_code("KO-kr");
  absl::StatusOr<ContactPreferences> out = NormalizeContactPreferences(in, "contact_preferences");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->language_code(), "ko-KR");
  EXPECT_EQ(out->name(), "customers/c1/contactPreferences");
  EXPECT_EQ(out->etag(), "3");
  EXPECT_EQ(out->channel_order_size(), 2);
  EXPECT_EQ(out->quiet_hours_size(), 1);
  EXPECT_TRUE(NormalizeContactPreferences(ContactPreferences(), "contact_preferences").ok());
}

TEST(NormalizeContactPreferencesTest, ReportsFieldPaths) {
  ContactPreferences bad_language;
  bad_language.set_language_code("korean");
  EXPECT_TRUE(IsInvalid(NormalizeContactPreferences(bad_language, "contact_preferences"),
                        "contact_preferences.language_code: not a well-formed BCP-47 language "
                        "tag: \"korean\" (expected e.g. \"ko-KR\", \"en\", \"zh-Hant-TW\")"));
  ContactPreferences bad_order;
  bad_order.add_channel_order(cxp::type::v1::CHANNEL_SMS);
  bad_order.add_channel_order(cxp::type::v1::CHANNEL_SMS);
  EXPECT_TRUE(IsInvalid(NormalizeContactPreferences(bad_order, "contact_preferences"),
                        "contact_preferences.channel_order[1]: CHANNEL_SMS is listed twice"));
  ContactPreferences bad_window;
  *bad_window.add_quiet_hours() = Window({}, 21, 0, 8, 0);
  EXPECT_TRUE(IsInvalid(NormalizeContactPreferences(bad_window, "contact_preferences"),
                        "contact_preferences.quiet_hours[0].days: must not be empty"));
}

}  // namespace
}  // namespace cxp::context::validation
