#include "notify_service/validation/template_requests.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "common/validation/resource_id.h"
#include "common/validation/text_rules.h"
#include "common/validation/update_mask.h"
#include "google/protobuf/util/message_differencer.h"
#include "notify_service/validation/resource_names.h"
#include "notify_service/validation/template_validation.h"

namespace cxp::notify::validation {
namespace {

using cxp::notify::v1::Template;
using cxp::validation::InvalidField;

bool Contains(const std::vector<std::string>& paths, absl::string_view path) {
  return std::find(paths.begin(), paths.end(), path) != paths.end();
}

}  // namespace

absl::StatusOr<ValidatedCreateTemplate> ValidateCreateTemplate(
    const cxp::notify::v1::CreateTemplateRequest& request) {
  if (!request.has_template_()) return InvalidField("template", "must be set");
  if (!request.template_id().empty()) {
    RETURN_IF_ERROR(cxp::validation::ValidateResourceId(request.template_id(), "template_id"));
  }
  ValidatedCreateTemplate out;
  ASSIGN_OR_RETURN(out.tmpl, NormalizeTemplate(request.template_(), "template"));
  out.tmpl.clear_name();
  out.tmpl.clear_etag();
  out.template_id = request.template_id();
  RETURN_IF_ERROR(cxp::validation::ValidateRequestId(request.request_id(), "request_id"));
  return out;
}

absl::StatusOr<TemplateVersionRef> ValidateGetTemplate(
    const cxp::notify::v1::GetTemplateRequest& request) {
  TemplateVersionRef out;
  ASSIGN_OR_RETURN(out.template_id, ParseTemplateName(request.name(), "name"));
  if (request.version() < 0) {
    return InvalidField("version", absl::StrCat("must not be negative (got ", request.version(),
                                                "); 0 means the current version"));
  }
  out.version = request.version();
  return out;
}

absl::StatusOr<ValidatedTemplateUpdate> ValidateUpdateTemplate(
    const cxp::notify::v1::UpdateTemplateRequest& request) {
  if (!request.has_template_()) return InvalidField("template", "must be set");
  const Template& tmpl = request.template_();
  ValidatedTemplateUpdate out;
  ASSIGN_OR_RETURN(out.template_id, ParseTemplateName(tmpl.name(), "template.name"));
  ASSIGN_OR_RETURN(out.paths, cxp::validation::NonEmptyUpdatePaths(
                                  request.update_mask(), tmpl, kTemplateUpdatePaths, "template"));
  out.tmpl = tmpl;
  if (Contains(out.paths, "display_name")) {
    RETURN_IF_ERROR(ValidateTemplateDisplayName(tmpl.display_name(), "template.display_name"));
  }
  if (Contains(out.paths, "locales")) {
    ASSIGN_OR_RETURN(*out.tmpl.mutable_locales(),
                     NormalizeTemplateLocales(tmpl.locales(), "template.locales"));
  }
  return out;
}

Template ApplyTemplateUpdate(const Template& stored, const ValidatedTemplateUpdate& update) {
  Template out = stored;
  cxp::validation::ApplyPaths(update.tmpl, update.paths, &out);
  return out;
}

bool TemplateContentChanged(const Template& before, const Template& after) {
  if (before.allow_quiet_hours_bypass() != after.allow_quiet_hours_bypass()) return true;
  if (before.locales_size() != after.locales_size()) return true;
  for (int i = 0; i < before.locales_size(); ++i) {
    if (!google::protobuf::util::MessageDifferencer::Equals(before.locales(i), after.locales(i))) {
      return true;
    }
  }
  return false;
}

}  // namespace cxp::notify::validation
