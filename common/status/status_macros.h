// Early-return macros for absl::Status / absl::StatusOr (Abseil 20220623 has
// none).
//
// Contract:
//   RETURN_IF_ERROR(expr)
//     `expr` is an absl::Status or absl::StatusOr<T> (lvalue or rvalue). It is
//     evaluated exactly once; if not OK, its status is returned from the
//     enclosing function, which must return absl::Status or absl::StatusOr<U>.
//     Expands to a single statement, so it is safe in an unbraced `if`.
//
//   ASSIGN_OR_RETURN(lhs, expr)
//     `expr` is an absl::StatusOr<T>, evaluated exactly once. On error its
//     status is returned; otherwise the value is moved into `lhs`, which is
//     either a declaration (`auto x`, `std::unique_ptr<Foo> foo`) or an
//     existing lvalue (`x`, `*out`, `obj.field`). Commas inside `expr` are
//     fine. If `lhs` contains a top-level comma (`std::pair<A, B> p`,
//     `auto [a, b]`), wrap it in parentheses: ASSIGN_OR_RETURN((auto [a, b]),
//     Foo()). Expands to several statements in the enclosing scope (that is
//     how `lhs` stays visible), so it must not be the body of an unbraced
//     `if`/`for`/`while`.
//
// Threading: none. Errors: only propagates what `expr` returns.
#ifndef CXP_COMMON_STATUS_STATUS_MACROS_H_
#define CXP_COMMON_STATUS_STATUS_MACROS_H_

#include <utility>

#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace cxp::status_internal {

// Extracts the status of either a Status or a StatusOr, moving when possible.
inline const absl::Status& AsStatus(const absl::Status& status) { return status; }
inline absl::Status AsStatus(absl::Status&& status) { return std::move(status); }
template <typename T>
const absl::Status& AsStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}
template <typename T>
absl::Status AsStatus(absl::StatusOr<T>&& status_or) {
  return std::move(status_or).status();
}

}  // namespace cxp::status_internal

#define CXP_STATUS_MACROS_CONCAT_INNER_(a, b) a##b
#define CXP_STATUS_MACROS_CONCAT_(a, b) CXP_STATUS_MACROS_CONCAT_INNER_(a, b)
#define CXP_STATUS_MACROS_UNIQUE_(prefix) \
  CXP_STATUS_MACROS_CONCAT_(prefix, CXP_STATUS_MACROS_CONCAT_(__LINE__, __COUNTER__))

// Removes one pair of enclosing parentheses if present: (a, b) -> a, b and
// int x -> int x. Lets ASSIGN_OR_RETURN accept declarations with commas.
#define CXP_STATUS_MACROS_STRIP_PARENS_(x) \
  CXP_STATUS_MACROS_STRIP_PARENS_EVAL_(CXP_STATUS_MACROS_STRIP_PARENS_ISH_ x)
#define CXP_STATUS_MACROS_STRIP_PARENS_ISH_(...) CXP_STATUS_MACROS_STRIP_PARENS_ISH_ __VA_ARGS__
#define CXP_STATUS_MACROS_STRIP_PARENS_EVAL_(...) CXP_STATUS_MACROS_STRIP_PARENS_EVAL2_(__VA_ARGS__)
#define CXP_STATUS_MACROS_STRIP_PARENS_EVAL2_(...) CXP_STATUS_MACROS_STRIP_PARENS_VAN##__VA_ARGS__
#define CXP_STATUS_MACROS_STRIP_PARENS_VANCXP_STATUS_MACROS_STRIP_PARENS_ISH_

#define RETURN_IF_ERROR(...) \
  CXP_RETURN_IF_ERROR_IMPL_(CXP_STATUS_MACROS_UNIQUE_(cxp_status_), __VA_ARGS__)
#define CXP_RETURN_IF_ERROR_IMPL_(status, ...)                                    \
  do {                                                                            \
    if (absl::Status status = ::cxp::status_internal::AsStatus(__VA_ARGS__);      \
        ABSL_PREDICT_FALSE(!status.ok())) {                                       \
      return status;                                                              \
    }                                                                             \
  } while (false)

#define ASSIGN_OR_RETURN(lhs, ...) \
  CXP_ASSIGN_OR_RETURN_IMPL_(CXP_STATUS_MACROS_UNIQUE_(cxp_status_or_), lhs, __VA_ARGS__)
#define CXP_ASSIGN_OR_RETURN_IMPL_(status_or, lhs, ...)                \
  auto status_or = (__VA_ARGS__);                                      \
  if (ABSL_PREDICT_FALSE(!status_or.ok())) {                           \
    return std::move(status_or).status();                              \
  }                                                                    \
  CXP_STATUS_MACROS_STRIP_PARENS_(lhs) = std::move(status_or).value()

#endif  // CXP_COMMON_STATUS_STATUS_MACROS_H_
