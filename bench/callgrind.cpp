// bench/callgrind.cpp: --callgrind, fixed workloads between CALLGRIND_START/STOP_INSTRUMENTATION,
// one dump per case ("case=<name> n=<n>"), for bench/run-bench to turn into instructions per
// operation. Run under valgrind --tool=callgrind --instr-atstart=no.
#include <fmt/format.h>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define DTLSPP_BENCH_CALLGRIND 1
#else
#define DTLSPP_BENCH_CALLGRIND 0
#endif

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "bench.hpp"
#include "workloads.hpp"

namespace bench {

#if DTLSPP_BENCH_CALLGRIND
namespace {

// measured runs f(warm_up) (by default n / 10, at least 2) outside the instrumentation, then
// f(n) with callgrind collecting, and dumps the counts as "case=<name> n=<n>".
void measured(const std::string& name, int n, const std::function<void(int)>& f, int warm_up = 0) {
  f(warm_up > 0 ? warm_up : std::max(n / 10, 2));
  const std::string label = fmt::format("case={} n={}", name, n);
  CALLGRIND_START_INSTRUMENTATION;
  CALLGRIND_ZERO_STATS;
  f(n);
  CALLGRIND_DUMP_STATS_AT(label.c_str());
  CALLGRIND_STOP_INSTRUMENTATION;
}

// handshakes: 20 handshakes of dtlspp and of each raw policy.
void handshakes(const fixture& f) {
  const int n = 20;
  measured("handshake dtlspp", n, [&](int k) { run_handshakes(f.dtlspp_at(1200), k, false); });
  measured("handshake raw", n, [&](int k) { run_handshakes(f.raw_at(1200), k, false); });
  measured("handshake raw-default-groups", n,
           [&](int k) { run_handshakes(f.raw_default_groups(), k, false); });
  measured("handshake raw-default-sigalgs", n,
           [&](int k) { run_handshakes(f.raw_default_sigalgs(), k, false); });
}

// records: 2000 records per size, dtlspp, the raw baseline and the former defensive raw loop.
void records(const fixture& f) {
  const int n = 2000;
  for (const auto& c : {record_case{"100", 1200, 100}, record_case{"1163", 1200, 1163},
                        record_case{"1200@1500", 1500, 1200}}) {
    pair<dtlspp_side> pd(f.dtlspp_at(c.mtu), c.mtu);
    pair<raw_side> pr(f.raw_at(c.mtu), c.mtu);
    pair<raw_side> pdef(f.raw_defensive_at(c.mtu), c.mtu);
    const std::vector<std::byte> payload(c.size, std::byte{0x5a});
    measured(fmt::format("record-{} dtlspp", c.label), n,
             [&](int k) { run_records(pd, payload, k); });
    measured(fmt::format("record-{} raw", c.label), n, [&](int k) { run_records(pr, payload, k); });
    measured(fmt::format("record-{} raw-defensive", c.label), n,
             [&](int k) { run_records(pdef, payload, k); });
  }
}

// identities: dtlspp::identity::generate against the same certificate with X509_set_pubkey on
// the generated key, 20 per key type. RSA's prime search varies from key to key: 3 keys, one of
// warm-up, rough figures.
void identities() {
  for (const key_case& k : key_cases) {
    const int n = k.slow ? 3 : 20;
    const int warm_up = k.slow ? 1 : 0;
    measured(
        fmt::format("identity-{} dtlspp", k.tag), n, [&](int m) { generate_dtlspp(k, m); },
        warm_up);
    measured(
        fmt::format("identity-{} raw", k.tag), n, [&](int m) { generate_raw(k, m); }, warm_up);
  }
}

}  // namespace

int run_callgrind(const fixture& f) {
  if (!RUNNING_ON_VALGRIND) die("--callgrind: run me under valgrind --tool=callgrind");
  handshakes(f);
  records(f);
  identities();
  return 0;
}

#else

int run_callgrind(const fixture&) {
  die("--callgrind: <valgrind/callgrind.h> was not found at build time (apt-get install valgrind)");
}

#endif

}  // namespace bench
