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
//
// This file reads the arguments, runs the sections in order and writes the header and the
// summary of the targets; each section is in a file of its own (bench.hpp lists them).
#include <fmt/format.h>
#include <openssl/crypto.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "bench.hpp"
#include "heap_count.hpp"

namespace bench {
namespace {

// quick sets the small counts of --quick: a smoke test of every section in ~15 s.
void quick(options& o) {
  o.rounds = 3;
  o.handshakes = 50;
  o.records = 20000;
  o.sessions = 200;
  o.experiment_sessions = 50;
  o.identities = 20;
  o.rsa_identities = 1;
  o.listener_handshakes = 50;
  o.listener_sessions = 1000;
}

// count_option reads "--name=N" into out; false when a is another argument.
bool count_option(std::string_view a, std::string_view name, int& out) {
  if (a.substr(0, name.size()) != name || a.size() <= name.size() || a[name.size()] != '=') {
    return false;
  }
  out = std::atoi(a.data() + name.size() + 1);
  return true;
}

// parse reads one argument into o; false when it is not one.
bool parse(std::string_view a, options& o) {
  if (a == "--callgrind") {
    o.callgrind = true;
  } else if (a == "--sites") {
    o.sites = true;
  } else if (a == "--quick") {
    quick(o);
  } else if (a.substr(0, 7) == "--only=") {
    o.only = std::string(a.substr(7));
  } else {
    return count_option(a, "--rounds", o.rounds) || count_option(a, "--handshakes", o.handshakes) ||
           count_option(a, "--records", o.records) || count_option(a, "--sessions", o.sessions) ||
           count_option(a, "--identities", o.identities) ||
           count_option(a, "--rsa", o.rsa_identities) ||
           count_option(a, "--listener-handshakes", o.listener_handshakes) ||
           count_option(a, "--listener-sessions", o.listener_sessions);
  }
  return true;
}

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

// print_allocations_note is section 3: its figures are in sections 1, 2 and 4.
void print_allocations_note() {
  fmt::print(
      "## 3. Heap allocations\n\nPer handshake: in the table of section 1. Per record: "
      "in the table of section 2, and with memory-saving settings in section 4.\n\n");
}

// print_targets prints the machine load of the timed parts and every target the sections
// evaluated, with its verdict.
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

// run_sections runs the sections o asks for, in order, then the summary.
void run_sections(const fixture& f, const options& o) {
  print_header(o);
  if (o.wants("handshakes")) bench_handshakes(f, o);
  if (o.wants("records")) bench_records(f, o);
  if (o.wants("handshakes") && o.wants("records")) print_allocations_note();
  if (o.wants("memory")) bench_memory(f, o);
  if (o.wants("identities")) bench_identities(o);
  if (o.wants("listener")) {
    bench_listener(f, o);
    bench_listener_memory(f, o);
  }
  print_targets();
}

}  // namespace
}  // namespace bench

int main(int argc, char** argv) {
  // First thing: OpenSSL's allocator can only be replaced before its first allocation.
  const bool hooked = bench::install_openssl_hooks();
  bench::options o;
  for (int i = 1; i < argc; ++i) {
    if (!bench::parse(argv[i], o)) {
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
  bench::run_sections(f, o);
  return 0;
}
