// The filter fields of context_service's List RPCs (AIP-160 subset,
// common/filter) and how each record answers them.
//
// Schemas are built once and shared; resolvers borrow the record they read,
// which must outlive them. OccurTimeBounds() turns occur_time comparisons
// into a key range so ListInteractions scans only the requested window.

#ifndef CXP_CONTEXT_SERVICE_CORE_LIST_FILTERS_H_
#define CXP_CONTEXT_SERVICE_CORE_LIST_FILTERS_H_

#include <cstdint>
#include <optional>

#include "common/filter/field_resolver.h"
#include "common/filter/filter.h"
#include "common/filter/filter_schema.h"
#include "cxp/context/v1/consent.pb.h"
#include "cxp/context/v1/customer.pb.h"
#include "cxp/context/v1/interaction.pb.h"
#include "cxp/context/v1/journey.pb.h"

namespace cxp::context {

// display_name, language_code, time_zone, tier, create_time, update_time, attributes.<key>
const filter::FilterSchema& CustomerFilterSchema();
// occur_time, channel, direction, type, journey, case_id, agent, queue, attributes.<key>
const filter::FilterSchema& InteractionFilterSchema();
// channel, purpose, state, change_time
const filter::FilterSchema& ConsentChangeFilterSchema();
// state, type, step, create_time, update_time, attributes.<key>
const filter::FilterSchema& JourneyFilterSchema();

class CustomerFieldResolver : public filter::FieldResolver {
 public:
  explicit CustomerFieldResolver(const cxp::context::v1::Customer& customer)
      : customer_(customer) {}
  filter::FilterValue Resolve(const filter::FieldPath& path) const override;

 private:
  const cxp::context::v1::Customer& customer_;
};

class InteractionFieldResolver : public filter::FieldResolver {
 public:
  explicit InteractionFieldResolver(const cxp::context::v1::Interaction& interaction)
      : interaction_(interaction) {}
  filter::FilterValue Resolve(const filter::FieldPath& path) const override;

 private:
  const cxp::context::v1::Interaction& interaction_;
};

class ConsentChangeFieldResolver : public filter::FieldResolver {
 public:
  explicit ConsentChangeFieldResolver(const cxp::context::v1::ConsentChange& change)
      : change_(change) {}
  filter::FilterValue Resolve(const filter::FieldPath& path) const override;

 private:
  const cxp::context::v1::ConsentChange& change_;
};

class JourneyFieldResolver : public filter::FieldResolver {
 public:
  explicit JourneyFieldResolver(const cxp::context::v1::Journey& journey) : journey_(journey) {}
  filter::FilterValue Resolve(const filter::FieldPath& path) const override;

 private:
  const cxp::context::v1::Journey& journey_;
};

// Inclusive occur_time bounds implied by the filter's top-level AND terms.
struct TimeBounds {
  std::optional<int64_t> newest_micros;
  std::optional<int64_t> oldest_micros;
};
TimeBounds OccurTimeBounds(const filter::Filter& filter);

}  // namespace cxp::context

#endif  // CXP_CONTEXT_SERVICE_CORE_LIST_FILTERS_H_
