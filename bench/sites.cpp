// bench/sites.cpp: --sites, diagnostics: where heap allocations come from, per record, per
// handshake, and of the memory an idle session end holds, from the counting allocators' site
// recorder (heap_count.hpp).
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bench.hpp"
#include "heap_count.hpp"
#include "workloads.hpp"

namespace bench {
namespace {

enum class which { both, ours, openssl };

// shortened keeps the innermost four frames of a " < "-separated call stack, which say enough.
std::string shortened(const std::string& stack) {
  std::size_t cut = 0;
  for (int frames = 0; frames < 4 && cut != std::string::npos; ++frames)
    cut = stack.find(" < ", cut == 0 ? 0 : cut + 3);
  return cut == std::string::npos ? stack : stack.substr(0, cut) + " < ...";
}

// print_sites prints the recorded sites of one allocator or both, per unit of work (`per` units
// were recorded): the top ones by allocations made, or by live bytes when by_live.
void print_sites(std::string_view title, double per, bool by_live, std::size_t top,
                 which only = which::both) {
  auto all = sites();
  std::erase_if(all, [&](const site_report& s) {
    return (only == which::ours && s.openssl) || (only == which::openssl && !s.openssl);
  });
  if (by_live) {
    std::sort(all.begin(), all.end(), [](const site_report& a, const site_report& b) {
      return a.live_bytes > b.live_bytes;
    });
  }
  double total_allocs = 0, total_live = 0;
  for (const auto& s : all) {
    total_allocs += static_cast<double>(s.allocs);
    total_live += static_cast<double>(s.live_bytes);
  }
  fmt::print(
      "#### {}\n\nTotal: {:.2f} allocations and {:.0f} live bytes per unit; top {} sites "
      "by {}.\n\n| allocator | site | allocations per unit | live bytes per unit | call "
      "stack (innermost first) |\n"
      "|---|---|---|---|---|\n",
      title, total_allocs / per, total_live / per, top, by_live ? "live bytes" : "allocations");
  std::size_t shown = 0;
  for (const auto& s : all) {
    if (shown++ == top) break;
    if (by_live ? s.live_bytes <= 0 : s.allocs == 0) break;
    fmt::print("| {} | `{}` | {:.2f} | {:.0f} | {} |\n", s.openssl ? "OpenSSL" : "ours", s.where,
               static_cast<double>(s.allocs) / per, static_cast<double>(s.live_bytes) / per,
               shortened(s.stack));
  }
  fmt::print("\n");
}

// record_sites: dtlspp's allocations per record in steady state (10000 records after 2000).
void record_sites(const fixture& f) {
  for (const auto& c : {record_case{"100 B", 1200, 100}, record_case{"1200 B", 1500, 1200}}) {
    pair<dtlspp_side> pd(f.dtlspp_at(c.mtu), c.mtu);
    const std::vector<std::byte> payload(c.size);
    run_records(pd, payload, 2000);
    start_sites();
    run_records(pd, payload, 10000);
    stop_sites();
    print_sites(fmt::format("dtlspp, per record of {} (10000 records, steady state)", c.label),
                10000, false, 10);
  }
}

// handshake_sites: dtlspp's allocations per handshake (20, after 5), OpenSSL's then ours.
void handshake_sites(const fixture& f) {
  run_handshakes(f.dtlspp_at(1200), 5, false);
  start_sites();
  run_handshakes(f.dtlspp_at(1200), 20, false);
  stop_sites();
  print_sites("dtlspp, per handshake (both ends, 20 handshakes): OpenSSL's", 20, false, 12,
              which::openssl);
  print_sites("dtlspp, per handshake (both ends, 20 handshakes): ours", 20, false, 20, which::ours);
}

// idle_sites: the live memory of 100 idle established pairs of `side`, by site (the top 30, or
// 200 when DTLSPP_BENCH_SITES is set); for dtlspp, ours apart as well.
template <class Side>
void idle_sites(const Side& side, std::string_view name) {
  const int pairs = 100;
  std::vector<std::optional<typename Side::end>> clients(pairs), servers(pairs);  // not recorded
  wire c2s, s2c;
  start_sites();
  establish_all(side, clients, servers, c2s, s2c);
  stop_sites();
  print_sites(fmt::format("{}, live memory per idle end ({} pairs)", name, pairs), 2.0 * pairs,
              true, std::getenv("DTLSPP_BENCH_SITES") ? 200 : 30);
  if (name == "dtlspp") {
    print_sites(fmt::format("{}, live memory per idle end ({} pairs): ours", name, pairs),
                2.0 * pairs, true, 12, which::ours);
  }
}

}  // namespace

int run_sites(const fixture& f) {
  fmt::print(
      "## Allocation sites (diagnostics)\n\nWhere heap allocations are made, from the counting "
      "allocators: OpenSSL's by the file:line it passes to CRYPTO_malloc, ours by the first "
      "caller of operator new outside libstdc++. Stacks name this project's functions (addr2line "
      "on its symbol tables); in the stripped system libraries, the nearest exported symbol "
      "(module!symbol+offset) or, with none, the offset in the module (module@offset). 'Live "
      "bytes' are still held at the end (malloc_usable_size).\n\n");
  record_sites(f);
  handshake_sites(f);
  idle_sites(f.dtlspp_at(1200), "dtlspp");
  idle_sites(f.raw_at(1200), "raw OpenSSL");
  return 0;
}

}  // namespace bench
