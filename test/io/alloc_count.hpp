// alloc_count: counts the global operator new calls of this test binary, for the "no heap
// allocation per endpoint or per datagram" checks (alloc_count.cpp replaces operator new).
#pragma once

#include <cstdint>

namespace dtlspp::test {

// allocations returns how many times operator new ran in this process so far.
std::uint64_t allocations() noexcept;

}  // namespace dtlspp::test
