// NotifyStore on a real RocksDB in a temp dir: what one batch writes comes
// back after a reopen, with every lookup row consistent.
#include "notify_service/core/notify_store.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "tests/notify_service/core/notify_store_fixture.h"

namespace cxp::notify {
namespace {

using google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;

constexpr char kTenant[] = "acme";
const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

class NotifyStoreTest : public testing::NotifyStoreFixture {
 protected:
  void SetUp() override { OpenStore(); }

  void Reopen() {
    CloseStore();
    OpenStore();
  }

  void Commit(NotifyStore::Batch& batch) {
    absl::Status status = store_->Commit(batch);
    ASSERT_TRUE(status.ok()) << status;
  }

  static v1::Notification Notification(const std::string& id, absl::Time created,
                                       const std::string& customer) {
    v1::Notification notification;
    notification.set_name("notifications/" + id);
    notification.set_resolved_customer(customer);
    notification.set_state(v1::Notification::STATE_QUEUED);
    *notification.mutable_create_time() =
        TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(created));
    *notification.mutable_update_time() = notification.create_time();
    return notification;
  }

  std::vector<std::string> Newest(const std::string& customer) {
    std::vector<std::string> names;
    absl::Status status = store_->ScanNotificationsNewestFirst(
        kTenant, customer, "", 100, [&](const std::string&, const v1::Notification& n) {
          names.push_back(n.name());
          return true;
        });
    EXPECT_TRUE(status.ok()) << status;
    return names;
  }
};

TEST_F(NotifyStoreTest, TemplatesKeepEveryVersion) {
  v1::Template reminder;
  reminder.set_name("templates/reminder");
  reminder.set_display_name("v1");
  reminder.set_version(1);
  NotifyStore::Batch first = store_->NewBatch();
  first.PutTemplate(kTenant, reminder);
  Commit(first);
  reminder.set_display_name("v2");
  reminder.set_version(2);
  NotifyStore::Batch second = store_->NewBatch();
  second.PutTemplate(kTenant, reminder);
  Commit(second);
  Reopen();

  EXPECT_EQ((*store_->GetTemplate(kTenant, "templates/reminder"))->display_name(), "v2");
  EXPECT_EQ((*store_->GetTemplate(kTenant, "templates/reminder", 1))->display_name(), "v1");
  EXPECT_FALSE((*store_->GetTemplate(kTenant, "templates/reminder", 3)).has_value());
  EXPECT_FALSE((*store_->GetTemplate("globex", "templates/reminder")).has_value());

  NotifyStore::Batch remove = store_->NewBatch();
  remove.DeleteTemplate(kTenant, "templates/reminder", 2);
  Commit(remove);
  EXPECT_FALSE((*store_->GetTemplate(kTenant, "templates/reminder")).has_value());
  EXPECT_FALSE((*store_->GetTemplate(kTenant, "templates/reminder", 1)).has_value());
}

// Sending notifications and template versions are answered from memory:
// every commit keeps that memory in step, whichever copy of the store
// commits, so a read never sees an older version than RocksDB holds.
TEST_F(NotifyStoreTest, HotRowsFollowEveryCommit) {
  const NotifyStore other_copy = *store_;
  v1::Template reminder;
  reminder.set_name("templates/reminder");
  reminder.set_display_name("first");
  reminder.set_version(1);
  NotifyStore::Batch create = store_->NewBatch();
  create.PutTemplate(kTenant, reminder);
  Commit(create);
  EXPECT_EQ((*store_->GetTemplate(kTenant, "templates/reminder", 1))->display_name(), "first");
  EXPECT_EQ((*store_->GetTemplate(kTenant, "templates/reminder", 1))->display_name(), "first");
  NotifyStore::Batch remove = other_copy.NewBatch();
  remove.DeleteTemplate(kTenant, "templates/reminder", 1);
  ASSERT_TRUE(other_copy.Commit(remove).ok());
  EXPECT_FALSE((*store_->GetTemplate(kTenant, "templates/reminder", 1)).has_value());
  // A new template with the same id starts again at version 1.
  reminder.set_display_name("second");
  NotifyStore::Batch again = store_->NewBatch();
  again.PutTemplate(kTenant, reminder);
  Commit(again);
  EXPECT_EQ((*store_->GetTemplate(kTenant, "templates/reminder", 1))->display_name(), "second");

  v1::Notification notification = Notification("n1", kNow, "customers/kim");
  NotifyStore::Batch queued = store_->NewBatch();
  queued.PutNotification(kTenant, notification, nullptr);
  Commit(queued);
  const v1::Notification before = notification;
  notification.set_state(v1::Notification::STATE_SENDING);
  NotifyStore::Batch claimed = store_->NewBatch();
  claimed.PutNotification(kTenant, notification, &before);
  Commit(claimed);
  EXPECT_EQ((*other_copy.GetNotification(kTenant, "notifications/n1"))->state(),
            v1::Notification::STATE_SENDING);
  const v1::Notification sending = notification;
  notification.set_state(v1::Notification::STATE_DELIVERED);
  NotifyStore::Batch delivered = other_copy.NewBatch();
  delivered.PutNotification(kTenant, notification, &sending);
  ASSERT_TRUE(other_copy.Commit(delivered).ok());
  EXPECT_EQ((*store_->GetNotification(kTenant, "notifications/n1"))->state(),
            v1::Notification::STATE_DELIVERED);
  // The same tenant-less id elsewhere is another notification.
  EXPECT_FALSE((*store_->GetNotification("globex", "notifications/n1")).has_value());
  Reopen();
  EXPECT_EQ((*store_->GetNotification(kTenant, "notifications/n1"))->state(),
            v1::Notification::STATE_DELIVERED);
  EXPECT_EQ((*store_->GetTemplate(kTenant, "templates/reminder", 1))->display_name(), "second");
}

TEST_F(NotifyStoreTest, NotificationsAreFoundByEveryIndex) {
  NotifyStore::Batch batch = store_->NewBatch();
  const v1::Notification a = Notification("a", kNow, "customers/kim");
  const v1::Notification b = Notification("b", kNow + absl::Seconds(1), "customers/lee");
  const v1::Notification c = Notification("c", kNow + absl::Seconds(2), "customers/kim");
  for (const v1::Notification* n : {&a, &b, &c}) batch.PutNotification(kTenant, *n, nullptr);
  batch.PutIdempotencyKey(kTenant, "order-1", a.name());
  batch.PutReplaceKey(kTenant, "appointment:123", c.name());
  batch.PutProviderMessageId(kTenant, "twilio", "SM42", b.name());
  batch.PutOutbox(kTenant, kNow + absl::Minutes(5), c.name());
  batch.PutOutbox(kTenant, kNow, a.name());
  Commit(batch);
  Reopen();

  EXPECT_THAT(Newest(""), ElementsAre("notifications/c", "notifications/b", "notifications/a"));
  EXPECT_THAT(Newest("customers/kim"), ElementsAre("notifications/c", "notifications/a"));
  EXPECT_EQ(*store_->FindByIdempotencyKey(kTenant, "order-1"), a.name());
  EXPECT_EQ(*store_->FindByReplaceKey(kTenant, "appointment:123"), c.name());
  EXPECT_FALSE((*store_->FindByIdempotencyKey("globex", "order-1")).has_value());
  EXPECT_EQ(*store_->FindByProviderMessageId(kTenant, "twilio", "SM42"), b.name());
  EXPECT_FALSE((*store_->FindByProviderMessageId(kTenant, "ses", "SM42")).has_value());

  auto due_now = store_->ScanDue(kTenant, kNow, 10);
  ASSERT_TRUE(due_now.ok()) << due_now.status();
  ASSERT_EQ(due_now->size(), 1u);
  EXPECT_EQ((*due_now)[0].notification_name, a.name());
  EXPECT_EQ(**store_->NextDue(kTenant), kNow);
  auto all_due = store_->ScanDue(kTenant, kNow + absl::Hours(1), 10);
  ASSERT_EQ(all_due->size(), 2u);
  EXPECT_EQ((*all_due)[1].due, kNow + absl::Minutes(5));
  EXPECT_THAT(*store_->Tenants(), ElementsAre(kTenant));

  NotifyStore::Batch done = store_->NewBatch();
  done.DeleteOutbox(kTenant, kNow, a.name());
  Commit(done);
  EXPECT_EQ(**store_->NextDue(kTenant), kNow + absl::Minutes(5));
}

TEST_F(NotifyStoreTest, DeadLettersComeOldestFirstAndLeaveWhenRedriven) {
  NotifyStore::Batch batch = store_->NewBatch();
  v1::Notification a = Notification("a", kNow, "");
  v1::Notification b = Notification("b", kNow, "");
  batch.PutNotification(kTenant, a, nullptr);
  batch.PutNotification(kTenant, b, nullptr);
  Commit(batch);

  const v1::Notification a_queued = a;
  const v1::Notification b_queued = b;
  b.set_state(v1::Notification::STATE_DEAD_LETTERED);
  *b.mutable_update_time() =
      TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(kNow + absl::Hours(1)));
  a.set_state(v1::Notification::STATE_DEAD_LETTERED);
  *a.mutable_update_time() =
      TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(kNow + absl::Hours(2)));
  NotifyStore::Batch dead = store_->NewBatch();
  dead.PutNotification(kTenant, b, &b_queued);
  dead.PutNotification(kTenant, a, &a_queued);
  Commit(dead);

  auto dead_letters = [&] {
    std::vector<std::string> names;
    EXPECT_TRUE(store_
                    ->ScanDeadLetters(kTenant, "", 100,
                                      [&](const std::string&, const v1::Notification& n) {
                                        names.push_back(n.name());
                                        return true;
                                      })
                    .ok());
    return names;
  };
  EXPECT_THAT(dead_letters(), ElementsAre("notifications/b", "notifications/a"));

  const v1::Notification b_dead = b;
  b.set_state(v1::Notification::STATE_QUEUED);  // redriven
  NotifyStore::Batch redrive = store_->NewBatch();
  redrive.PutNotification(kTenant, b, &b_dead);
  Commit(redrive);
  Reopen();
  EXPECT_THAT(dead_letters(), ElementsAre("notifications/a"));
}

// The due-work index (outbox and timeline rows kept in memory) follows every
// commit, a delete and a put of one row in one batch included, and is
// rebuilt from RocksDB by a reopen.
TEST_F(NotifyStoreTest, DueWorkFollowsCommitsAndSurvivesAReopen) {
  const absl::Time t1 = kNow;
  const absl::Time t2 = kNow + absl::Seconds(1);
  const absl::Time t3 = kNow + absl::Seconds(2);
  auto due_names = [this](const std::string& tenant, absl::Time now) {
    std::vector<std::string> names;
    absl::StatusOr<std::vector<NotifyStore::DueWork>> due = store_->ScanDue(tenant, now, 10);
    EXPECT_TRUE(due.ok()) << due.status();
    if (due.ok()) {
      for (const NotifyStore::DueWork& work : *due) names.push_back(work.notification_name);
    }
    return names;
  };
  cxp::context::v1::AppendInteractionRequest append;
  append.set_request_id("notifications/n1");
  {
    NotifyStore::Batch batch = store_->NewBatch();
    batch.PutOutbox(kTenant, t2, "notifications/n2");
    batch.PutOutbox(kTenant, t1, "notifications/n1");
    batch.PutOutbox(kTenant, t3, "notifications/n3");
    batch.PutOutbox("globex", t1, "notifications/g1");
    batch.PutTimelineAppend(kTenant, t2, "notifications/n1", append);
    Commit(batch);
  }
  EXPECT_THAT(due_names(kTenant, t2), ElementsAre("notifications/n1", "notifications/n2"));
  EXPECT_EQ(*store_->NextDue(kTenant), t1);
  EXPECT_THAT(store_->TenantsWithDueWork(), ElementsAre("acme", "globex"));
  {
    // n1 claimed (its row moves), n2 settled (gone), n3's row deleted and
    // put again in one batch (it stays), globex's only row gone.
    NotifyStore::Batch batch = store_->NewBatch();
    batch.DeleteOutbox(kTenant, t1, "notifications/n1");
    batch.PutOutbox(kTenant, t3 + absl::Minutes(2), "notifications/n1");
    batch.DeleteOutbox(kTenant, t2, "notifications/n2");
    batch.DeleteOutbox(kTenant, t3, "notifications/n3");
    batch.PutOutbox(kTenant, t3, "notifications/n3");
    batch.DeleteOutbox("globex", t1, "notifications/g1");
    Commit(batch);
  }
  EXPECT_THAT(due_names(kTenant, t3), ElementsAre("notifications/n3"));
  EXPECT_THAT(store_->TenantsWithDueWork(), ElementsAre("acme"));
  absl::StatusOr<std::vector<NotifyStore::TimelineWork>> timeline =
      store_->ScanTimelineDue(kTenant, t2, 10);
  ASSERT_TRUE(timeline.ok()) << timeline.status();
  ASSERT_EQ(timeline->size(), 1u);
  EXPECT_EQ((*timeline)[0].request.request_id(), "notifications/n1");

  Reopen();
  EXPECT_THAT(due_names(kTenant, absl::InfiniteFuture()),
              ElementsAre("notifications/n3", "notifications/n1"));
  EXPECT_EQ(*store_->NextTimelineDue(kTenant), t2);
  EXPECT_THAT(store_->TenantsWithDueWork(), ElementsAre("acme"));
  {
    NotifyStore::Batch batch = store_->NewBatch();
    batch.DeleteTimelineAppend(kTenant, t2, "notifications/n1");
    Commit(batch);
  }
  EXPECT_FALSE(store_->NextTimelineDue(kTenant)->has_value());
}

TEST_F(NotifyStoreTest, TriggerSequenceAndRules) {
  EXPECT_EQ(*store_->GetTriggerSequence(kTenant), 0u);
  v1::TriggerRule rule;
  rule.set_name("triggerRules/rescheduled");
  rule.set_template_("templates/reminder");
  NotifyStore::Batch batch = store_->NewBatch();
  batch.PutTriggerRule(kTenant, rule);
  batch.PutTriggerSequence(kTenant, 4242);
  Commit(batch);
  Reopen();
  EXPECT_EQ(*store_->GetTriggerSequence(kTenant), 4242u);
  std::vector<std::string> rules;
  ASSERT_TRUE(store_
                  ->ScanTriggerRules(kTenant, "",
                                     [&](const v1::TriggerRule& r) {
                                       rules.push_back(r.name());
                                       return true;
                                     })
                  .ok());
  EXPECT_THAT(rules, ElementsAre("triggerRules/rescheduled"));
}

TEST_F(NotifyStoreTest, DeleteNotificationTakesItsIndexRows) {
  NotifyStore::Batch batch = store_->NewBatch();
  v1::Notification a = Notification("a", kNow, "customers/kim");
  const v1::Notification b = Notification("b", kNow + absl::Seconds(1), "customers/kim");
  batch.PutNotification(kTenant, a, nullptr);
  batch.PutNotification(kTenant, b, nullptr);
  Commit(batch);
  v1::Notification dead = a;
  dead.set_state(v1::Notification::STATE_DEAD_LETTERED);
  NotifyStore::Batch dead_letter = store_->NewBatch();
  dead_letter.PutNotification(kTenant, dead, &a);
  Commit(dead_letter);

  NotifyStore::Batch remove = store_->NewBatch();
  remove.DeleteNotification(kTenant, dead);
  Commit(remove);
  Reopen();
  EXPECT_FALSE((*store_->GetNotification(kTenant, a.name())).has_value());
  EXPECT_THAT(Newest(""), ElementsAre("notifications/b"));
  EXPECT_THAT(Newest("customers/kim"), ElementsAre("notifications/b"));
  size_t dead_letters = 0;
  ASSERT_TRUE(store_
                  ->ScanDeadLetters(kTenant, "", 10,
                                    [&](const std::string&, const v1::Notification&) {
                                      ++dead_letters;
                                      return true;
                                    })
                  .ok());
  EXPECT_EQ(dead_letters, 0u);
  // Scanning from a time: only what was created before it.
  std::vector<std::string> before;
  ASSERT_TRUE(
      store_
          ->ScanNotificationsCreatedBefore(kTenant, kNow + absl::Seconds(1), "", 10,
                                           [&](const std::string&, const v1::Notification& n) {
                                             before.push_back(n.name());
                                             return true;
                                           })
          .ok());
  EXPECT_THAT(before, ElementsAre("notifications/b"));  // created at the bound: included
  before.clear();
  ASSERT_TRUE(
      store_
          ->ScanNotificationsCreatedBefore(kTenant, kNow, "", 10,
                                           [&](const std::string&, const v1::Notification& n) {
                                             before.push_back(n.name());
                                             return true;
                                           })
          .ok());
  EXPECT_TRUE(before.empty());
}

TEST_F(NotifyStoreTest, TemplateUseRowsArePerTemplate) {
  v1::Notification a = Notification("a", kNow, "");
  a.set_template_("templates/reminder");
  v1::Notification b = Notification("b", kNow, "");
  b.set_template_("templates/reminder");
  v1::Notification c = Notification("c", kNow, "");
  c.set_template_("templates/reminder-2");
  NotifyStore::Batch batch = store_->NewBatch();
  for (const v1::Notification* n : {&a, &b, &c}) batch.PutTemplateUse(kTenant, *n);
  Commit(batch);
  Reopen();
  EXPECT_THAT(*store_->TemplateUsers(kTenant, "templates/reminder", 10),
              ElementsAre("notifications/a", "notifications/b"));
  EXPECT_THAT(*store_->TemplateUsers(kTenant, "templates/reminder", 1),
              ElementsAre("notifications/a"));
  EXPECT_THAT(*store_->TemplateUsers(kTenant, "templates/reminder-2", 10),
              ElementsAre("notifications/c"));
  EXPECT_TRUE(store_->TemplateUsers("globex", "templates/reminder", 10)->empty());
  NotifyStore::Batch remove = store_->NewBatch();
  remove.DeleteTemplateUse(kTenant, a);
  Commit(remove);
  EXPECT_THAT(*store_->TemplateUsers(kTenant, "templates/reminder", 10),
              ElementsAre("notifications/b"));
}

TEST_F(NotifyStoreTest, LastSentRowsArePurgedInBoundedBatches) {
  NotifyStore::Batch batch = store_->NewBatch();
  for (int i = 0; i < 5; ++i) {
    batch.PutTriggerLastSent(kTenant, "triggerRules/r", "customers/c" + std::to_string(i),
                             kNow + absl::Seconds(i));
  }
  batch.PutTriggerLastSent("globex", "triggerRules/r", "customers/c0", kNow);
  Commit(batch);
  std::optional<NotifyStore::LastSentRow> resume;
  std::vector<std::string> examined;
  auto older_than_3s = [&](const std::string& rule_id, const std::string& customer_id,
                           absl::Time sent) {
    examined.push_back(rule_id + "/" + customer_id);
    return sent < kNow + absl::Seconds(3);
  };
  auto deleted = store_->PurgeTriggerLastSent(kTenant, 2, resume, older_than_3s);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(*deleted, 2u);
  ASSERT_TRUE(resume.has_value());
  EXPECT_EQ(resume->customer_id, "c1");
  deleted = store_->PurgeTriggerLastSent(kTenant, 2, resume, older_than_3s);
  EXPECT_EQ(*deleted, 1u);
  ASSERT_TRUE(resume.has_value());
  deleted = store_->PurgeTriggerLastSent(kTenant, 2, resume, older_than_3s);
  EXPECT_EQ(*deleted, 0u);
  EXPECT_FALSE(resume.has_value());  // the end
  EXPECT_THAT(examined, ElementsAre("r/c0", "r/c1", "r/c2", "r/c3", "r/c4"));
  Reopen();
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(
        (*store_->GetTriggerLastSent(kTenant, "triggerRules/r", "customers/c" + std::to_string(i)))
            .has_value(),
        i >= 3)
        << i;
  }
  EXPECT_TRUE(
      (*store_->GetTriggerLastSent("globex", "triggerRules/r", "customers/c0")).has_value());
}

}  // namespace
}  // namespace cxp::notify
