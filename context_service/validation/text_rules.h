// The text rules of common/validation/text_rules.h (field paths, UTF-8 and
// length checks, Timestamp ranges), brought into cxp::context::validation so
// context_service's validators and core call them unqualified. The contract
// is that header's; nothing is defined here.

#ifndef CXP_CONTEXT_SERVICE_VALIDATION_TEXT_RULES_H_
#define CXP_CONTEXT_SERVICE_VALIDATION_TEXT_RULES_H_

#include "common/validation/text_rules.h"

namespace cxp::context::validation {

using cxp::validation::ControlChars;
using cxp::validation::FieldPath;
using cxp::validation::IndexedPath;
using cxp::validation::InvalidField;
using cxp::validation::IsLowerAlnumOr;
using cxp::validation::QuoteForMessage;
using cxp::validation::ToAbslTime;
using cxp::validation::Utf8CodePoints;
using cxp::validation::ValidateText;
using cxp::validation::ValidateTimestamp;

}  // namespace cxp::context::validation

#endif  // CXP_CONTEXT_SERVICE_VALIDATION_TEXT_RULES_H_
