#include "context_service/core/interaction_head.h"

#include <memory>
#include <string>
#include <vector>

#include "common/store/rocks_store.h"
#include "context_service/core/context_store.h"
#include "cxp/context/v1/customer_context.pb.h"
#include "cxp/context/v1/interaction.pb.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "tests/testing/server_process.h"

namespace cxp::context {
namespace {

using google::protobuf::util::TimeUtil;

std::string Serialized(const std::string& name, int64_t occur_micros) {
  v1::Interaction interaction;
  interaction.set_name(name);
  interaction.set_summary("summary of " + name);
  interaction.set_channel(cxp::type::v1::CHANNEL_CHAT);
  if (occur_micros != 0) {
    *interaction.mutable_occur_time() = TimeUtil::MicrosecondsToTimestamp(occur_micros);
  }
  (*interaction.mutable_attributes())["order"].set_string_value("A-1");
  return interaction.SerializeAsString();
}

std::vector<std::string> Names(std::string_view head) {
  absl::StatusOr<std::vector<std::string_view>> entries = HeadEntries(head);
  EXPECT_TRUE(entries.ok()) << entries.status();
  std::vector<std::string> names;
  for (std::string_view entry : entries.value_or(std::vector<std::string_view>{})) {
    v1::Interaction interaction;
    EXPECT_TRUE(interaction.ParseFromArray(entry.data(), static_cast<int>(entry.size())));
    names.push_back(interaction.name());
  }
  return names;
}

TEST(InteractionHeadTest, OccurMicrosIsReadWithoutParsing) {
  EXPECT_EQ(InteractionOccurMicros(Serialized("a", 1'700'000'000'123'456)).value(),
            1'700'000'000'123'456);
  EXPECT_EQ(InteractionOccurMicros(Serialized("a", 0)).value(), 0);
  EXPECT_FALSE(InteractionOccurMicros(std::string("\x2a\x05zz", 3)).ok());  // truncated field 5
}

TEST(InteractionHeadTest, PrefixOfARowParsesAsCustomerContext) {
  const std::string a = Serialized("a", 3), b = Serialized("b", 2), c = Serialized("c", 1);
  const std::string head = EncodeHead({a, b, c});
  const std::vector<uint32_t> ends = HeadEntryEnds(head).value();
  ASSERT_EQ(ends.size(), 3u);
  const size_t two = ends[1];
  v1::CustomerContext context;
  ASSERT_TRUE(context.ParseFromArray(head.data(), static_cast<int>(two)));
  ASSERT_EQ(context.recent_interactions_size(), 2);
  EXPECT_EQ(context.recent_interactions(0).name(), "a");
  EXPECT_EQ(context.recent_interactions(1).name(), "b");
  EXPECT_EQ(context.recent_interactions(1).attributes().at("order").string_value(), "A-1");
  EXPECT_EQ(ends.back(), head.size());
  EXPECT_TRUE(HeadEntryEnds("").value().empty());
  EXPECT_FALSE(HeadEntryEnds("\x08\x01").ok());  // not field 2
}

TEST(InteractionHeadTest, EncodeKeepsAtMostCapacity) {
  std::vector<std::string> many;
  for (int i = 0; i < kInteractionHeadCapacity + 5; ++i) {
    many.push_back(Serialized("i" + std::to_string(i), 1000 - i));
  }
  EXPECT_EQ(Names(EncodeHead({many.begin(), many.end()})).size(),
            static_cast<size_t>(kInteractionHeadCapacity));
}

// The merge operator inside a real RocksDB: operands land in timeline order
// (occur_time desc, later write first on ties), survive flushes and
// compactions, and the row never grows past the capacity.
class InteractionHeadMergeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::RocksStoreOptions options;
    options.path = dir_ + "/db";
    options.tune_options = [](rocksdb::Options& rocks_options) {
      ContextStore::ConfigureOptions(rocks_options);
    };
    auto rocks = store::RocksStore::Open(options);
    ASSERT_TRUE(rocks.ok()) << rocks.status();
    rocks_ = *std::move(rocks);
  }

  void Merge(const std::string& bytes) {
    rocksdb::WriteBatch batch;
    ASSERT_TRUE(batch.Merge(rocks_->DefaultColumnFamily(), "head", bytes).ok());
    ASSERT_TRUE(rocks_->Write(&batch).ok());
  }

  std::string Head() {
    absl::StatusOr<std::optional<std::string>> head =
        rocks_->Get(rocks_->DefaultColumnFamily(), "head");
    EXPECT_TRUE(head.ok()) << head.status();
    return head.ok() ? head->value_or("") : "";
  }

  std::string dir_ = cxp::testing::MakeTempDir("interaction_head_");
  std::unique_ptr<store::RocksStore> rocks_;
};

TEST_F(InteractionHeadMergeTest, OperandsLandInTimelineOrder) {
  Merge(Serialized("t20", 20));
  Merge(Serialized("t10", 10));        // backdated: goes below t20
  Merge(Serialized("t30", 30));        // newest
  Merge(Serialized("t20-later", 20));  // tie with t20: the later write first
  EXPECT_EQ(Names(Head()), (std::vector<std::string>{"t30", "t20-later", "t20", "t10"}));
  ASSERT_TRUE(rocks_->Flush().ok());
  Merge(Serialized("t25", 25));
  ASSERT_TRUE(rocks_->Flush().ok());
  ASSERT_TRUE(rocks_->db()->CompactRange(rocksdb::CompactRangeOptions(), nullptr, nullptr).ok());
  EXPECT_EQ(Names(Head()), (std::vector<std::string>{"t30", "t25", "t20-later", "t20", "t10"}));
}

TEST_F(InteractionHeadMergeTest, KeepsTheNewestCapacityEntries) {
  for (int i = 0; i < kInteractionHeadCapacity + 10; ++i) {
    Merge(Serialized("i" + std::to_string(i), 1000 + i));
    if (i % 7 == 0) {
      ASSERT_TRUE(rocks_->Flush().ok());
    }
  }
  Merge(Serialized("too-old", 1));  // older than everything kept: dropped
  std::vector<std::string> names = Names(Head());
  ASSERT_EQ(names.size(), static_cast<size_t>(kInteractionHeadCapacity));
  EXPECT_EQ(names.front(), "i" + std::to_string(kInteractionHeadCapacity + 9));
  EXPECT_EQ(names.back(), "i10");
}

TEST_F(InteractionHeadMergeTest, CorruptOperandFailsTheReadInsteadOfLosingData) {
  Merge(Serialized("ok", 5));
  Merge(std::string("\x2a\x05zz", 3));
  absl::StatusOr<std::optional<std::string>> head =
      rocks_->Get(rocks_->DefaultColumnFamily(), "head");
  EXPECT_FALSE(head.ok());
}

}  // namespace
}  // namespace cxp::context
