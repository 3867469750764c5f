// bench/bench.hpp: what every part of dtlspp_bench shares: the options, the clock, the
// statistics and table cells, the targets, the identities and contexts built once, and the
// entry point of each section (one file each).
#pragma once

#include <dtlspp/dtlspp.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "endpoints.hpp"
#include "heap_count.hpp"
#include "raw_dtls.hpp"

namespace bench {

using clock = std::chrono::steady_clock;

// die prints what went wrong and OpenSSL's error queue on stderr, and ends the program (exit
// status 1): a harness that cannot do what it measures stops rather than print figures.
[[noreturn]] void die(std::string_view what);

// options are the counts of a run (main reads them from the arguments) and the mode.
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
  // wants says whether to run `section`: every section when `only` is empty, else those it
  // names.
  bool wants(std::string_view section) const;
};

// ---- time ----------------------------------------------------------------------------------

// thread_cpu_seconds is this thread's CPU time so far (CLOCK_THREAD_CPUTIME_ID).
double thread_cpu_seconds();

// cpu_total and wall_total sum the CPU and wall-clock seconds of every timed part, for the
// machine-load line at the end (wall_total / cpu_total).
extern double cpu_total;
extern double wall_total;

// stopwatch measures the CPU time of this thread: the work measured is single-threaded and
// CPU-bound, so on an idle machine it equals the wall-clock time, and on a shared one it leaves
// out the time the scheduler gave to other processes. seconds() also adds to cpu_total and
// wall_total.
struct stopwatch {
  double cpu = thread_cpu_seconds();
  clock::time_point wall = clock::now();
  // seconds returns the CPU seconds since construction.
  double seconds() const;
};

// ---- memory --------------------------------------------------------------------------------

// heap_in_use is the heap glibc counts in use: mallinfo2()'s arena and mmapped bytes, chunk
// headers included, what the process pays.
double heap_in_use();

// live is the bytes both counting allocators hold (heap_count.hpp): no chunk headers.
double live(const heap_counts& h);

// ---- statistics and table cells --------------------------------------------------------------

// series holds one figure per round.
struct series {
  std::vector<double> v;
  void add(double x) { v.push_back(x); }
  double median() const;
  double min() const;
  double max() const;
};

// ratios returns a[i] / b[i] for each round.
series ratios(const series& a, const series& b);

// num prints x with `precision` decimals.
std::string num(double x, int precision);
// cell prints "median [min-max]".
std::string cell(const series& s, int precision);
// ratio_cell prints "**median x** [min-max]", three decimals.
std::string ratio_cell(const series& r);
// percent_cell prints "median% [min-max%]", one decimal.
std::string percent_cell(const series& s);
// met prints a target's verdict.
std::string met(bool yes);

// rotated runs run(round, which) for every `which` in [0, k) in each round, starting one later
// each round (0 1 2, 1 2 0, 2 0 1, ...), so that drift and warm caches hit every variant alike;
// then end_of_round(round), when set.
void rotated(int rounds, int k, const std::function<void(int round, int which)>& run,
             const std::function<void(int round)>& end_of_round = {});

// interleave runs a(round) and b(round) for each round, alternating which goes first.
void interleave(int rounds, const std::function<void(int)>& a, const std::function<void(int)>& b);

// ---- targets -------------------------------------------------------------------------------

// target is one of the benchmark's targets as a section evaluated it; main prints them all in a
// summary at the end, in the order they were added.
struct target {
  std::string name;
  std::string value;
  bool met;
};
extern std::vector<target> targets;

// ---- the fixture: identities and contexts, built once ----------------------------------------

// fixture holds what every section uses: one ECDSA P-256 identity per peer, shared by dtlspp
// and the raw baseline (the same certificates, so the same bytes on the wire), and the contexts
// of every variant compared, at MTU 1200 and 1500.
struct fixture {
  dtlspp::identity client_id = dtlspp::identity::generate();
  dtlspp::identity server_id = dtlspp::identity::generate();

  static dtlspp::context_options options(const dtlspp::identity& id, std::size_t mtu);

  dtlspp::context client_ctx{options(client_id, 1200)};
  dtlspp::context server_ctx{options(server_id, 1200)};
  dtlspp::context client_ctx_1500{options(client_id, 1500)};
  dtlspp::context server_ctx_1500{options(server_id, 1500)};

  // raw_context builds a raw baseline context around an identity (borrowed: the fixture keeps
  // the identities alive).
  using raw_handle = std::unique_ptr<raw::context>;
  static raw_handle raw_context(const dtlspp::identity& id, raw::policy p);
  // dtlspp's policy at MTU 1200, with the honest loop (raw::loop::minimal).
  raw_handle raw_client = raw_context(client_id, {});
  raw_handle raw_server = raw_context(server_id, {});
  // OpenSSL's default groups.
  raw_handle raw_client_default = raw_context(client_id, {raw::groups::openssl_default, 1200});
  raw_handle raw_server_default = raw_context(server_id, {raw::groups::openssl_default, 1200});
  // dtlspp's policy before it offered only its own signature algorithms (OpenSSL's default list).
  raw_handle raw_client_default_sigalgs = raw_context(
      client_id,
      {raw::groups::same_as_dtlspp, 1200, raw::loop::minimal, raw::sigalgs::openssl_default});
  raw_handle raw_server_default_sigalgs = raw_context(
      server_id,
      {raw::groups::same_as_dtlspp, 1200, raw::loop::minimal, raw::sigalgs::openssl_default});
  // dtlspp's policy at MTU 1500.
  raw_handle raw_client_1500 = raw_context(client_id, {raw::groups::same_as_dtlspp, 1500});
  raw_handle raw_server_1500 = raw_context(server_id, {raw::groups::same_as_dtlspp, 1500});
  // The former baseline's loop (raw::loop::defensive), for the callgrind table's extra rows.
  raw_handle raw_client_defensive =
      raw_context(client_id, {raw::groups::same_as_dtlspp, 1200, raw::loop::defensive});
  raw_handle raw_server_defensive =
      raw_context(server_id, {raw::groups::same_as_dtlspp, 1200, raw::loop::defensive});
  raw_handle raw_client_defensive_1500 =
      raw_context(client_id, {raw::groups::same_as_dtlspp, 1500, raw::loop::defensive});
  raw_handle raw_server_defensive_1500 =
      raw_context(server_id, {raw::groups::same_as_dtlspp, 1500, raw::loop::defensive});

  raw::sha256 client_fp = raw::sha256_fingerprint(client_id.certificate().native_handle());
  raw::sha256 server_fp = raw::sha256_fingerprint(server_id.certificate().native_handle());

  // dtlspp_at is dtlspp at an MTU (1200 or 1500).
  dtlspp_side dtlspp_at(std::size_t mtu) const;
  // raw_at is the honest baseline (raw::loop::minimal) at an MTU.
  raw_side raw_at(std::size_t mtu) const;
  // raw_defensive_at is the former baseline's loop (raw::loop::defensive) at an MTU.
  raw_side raw_defensive_at(std::size_t mtu) const;
  raw_side raw_default_groups() const;
  raw_side raw_default_sigalgs() const;
};

// ---- the sections ----------------------------------------------------------------------------
// Each prints its part of the markdown and adds its targets; main runs them in this order.

void bench_handshakes(const fixture& f, const options& o);       // 1. handshakes.cpp
void bench_records(const fixture& f, const options& o);          // 2. records.cpp
void bench_memory(const fixture& f, const options& o);           // 4. memory.cpp
void bench_identities(const options& o);                         // 5. identities.cpp
void bench_listener(const fixture& f, const options& o);         // 6. listener.cpp
void bench_listener_memory(const fixture& f, const options& o);  // 6. listener_memory.cpp

// The other modes: each returns main's exit status.
int run_callgrind(const fixture& f);  // --callgrind: callgrind.cpp
int run_sites(const fixture& f);      // --sites: sites.cpp

}  // namespace bench
