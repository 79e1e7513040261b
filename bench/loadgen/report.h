// Formats a LoadResult: a ghz-style text summary for people and a JSON
// document for scripts (scripts/bench_ratio.sh reads it line by line, so keep
// one scalar per line).

#ifndef CXP_BENCH_LOADGEN_REPORT_H_
#define CXP_BENCH_LOADGEN_REPORT_H_

#include <string>

#include "bench/loadgen/load_runner.h"

namespace cxp::bench {

struct RunDescription {
  std::string scenario;  // empty for --method runs
  LoadOptions options;
};

std::string FormatTextReport(const RunDescription& run, const LoadResult& result);
std::string FormatJsonReport(const RunDescription& run, const LoadResult& result);

}  // namespace cxp::bench

#endif  // CXP_BENCH_LOADGEN_REPORT_H_
