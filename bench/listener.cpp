// bench/listener.cpp: section 6, handshakes per second through a dtlspp::listener with 1 and 2
// threads, in wall-clock time and per CPU second, beside section 1's loop, the same with the
// server sessions kept, and the listener with cookies off, to split the cost.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <latch>
#include <optional>
#include <thread>
#include <vector>

#include "bench.hpp"
#include "listener_rig.hpp"
#include "workloads.hpp"

namespace bench {
namespace {

// listener_handshakes times n handshakes through a fresh listener: from the first client to
// the listener's destruction (the server sessions' teardown belongs to a handshake, as in
// section 1). The rig is built before `start`, which all threads of a configuration pass
// together. Listener statistics other than n sessions (and n HelloVerifyRequests with cookies)
// end the program.
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
    establish(side, client, server, c2s, s2c, flights);
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

// on_threads runs work(i, start) on k std::threads and sums what they did.
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

// The five configurations, in the table's order.
enum { pairs, pairs_kept, no_cookies, one, two, configs };

const char* const config_names[configs] = {
    "session pairs, no listener, each server session destroyed at once (section 1's loop)",
    "session pairs, no listener, the server sessions kept until the end of the run",
    "listener, cookies off, 1 thread", "**listener, 1 thread**", "**listener, 2 threads**"};

// run_config times configuration `which` once, n handshakes per thread, on std::threads.
config_run run_config(const dtlspp_side& side, int n, int which) {
  switch (which) {
    case pairs:
    case pairs_kept:
      return on_threads(
          1, [&](int, std::latch& s) { return pair_handshakes(side, n, which == pairs_kept, s); });
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

// results holds every round's figures and the ratios between configurations.
struct results {
  config_series c[configs];
  series scale, efficiency, cookie_cost, bookkeeping_cost, holding_cost, overall, share,
      server_rate;
  config_run last_one;  // the last round's 1-thread listener run

  // add takes one round's runs of every configuration.
  void add(const config_run (&r)[configs]) {
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
};

// measure warms every configuration up, then runs each once per round, in rotated order.
results measure(const dtlspp_side& side, const options& o) {
  const int n = o.listener_handshakes;
  // Warm-up: first-use costs, and the threads' malloc arenas.
  for (int which = 0; which < configs; ++which)
    run_config(side, n, which);
  results out;
  config_run r[configs];
  rotated(
      o.rounds, configs, [&](int, int which) { r[which] = run_config(side, n, which); },
      [&](int) { out.add(r); });
  return out;
}

// autogroup_enabled: whether the scheduler shares CPU time between sessions rather than threads.
bool autogroup_enabled() {
  int on = 0;
  if (FILE* file = std::fopen("/proc/sys/kernel/sched_autogroup_enabled", "r")) {
    if (std::fscanf(file, "%d", &on) != 1) on = 0;
    std::fclose(file);
  }
  return on == 1;
}

void print_intro(const options& o) {
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
      listener_batch, o.rounds, o.listener_handshakes);
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
}

void print_table(const results& x) {
  fmt::print(
      "| configuration | handshakes/s, wall clock | handshakes/s per CPU second of a thread | "
      "cores used | page faults per handshake | kernel share of CPU |\n"
      "|---|---|---|---|---|---|\n");
  for (int which = 0; which < configs; ++which) {
    const auto& s = x.c[which];
    fmt::print("| {} | {} | {} | {} | {} | {} |\n", config_names[which],
               which >= one ? fmt::format("**{}**", cell(s.rate, 0)) : cell(s.rate, 0),
               cell(s.cpu_rate, 0), cell(s.cores, 2), cell(s.faults, 1), percent_cell(s.system));
  }
}

// print_scaling prints what the second thread brought, and why when the threads did not get
// two cores.
void print_scaling(const results& x) {
  fmt::print(
      "\n- 2 threads / 1 thread, wall clock: {} (2.000x would be perfect scaling); the two "
      "threads used {} cores between them.\n",
      ratio_cell(x.scale), num(x.c[two].cores.median(), 2));
  if (x.c[two].cores.median() < 1.5) {
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
      ratio_cell(x.efficiency));
}

// print_costs prints the listener's cost split into steps, its share of the time, and what one
// handshake puts on the wire.
void print_costs(const results& x, int n) {
  fmt::print(
      "- Listener / section 1's loop, per CPU second: {}, the product of three steps. Holding "
      "the server sessions instead of freeing each at once, pairs kept / section 1's loop: {} "
      "(fresh memory each time: the page faults and kernel time in the table, and cache "
      "misses). The listener itself (its lookups and bookkeeping, and 32 clients at a time), "
      "cookies off / pairs kept: {}. The cookie exchange (a second ClientHello, a "
      "HelloVerifyRequest, two HMAC-SHA256), cookies on / off: {}.\n",
      ratio_cell(x.overall), ratio_cell(x.holding_cost), ratio_cell(x.bookkeeping_cost),
      ratio_cell(x.cookie_cost));
  fmt::print(
      "- The listener's calls (handle_datagram, poll; timed apart with steady_clock) took {} of "
      "the 1-thread runs' time, the clients the rest: the server side alone would make about "
      "**{} handshakes/s per core** (the CPU rate over that share).\n",
      percent_cell(x.share), cell(x.server_rate, 0));
  const thread_run& t = x.last_one.threads[0];
  fmt::print(
      "- Per handshake on the wire: {:.1f} datagrams, {:.0f} bytes, both directions. The "
      "listener's counters after each run of {}: {} sessions created, {} HelloVerifyRequests, "
      "{} datagrams in, nothing rejected, dropped or replaced (checked).\n\n",
      t.datagrams, t.bytes, n, t.stats.sessions_created, t.stats.hello_verify_requests,
      t.stats.datagrams_in);
}

}  // namespace

void bench_listener(const fixture& f, const options& o) {
  const dtlspp_side side = f.dtlspp_at(1200);  // one server and one client context for all
  const results x = measure(side, o);
  print_intro(o);
  print_table(x);
  print_scaling(x);
  print_costs(x, o.listener_handshakes);
}

}  // namespace bench
