// The shared validation-test helper (tests/common/validation/status_matchers.h)
// under the name context_service's validation tests use.

#ifndef CXP_TESTS_CONTEXT_SERVICE_VALIDATION_STATUS_MATCHERS_H_
#define CXP_TESTS_CONTEXT_SERVICE_VALIDATION_STATUS_MATCHERS_H_

#include "tests/common/validation/status_matchers.h"

namespace cxp::context::validation::testing_util {

using ::cxp::validation::testing_util::IsInvalid;

}  // namespace cxp::context::validation::testing_util

#endif  // CXP_TESTS_CONTEXT_SERVICE_VALIDATION_STATUS_MATCHERS_H_
