#include "common/status/status_macros.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"

namespace cxp {
namespace {

// Counts evaluations so tests can prove each macro evaluates `expr` once.
struct Counter {
  int calls = 0;
  absl::Status Status(absl::Status result) {
    ++calls;
    return result;
  }
  template <typename T>
  absl::StatusOr<T> StatusOr(absl::StatusOr<T> result) {
    ++calls;
    return result;
  }
};

absl::Status ReturnIfErrorInStatusFn(Counter& counter, absl::Status inner, bool* reached_end) {
  RETURN_IF_ERROR(counter.Status(std::move(inner)));
  *reached_end = true;
  return absl::OkStatus();
}

absl::StatusOr<int> ReturnIfErrorInStatusOrFn(Counter& counter, absl::Status inner) {
  RETURN_IF_ERROR(counter.Status(std::move(inner)));
  return 7;
}

absl::Status ReturnIfErrorOnStatusOrExpr(Counter& counter, absl::StatusOr<int> inner) {
  RETURN_IF_ERROR(counter.StatusOr(std::move(inner)));
  return absl::OkStatus();
}

TEST(ReturnIfErrorTest, OkContinuesAndEvaluatesOnce) {
  Counter counter;
  bool reached_end = false;
  EXPECT_TRUE(ReturnIfErrorInStatusFn(counter, absl::OkStatus(), &reached_end).ok());
  EXPECT_TRUE(reached_end);
  EXPECT_EQ(counter.calls, 1);
}

TEST(ReturnIfErrorTest, ErrorPropagatesUnchangedAndEvaluatesOnce) {
  Counter counter;
  bool reached_end = false;
  absl::Status result =
      ReturnIfErrorInStatusFn(counter, absl::NotFoundError("gone"), &reached_end);
  EXPECT_EQ(result, absl::NotFoundError("gone"));
  EXPECT_FALSE(reached_end);
  EXPECT_EQ(counter.calls, 1);
}

TEST(ReturnIfErrorTest, WorksInFunctionReturningStatusOr) {
  Counter counter;
  absl::StatusOr<int> ok = ReturnIfErrorInStatusOrFn(counter, absl::OkStatus());
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 7);
  absl::StatusOr<int> failed = ReturnIfErrorInStatusOrFn(counter, absl::AbortedError("race"));
  EXPECT_EQ(failed.status(), absl::AbortedError("race"));
  EXPECT_EQ(counter.calls, 2);
}

TEST(ReturnIfErrorTest, AcceptsStatusOrExpression) {
  Counter counter;
  EXPECT_TRUE(ReturnIfErrorOnStatusOrExpr(counter, 3).ok());
  EXPECT_EQ(ReturnIfErrorOnStatusOrExpr(counter, absl::InternalError("x")),
            absl::InternalError("x"));
  EXPECT_EQ(counter.calls, 2);
}

TEST(ReturnIfErrorTest, AcceptsLvaluesAndIsOneStatement) {
  auto fn = [](const absl::Status& status, const absl::StatusOr<int>& status_or,
               bool check) -> absl::Status {
    if (check) RETURN_IF_ERROR(status);  // unbraced if: must be one statement
    else RETURN_IF_ERROR(status_or);
    return absl::OkStatus();
  };
  EXPECT_EQ(fn(absl::DataLossError("d"), 1, true), absl::DataLossError("d"));
  EXPECT_TRUE(fn(absl::DataLossError("d"), 1, false).ok());
  EXPECT_EQ(fn(absl::OkStatus(), absl::UnavailableError("u"), false),
            absl::UnavailableError("u"));
}

absl::StatusOr<std::unique_ptr<std::string>> MakeString(Counter& counter, bool fail) {
  if (fail) return counter.StatusOr<std::unique_ptr<std::string>>(absl::UnavailableError("no"));
  return counter.StatusOr<std::unique_ptr<std::string>>(std::make_unique<std::string>("hi"));
}

absl::Status AssignToDeclarations(Counter& counter, bool fail, std::string* out) {
  ASSIGN_OR_RETURN(std::unique_ptr<std::string> owned, MakeString(counter, fail));
  ASSIGN_OR_RETURN(auto copy, counter.StatusOr<std::string>(*owned + "!"));
  *out = copy;
  return absl::OkStatus();
}

TEST(AssignOrReturnTest, DeclaresMoveOnlyAndAutoValues) {
  Counter counter;
  std::string out;
  ASSERT_TRUE(AssignToDeclarations(counter, false, &out).ok());
  EXPECT_EQ(out, "hi!");
  EXPECT_EQ(counter.calls, 2);
}

TEST(AssignOrReturnTest, PropagatesErrorAndEvaluatesOnce) {
  Counter counter;
  std::string out = "untouched";
  EXPECT_EQ(AssignToDeclarations(counter, true, &out), absl::UnavailableError("no"));
  EXPECT_EQ(out, "untouched");
  EXPECT_EQ(counter.calls, 1);
}

absl::StatusOr<int> AssignToExistingVariables(Counter& counter, absl::StatusOr<int> second) {
  int value = 0;
  ASSIGN_OR_RETURN(value, counter.StatusOr<int>(40));
  int* out = &value;
  ASSIGN_OR_RETURN(*out, counter.StatusOr(std::move(second)));  // existing lvalue
  return value + 2;
}

TEST(AssignOrReturnTest, AssignsExistingLvaluesInStatusOrFunction) {
  Counter counter;
  absl::StatusOr<int> ok = AssignToExistingVariables(counter, 40);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 42);
  EXPECT_EQ(AssignToExistingVariables(counter, absl::OutOfRangeError("o")).status(),
            absl::OutOfRangeError("o"));
  EXPECT_EQ(counter.calls, 4);
}

absl::StatusOr<std::pair<int, std::string>> MakePair() { return std::pair<int, std::string>(1, "a"); }

absl::StatusOr<std::string> CommasInLhsAndExpr() {
  // Several uses on one line need distinct temporaries (__COUNTER__).
  ASSIGN_OR_RETURN((std::pair<int, std::string> p), MakePair()); ASSIGN_OR_RETURN((auto [n, s]), MakePair());
  ASSIGN_OR_RETURN(auto q, absl::StatusOr<std::pair<int, int>>(std::pair<int, int>(3, 4)));
  return p.second + s + std::to_string(n + q.first + q.second);
}

TEST(AssignOrReturnTest, ParenthesizedLhsAndCommasInExpression) {
  absl::StatusOr<std::string> result = CommasInLhsAndExpr();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(*result, "aa8");
}

}  // namespace
}  // namespace cxp
