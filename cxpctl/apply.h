// `cxpctl apply --file FILE`: creates the resources a JSON file lists, for
// demo data and for seeding a tenant (README "cxpctl"; the demo file is
// deploy/demo/demo.json).
//
// The file is one JSON object whose keys hold arrays of the platform's own
// create requests in protobuf's JSON mapping, so it reads against protos/:
//
//   customers      cxp.context.v1.CreateCustomerRequest     (customer_id)
//   journeys       cxp.context.v1.StartJourneyRequest       (parent, journey_id)
//   queues         cxp.routing.v1.CreateQueueRequest        (queue_id)
//   agents         cxp.routing.v1.CreateAgentRequest        (agent_id)
//   templates      cxp.notify.v1.CreateTemplateRequest      (template_id)
//   trigger_rules  cxp.notify.v1.CreateTriggerRuleRequest   (trigger_rule_id)
//
// Every item must carry the ID in brackets, so a second apply finds what
// the first created. Items are applied in that order of keys (what an item
// refers to comes first: a journey's customer, an agent's queues, a rule's
// template), and in file order within a key.
//
// Contract:
// - ParseApplyFile checks the whole file before anything is called: a key
//   that is not one of the above, an element that is not a valid request
//   (unknown field, wrong type, unknown enum value), a missing or repeated
//   ID is INVALID_ARGUMENT naming `key[index]`. The services check the rest
//   (e.g. a phone number that is not one) when the item is applied.
// - ApplyItemTo creates one item. ALREADY_EXISTS for an item whose resource
//   exists (looked up by name) is kUnchanged: apply never updates, so an
//   existing resource is left as it is even if the file differs. Any other
//   failure, including ALREADY_EXISTS for a conflict with another resource
//   (a customer's phone number that someone else has, a queue's intent that
//   another queue has), is returned as the service's code with a message
//   naming the item: "agents[1] agents/junho: ...".
//
// Threading: plain functions; ApplyItemTo blocks for its one or two calls,
// each with the client's default deadline (cxpctl --timeout).

#ifndef CXP_CXPCTL_APPLY_H_
#define CXP_CXPCTL_APPLY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/client/channel.h"
#include "google/protobuf/message.h"

namespace cxp::cxpctl {

enum class Service { kContext, kRouting, kNotify };

// One create request of the file.
struct ApplyItem {
  std::string key;   // "customers", ...
  int index = 0;     // position in the key's array
  std::string name;  // resource name it creates: "customers/kim"
  Service service = Service::kContext;
  std::unique_ptr<google::protobuf::Message> request;  // e.g. CreateCustomerRequest

  // "customers[0] customers/kim", for messages.
  std::string Label() const;
};

// The keys in the order they are applied.
const std::vector<std::string>& ApplyKeys();

// The file's items in the order to apply them; INVALID_ARGUMENT (see above).
absl::StatusOr<std::vector<ApplyItem>> ParseApplyFile(absl::string_view json);

enum class ApplyOutcome { kCreated, kUnchanged };

// Creates `item` through `client`, which must reach item.service.
absl::StatusOr<ApplyOutcome> ApplyItemTo(const ApplyItem& item,
                                         const client::ServiceClient& client);

}  // namespace cxp::cxpctl

#endif  // CXP_CXPCTL_APPLY_H_
