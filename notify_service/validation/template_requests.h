// Checks of the template configuration requests (CreateTemplate,
// GetTemplate, UpdateTemplate) per protos/cxp/notify/v1/notify_service.proto;
// the template's own rules are template_validation.h's. The requests that
// only name a template (DeleteTemplate) use resource_names.h.
//
// Errors: INVALID_ARGUMENT "<field path>: <problem>", the first found, e.g.
// "template.name: must be \"templates/{template}\" where ...",
// "update_mask.paths[0]: \"version\" cannot be updated (updatable: ...)".
//
// Pure functions, thread-safe.

#ifndef CXP_NOTIFY_SERVICE_VALIDATION_TEMPLATE_REQUESTS_H_
#define CXP_NOTIFY_SERVICE_VALIDATION_TEMPLATE_REQUESTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cxp/notify/v1/notify_service.pb.h"
#include "cxp/notify/v1/template.pb.h"

namespace cxp::notify::validation {

// The fields UpdateTemplate may name in update_mask (notify_service.proto).
inline constexpr absl::string_view kTemplateUpdatePaths[] = {"display_name", "locales",
                                                             "allow_quiet_hours_bypass"};

struct ValidatedCreateTemplate {
  std::string template_id;  // empty: the core generates one
  // NormalizeTemplate's copy (language codes canonical), name, etag and the
  // output-only fields cleared.
  cxp::notify::v1::Template tmpl;
};

// CreateTemplateRequest: template required ("template: must be set");
// template_id empty or a valid ID; the template per NormalizeTemplate under
// "template"; request_id empty or a UUID.
absl::StatusOr<ValidatedCreateTemplate> ValidateCreateTemplate(
    const cxp::notify::v1::CreateTemplateRequest& request);

struct TemplateVersionRef {
  std::string template_id;
  int64_t version = 0;  // 0: the current one
};

// GetTemplateRequest: name `templates/{template}`; version >= 0.
absl::StatusOr<TemplateVersionRef> ValidateGetTemplate(
    const cxp::notify::v1::GetTemplateRequest& request);

struct ValidatedTemplateUpdate {
  std::string template_id;         // from template.name
  std::vector<std::string> paths;  // fields to replace (common/validation/update_mask.h)
  // The request's template with the fields in `paths` checked and
  // normalised; etag as given. Fields outside `paths` must not be used.
  cxp::notify::v1::Template tmpl;
};

// UpdateTemplateRequest: template required; template.name
// `templates/{template}`; update_mask with kTemplateUpdatePaths (an empty
// mask selects the fields that are set; selecting nothing is an error,
// since an update that changes nothing is almost always a client bug, e.g.
// clearing allow_quiet_hours_bypass without naming it in the mask); then
// only the selected fields are checked, under "template".
absl::StatusOr<ValidatedTemplateUpdate> ValidateUpdateTemplate(
    const cxp::notify::v1::UpdateTemplateRequest& request);

// `stored` with the fields in `update.paths` replaced by update.tmpl's.
cxp::notify::v1::Template ApplyTemplateUpdate(const cxp::notify::v1::Template& stored,
                                              const ValidatedTemplateUpdate& update);

// True if `before` and `after` differ in locales or
// allow_quiet_hours_bypass: the update makes a new version (template.proto;
// a new display_name alone does not change what a send delivers).
bool TemplateContentChanged(const cxp::notify::v1::Template& before,
                            const cxp::notify::v1::Template& after);

}  // namespace cxp::notify::validation

#endif  // CXP_NOTIFY_SERVICE_VALIDATION_TEMPLATE_REQUESTS_H_
