#include "common/validation/update_mask.h"

#include <string>
#include <vector>

#include "cxp/routing/v1/queue.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/validation/status_matchers.h"

namespace cxp::validation {
namespace {

using cxp::routing::v1::Queue;
using cxp::validation::testing_util::IsInvalid;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr absl::string_view kUpdatable[] = {"display_name", "priority", "bullseye_steps",
                                            "overflow", "intents"};

google::protobuf::FieldMask Mask(std::vector<std::string> paths) {
  google::protobuf::FieldMask mask;
  for (std::string& path : paths) mask.add_paths(std::move(path));
  return mask;
}

TEST(UpdatePathsTest, EmptyMaskSelectsTheSetFieldsInUpdatableOrder) {
  Queue queue;
  queue.add_intents("refund");
  queue.set_display_name("Billing");
  queue.mutable_overflow();  // present, even though empty
  queue.set_priority(0);     // default: not set
  queue.set_etag("3");       // set, but not updatable
  EXPECT_THAT(*UpdatePaths(google::protobuf::FieldMask(), queue, kUpdatable),
              ElementsAre("display_name", "overflow", "intents"));
  EXPECT_THAT(*UpdatePaths(google::protobuf::FieldMask(), Queue(), kUpdatable), IsEmpty());
}

TEST(UpdatePathsTest, ExplicitMaskKeepsOrderAndDropsRepeats) {
  EXPECT_THAT(*UpdatePaths(Mask({"intents", "display_name", "intents"}), Queue(), kUpdatable),
              ElementsAre("intents", "display_name"));
}

TEST(UpdatePathsTest, RejectsUnknownNotUpdatableAndSubfieldPaths) {
  const std::string allowed =
      "(updatable: display_name, priority, bullseye_steps, overflow, intents)";
  EXPECT_TRUE(IsInvalid(UpdatePaths(Mask({"display_name", "dispaly_name"}), Queue(), kUpdatable),
                        "update_mask.paths[1]: unknown field \"dispaly_name\" " + allowed));
  EXPECT_TRUE(IsInvalid(UpdatePaths(Mask({""}), Queue(), kUpdatable),
                        "update_mask.paths[0]: unknown field \"\" " + allowed));
  EXPECT_TRUE(IsInvalid(UpdatePaths(Mask({"create_time"}), Queue(), kUpdatable),
                        "update_mask.paths[0]: \"create_time\" cannot be updated " + allowed));
  EXPECT_TRUE(IsInvalid(UpdatePaths(Mask({"name"}), Queue(), kUpdatable),
                        "update_mask.paths[0]: \"name\" cannot be updated " + allowed));
  EXPECT_TRUE(IsInvalid(UpdatePaths(Mask({"create_time.seconds"}), Queue(), kUpdatable),
                        "update_mask.paths[0]: \"create_time\" cannot be updated " + allowed));
  EXPECT_TRUE(IsInvalid(UpdatePaths(Mask({"priority", "overflow.after"}), Queue(), kUpdatable),
                        "update_mask.paths[1]: \"overflow.after\" names part of a field; messages "
                        "and repeated fields are replaced whole (name \"overflow\")"));
  EXPECT_TRUE(IsInvalid(UpdatePaths(Mask({"*"}), Queue(), kUpdatable, "mask"),
                        "mask.paths[0]: unknown field \"*\" " + allowed));
}

TEST(ApplyPathsTest, ReplacesNamedFieldsWholeAndClearsUnsetOnes) {
  Queue stored;
  stored.set_display_name("Old");
  stored.set_priority(3);
  stored.add_intents("a");
  stored.add_intents("b");
  stored.mutable_overflow()->set_target_queue("queues/x");
  stored.mutable_overflow()->mutable_after()->set_seconds(60);
  stored.set_etag("7");

  Queue input;
  input.set_display_name("New");
  input.add_intents("c");
  input.mutable_overflow()->set_target_queue("queues/y");  // no after: replaced whole
  input.set_priority(9);                                   // not named: ignored

  ApplyPaths(input, {"display_name", "intents", "overflow", "intents"}, &stored);
  EXPECT_EQ(stored.display_name(), "New");
  EXPECT_THAT(stored.intents(), ElementsAre("c"));
  EXPECT_EQ(stored.overflow().target_queue(), "queues/y");
  EXPECT_FALSE(stored.overflow().has_after());
  EXPECT_EQ(stored.priority(), 3);
  EXPECT_EQ(stored.etag(), "7");

  ApplyPaths(Queue(), {"overflow", "intents", "display_name"}, &stored);
  EXPECT_FALSE(stored.has_overflow());
  EXPECT_THAT(stored.intents(), IsEmpty());
  EXPECT_EQ(stored.display_name(), "");
}

TEST(NonEmptyUpdatePathsTest, RefusesAnUpdateThatSelectsNothing) {
  Queue queue;
  queue.set_etag("3");  // not updatable: selects nothing
  EXPECT_TRUE(IsInvalid(NonEmptyUpdatePaths({}, queue, kUpdatable, "queue"),
                        "queue: sets no field to update (updatable: display_name, priority, "
                        "bullseye_steps, overflow, intents); name the fields in update_mask to "
                        "clear them"));
  // A mask naming a field selects it even when the input leaves it unset.
  absl::StatusOr<std::vector<std::string>> paths =
      NonEmptyUpdatePaths(Mask({"priority"}), queue, kUpdatable, "queue");
  ASSERT_TRUE(paths.ok()) << paths.status();
  EXPECT_THAT(*paths, ElementsAre("priority"));
  // UpdatePaths' own errors come through unchanged.
  EXPECT_TRUE(IsInvalid(NonEmptyUpdatePaths(Mask({"etag"}), queue, kUpdatable, "queue"),
                        "update_mask.paths[0]: \"etag\" cannot be updated (updatable: "
                        "display_name, priority, bullseye_steps, overflow, intents)"));
}

}  // namespace
}  // namespace cxp::validation
