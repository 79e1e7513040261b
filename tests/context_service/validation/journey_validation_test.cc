#include "context_service/validation/journey_validation.h"

#include <string>

#include "gtest/gtest.h"
#include "tests/context_service/validation/status_matchers.h"

namespace cxp::context::validation {
namespace {

using cxp::context::v1::AdvanceJourneyRequest;
using cxp::context::v1::Journey;
using cxp::context::v1::StartJourneyRequest;
using testing_util::IsInvalid;

StartJourneyRequest ValidStart() {
  StartJourneyRequest request;
  request.mutable_journey()->set_type("missed_delivery");
  request.set_step("reported");
  return request;
}

TEST(JourneyValidationTest, StartAcceptsTheUsualRequest) {
  EXPECT_TRUE(ValidateStartJourney(ValidStart()).ok());
  StartJourneyRequest request = ValidStart();
  request.set_journey_id("parcel-4711");
  request.set_state(Journey::STATE_WAITING_ON_BUSINESS);
  request.set_channel(cxp::type::v1::CHANNEL_CHAT);
  (*request.mutable_journey()->mutable_attributes())["parcel_id"].set_string_value("P-1");
  EXPECT_TRUE(ValidateStartJourney(request).ok());
}

TEST(JourneyValidationTest, StartNamesTheBadField) {
  StartJourneyRequest request;
  EXPECT_TRUE(IsInvalid(ValidateStartJourney(request), "journey: must be set"));
  request = ValidStart();
  request.mutable_journey()->set_type("");
  EXPECT_TRUE(IsInvalid(ValidateStartJourney(request), "journey.type: must be set"));
  request.mutable_journey()->set_type("Missed Delivery");
  EXPECT_TRUE(IsInvalid(ValidateStartJourney(request),
                        "journey.type: must contain only a-z, 0-9, '_', '.' and '-'"));
  request.mutable_journey()->set_type(std::string(65, 'a'));
  EXPECT_TRUE(IsInvalid(ValidateStartJourney(request),
                        "journey.type: must be at most 64 characters (got 65)"));
  request = ValidStart();
  request.set_step(std::string(65, 's'));
  EXPECT_TRUE(
      IsInvalid(ValidateStartJourney(request), "step: must be at most 64 characters (got 65)"));
  request = ValidStart();
  request.set_state(Journey::STATE_RESOLVED);
  EXPECT_TRUE(IsInvalid(ValidateStartJourney(request),
                        "state: a journey cannot start RESOLVED or ABANDONED"));
  request.set_state(static_cast<Journey::State>(42));
  EXPECT_TRUE(IsInvalid(ValidateStartJourney(request), "state: unknown Journey.State value 42"));
  request = ValidStart();
  request.set_journey_id("Bad_Id");
  EXPECT_EQ(ValidateStartJourney(request).code(), absl::StatusCode::kInvalidArgument);
  request = ValidStart();
  request.set_channel(static_cast<cxp::type::v1::Channel>(99));
  EXPECT_TRUE(IsInvalid(ValidateStartJourney(request), "channel: unknown Channel value 99"));
  request = ValidStart();
  (*request.mutable_journey()->mutable_attributes())["Bad Key"].set_string_value("x");
  EXPECT_EQ(ValidateStartJourney(request).code(), absl::StatusCode::kInvalidArgument);
}

TEST(JourneyValidationTest, AdvanceNeedsAStepOrAState) {
  AdvanceJourneyRequest request;
  EXPECT_TRUE(IsInvalid(ValidateAdvanceJourney(request), "step: set step or state (or both)"));
  request.set_state(Journey::STATE_RESOLVED);  // terminal states end a journey
  EXPECT_TRUE(ValidateAdvanceJourney(request).ok());
  request.set_state(Journey::STATE_UNSPECIFIED);
  request.set_step("documents_received");
  EXPECT_TRUE(ValidateAdvanceJourney(request).ok());
  request.set_note(std::string(1025, 'n'));
  EXPECT_TRUE(IsInvalid(ValidateAdvanceJourney(request),
                        "note: must be at most 1024 characters (got 1025)"));
  request.set_note("line one\nline two");
  EXPECT_TRUE(ValidateAdvanceJourney(request).ok());
  request.set_step("two\nlines");
  EXPECT_TRUE(
      IsInvalid(ValidateAdvanceJourney(request), "step: must not contain control characters"));
}

}  // namespace
}  // namespace cxp::context::validation
