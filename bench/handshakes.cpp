// bench/handshakes.cpp: section 1, complete handshakes per second, dtlspp beside three raw
// OpenSSL policies, and what one handshake puts on the wire.
#include <fmt/format.h>

#include <functional>
#include <vector>

#include "bench.hpp"
#include "workloads.hpp"

namespace bench {
namespace {

// variant is one library and policy compared: how to run n handshakes, and its results.
struct variant {
  const char* name;
  std::function<handshake_run(int)> run;
  series rates;
  handshake_run last;  // the last round's
};

// variants lists dtlspp first, then the raw baseline with one policy each: dtlspp's, OpenSSL's
// default groups, OpenSSL's default signature algorithms.
std::vector<variant> variants(const fixture& f) {
  auto with = [](auto side) { return [side](int n) { return run_handshakes(side, n); }; };
  std::vector<variant> v;
  v.push_back({"dtlspp", with(f.dtlspp_at(1200)), {}, {}});
  v.push_back({"raw, same policy", with(f.raw_at(1200)), {}, {}});
  v.push_back({"raw, OpenSSL's default groups", with(f.raw_default_groups()), {}, {}});
  v.push_back({"raw, OpenSSL's default signature algorithms (dtlspp's policy before)",
               with(f.raw_default_sigalgs()),
               {},
               {}});
  return v;
}

// measure warms every variant up, then runs o.handshakes of each per round, in rotated order.
void measure(std::vector<variant>& variants, const options& o) {
  // Warm-up: first-use costs (provider fetches, method tables) are not a handshake's.
  for (auto& v : variants)
    v.run(10);
  rotated(o.rounds, static_cast<int>(variants.size()), [&](int, int which) {
    auto& v = variants[static_cast<std::size_t>(which)];
    v.last = v.run(o.handshakes);
    v.rates.add(v.last.per_second);
  });
}

// print_rates prints the rate table and adds the two handshake targets.
void print_rates(const std::vector<variant>& variants, const options& o) {
  const series vs_same = ratios(variants[0].rates, variants[1].rates);
  const series vs_default = ratios(variants[0].rates, variants[2].rates);
  const series vs_sigalgs = ratios(variants[0].rates, variants[3].rates);
  fmt::print("## 1. Handshakes\n\n");
  fmt::print(
      "Complete DTLS 1.2 handshakes per second, client and server in one process over the "
      "in-memory wire: each handshake builds both sessions from the shared contexts, runs the "
      "four flights and destroys the sessions. ECDSA P-256 identities made once; MTU 1200. "
      "{} rounds of {} handshakes per variant, order rotated each round. The raw baseline's "
      "'same policy' is dtlspp's (src/context.cpp): groups X25519:P-256:P-384 and the five "
      "signature algorithms of dtlspp's key types.\n\n",
      o.rounds, o.handshakes);
  fmt::print("| variant | handshakes/s | dtlspp / variant | target | |\n|---|---|---|---|---|\n");
  fmt::print("| dtlspp | {} | | | |\n", cell(variants[0].rates, 0));
  fmt::print("| raw OpenSSL, same policy | {} | {} | >= 0.97x | {} |\n", cell(variants[1].rates, 0),
             ratio_cell(vs_same), met(vs_same.median() >= 0.97));
  fmt::print("| raw OpenSSL, OpenSSL's default groups | {} | {} | >= 1.10x | {} |\n",
             cell(variants[2].rates, 0), ratio_cell(vs_default), met(vs_default.median() >= 1.10));
  fmt::print(
      "| raw OpenSSL, OpenSSL's default signature algorithms (dtlspp's policy before) | {} | {} "
      "| | |\n\n",
      cell(variants[3].rates, 0), ratio_cell(vs_sigalgs));
  targets.push_back({"handshakes/s >= 0.97x raw (same policy)",
                     fmt::format("{:.3f}x", vs_same.median()), vs_same.median() >= 0.97});
  targets.push_back({"handshakes/s >= 1.10x raw (OpenSSL default groups)",
                     fmt::format("{:.3f}x", vs_default.median()), vs_default.median() >= 1.10});
}

// print_wire prints what one handshake of each variant negotiated and put on the wire, and its
// heap allocations (the last round's averages).
void print_wire(const std::vector<variant>& variants) {
  fmt::print(
      "What one handshake puts on the wire (both directions; the last round's "
      "average):\n\n");
  fmt::print(
      "| variant | cipher suite | groups the client offers | group agreed | signature algorithms "
      "the client offers | flights | datagrams | bytes | datagrams > MTU | heap allocations: "
      "ours | OpenSSL |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const auto& v : variants) {
    const handshake_run& run = v.last;
    fmt::print("| {} | {} | {} | {} | {} | {:.1f} | {:.1f} | {:.0f} | {:.1f} | {:.1f} | {:.0f} |\n",
               v.name, run.cipher, run.offered, run.group, run.sigalgs, run.flights, run.datagrams,
               run.bytes, run.over_mtu, run.ours_allocs, run.openssl_allocs);
  }
  fmt::print(
      "\nHeap allocations per handshake count both ends from session construction to "
      "destruction (the verifier included for dtlspp). 'ours' is C++ operator new; the raw "
      "baseline makes none of its own.\n\n");
}

}  // namespace

void bench_handshakes(const fixture& f, const options& o) {
  std::vector<variant> v = variants(f);
  measure(v, o);
  print_rates(v, o);
  print_wire(v);
}

}  // namespace bench
