// dtlspp_bench: dtlspp side by side with a minimal raw OpenSSL 3.0 implementation of the same
// work, in one run, interleaved round by round (A B, B A, A B ...), so that both see the same
// machine load. Prints markdown: medians with [min-max] over the rounds, and the ratio
// dtlspp / raw computed pair by pair (round i of dtlspp over round i of raw), then its median.
//
// Modes (run-bench drives them):
//   (default)    timings, allocation counts, idle memory, identity generation, the listener
//   --callgrind  fixed workloads between CALLGRIND_START/STOP_INSTRUMENTATION, one dump per case
//                (run under valgrind --tool=callgrind --instr-atstart=no; run-bench reads them)
//   --sites      diagnostics: allocation sites per handshake, per record and of idle memory
#include <fmt/format.h>
#include <malloc.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dtlspp/dtlspp.hpp>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define DTLSPP_BENCH_CALLGRIND 1
#else
#define DTLSPP_BENCH_CALLGRIND 0
#endif

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <latch>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "endpoints.hpp"
#include "heap_count.hpp"
#include "raw_dtls.hpp"
#include "raw_identity.hpp"
#include "wire.hpp"

namespace bench {
namespace {

using clock = std::chrono::steady_clock;

// stopwatch measures the CPU time of this thread (CLOCK_THREAD_CPUTIME_ID): the work measured
// is single-threaded and CPU-bound, so on an idle machine it equals the wall-clock time, and on
// a shared one it leaves out the time the scheduler gave to other processes. The wall-clock
// time is kept too, to tell how loaded the machine was (wall_total / cpu_total).
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double cpu_total = 0;
double wall_total = 0;

struct stopwatch {
  double cpu = thread_cpu_seconds();
  clock::time_point wall = clock::now();
  // seconds returns the CPU seconds since construction.
  double seconds() const {
    const double c = thread_cpu_seconds() - cpu;
    cpu_total += c;
    wall_total += std::chrono::duration<double>(clock::now() - wall).count();
    return c;
  }
};

[[noreturn]] void die(std::string_view what) {
  std::fprintf(stderr, "dtlspp_bench: %.*s\n", static_cast<int>(what.size()), what.data());
  ERR_print_errors_fp(stderr);
  std::exit(1);
}

struct options {
  int rounds = 11;                // interleaved rounds of every timed comparison
  int handshakes = 150;           // handshakes per round and variant
  int records = 60000;            // records per round, variant and size
  int sessions = 1000;            // established pairs held for the idle-memory measure
  int experiment_sessions = 200;  // pairs for the memory experiments
  int identities = 100;           // P-256 and Ed25519 identities per round
  int rsa_identities = 2;         // RSA-2048 identities per round (each takes ~0.1 s)
  int listener_handshakes = 150;  // handshakes per round and thread through a listener
  int listener_sessions = 10000;  // established sessions held by one listener for its memory
  bool callgrind = false;
  bool sites = false;
  // comma-separated sections to run (handshakes,records,memory,identities,listener)
  std::string only;
  bool wants(std::string_view section) const {
    return only.empty() ||
           ("," + only + ",").find("," + std::string(section) + ",") != std::string::npos;
  }
};

// ---- statistics --------------------------------------------------------------------------

// series holds one figure per round.
struct series {
  std::vector<double> v;
  void add(double x) { v.push_back(x); }
  double median() const {
    if (v.empty()) return 0;
    auto s = v;
    std::sort(s.begin(), s.end());
    const std::size_t n = s.size();
    return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  }
  double min() const { return v.empty() ? 0 : *std::min_element(v.begin(), v.end()); }
  double max() const { return v.empty() ? 0 : *std::max_element(v.begin(), v.end()); }
};

// ratios returns a[i] / b[i] for each round.
series ratios(const series& a, const series& b) {
  series r;
  for (std::size_t i = 0; i < std::min(a.v.size(), b.v.size()); ++i)
    r.add(a.v[i] / b.v[i]);
  return r;
}

std::string num(double x, int precision) {
  return fmt::format("{:.{}f}", x, precision);
}

// cell prints "median [min-max]".
std::string cell(const series& s, int precision) {
  return fmt::format("{} [{}-{}]", num(s.median(), precision), num(s.min(), precision),
                     num(s.max(), precision));
}

std::string ratio_cell(const series& r) {
  return fmt::format("**{:.3f}x** [{:.3f}-{:.3f}]", r.median(), r.min(), r.max());
}

std::string met(bool yes) {
  return yes ? "met" : "**MISSED**";
}

// targets collects the targets as they are evaluated, for the summary at the end.
struct target {
  std::string name;
  std::string value;
  bool met;
};
std::vector<target> targets;

// interleave runs a(round) and b(round) for each round, alternating which goes first.
void interleave(int rounds, const std::function<void(int)>& a, const std::function<void(int)>& b) {
  for (int r = 0; r < rounds; ++r) {
    if (r % 2 == 0) {
      a(r);
      b(r);
    } else {
      b(r);
      a(r);
    }
  }
}

// ---- the fixture: identities and contexts, built once ----------------------------------------

struct fixture {
  // ECDSA P-256 identities, one per peer, used by dtlspp and the raw baseline alike (the same
  // certificates, so the same bytes on the wire).
  dtlspp::identity client_id = dtlspp::identity::generate();
  dtlspp::identity server_id = dtlspp::identity::generate();

  dtlspp::context_options options(const dtlspp::identity& id, std::size_t mtu) {
    dtlspp::context_options o;
    o.identity = id;
    o.mtu_bytes = mtu;
    return o;
  }

  dtlspp::context client_ctx{options(client_id, 1200)};
  dtlspp::context server_ctx{options(server_id, 1200)};
  dtlspp::context client_ctx_1500{options(client_id, 1500)};
  dtlspp::context server_ctx_1500{options(server_id, 1500)};

  // raw_context builds a raw baseline context around an identity (borrowed: the fixture keeps
  // the identities alive).
  using raw_handle = std::unique_ptr<raw::context>;
  static raw_handle raw_context(const dtlspp::identity& id, raw::policy p) {
    return std::make_unique<raw::context>(id.native_key(), id.certificate().native_handle(), p);
  }
  raw_handle raw_client = raw_context(client_id, {});
  raw_handle raw_server = raw_context(server_id, {});
  raw_handle raw_client_default = raw_context(client_id, {raw::groups::openssl_default, 1200});
  raw_handle raw_server_default = raw_context(server_id, {raw::groups::openssl_default, 1200});
  // dtlspp's policy before it offered only its own signature algorithms (OpenSSL's default list).
  raw_handle raw_client_default_sigalgs = raw_context(
      client_id,
      {raw::groups::same_as_dtlspp, 1200, raw::loop::minimal, raw::sigalgs::openssl_default});
  raw_handle raw_server_default_sigalgs = raw_context(
      server_id,
      {raw::groups::same_as_dtlspp, 1200, raw::loop::minimal, raw::sigalgs::openssl_default});
  raw_handle raw_client_1500 = raw_context(client_id, {raw::groups::same_as_dtlspp, 1500});
  raw_handle raw_server_1500 = raw_context(server_id, {raw::groups::same_as_dtlspp, 1500});
  // The former baseline's loop (raw::loop::defensive), for the second row of the record tables.
  raw_handle raw_client_defensive{
      raw_context(client_id, {raw::groups::same_as_dtlspp, 1200, raw::loop::defensive})};
  raw_handle raw_server_defensive{
      raw_context(server_id, {raw::groups::same_as_dtlspp, 1200, raw::loop::defensive})};
  raw_handle raw_client_defensive_1500{
      raw_context(client_id, {raw::groups::same_as_dtlspp, 1500, raw::loop::defensive})};
  raw_handle raw_server_defensive_1500{
      raw_context(server_id, {raw::groups::same_as_dtlspp, 1500, raw::loop::defensive})};

  raw::sha256 client_fp = raw::sha256_fingerprint(client_id.certificate().native_handle());
  raw::sha256 server_fp = raw::sha256_fingerprint(server_id.certificate().native_handle());

  dtlspp_side dtlspp_at(std::size_t mtu) const {
    return mtu == 1500 ? dtlspp_side{client_ctx_1500, server_ctx_1500, client_id.fingerprint(),
                                     server_id.fingerprint()}
                       : dtlspp_side{client_ctx, server_ctx, client_id.fingerprint(),
                                     server_id.fingerprint()};
  }
  // raw_at is the honest baseline (raw::loop::minimal) at an MTU.
  raw_side raw_at(std::size_t mtu) const {
    return mtu == 1500 ? raw_side{*raw_client_1500, *raw_server_1500, client_fp, server_fp}
                       : raw_side{*raw_client, *raw_server, client_fp, server_fp};
  }
  // raw_defensive_at is the former baseline's loop (raw::loop::defensive) at an MTU.
  raw_side raw_defensive_at(std::size_t mtu) const {
    return mtu == 1500
               ? raw_side{*raw_client_defensive_1500, *raw_server_defensive_1500, client_fp,
                          server_fp}
               : raw_side{*raw_client_defensive, *raw_server_defensive, client_fp, server_fp};
  }
  raw_side raw_default_groups() const {
    return raw_side{*raw_client_default, *raw_server_default, client_fp, server_fp};
  }
  raw_side raw_default_sigalgs() const {
    return raw_side{*raw_client_default_sigalgs, *raw_server_default_sigalgs, client_fp, server_fp};
  }
};

// ---- 1. handshakes -------------------------------------------------------------------------

struct handshake_run {
  double per_second = 0;
  double ours_allocs = 0, openssl_allocs = 0;  // per handshake (both ends, setup to teardown)
  double datagrams = 0, bytes = 0, flights = 0, over_mtu = 0;  // per handshake
  std::string cipher, group;
  std::string offered;  // the groups the client offers, in its order
  int sigalgs = 0;      // how many signature algorithms the client offers
};

// run_handshakes makes n complete handshakes, each with a fresh client and server session
// (construction, handshake, destruction), over fresh wires.
template <class Side>
handshake_run run_handshakes(const Side& side, int n, bool describe = true) {
  wire c2s, s2c;
  std::uint64_t flights = 0;
  handshake_run out;
  if (describe) {
    // One handshake outside the count and the clock, to read what was negotiated.
    std::optional<typename Side::end> client, server;
    side.make(client, server, c2s, s2c);
    if (!complete_handshake(*client, *server, c2s, s2c, flights)) die("handshake failed");
    SSL* ssl = Side::ssl(*client);
    out.cipher = SSL_get_cipher_name(ssl);
    const int nid = SSL_get_negotiated_group(ssl);
    out.group = OBJ_nid2sn(nid) != nullptr ? OBJ_nid2sn(nid) : std::to_string(nid);
    // SSL_get1_groups on the server: the supported_groups the client sent.
    SSL* peer = Side::ssl(*server);
    std::vector<int> groups(
        static_cast<std::size_t>(std::max<long>(SSL_get1_groups(peer, nullptr), 0)));
    SSL_get1_groups(peer, groups.data());
    for (const int g : groups) {
      if (!out.offered.empty()) out.offered += ":";
      out.offered += OBJ_nid2sn(g) != nullptr ? OBJ_nid2sn(g) : std::to_string(g);
    }
    // SSL_get_sigalgs on the server: the signature_algorithms the client sent.
    out.sigalgs = SSL_get_sigalgs(peer, -1, nullptr, nullptr, nullptr, nullptr, nullptr);
  }
  c2s.reset_counters();
  s2c.reset_counters();
  flights = 0;
  const heap_counts h0 = heap();
  const stopwatch watch;
  for (int i = 0; i < n; ++i) {
    std::optional<typename Side::end> client, server;
    side.make(client, server, c2s, s2c);
    if (!complete_handshake(*client, *server, c2s, s2c, flights)) die("handshake failed");
  }
  const double elapsed = watch.seconds();
  const heap_counts h1 = heap();
  out.per_second = n / elapsed;
  out.ours_allocs = static_cast<double>(h1.ours_allocs - h0.ours_allocs) / n;
  out.openssl_allocs = static_cast<double>(h1.openssl_allocs - h0.openssl_allocs) / n;
  out.datagrams = static_cast<double>(c2s.datagrams + s2c.datagrams) / n;
  out.bytes = static_cast<double>(c2s.bytes + s2c.bytes) / n;
  out.flights = static_cast<double>(flights) / n;
  out.over_mtu = static_cast<double>(c2s.over_mtu + s2c.over_mtu) / n;
  return out;
}

void bench_handshakes(const fixture& f, const options& o) {
  // The variants, dtlspp first; the others are the raw baseline with one policy each.
  struct variant {
    const char* name;
    std::function<handshake_run(int)> run;
    series rates;
    handshake_run last;
  };
  const auto d = f.dtlspp_at(1200);
  const auto r = f.raw_at(1200);
  const auto rd = f.raw_default_groups();
  const auto rs = f.raw_default_sigalgs();
  std::vector<variant> variants;
  variants.push_back({"dtlspp", [&](int n) { return run_handshakes(d, n); }, {}, {}});
  variants.push_back({"raw, same policy", [&](int n) { return run_handshakes(r, n); }, {}, {}});
  variants.push_back(
      {"raw, OpenSSL's default groups", [&](int n) { return run_handshakes(rd, n); }, {}, {}});
  variants.push_back({"raw, OpenSSL's default signature algorithms (dtlspp's policy before)",
                      [&](int n) { return run_handshakes(rs, n); },
                      {},
                      {}});
  // Warm-up: first-use costs (provider fetches, method tables) are not a handshake's.
  for (auto& v : variants)
    v.run(10);
  // Rotate the order each round (a b c d, b c d a, ...).
  const int k = static_cast<int>(variants.size());
  for (int round = 0; round < o.rounds; ++round) {
    for (int i = 0; i < k; ++i) {
      auto& v = variants[static_cast<std::size_t>((round + i) % k)];
      v.last = v.run(o.handshakes);
      v.rates.add(v.last.per_second);
    }
  }
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

// ---- 2. records --------------------------------------------------------------------------

// An established pair, kept for the record loops.
template <class Side>
struct pair {
  wire c2s, s2c;
  std::optional<typename Side::end> client, server;
  explicit pair(const Side& side, std::size_t mtu) : c2s(mtu), s2c(mtu) {
    std::uint64_t flights = 0;
    side.make(client, server, c2s, s2c);
    if (!complete_handshake(*client, *server, c2s, s2c, flights)) die("handshake failed");
  }
};

struct record_run {
  double per_second = 0;
  std::uint64_t ours_allocs = 0;     // operator new calls during the run
  std::uint64_t openssl_allocs = 0;  // CRYPTO_malloc calls during the run
  std::int64_t growth = 0;           // live heap bytes gained over the run
};

// run_records sends n records of payload from client to server, one datagram each: send, the
// datagram crosses the wire, the server decrypts it and hands it out.
template <class Side>
record_run run_records(pair<Side>& p, std::span<const std::byte> payload, int n) {
  const std::uint64_t before = p.server->records_received;
  const heap_counts h0 = heap();
  const stopwatch watch;
  for (int i = 0; i < n; ++i) {
    if (!p.client->send(payload)) die("send failed");
    deliver(p.c2s, *p.server);
  }
  const double elapsed = watch.seconds();
  const heap_counts h1 = heap();
  if (p.server->records_received - before != static_cast<std::uint64_t>(n)) die("records lost");
  return {n / elapsed, h1.ours_allocs - h0.ours_allocs, h1.openssl_allocs - h0.openssl_allocs,
          h1.ours_live - h0.ours_live + h1.openssl_live - h0.openssl_live};
}

struct record_case {
  std::string label;
  std::size_t mtu;
  std::size_t size;  // 0: the largest that fits (session::max_send_size())
};

void bench_records(const fixture& f, const options& o) {
  fmt::print("## 2. Records\n\n");
  fmt::print(
      "Application records per second, client to server on an established association, one "
      "record per datagram: send(), the datagram crosses the wire, handle_datagram() and the "
      "received event (raw: SSL_write, BIO, SSL_read). MB/s counts plaintext. {} rounds of {} "
      "records per size and library, after 2000 records of warm-up. Cipher suite "
      "ECDHE-ECDSA-AES128-GCM-SHA256 (29 bytes of overhead per datagram).\n\n",
      o.rounds, o.records);
  fmt::print(
      "1200 B of plaintext does not fit one datagram at MTU 1200 (the largest record is "
      "session.max_send_size() = 1200 - 13 header - 8 explicit nonce - 16 tag = 1163 B), so two "
      "cases stand for it: 1163 B at MTU 1200, and 1200 B with both contexts set to MTU 1500.\n\n");
  fmt::print(
      "| plaintext | MTU | dtlspp records/s | raw records/s | dtlspp / raw | target | | "
      "dtlspp MB/s | raw MB/s |\n|---|---|---|---|---|---|---|---|---|\n");
  const std::vector<record_case> cases = {
      {"100 B", 1200, 100}, {"1163 B (max at MTU 1200)", 1200, 0}, {"1200 B", 1500, 1200}};
  bool zero_allocs = true;
  std::string alloc_text;
  std::string alloc_rows;
  for (const auto& c : cases) {
    pair<dtlspp_side> pd(f.dtlspp_at(c.mtu), c.mtu);
    pair<raw_side> pr(f.raw_at(c.mtu), c.mtu);
    const std::size_t fits = pd.client->session.max_send_size();
    if (fits != DTLS_get_data_mtu(pr.client->ssl())) die("dtlspp and OpenSSL disagree on sizes");
    const std::size_t size = c.size == 0 ? fits : c.size;
    if (size > fits) die("record does not fit");
    const std::vector<std::byte> payload(size, std::byte{0x5a});
    run_records(pd, payload, 2000);
    run_records(pr, payload, 2000);
    series sd, sr;
    record_run ad{}, ar{};  // summed over the rounds
    auto add = [](record_run& sum, const record_run& r) {
      sum.ours_allocs += r.ours_allocs;
      sum.openssl_allocs += r.openssl_allocs;
      sum.growth += r.growth;
    };
    interleave(
        o.rounds,
        [&](int) {
          const record_run r = run_records(pd, payload, o.records);
          sd.add(r.per_second);
          add(ad, r);
        },
        [&](int) {
          const record_run r = run_records(pr, payload, o.records);
          sr.add(r.per_second);
          add(ar, r);
        });
    const double total = static_cast<double>(o.records) * o.rounds;
    const series q = ratios(sd, sr);
    series mbd, mbr;
    for (double x : sd.v)
      mbd.add(x * static_cast<double>(size) / 1e6);
    for (double x : sr.v)
      mbr.add(x * static_cast<double>(size) / 1e6);
    fmt::print("| {} | {} | {} | {} | {} | >= 0.95x | {} | {} | {} |\n", c.label, c.mtu,
               cell(sd, 0), cell(sr, 0), ratio_cell(q), met(q.median() >= 0.95), cell(mbd, 1),
               cell(mbr, 1));
    targets.push_back({fmt::format("records/s >= 0.95x raw, {} at MTU {}", c.label, c.mtu),
                       fmt::format("{:.3f}x", q.median()), q.median() >= 0.95});
    alloc_rows +=
        fmt::format("| {} | {:.0f} | {} | {} | {:.2f} | {} | {:.2f} |\n", c.label, total,
                    ad.ours_allocs, ad.openssl_allocs, static_cast<double>(ad.growth) / total,
                    ar.openssl_allocs, static_cast<double>(ar.growth) / total);
    if (ad.ours_allocs + ad.openssl_allocs != 0 || ad.growth > 0) zero_allocs = false;
    alloc_text += fmt::format("{}{}: {} + {} in {:.0f} records, heap +{:.1f} B/record",
                              alloc_text.empty() ? "" : "; ", c.label, ad.ours_allocs,
                              ad.openssl_allocs, total, static_cast<double>(ad.growth) / total);
  }
  fmt::print(
      "\nHeap allocations during the timed rounds (steady state: after the warm-up), counted, not "
      "sampled; 'heap growth' is the live heap bytes gained over them (a steady state holds 0). "
      "Instructions per record: see the callgrind table.\n\n| plaintext | records | dtlspp: "
      "ours (operator new) | dtlspp: OpenSSL's | dtlspp heap growth, B/record | raw: OpenSSL's | "
      "raw heap growth, B/record |\n|---|---|---|---|---|---|---|\n{}\n",
      alloc_rows);
  targets.push_back({"zero heap allocations per record in steady state (ours + OpenSSL)",
                     alloc_text, zero_allocs});
}

// ---- 4. memory per idle session ----------------------------------------------------------

struct memory_run {
  double heap_per_end = 0;         // mallinfo2: in-use bytes (arena + mmapped), per end
  double openssl_per_end = 0;      // live bytes from OpenSSL's allocator, per end
  double ours_per_end = 0;         // live bytes from operator new, per end
  double first_record_allocs = 0;  // allocations of the first record each way afterwards
};

std::size_t in_use(const struct mallinfo2& m) {
  return m.uordblks + m.hblkhd;
}

// idle_memory establishes `pairs` associations, calls idle(end) on both ends of each once it
// is connected, keeps them all, and measures the heap they hold. Then one record each way on
// the first pair tells what waking an idle association costs in allocations.
template <class Side>
memory_run idle_memory(const Side& side, int pairs,
                       const std::function<void(typename Side::end&)>& idle = {}) {
  std::vector<std::optional<typename Side::end>> clients(pairs), servers(pairs);
  wire c2s, s2c;
  std::uint64_t flights = 0;
  malloc_trim(0);
  const auto m0 = mallinfo2();
  const heap_counts h0 = heap();
  for (int i = 0; i < pairs; ++i) {
    side.make(clients[i], servers[i], c2s, s2c);
    if (!complete_handshake(*clients[i], *servers[i], c2s, s2c, flights)) die("handshake failed");
    if (idle) {
      idle(*clients[i]);
      idle(*servers[i]);
    }
  }
  const auto m1 = mallinfo2();
  const heap_counts h1 = heap();
  memory_run out;
  const double ends = 2.0 * pairs;
  out.heap_per_end = (static_cast<double>(in_use(m1)) - static_cast<double>(in_use(m0))) / ends;
  out.openssl_per_end = static_cast<double>(h1.openssl_live - h0.openssl_live) / ends;
  out.ours_per_end = static_cast<double>(h1.ours_live - h0.ours_live) / ends;
  const std::byte payload[100] = {};
  const heap_counts w0 = heap();
  clients[0]->send(payload);
  deliver(c2s, *servers[0]);
  servers[0]->send(payload);
  deliver(s2c, *clients[0]);
  const heap_counts w1 = heap();
  out.first_record_allocs =
      static_cast<double>(w1.ours_allocs - w0.ours_allocs + w1.openssl_allocs - w0.openssl_allocs);
  return out;
}

void print_memory_row(std::string_view name, const memory_run& m, int pairs) {
  fmt::print("| {} | {} | {:.0f} ({:.1f} KiB) | {:.0f} | {:.0f} | {:.0f} |\n", name, 2 * pairs,
             m.heap_per_end, m.heap_per_end / 1024, m.openssl_per_end, m.ours_per_end,
             m.first_record_allocs);
}

void bench_memory(const fixture& f, const options& o) {
  fmt::print("## 4. Memory per idle established session end\n\n");
  fmt::print(
      "Heap held per session end once the handshake is over and nothing is in flight: "
      "mallinfo2() in-use bytes (arena + mmapped, chunk headers included) after establishing "
      "N pairs, minus before, over 2N ends. The split by allocator is the live bytes of each "
      "counting allocator (malloc_usable_size). Harness storage is reserved before the first "
      "measure; the raw endpoint's own small struct (~100 B) is therefore not counted, dtlspp's "
      "session (impl on the heap) is. 'First record' is the allocations made by one 100 B "
      "record each way after the measure: the cost of waking an idle association.\n\n"
      "dtlspp releases OpenSSL's record buffers when an established end goes idle "
      "(SSL_free_buffers once poll() has drained everything, at the end of the handshake and "
      "after an input that follows a quiet second) and re-creates them before anything that "
      "writes (SSL_alloc_buffers). The raw rows show OpenSSL with the same policy, then with "
      "`max_send_fragment` = SSL_CTX_set_max_send_fragment(ctx, 1200), which sizes the write "
      "buffer to the MTU (dtlspp's contexts do it), then with the release as well: OpenSSL's "
      "floor through its public API. What no public call frees: `init_buf` (21.9 KB, kept "
      "after a DTLS handshake to answer a repeated final flight), the SSL object (7.6 KB), the "
      "two AES-GCM contexts, the session and the peer's certificate and key (see the sites "
      "below).\n\n");
  const memory_run d = idle_memory(f.dtlspp_at(1200), o.sessions);
  const memory_run r = idle_memory(f.raw_at(1200), o.sessions);
  const int n = o.experiment_sessions;
  const raw::policy p{};
  raw::context cc(f.client_id.native_key(), f.client_id.certificate().native_handle(), p);
  raw::context sc(f.server_id.native_key(), f.server_id.certificate().native_handle(), p);
  SSL_CTX_set_max_send_fragment(cc.native(), 1200);
  SSL_CTX_set_max_send_fragment(sc.native(), 1200);
  const raw_side fragment{cc, sc, f.client_fp, f.server_fp};
  const memory_run rf = idle_memory(fragment, n);
  const memory_run rr = idle_memory(fragment, n, [](raw::endpoint& e) { e.release_buffers(); });
  fmt::print(
      "| library | ends | heap per end, bytes | OpenSSL's | ours | "
      "first record: allocations |\n|---|---|---|---|---|---|\n");
  print_memory_row("**dtlspp**", d, o.sessions);
  print_memory_row("raw OpenSSL (same policy)", r, o.sessions);
  print_memory_row("raw + max_send_fragment", rf, n);
  print_memory_row("raw + max_send_fragment + SSL_free_buffers when idle (the floor)", rr, n);
  const bool ok = d.heap_per_end <= 40 * 1024;
  fmt::print(
      "\nTarget: dtlspp <= 40 KiB (40960 B) per end: {} ({:.1f} KiB; raw {:.1f} KiB, OpenSSL's "
      "floor {:.1f} KiB).\n\n",
      met(ok), d.heap_per_end / 1024, r.heap_per_end / 1024, rr.heap_per_end / 1024);
  targets.push_back(
      {"memory per idle session end <= 40 KiB",
       fmt::format("{:.1f} KiB (raw {:.1f} KiB, floor {:.1f} KiB)", d.heap_per_end / 1024,
                   r.heap_per_end / 1024, rr.heap_per_end / 1024),
       ok});

  // SSL_free_buffers on an idle DTLS association, then one record: OpenSSL 3.0's DTLS write
  // path (do_dtls1_write) never sets the write buffer up again, so a raw SSL_write dereferences a
  // null buffer. Shown in a child process, so that the crash is only observed.
  fmt::print(
      "SSL_free_buffers on an idle DTLS association, then one 100 B record each way, in "
      "a child process:\n\n| library | what happened |\n|---|---|\n");
  auto try_free_buffers = [&](auto side, const char* name) {
    std::fflush(stdout);
    const pid_t child = fork();
    if (child == 0) {
      pair<decltype(side)> pd(side, 1200);
      if (SSL_free_buffers(decltype(side)::ssl(*pd.client)) != 1 ||
          SSL_free_buffers(decltype(side)::ssl(*pd.server)) != 1) {
        _exit(3);
      }
      const std::byte payload[100] = {};
      if (!pd.client->send(payload)) _exit(4);
      deliver(pd.c2s, *pd.server);
      _exit(pd.server->records_received == 1 ? 0 : 5);
    }
    int status = 0;
    waitpid(child, &status, 0);
    std::string what;
    if (WIFSIGNALED(status)) {
      what = fmt::format(
          "**killed by signal {} ({})** in the first SSL_write after "
          "SSL_free_buffers returned 1",
          WTERMSIG(status), strsignal(WTERMSIG(status)));
    } else {
      const int code = WEXITSTATUS(status);
      what = code == 0   ? "the record went through"
             : code == 3 ? "SSL_free_buffers refused (returned 0)"
                         : fmt::format("failed (exit {})", code);
    }
    fmt::print("| {} | {} |\n", name, what);
  };
  try_free_buffers(f.raw_at(1200), "raw OpenSSL, SSL_write at once");
  try_free_buffers(f.dtlspp_at(1200), "dtlspp (SSL_alloc_buffers before every write)");
  fmt::print("\n");
}

// ---- 5. identities -----------------------------------------------------------------------

void bench_identities(const options& o) {
  fmt::print("## 5. Identity generation\n\n");
  fmt::print(
      "Key + self-signed certificate per second: dtlspp::identity::generate() against the same "
      "certificate built with raw OpenSSL calls (EVP_PKEY_Q_keygen, X509_new, the same fields, "
      "X509_set_pubkey, X509_sign). {} rounds; {} identities per round ({} for RSA-2048, whose "
      "key generation time varies a lot by nature: prime search).\n\n",
      o.rounds, o.identities, o.rsa_identities);
  fmt::print(
      "| key | dtlspp identities/s | raw identities/s | dtlspp / raw |\n|---|---|---|---|\n");
  struct kind {
    const char* name;
    dtlspp::key_type d;
    raw::key_kind r;
    int n;
  };
  for (const kind& k :
       {kind{"ECDSA P-256", dtlspp::key_type::ecdsa_p256, raw::key_kind::p256, o.identities},
        kind{"ECDSA P-384", dtlspp::key_type::ecdsa_p384, raw::key_kind::p384, o.identities},
        kind{"Ed25519", dtlspp::key_type::ed25519, raw::key_kind::ed25519, o.identities},
        kind{"RSA-2048", dtlspp::key_type::rsa_2048, raw::key_kind::rsa2048, o.rsa_identities}}) {
    dtlspp::identity_options io;
    io.key = k.d;
    series sd, sr;
    interleave(
        o.rounds,
        [&](int) {
          const stopwatch watch;
          for (int i = 0; i < k.n; ++i)
            static_cast<void>(dtlspp::identity::generate(io));
          sd.add(k.n / watch.seconds());
        },
        [&](int) {
          const stopwatch watch;
          for (int i = 0; i < k.n; ++i)
            raw::build(k.r, raw::pubkey_path::set_pubkey).free();
          sr.add(k.n / watch.seconds());
        });
    fmt::print("| {} | {} | {} | {} |\n", k.name, cell(sd, 1), cell(sr, 1),
               ratio_cell(ratios(sd, sr)));
  }

  // Where the time of one P-256 key + certificate goes, stage by stage.
  const int n = std::max(o.identities * 2, 20);
  fmt::print("\n### Where P-256 key + certificate time goes (raw OpenSSL, {} builds)\n\n", n);
  struct path {
    const char* name;
    raw::pubkey_path p;
  };
  const path paths[] = {
      {"X509_set_pubkey(x509, key): the raw baseline (and dtlspp before)",
       raw::pubkey_path::set_pubkey},
      {"the public point on the curve's parameters (d2i_PublicKey), then X509_set_pubkey (what "
       "dtlspp does)",
       raw::pubkey_path::public_point},
      {"X509_PUBKEY_set0_param, then re-read the signed DER",
       raw::pubkey_path::set0_param_then_reparse},
  };
  raw::build_times times[3];
  // Interleaved in rounds of 10 builds so that drift hits every path alike.
  for (int done = 0; done < n; done += 10) {
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 10; ++j)
        raw::build(raw::key_kind::p256, paths[i].p, &times[i]).free();
    }
  }
  fmt::print(
      "| public key path | keygen µs | fields µs | public key µs | sign µs | total µs | "
      "keys+certs/s | public key share | correct and usable |\n"
      "|---|---|---|---|---|---|---|---|---|\n");
  const int built_n = ((n + 9) / 10) * 10;
  for (int i = 0; i < 3; ++i) {
    const auto& t = times[i];
    const double total = t.keygen + t.fields + t.pubkey + t.sign;
    raw::built b = raw::build(raw::key_kind::p256, paths[i].p);
    const std::string problems = raw::check(b);
    b.free();
    fmt::print("| {} | {:.1f} | {:.1f} | {:.1f} | {:.1f} | {:.1f} | {:.0f} | {:.0f}% | {} |\n",
               paths[i].name, t.keygen / built_n / 1e3, t.fields / built_n / 1e3,
               t.pubkey / built_n / 1e3, t.sign / built_n / 1e3, total / built_n / 1e3,
               built_n / (total / 1e9), 100 * t.pubkey / total,
               problems.empty() ? "yes" : problems);
  }
  {
    raw::built b = raw::build(raw::key_kind::p256, raw::pubkey_path::set0_param_unusable);
    const std::string problems = raw::check(b);
    b.free();
    fmt::print("| (X509_PUBKEY_set0_param without the re-read) | | | | | | | | {} |\n",
               problems.empty() ? "yes" : problems);
  }
  // Inside X509_set_pubkey: the same public calls it makes, timed one by one.
  raw::built b = raw::build(raw::key_kind::p256, raw::pubkey_path::set_pubkey);
  const raw::pubkey_parts parts = raw::pubkey_internals(b.key, n);
  b.free();
  const double sum = parts.encoder_ctx + parts.encode + parts.decode;
  fmt::print(
      "\nInside X509_set_pubkey for a provider key (OpenSSL 3.0 crypto/x509/x_pubkey.c), the "
      "calls it makes, timed one by one over {} runs: OSSL_ENCODER_CTX_new_for_pkey {:.1f} µs "
      "({:.0f}%), OSSL_ENCODER_to_data {:.1f} µs ({:.0f}%), d2i_X509_PUBKEY of that DER (a fresh "
      "OSSL_DECODER_CTX and a full key decode, whose result X509_PUBKEY_set then frees) {:.1f} "
      "µs ({:.0f}%).\n\n",
      n, parts.encoder_ctx / n / 1e3, 100 * parts.encoder_ctx / sum, parts.encode / n / 1e3,
      100 * parts.encode / sum, parts.decode / n / 1e3, 100 * parts.decode / sum);
}

// ---- 6. listener -------------------------------------------------------------------------

// peer_address is a client's address as the listener sees it: 16 synthetic bytes (the size of a
// sockaddr_in), the client's number in the first 8, the rig's tag in the 9th, the rest zero.
using peer_address = std::array<std::byte, 16>;

peer_address address_of(std::uint64_t client, std::uint8_t tag) {
  peer_address a{};
  std::memcpy(a.data(), &client, sizeof client);
  a[8] = std::byte{tag};
  return a;
}

// addressed_wire carries the clients' datagrams to the listener, each with its sender's number
// (the source address recvfrom() would give). Fixed storage, like wire: pushing is the copy
// that stands for sendto(), and nothing on it allocates.
class addressed_wire {
 public:
  explicit addressed_wire(std::size_t capacity) : slots_(capacity) {}

  void push(std::uint64_t from, std::span<const std::byte> datagram) {
    if (datagram.size() > slot_size || count_ == slots_.size()) {
      die(fmt::format("addressed_wire: datagram of {} bytes or {} queued", datagram.size(),
                      count_));
    }
    slot& s = slots_[(head_ + count_) % slots_.size()];
    s.from = from;
    s.size = datagram.size();
    std::memcpy(s.bytes.data(), datagram.data(), datagram.size());
    ++count_;
    ++datagrams;
    bytes += datagram.size();
  }
  bool empty() const noexcept { return count_ == 0; }
  std::uint64_t from() const noexcept { return slots_[head_].from; }
  std::span<const std::byte> front() const noexcept {
    return {slots_[head_].bytes.data(), slots_[head_].size};
  }
  void pop() noexcept {
    head_ = (head_ + 1) % slots_.size();
    --count_;
  }

  std::uint64_t datagrams = 0;
  std::uint64_t bytes = 0;

 private:
  static constexpr std::size_t slot_size = 2048;  // > any datagram at MTU 1200
  struct slot {
    std::uint64_t from = 0;
    std::size_t size = 0;
    std::array<std::byte, slot_size> bytes;
  };
  std::vector<slot> slots_;
  std::size_t head_ = 0;
  std::size_t count_ = 0;
};

// listener_batch: how many clients handshake through a listener at once.
constexpr int listener_batch = 32;

// listener_rig is one listener (cookies on by default) and the clients that handshake through
// it, listener_batch at a time. Driven with the documented loops: after each input to the
// listener or a client, drain its poll(); the listener's transmits go straight to the client
// whose address they carry, the clients' go onto an addressed_wire. Each client is a
// dtlspp::session in role::client with the server's fingerprint pinned; it is destroyed once
// its batch is connected on both sides and nothing is in flight, while the listener keeps the
// server sessions. The listener's own calls are timed apart (wall clock: steady_clock, which
// costs ~20 ns), to tell its share of the work from the clients'.
class listener_rig {
 public:
  // listener_rig builds the harness; open() makes the listener. side gives the contexts and
  // the fingerprints, made on the main thread and only read here.
  listener_rig(const dtlspp_side& side, std::uint8_t tag)
      : side_(side), tag_(tag), c2s_(4 * listener_batch), clients_(listener_batch) {}

  // open makes the listener, for at least max_sessions sessions (the other options default).
  void open(std::size_t max_sessions, bool cookies = true) {
    dtlspp::listener_options lo;
    lo.max_sessions = std::max(max_sessions, lo.max_sessions);
    lo.cookies = cookies;
    listener.emplace(side_.server_ctx, dtlspp::expect({side_.client_fp}), lo);
  }

  // handshake completes n more handshakes.
  void handshake(int n) {
    for (int done = 0; done < n; done += listener_batch)
      batch(std::min(listener_batch, n - done));
  }

  std::optional<dtlspp::listener> listener;
  double listener_seconds = 0;  // wall-clock time spent inside the listener's calls
  std::uint64_t s2c_datagrams = 0, s2c_bytes = 0;
  std::uint64_t c2s_datagrams() const { return c2s_.datagrams; }
  std::uint64_t c2s_bytes() const { return c2s_.bytes; }

 private:
  struct client {
    std::optional<dtlspp::session> session;
    bool connected = false;
  };

  void batch(int k) {
    base_ = next_;
    next_ += static_cast<std::uint64_t>(k);
    size_ = k;
    servers_connected_ = 0;
    for (int i = 0; i < k; ++i) {
      clients_[i].session.emplace(side_.client_ctx, dtlspp::role::client,
                                  dtlspp::expect({side_.server_fp}));
      clients_[i].connected = false;
      drain_client(i);  // the ClientHello
    }
    while (!c2s_.empty()) {
      const peer_address peer = address_of(c2s_.from(), tag_);
      const auto t0 = clock::now();
      const std::error_code ec = listener->handle_datagram(peer, c2s_.front());
      listener_seconds += std::chrono::duration<double>(clock::now() - t0).count();
      if (ec) die(fmt::format("listener: handle_datagram: {}", ec.message()));
      c2s_.pop();
      drain_listener();
    }
    if (servers_connected_ != k) die("listener: a server session did not connect");
    for (int i = 0; i < k; ++i) {
      if (!clients_[i].connected) die("listener: a client did not connect");
      clients_[i].session.reset();
    }
  }

  void drain_listener() {
    auto t0 = clock::now();
    while (auto e = listener->poll()) {
      listener_seconds += std::chrono::duration<double>(clock::now() - t0).count();
      if (const auto* t = std::get_if<dtlspp::transmit>(&e->event)) {
        std::uint64_t to = 0;
        if (e->peer.size() != sizeof(peer_address)) die("listener: unknown peer");
        std::memcpy(&to, e->peer.data(), sizeof to);
        if (e->peer[8] != std::byte{tag_} || to < base_ || to >= base_ + size_) {
          die("listener: transmit to a peer outside the batch");
        }
        ++s2c_datagrams;
        s2c_bytes += t->datagram.size();
        const int i = static_cast<int>(to - base_);
        if (clients_[i].session->handle_datagram(t->datagram)) die("listener: client failed");
        drain_client(i);
      } else if (std::holds_alternative<dtlspp::connected>(e->event)) {
        ++servers_connected_;
      } else {
        die("listener: unexpected event (received or closed)");
      }
      t0 = clock::now();
    }
    listener_seconds += std::chrono::duration<double>(clock::now() - t0).count();
  }

  void drain_client(int i) {
    while (auto e = clients_[i].session->poll()) {
      if (const auto* t = std::get_if<dtlspp::transmit>(&*e)) {
        c2s_.push(base_ + static_cast<std::uint64_t>(i), t->datagram);
      } else if (std::holds_alternative<dtlspp::connected>(*e)) {
        clients_[i].connected = true;
      } else {
        die("listener: unexpected client event (received or closed)");
      }
    }
  }

  const dtlspp_side& side_;
  std::uint8_t tag_;
  addressed_wire c2s_;
  std::vector<client> clients_;
  std::uint64_t next_ = 0;  // the next client's number
  std::uint64_t base_ = 0;  // the number of the batch's first client
  int size_ = 0;            // clients in the batch
  int servers_connected_ = 0;
};

// thread_usage is this thread's CPU time (user + kernel), kernel time and minor page faults
// (the kernel mapping fresh memory) so far.
struct thread_usage {
  double cpu = 0;
  double system = 0;
  std::uint64_t faults = 0;
};

thread_usage usage_now() {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  return {thread_cpu_seconds(),
          static_cast<double>(ru.ru_stime.tv_sec) + static_cast<double>(ru.ru_stime.tv_usec) / 1e6,
          static_cast<std::uint64_t>(ru.ru_minflt)};
}

// thread_run is what one thread did in a timed configuration.
struct thread_run {
  clock::time_point start, end;
  thread_usage used;            // during the run
  double listener_seconds = 0;  // wall-clock seconds inside the listener's calls
  int handshakes = 0;
  double datagrams = 0, bytes = 0;  // per handshake, both directions (listener runs)
  dtlspp::listener_stats stats;
};

// run_clock times one thread's run: wall clock and usage from construction to finish().
struct run_clock {
  thread_run r;
  thread_usage u0 = usage_now();
  explicit run_clock(int n) {
    r.handshakes = n;
    r.start = clock::now();
  }
  thread_run finish() {
    const thread_usage u1 = usage_now();
    r.end = clock::now();
    r.used = {u1.cpu - u0.cpu, u1.system - u0.system, u1.faults - u0.faults};
    return r;
  }
};

// listener_handshakes times n handshakes through a fresh listener: from the first client to
// the listener's destruction (the server sessions' teardown belongs to a handshake, as in
// section 1). The rig is built before `start`, which all threads of a configuration pass
// together.
thread_run listener_handshakes(const dtlspp_side& side, int n, std::uint8_t tag, bool cookies,
                               std::latch& start) {
  listener_rig rig(side, tag);
  rig.open(static_cast<std::size_t>(n), cookies);
  start.arrive_and_wait();
  run_clock watch(n);
  rig.handshake(n);
  const dtlspp::listener_stats s = rig.listener->stats();
  rig.listener.reset();
  thread_run r = watch.finish();
  r.stats = s;
  r.listener_seconds = rig.listener_seconds;
  r.datagrams = static_cast<double>(rig.c2s_datagrams() + rig.s2c_datagrams) / n;
  r.bytes = static_cast<double>(rig.c2s_bytes() + rig.s2c_bytes) / n;
  const auto expected = static_cast<std::uint64_t>(n);
  if (s.sessions_created != expected || s.hello_verify_requests != (cookies ? expected : 0) ||
      s.cookies_rejected + s.dropped_not_client_hello + s.dropped_session_limit +
              s.dropped_handshake_limit + s.sessions_replaced !=
          0) {
    die("listener: unexpected listener statistics");
  }
  return r;
}

// pair_handshakes times n handshakes of section 1's loop (a client and a server session, no
// listener, no cookie exchange), on a thread like the listener's runs. keep: the server
// sessions are kept until the end of the run, as a listener keeps them, and destroyed inside
// the timing; otherwise each is destroyed at once, as in section 1.
thread_run pair_handshakes(const dtlspp_side& side, int n, bool keep, std::latch& start) {
  wire c2s, s2c;
  std::uint64_t flights = 0;
  std::vector<std::optional<dtlspp_end>> servers(keep ? static_cast<std::size_t>(n) : 1);
  start.arrive_and_wait();
  run_clock watch(n);
  for (int i = 0; i < n; ++i) {
    std::optional<dtlspp_end> client;
    auto& server = servers[keep ? static_cast<std::size_t>(i) : 0];
    side.make(client, server, c2s, s2c);
    if (!complete_handshake(*client, *server, c2s, s2c, flights)) die("handshake failed");
    if (!keep) server.reset();
  }
  for (auto& server : servers)
    server.reset();
  return watch.finish();
}

// config_run is one timed configuration: its threads, started together.
struct config_run {
  std::vector<thread_run> threads;
  double wall = 0;    // the first thread's start to the last thread's end
  thread_usage used;  // summed over the threads
  int handshakes = 0;
  double rate() const { return handshakes / wall; }          // per second of wall-clock time
  double cpu_rate() const { return handshakes / used.cpu; }  // per CPU second of a thread
  double cores() const { return used.cpu / wall; }           // how many cores it got
};

config_run on_threads(int k, const std::function<thread_run(int, std::latch&)>& work) {
  std::latch start(k);
  config_run c;
  c.threads.resize(static_cast<std::size_t>(k));
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < k; ++i)
      threads.emplace_back([&, i] { c.threads[static_cast<std::size_t>(i)] = work(i, start); });
    for (auto& t : threads)
      t.join();
  }
  auto first = c.threads[0].start;
  auto last = c.threads[0].end;
  for (const auto& t : c.threads) {
    first = std::min(first, t.start);
    last = std::max(last, t.end);
    c.used.cpu += t.used.cpu;
    c.used.system += t.used.system;
    c.used.faults += t.used.faults;
    c.handshakes += t.handshakes;
  }
  c.wall = std::chrono::duration<double>(last - first).count();
  return c;
}

// config_series: one configuration's figures, one per round.
struct config_series {
  series rate, cpu_rate, cores, faults, system;
  void add(const config_run& c) {
    rate.add(c.rate());
    cpu_rate.add(c.cpu_rate());
    cores.add(c.cores());
    faults.add(static_cast<double>(c.used.faults) / c.handshakes);
    system.add(100 * c.used.system / c.used.cpu);
  }
};

// autogroup_enabled: whether the scheduler shares CPU time between sessions rather than threads.
bool autogroup_enabled() {
  int on = 0;
  if (FILE* file = std::fopen("/proc/sys/kernel/sched_autogroup_enabled", "r")) {
    if (std::fscanf(file, "%d", &on) != 1) on = 0;
    std::fclose(file);
  }
  return on == 1;
}

std::string percent_cell(const series& s) {
  return fmt::format("{:.1f}% [{:.1f}-{:.1f}%]", s.median(), s.min(), s.max());
}

void bench_listener(const fixture& f, const options& o) {
  const int n = o.listener_handshakes;
  const dtlspp_side side = f.dtlspp_at(1200);  // one server and one client context for all
  // The five configurations; run(which) times one, on std::threads.
  enum { pairs, pairs_kept, no_cookies, one, two, configs };
  auto run = [&](int which) {
    switch (which) {
      case pairs:
      case pairs_kept:
        return on_threads(1, [&](int, std::latch& s) {
          return pair_handshakes(side, n, which == pairs_kept, s);
        });
      case no_cookies:
        return on_threads(
            1, [&](int, std::latch& s) { return listener_handshakes(side, n, 1, false, s); });
      case one:
        return on_threads(
            1, [&](int, std::latch& s) { return listener_handshakes(side, n, 1, true, s); });
      default:
        return on_threads(2, [&](int i, std::latch& s) {
          return listener_handshakes(side, n, static_cast<std::uint8_t>(i + 1), true, s);
        });
    }
  };
  // Warm-up: first-use costs, and the threads' malloc arenas.
  for (int which = 0; which < configs; ++which)
    run(which);

  config_series c[configs];
  series scale, efficiency, cookie_cost, bookkeeping_cost, holding_cost, overall, share,
      server_rate;
  config_run last_one;
  for (int round = 0; round < o.rounds; ++round) {
    config_run r[configs];
    // Rotate the order each round, as section 1 does.
    for (int k = 0; k < configs; ++k) {
      const int which = (round + k) % configs;
      r[which] = run(which);
    }
    for (int which = 0; which < configs; ++which)
      c[which].add(r[which]);
    // The single-threaded runs count in the machine-load line, as the other sections' runs do.
    for (int which = 0; which < two; ++which) {
      cpu_total += r[which].used.cpu;
      wall_total += r[which].wall;
    }
    scale.add(r[two].rate() / r[one].rate());
    efficiency.add(r[two].cpu_rate() / r[one].cpu_rate());
    cookie_cost.add(r[one].cpu_rate() / r[no_cookies].cpu_rate());
    bookkeeping_cost.add(r[no_cookies].cpu_rate() / r[pairs_kept].cpu_rate());
    holding_cost.add(r[pairs_kept].cpu_rate() / r[pairs].cpu_rate());
    overall.add(r[one].cpu_rate() / r[pairs].cpu_rate());
    // Server side alone: the listener's share of the thread's time, applied to its CPU time.
    const double s = r[one].threads[0].listener_seconds / r[one].wall;
    share.add(100 * s);
    server_rate.add(r[one].cpu_rate() / s);
    last_one = r[one];
  }

  fmt::print("## 6. Listener\n\n");
  fmt::print(
      "Handshakes through a `dtlspp::listener` with default options (cookies on, at most 1000 "
      "handshakes at once; max_sessions raised to the sessions held where that is above "
      "10000). One handshake is: a "
      "fresh client session (role::client, the server's fingerprint pinned) sends its "
      "ClientHello; the listener answers with a HelloVerifyRequest, statelessly; the client "
      "sends its ClientHello again with the cookie; the listener checks the cookie and creates "
      "the server session; the usual four flights follow. Six flights, three each way. Clients "
      "handshake {} at a time per listener, from 16-byte synthetic addresses (the size of a "
      "sockaddr_in), over the in-memory wire, on the same thread as their listener: the rates "
      "include the clients' work, as in section 1. Each client is destroyed once its batch is "
      "connected on both sides and nothing is in flight; the listener keeps the server "
      "sessions, and its destruction at the end of the run is timed (teardown belongs to a "
      "handshake, as in section 1). {} rounds of {} handshakes per thread and configuration, "
      "the configurations in rotated order each round.\n\n",
      listener_batch, o.rounds, n);
  fmt::print(
      "**2 threads**: two independent listeners, each with its own clients, on two "
      "std::threads sharing ONE server context and ONE client context (one SSL_CTX each side). "
      "Each thread builds its listener, then all wait on a latch and start together. The "
      "2-thread rate is in **wall-clock time**, from the first thread's start to the last "
      "one's end, and the ratio to 1 thread uses the 1-thread wall-clock rate. Every "
      "configuration runs on std::threads (the same code path and malloc arenas). 'Cores "
      "used' is the threads' CPU time over the wall-clock time: 2.00 would be both of the "
      "machine's {} cores for the whole run; on this shared machine, what the other "
      "processes take shows there. Page faults (minor) and the kernel's share of the CPU time "
      "come from getrusage(RUSAGE_THREAD) (the kernel time is sampled at the scheduler's tick: "
      "rough).\n\n",
      std::thread::hardware_concurrency());
  fmt::print(
      "| configuration | handshakes/s, wall clock | handshakes/s per CPU second of a thread | "
      "cores used | page faults per handshake | kernel share of CPU |\n"
      "|---|---|---|---|---|---|\n");
  const char* names[configs] = {
      "session pairs, no listener, each server session destroyed at once (section 1's loop)",
      "session pairs, no listener, the server sessions kept until the end of the run",
      "listener, cookies off, 1 thread", "**listener, 1 thread**", "**listener, 2 threads**"};
  for (int which = 0; which < configs; ++which) {
    const auto& s = c[which];
    fmt::print("| {} | {} | {} | {} | {} | {} |\n", names[which],
               which >= one ? fmt::format("**{}**", cell(s.rate, 0)) : cell(s.rate, 0),
               cell(s.cpu_rate, 0), cell(s.cores, 2), cell(s.faults, 1), percent_cell(s.system));
  }
  fmt::print(
      "\n- 2 threads / 1 thread, wall clock: {} (2.000x would be perfect scaling); the two "
      "threads used {} cores between them.\n",
      ratio_cell(scale), num(c[two].cores.median(), 2));
  if (c[two].cores.median() < 1.5) {
    fmt::print(
        "- The two threads did not get two cores, so the wall-clock ratio measures what the "
        "machine gave this process, not the library.{}\n",
        autogroup_enabled()
            ? " The kernel's autogroup scheduling is on (/proc/sys/kernel/sched_autogroup_enabled "
              "= 1): CPU time is shared equally between sessions, so while another session keeps "
              "a core or more busy, this process gets about one core however many threads it "
              "runs."
            : "");
  }
  fmt::print(
      "- Handshakes per CPU second of a thread, 2 threads / 1 thread: {}. 1.000x means the "
      "threads did not slow each other down per CPU second; below it, something shared costs "
      "(a lock, a cache line written by both, or one core's caches taken by turns). What the "
      "wall-clock ratio misses of 2.000x beyond that is CPU time the threads did not get.\n",
      ratio_cell(efficiency));
  fmt::print(
      "- Listener / section 1's loop, per CPU second: {}, the product of three steps. Holding "
      "the server sessions instead of freeing each at once, pairs kept / section 1's loop: {} "
      "(fresh memory each time: the page faults and kernel time in the table, and cache "
      "misses). The listener itself (its lookups and bookkeeping, and 32 clients at a time), "
      "cookies off / pairs kept: {}. The cookie exchange (a second ClientHello, a "
      "HelloVerifyRequest, two HMAC-SHA256), cookies on / off: {}.\n",
      ratio_cell(overall), ratio_cell(holding_cost), ratio_cell(bookkeeping_cost),
      ratio_cell(cookie_cost));
  fmt::print(
      "- The listener's calls (handle_datagram, poll; timed apart with steady_clock) took {} of "
      "the 1-thread runs' time, the clients the rest: the server side alone would make about "
      "**{} handshakes/s per core** (the CPU rate over that share).\n",
      percent_cell(share), cell(server_rate, 0));
  const thread_run& t = last_one.threads[0];
  fmt::print(
      "- Per handshake on the wire: {:.1f} datagrams, {:.0f} bytes, both directions. The "
      "listener's counters after each run of {}: {} sessions created, {} HelloVerifyRequests, "
      "{} datagrams in, nothing rejected, dropped or replaced (checked).\n\n",
      t.datagrams, t.bytes, n, t.stats.sessions_created, t.stats.hello_verify_requests,
      t.stats.datagrams_in);
}

// ---- 6, continued: memory at many established sessions --------------------------------------

double in_use_delta(const struct mallinfo2& after, const struct mallinfo2& before) {
  return static_cast<double>(in_use(after)) - static_cast<double>(in_use(before));
}

double live(const heap_counts& h) {
  return static_cast<double>(h.ours_live + h.openssl_live);
}

// resident_bytes is the process's resident set (/proc/self/statm).
double resident_bytes() {
  std::size_t pages = 0, resident = 0;
  if (FILE* statm = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(statm, "%zu %zu", &pages, &resident) != 2) resident = 0;
    std::fclose(statm);
  }
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

void bench_listener_memory(const fixture& f, const options& o) {
  const int n = o.listener_sessions;
  const dtlspp_side side = f.dtlspp_at(1200);
  const int direct = std::max(n / 5, 1);
  const double kib = 1024;

  // Server sessions alone, no listener: section 1's handshakes, each client destroyed once
  // connected, the server ends kept (their slots reserved before the measure).
  double direct_heap = 0, direct_live = 0;
  {
    std::vector<std::optional<dtlspp_end>> servers(static_cast<std::size_t>(direct));
    wire c2s, s2c;
    std::uint64_t flights = 0;
    {
      // Warm-up: first-use costs (OpenSSL's caches, this thread's error state) are no session's.
      std::optional<dtlspp_end> client, server;
      side.make(client, server, c2s, s2c);
      if (!complete_handshake(*client, *server, c2s, s2c, flights)) die("handshake failed");
    }
    malloc_trim(0);
    const auto m0 = mallinfo2();
    const heap_counts h0 = heap();
    for (auto& server : servers) {
      std::optional<dtlspp_end> client;
      side.make(client, server, c2s, s2c);
      if (!complete_handshake(*client, *server, c2s, s2c, flights)) die("handshake failed");
    }
    direct_heap = in_use_delta(mallinfo2(), m0) / direct;
    direct_live = (live(heap()) - live(h0)) / direct;
  }

  // The listener: warm up with a small one, then measure.
  {
    listener_rig warm(side, 8);
    warm.open(0);
    warm.handshake(2 * listener_batch);
  }
  listener_rig rig(side, 9);  // the harness (wire, client slots) before the measure
  malloc_trim(0);
  const heap_counts h0 = heap();
  const double r0 = resident_bytes();
  rig.open(static_cast<std::size_t>(n));
  const heap_counts h1 = heap();
  const auto m1 = mallinfo2();
  const auto wall0 = clock::now();
  const thread_usage u0 = usage_now();
  rig.handshake(n);
  const thread_usage u1 = usage_now();
  const double wall = std::chrono::duration<double>(clock::now() - wall0).count();
  cpu_total += u1.cpu - u0.cpu;
  wall_total += wall;
  const auto m2 = mallinfo2();
  const heap_counts h2 = heap();
  const double r2 = resident_bytes();
  const dtlspp::listener_stats s = rig.listener->stats();
  if (s.sessions != static_cast<std::size_t>(n) || s.handshakes != 0 ||
      s.sessions_created != static_cast<std::uint64_t>(n) ||
      s.hello_verify_requests != static_cast<std::uint64_t>(n)) {
    die("listener: not every session is established");
  }
  rig.listener.reset();
  const heap_counts h3 = heap();

  const double empty = live(h1) - live(h0);
  const double heap_total = in_use_delta(m2, m1);
  const double per = heap_total / n;
  const double live_per = (live(h2) - live(h1)) / n;
  const double openssl_per = static_cast<double>(h2.openssl_live - h1.openssl_live) / n;
  const double ours_per = static_cast<double>(h2.ours_live - h1.ours_live) / n;
  const double rss = r2 - r0;
  const double cpu = u1.cpu - u0.cpu;
  const double faults = static_cast<double>(u1.faults - u0.faults) / n;

  fmt::print("### Memory at {} established sessions\n\n", n);
  fmt::print(
      "One listener, {} handshakes as above ({} clients at a time, each destroyed once its "
      "batch is connected on both sides and the final flight delivered), so that what is held "
      "at the end is the listener's side only. 'Heap' is mallinfo2() in-use bytes (arena + "
      "mmapped, chunk headers included), what the process pays; 'live' is the counting "
      "allocators' bytes (malloc_usable_size, no headers), split by allocator, and exact for "
      "small amounts, which mallinfo2 misses (glibc's per-thread cache keeps freed chunks it "
      "counts as in use). The harness is allocated before the first measure. 'Server sessions "
      "alone' holds {} server ends of section 1's loop without a listener, measured the same "
      "way: the difference is what the listener adds per session (its entry, the peer's "
      "address and the ClientHello's parameters as strings, the hash map's node and buckets, "
      "the idle timer's node).\n\n",
      n, listener_batch, direct);
  fmt::print("| | total | per session |\n|---|---|---|\n");
  fmt::print("| the empty listener (live) | {:.0f} B | |\n", empty);
  fmt::print(
      "| {} established sessions in one listener: heap | **{:.1f} MB** | **{:.0f} B ({:.1f} "
      "KiB)** |\n",
      n, heap_total / 1e6, per, per / kib);
  fmt::print("| the same, live: OpenSSL's + ours | {:.1f} MB | {:.0f} B = {:.0f} + {:.0f} |\n",
             live_per * n / 1e6, live_per, openssl_per, ours_per);
  fmt::print("| server sessions alone, no listener ({}): heap / live | | {:.0f} B / {:.0f} B |\n",
             direct, direct_heap, direct_live);
  fmt::print("| **the listener's own, per session** (live, the difference) | | **{:.0f} B** |\n",
             live_per - direct_live);
  fmt::print("| process resident set growth | {:.1f} MB | {:.0f} B ({:.1f} KiB) |\n", rss / 1e6,
             rss / n, rss / n / kib);
  fmt::print("| left after destroying the listener (live) | {:.0f} B | |\n\n", live(h3) - live(h0));
  const bool ok = per <= 40 * 1024;
  fmt::print(
      "Target: <= 40 KiB (40960 B) per established session in the listener: {} ({:.0f} B = "
      "server sessions alone {:.0f} B + the listener's own ~{:.0f} B and its chunk "
      "headers).\n\n",
      met(ok), per, direct_heap, live_per - direct_live);
  targets.push_back({fmt::format("memory per established session in a listener of {} <= 40 KiB", n),
                     fmt::format("{:.1f} KiB ({:.0f} B)", per / kib, per), ok});
  fmt::print(
      "{} sessions hold {:.0f} MB of heap ({:.0f} MB resident): the 24 GiB machine would hold "
      "about {:.0f} 000 such sessions by the heap figure. The resident growth is the page "
      "faults ({:.1f} per session, {:.1f} KiB) and {:.1f} KiB per session less than the heap: "
      "heap pages that are never written are never resident (most likely the parts of "
      "OpenSSL's 16 KiB record buffers that no record reaches). Establishing the sessions took "
      "{:.1f} s of CPU ({:.0f} handshakes/s per CPU second, clients included, while the "
      "listener grew from 0 to {} sessions; {:.1f} s wall clock).\n\n",
      n, heap_total / 1e6, rss / 1e6, 24.0 * (1ULL << 30) / per / 1000, faults,
      faults * static_cast<double>(sysconf(_SC_PAGESIZE)) / kib, (per - rss / n) / kib, cpu,
      n / cpu, n, wall);
}

// ---- the run -----------------------------------------------------------------------------

void print_header(const options& o) {
  fmt::print("# dtlspp benchmarks\n\n");
  fmt::print(
      "dtlspp {} beside raw {} ({}), same process, same identities, interleaved rounds. "
      "Figures are medians over {} rounds with [min-max]; ratios are dtlspp / raw per "
      "round, then their median. Higher is better for rates, lower for counts. Rates are per "
      "second "
      "of this thread's CPU time (CLOCK_THREAD_CPUTIME_ID): the work is single-threaded and "
      "CPU-bound, so on an idle machine CPU and wall-clock time agree, and on a shared one "
      "the time other processes took is left out (it still disturbs caches: trust the "
      "callgrind ratios over the timed ones where they differ). Section 6, which runs two "
      "threads, gives wall-clock rates too.\n\n",
      "0.1.0", OpenSSL_version(OPENSSL_VERSION), OpenSSL_version(OPENSSL_CPU_INFO), o.rounds);
}

void print_targets() {
  if (cpu_total > 0) {
    fmt::print(
        "Machine load during the timed parts: wall-clock time was {:.2f}x the CPU time "
        "measured (1.00 = the benchmark had a core to itself).\n\n",
        wall_total / cpu_total);
  }
  fmt::print("## Targets\n\n| target | measured | |\n|---|---|---|\n");
  for (const auto& t : targets)
    fmt::print("| {} | {} | {} |\n", t.name, t.value, met(t.met));
  fmt::print(
      "| instructions per record <= 1.05x raw | callgrind mode | see the callgrind table |\n\n");
}

// ---- --callgrind ---------------------------------------------------------------------------

#if DTLSPP_BENCH_CALLGRIND
// measured runs f(n) with callgrind collecting, and dumps the counts as "case=<name> n=<n>".
void measured(const char* name, int n, const std::function<void(int)>& f, int warm_up = 0) {
  f(warm_up > 0 ? warm_up : std::max(n / 10, 2));  // warm-up, not instrumented
  const std::string label = fmt::format("case={} n={}", name, n);
  CALLGRIND_START_INSTRUMENTATION;
  CALLGRIND_ZERO_STATS;
  f(n);
  CALLGRIND_DUMP_STATS_AT(label.c_str());
  CALLGRIND_STOP_INSTRUMENTATION;
}
#endif

int run_callgrind(const fixture& f) {
#if DTLSPP_BENCH_CALLGRIND
  if (!RUNNING_ON_VALGRIND) die("--callgrind: run me under valgrind --tool=callgrind");
  const int handshakes = 20;
  const int records = 2000;
  measured("handshake dtlspp", handshakes,
           [&](int n) { run_handshakes(f.dtlspp_at(1200), n, false); });
  measured("handshake raw", handshakes, [&](int n) { run_handshakes(f.raw_at(1200), n, false); });
  measured("handshake raw-default-groups", handshakes,
           [&](int n) { run_handshakes(f.raw_default_groups(), n, false); });
  measured("handshake raw-default-sigalgs", handshakes,
           [&](int n) { run_handshakes(f.raw_default_sigalgs(), n, false); });
  for (const auto& c : {record_case{"100", 1200, 100}, record_case{"1163", 1200, 1163},
                        record_case{"1200@1500", 1500, 1200}}) {
    pair<dtlspp_side> pd(f.dtlspp_at(c.mtu), c.mtu);
    pair<raw_side> pr(f.raw_at(c.mtu), c.mtu);
    pair<raw_side> pdef(f.raw_defensive_at(c.mtu), c.mtu);
    const std::vector<std::byte> payload(c.size, std::byte{0x5a});
    measured(fmt::format("record-{} dtlspp", c.label).c_str(), records,
             [&](int n) { run_records(pd, payload, n); });
    measured(fmt::format("record-{} raw", c.label).c_str(), records,
             [&](int n) { run_records(pr, payload, n); });
    measured(fmt::format("record-{} raw-defensive", c.label).c_str(), records,
             [&](int n) { run_records(pdef, payload, n); });
  }
  // Identities: dtlspp::identity::generate against the same certificate with X509_set_pubkey on
  // the generated key. RSA's prime search varies from key to key: few keys, rough figures.
  struct identity_case {
    const char* name;
    dtlspp::key_type d;
    raw::key_kind r;
    int n;
  };
  for (const auto& c :
       {identity_case{"p256", dtlspp::key_type::ecdsa_p256, raw::key_kind::p256, 20},
        identity_case{"p384", dtlspp::key_type::ecdsa_p384, raw::key_kind::p384, 20},
        identity_case{"ed25519", dtlspp::key_type::ed25519, raw::key_kind::ed25519, 20},
        identity_case{"rsa2048", dtlspp::key_type::rsa_2048, raw::key_kind::rsa2048, 3}}) {
    dtlspp::identity_options io;
    io.key = c.d;
    const int warm_up = c.n < 10 ? 1 : 0;
    measured(
        fmt::format("identity-{} dtlspp", c.name).c_str(), c.n,
        [&](int n) {
          for (int i = 0; i < n; ++i)
            static_cast<void>(dtlspp::identity::generate(io));
        },
        warm_up);
    measured(
        fmt::format("identity-{} raw", c.name).c_str(), c.n,
        [&](int n) {
          for (int i = 0; i < n; ++i)
            raw::build(c.r, raw::pubkey_path::set_pubkey).free();
        },
        warm_up);
  }
  return 0;
#else
  static_cast<void>(f);
  die("--callgrind: <valgrind/callgrind.h> was not found at build time (apt-get install valgrind)");
#endif
}

// ---- --sites -------------------------------------------------------------------------------

enum class which { both, ours, openssl };

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
    // The innermost four frames say enough.
    std::string stack = s.stack;
    std::size_t cut = 0;
    for (int frames = 0; frames < 4 && cut != std::string::npos; ++frames) {
      cut = stack.find(" < ", cut == 0 ? 0 : cut + 3);
    }
    if (cut != std::string::npos) stack = stack.substr(0, cut) + " < ...";
    fmt::print("| {} | `{}` | {:.2f} | {:.0f} | {} |\n", s.openssl ? "OpenSSL" : "ours", s.where,
               static_cast<double>(s.allocs) / per, static_cast<double>(s.live_bytes) / per, stack);
  }
  fmt::print("\n");
}

int run_sites(const fixture& f) {
  fmt::print(
      "## Allocation sites (diagnostics)\n\nWhere heap allocations are made, from the counting "
      "allocators: OpenSSL's by the file:line it passes to CRYPTO_malloc, ours by the first "
      "caller of operator new outside libstdc++. Stacks name this project's functions (addr2line "
      "on its symbol tables); in the stripped system libraries, the nearest exported symbol "
      "(module!symbol+offset) or, with none, the offset in the module (module@offset). 'Live "
      "bytes' are still held at the end (malloc_usable_size).\n\n");
  // Per record, steady state.
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
  // Per handshake.
  run_handshakes(f.dtlspp_at(1200), 5, false);
  start_sites();
  run_handshakes(f.dtlspp_at(1200), 20, false);
  stop_sites();
  print_sites("dtlspp, per handshake (both ends, 20 handshakes): OpenSSL's", 20, false, 12,
              which::openssl);
  print_sites("dtlspp, per handshake (both ends, 20 handshakes): ours", 20, false, 20, which::ours);
  // Idle memory by site.
  const int pairs = 100;
  auto idle_sites = [&](auto side, const char* name) {
    using end = typename decltype(side)::end;
    std::vector<std::optional<end>> clients(pairs), servers(pairs);  // harness, not recorded
    wire c2s, s2c;
    std::uint64_t flights = 0;
    start_sites();
    for (int i = 0; i < pairs; ++i) {
      side.make(clients[i], servers[i], c2s, s2c);
      if (!complete_handshake(*clients[i], *servers[i], c2s, s2c, flights)) die("handshake");
    }
    stop_sites();
    print_sites(fmt::format("{}, live memory per idle end ({} pairs)", name, pairs), 2.0 * pairs,
                true, std::getenv("DTLSPP_BENCH_SITES") ? 200 : 30);
    if (std::string_view(name) == "dtlspp") {
      print_sites(fmt::format("{}, live memory per idle end ({} pairs): ours", name, pairs),
                  2.0 * pairs, true, 12, which::ours);
    }
  };
  idle_sites(f.dtlspp_at(1200), "dtlspp");
  idle_sites(f.raw_at(1200), "raw OpenSSL");
  return 0;
}

}  // namespace
}  // namespace bench

int main(int argc, char** argv) {
  // First thing: OpenSSL's allocator can only be replaced before its first allocation.
  const bool hooked = bench::install_openssl_hooks();
  bench::options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&](std::string_view name, int& out) {
      if (a.substr(0, name.size()) != name || a.size() <= name.size() || a[name.size()] != '=') {
        return false;
      }
      out = std::atoi(argv[i] + name.size() + 1);
      return true;
    };
    if (a == "--callgrind") {
      o.callgrind = true;
    } else if (a == "--sites") {
      o.sites = true;
    } else if (a == "--quick") {
      o.rounds = 3;
      o.handshakes = 50;
      o.records = 20000;
      o.sessions = 200;
      o.experiment_sessions = 50;
      o.identities = 20;
      o.rsa_identities = 1;
      o.listener_handshakes = 50;
      o.listener_sessions = 1000;
    } else if (a.substr(0, 7) == "--only=") {
      o.only = std::string(a.substr(7));
    } else if (!value("--rounds", o.rounds) && !value("--handshakes", o.handshakes) &&
               !value("--records", o.records) && !value("--sessions", o.sessions) &&
               !value("--identities", o.identities) && !value("--rsa", o.rsa_identities) &&
               !value("--listener-handshakes", o.listener_handshakes) &&
               !value("--listener-sessions", o.listener_sessions)) {
      std::fprintf(stderr,
                   "usage: dtlspp_bench [--quick] [--rounds=N] [--handshakes=N] [--records=N] "
                   "[--sessions=N] [--identities=N] [--rsa=N] [--listener-handshakes=N] "
                   "[--listener-sessions=N] [--only=SECTION,...] | --callgrind | --sites\n");
      return 2;
    }
  }
  if (!hooked) bench::die("CRYPTO_set_mem_functions failed: OpenSSL allocated before main");

  const bench::fixture f;
  if (o.callgrind) return bench::run_callgrind(f);
  if (o.sites) return bench::run_sites(f);

  bench::print_header(o);
  if (o.wants("handshakes")) bench::bench_handshakes(f, o);
  if (o.wants("records")) bench::bench_records(f, o);
  if (o.wants("handshakes") && o.wants("records")) {
    fmt::print(
        "## 3. Heap allocations\n\nPer handshake: in the table of section 1. Per record: "
        "in the table of section 2, and with memory-saving settings in section 4.\n\n");
  }
  if (o.wants("memory")) bench::bench_memory(f, o);
  if (o.wants("identities")) bench::bench_identities(o);
  if (o.wants("listener")) {
    bench::bench_listener(f, o);
    bench::bench_listener_memory(f, o);
  }
  bench::print_targets();
  return 0;
}
