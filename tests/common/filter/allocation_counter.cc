// Replaces the global operator new/delete to count heap allocations, so
// filter_test can check that Filter::Matches() allocates nothing. Kept in its
// own file: with the definitions visible, GCC's -Wmismatched-new-delete
// flags every inlined delete.
#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace cxp::filter::testing_internal {
namespace {
std::atomic<long> g_allocations{0};
}  // namespace

long AllocationCount() { return g_allocations.load(std::memory_order_relaxed); }

}  // namespace cxp::filter::testing_internal

void* operator new(std::size_t size) {
  cxp::filter::testing_internal::g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
