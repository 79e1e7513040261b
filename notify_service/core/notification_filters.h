// The filter of ListNotifications, ListDeadLetters and WatchNotifications
// (AIP-160 subset, common/filter): resolved_customer, state, template,
// purpose, channel, trigger_rule, create_time and update_time, as
// protos/cxp/notify/v1/notify_service.proto lists them.
//
// The schema is built once and shared. A resolver borrows the notification
// it reads, which must outlive it. Thread-safe.

#ifndef CXP_NOTIFY_SERVICE_CORE_NOTIFICATION_FILTERS_H_
#define CXP_NOTIFY_SERVICE_CORE_NOTIFICATION_FILTERS_H_

#include <optional>
#include <string>

#include "absl/time/time.h"
#include "common/filter/field_resolver.h"
#include "common/filter/filter.h"
#include "common/filter/filter_schema.h"
#include "cxp/notify/v1/notification.pb.h"

namespace cxp::notify {

const filter::FilterSchema& NotificationFilterSchema();

class NotificationFieldResolver : public filter::FieldResolver {
 public:
  explicit NotificationFieldResolver(const cxp::notify::v1::Notification& notification)
      : notification_(notification) {}
  filter::FilterValue Resolve(const filter::FieldPath& path) const override;

 private:
  const cxp::notify::v1::Notification& notification_;
};

// What a filter says that narrows a newest-first scan: the customer of a
// `resolved_customer = "..."` comparison (its per-customer rows can be
// scanned instead of all), and the latest lower bound of create_time
// (`create_time >= / > "..."`: a newest-first scan can stop below it).
struct NotificationScanBounds {
  std::string customer;
  std::optional<absl::Time> created_at_or_after;
};
NotificationScanBounds ScanBoundsOf(const filter::Filter& filter);

}  // namespace cxp::notify

#endif  // CXP_NOTIFY_SERVICE_CORE_NOTIFICATION_FILTERS_H_
