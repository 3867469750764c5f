// bench/listener_memory.cpp: section 6, continued: the memory one listener holds at many
// established sessions (10 000 by default), per session, split by allocator, against server
// sessions held without a listener; the resident set; and what is left after its destruction.
#include <fmt/format.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <vector>

#include "bench.hpp"
#include "listener_rig.hpp"
#include "workloads.hpp"

namespace bench {
namespace {

constexpr double kib = 1024;

// resident_bytes is the process's resident set (/proc/self/statm).
double resident_bytes() {
  std::size_t pages = 0, resident = 0;
  if (FILE* statm = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(statm, "%zu %zu", &pages, &resident) != 2) resident = 0;
    std::fclose(statm);
  }
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

// alone is the heap and live bytes per server session held without a listener.
struct alone {
  int sessions = 0;
  double heap = 0;
  double live = 0;
};

// server_sessions_alone runs section 1's handshakes, each client destroyed once connected, and
// keeps `sessions` server ends (their slots reserved before the measure).
alone server_sessions_alone(const dtlspp_side& side, int sessions) {
  std::vector<std::optional<dtlspp_end>> servers(static_cast<std::size_t>(sessions));
  wire c2s, s2c;
  std::uint64_t flights = 0;
  {
    // Warm-up: first-use costs (OpenSSL's caches, this thread's error state) are no session's.
    std::optional<dtlspp_end> client, server;
    establish(side, client, server, c2s, s2c, flights);
  }
  malloc_trim(0);
  const double m0 = heap_in_use();
  const heap_counts h0 = heap();
  for (auto& server : servers) {
    std::optional<dtlspp_end> client;
    establish(side, client, server, c2s, s2c, flights);
  }
  return {sessions, (heap_in_use() - m0) / sessions, (live(heap()) - live(h0)) / sessions};
}

// held is what one listener of n sessions holds, from the measures around its life.
struct held {
  int n = 0;
  double empty = 0;        // the empty listener, live bytes
  double heap_total = 0;   // heap_in_use() gained by the n handshakes
  double live_per = 0;     // live bytes per session: OpenSSL's + ours
  double openssl_per = 0;  // of which OpenSSL's
  double ours_per = 0;     // of which ours
  double rss = 0;          // resident set growth, from before the listener
  double left = 0;         // live bytes left after destroying the listener
  thread_run run;          // the n handshakes
  double per() const { return heap_total / n; }
};

// check_established ends the program unless the listener holds n sessions, all established.
void check_established(const dtlspp::listener& l, int n) {
  const dtlspp::listener_stats s = l.stats();
  if (s.sessions != static_cast<std::size_t>(n) || s.handshakes != 0 ||
      s.sessions_created != static_cast<std::uint64_t>(n) ||
      s.hello_verify_requests != static_cast<std::uint64_t>(n)) {
    die("listener: not every session is established");
  }
}

// measure_listener warms up with a small listener, then establishes n sessions in a fresh one
// and measures what it holds, then destroys it.
held measure_listener(const dtlspp_side& side, int n) {
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
  const double m1 = heap_in_use();
  run_clock watch(n);
  rig.handshake(n);
  held out{.n = n, .run = watch.finish()};
  cpu_total += out.run.used.cpu;
  wall_total += out.run.wall();
  out.heap_total = heap_in_use() - m1;
  const heap_counts h2 = heap();
  out.rss = resident_bytes() - r0;
  check_established(*rig.listener, n);
  rig.listener.reset();
  out.empty = live(h1) - live(h0);
  out.live_per = (live(h2) - live(h1)) / n;
  out.openssl_per = static_cast<double>(h2.openssl_live - h1.openssl_live) / n;
  out.ours_per = static_cast<double>(h2.ours_live - h1.ours_live) / n;
  out.left = live(heap()) - live(h0);
  return out;
}

void print_intro(int n, int direct) {
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
}

void print_table(const held& h, const alone& a) {
  const int n = h.n;
  fmt::print("| | total | per session |\n|---|---|---|\n");
  fmt::print("| the empty listener (live) | {:.0f} B | |\n", h.empty);
  fmt::print(
      "| {} established sessions in one listener: heap | **{:.1f} MB** | **{:.0f} B ({:.1f} "
      "KiB)** |\n",
      n, h.heap_total / 1e6, h.per(), h.per() / kib);
  fmt::print("| the same, live: OpenSSL's + ours | {:.1f} MB | {:.0f} B = {:.0f} + {:.0f} |\n",
             h.live_per * n / 1e6, h.live_per, h.openssl_per, h.ours_per);
  fmt::print("| server sessions alone, no listener ({}): heap / live | | {:.0f} B / {:.0f} B |\n",
             a.sessions, a.heap, a.live);
  fmt::print("| **the listener's own, per session** (live, the difference) | | **{:.0f} B** |\n",
             h.live_per - a.live);
  fmt::print("| process resident set growth | {:.1f} MB | {:.0f} B ({:.1f} KiB) |\n", h.rss / 1e6,
             h.rss / n, h.rss / n / kib);
  fmt::print("| left after destroying the listener (live) | {:.0f} B | |\n\n", h.left);
}

// print_target prints the per-session target's verdict and adds it to the targets.
void print_target(const held& h, const alone& a) {
  const double per = h.per();
  const bool ok = per <= 40 * 1024;
  fmt::print(
      "Target: <= 40 KiB (40960 B) per established session in the listener: {} ({:.0f} B = "
      "server sessions alone {:.0f} B + the listener's own ~{:.0f} B and its chunk "
      "headers).\n\n",
      met(ok), per, a.heap, h.live_per - a.live);
  targets.push_back(
      {fmt::format("memory per established session in a listener of {} <= 40 KiB", h.n),
       fmt::format("{:.1f} KiB ({:.0f} B)", per / kib, per), ok});
}

// print_summary prints how many sessions the machine would hold, the resident set against the
// heap, and the time establishing them took.
void print_summary(const held& h) {
  const int n = h.n;
  const double per = h.per();
  const double cpu = h.run.used.cpu;
  const double faults = static_cast<double>(h.run.used.faults) / n;
  fmt::print(
      "{} sessions hold {:.0f} MB of heap ({:.0f} MB resident): the 24 GiB machine would hold "
      "about {:.0f} 000 such sessions by the heap figure. The resident growth is the page "
      "faults ({:.1f} per session, {:.1f} KiB) and {:.1f} KiB per session less than the heap: "
      "heap pages that are never written are never resident (most likely the parts of "
      "OpenSSL's 16 KiB record buffers that no record reaches). Establishing the sessions took "
      "{:.1f} s of CPU ({:.0f} handshakes/s per CPU second, clients included, while the "
      "listener grew from 0 to {} sessions; {:.1f} s wall clock).\n\n",
      n, h.heap_total / 1e6, h.rss / 1e6, 24.0 * (1ULL << 30) / per / 1000, faults,
      faults * static_cast<double>(sysconf(_SC_PAGESIZE)) / kib, (per - h.rss / n) / kib, cpu,
      n / cpu, n, h.run.wall());
}

}  // namespace

void bench_listener_memory(const fixture& f, const options& o) {
  const int n = o.listener_sessions;
  const dtlspp_side side = f.dtlspp_at(1200);
  const alone a = server_sessions_alone(side, std::max(n / 5, 1));
  const held h = measure_listener(side, n);
  print_intro(n, a.sessions);
  print_table(h, a);
  print_target(h, a);
  print_summary(h);
}

}  // namespace bench
