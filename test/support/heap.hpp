// test/support/heap.hpp: the bytes the test process has allocated and not yet freed, for tests that
// bound memory. Header-only; used by the unit tests.
#pragma once

#include <malloc.h>

#include <cstddef>
#include <optional>

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

// AddressSanitizer replaces malloc (mallinfo2 then reads nothing): GCC says so with
// __SANITIZE_ADDRESS__, Clang with __has_feature.
#if defined(__SANITIZE_ADDRESS__)
#define DTLSPP_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DTLSPP_TEST_ASAN 1
#endif
#endif

#if defined(DTLSPP_TEST_ASAN)
// From the AddressSanitizer runtime. Declared here: its header (sanitizer/allocator_interface.h)
// ships with Clang, not with GCC.
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();
#endif

namespace dtlspp::test {

// heap_in_use returns the bytes allocated and not freed: AddressSanitizer's count in an ASan
// build, glibc's otherwise; nothing under valgrind, whose allocator mallinfo2 does not see.
inline std::optional<long long> heap_in_use() {
#if defined(DTLSPP_TEST_ASAN)
  return static_cast<long long>(__sanitizer_get_current_allocated_bytes());
#else
  if (RUNNING_ON_VALGRIND) return std::nullopt;
  return static_cast<long long>(mallinfo2().uordblks);
#endif
}

}  // namespace dtlspp::test
