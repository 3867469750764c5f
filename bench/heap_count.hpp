// bench/heap_count.hpp: counts every heap allocation of the process, split by who asked.
//
// Two counters, because two allocators serve a dtlspp program:
// - ours: the C++ global operator new/delete (replaced in heap_count.cpp), which is what dtlspp,
//   libstdc++ and this harness use;
// - openssl: OpenSSL's CRYPTO_malloc/realloc/free, redirected with CRYPTO_set_mem_functions.
//   That call only works before OpenSSL's first allocation: install_openssl_hooks() must be the
//   first thing main() does.
// Both also track the bytes they hold (malloc_usable_size of each block), so a delta of
// live_bytes over a set of sessions says how much of their memory is OpenSSL's and how much ours.
// The counters are per thread (see heap()), so that threads running at once never write to one
// cache line. The site recorder is not thread-safe: --sites runs on one thread.
//
// For diagnostics, a site recorder groups allocations by where they were made: OpenSSL's by
// the file:line it passes to CRYPTO_malloc, ours by the code that called operator new. It also
// remembers which site each live block came from, so the memory an idle session holds can be
// broken down by site. The recorder never allocates from the heap it watches (its tables are
// mmap'ed), and is off unless started.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace bench {

struct heap_counts {
  std::uint64_t ours_allocs = 0;     // operator new calls (all forms)
  std::uint64_t openssl_allocs = 0;  // CRYPTO_malloc calls, plus CRYPTO_realloc that moves
  std::int64_t ours_live = 0;        // bytes in blocks from operator new not yet deleted
  std::int64_t openssl_live = 0;     // bytes in blocks from CRYPTO_malloc not yet freed
};

// heap returns the calling thread's counters so far (cheap: take one before and one after a
// measured loop). Each thread counts what it allocates and frees; everything but section 6's
// threaded runs happens on the main thread.
heap_counts heap() noexcept;

// install_openssl_hooks points OpenSSL's allocator at the counting one. Returns false when
// OpenSSL had already allocated (then OpenSSL's allocations are not counted).
bool install_openssl_hooks() noexcept;

// ---- site recorder (diagnostics) -------------------------------------------------------------

// start_sites clears the recorder and starts recording allocations and live blocks.
void start_sites();
// stop_sites stops recording; the tables are kept for report_*.
void stop_sites();

struct site_report {
  bool openssl = false;         // OpenSSL's allocator (else operator new)
  std::string where;            // "ssl/record/ssl3_buffer.c:89" or the caller's symbol
  std::string stack;            // a sample call stack, innermost first, " < " separated
  std::uint64_t allocs = 0;     // allocations made at this site while recording
  std::int64_t live_bytes = 0;  // bytes still held from this site (allocated while recording)
  std::uint64_t live_blocks = 0;
};

// sites returns every site seen since start_sites, by allocations made (most first).
std::vector<site_report> sites();

}  // namespace bench
