// bench/memory.cpp: section 4, the heap an idle established session end holds, dtlspp beside raw
// OpenSSL as is, with max_send_fragment, and with SSL_free_buffers when idle (OpenSSL's floor);
// and what SSL_free_buffers followed by a write does, in a child process.
#include <fmt/format.h>
#include <malloc.h>
#include <openssl/ssl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bench.hpp"
#include "workloads.hpp"

namespace bench {
namespace {

struct memory_run {
  double heap_per_end = 0;         // heap_in_use(), per end
  double openssl_per_end = 0;      // live bytes from OpenSSL's allocator, per end
  double ours_per_end = 0;         // live bytes from operator new, per end
  double first_record_allocs = 0;  // allocations of the first record each way afterwards
};

// first_record_allocs sends one 100 B record each way on an established pair and returns the
// allocations it made: what waking an idle association costs.
template <class End>
double first_record_allocs(End& client, End& server, wire& c2s, wire& s2c) {
  const std::byte payload[100] = {};
  const heap_counts w0 = heap();
  client.send(payload);
  deliver(c2s, server);
  server.send(payload);
  deliver(s2c, client);
  const heap_counts w1 = heap();
  return static_cast<double>(w1.ours_allocs - w0.ours_allocs + w1.openssl_allocs -
                             w0.openssl_allocs);
}

// idle_memory establishes `pairs` associations, calls idle(end) on both ends of each once it
// is connected, keeps them all, and measures the heap they hold per end. Then one record each
// way on the first pair tells what waking an idle association costs in allocations.
template <class Side>
memory_run idle_memory(const Side& side, int pairs,
                       const std::function<void(typename Side::end&)>& idle = {}) {
  std::vector<std::optional<typename Side::end>> clients(pairs), servers(pairs);
  wire c2s, s2c;
  malloc_trim(0);
  const double m0 = heap_in_use();
  const heap_counts h0 = heap();
  establish_all(side, clients, servers, c2s, s2c, idle);
  const double m1 = heap_in_use();
  const heap_counts h1 = heap();
  memory_run out;
  const double ends = 2.0 * pairs;
  out.heap_per_end = (m1 - m0) / ends;
  out.openssl_per_end = static_cast<double>(h1.openssl_live - h0.openssl_live) / ends;
  out.ours_per_end = static_cast<double>(h1.ours_live - h0.ours_live) / ends;
  out.first_record_allocs = first_record_allocs(*clients[0], *servers[0], c2s, s2c);
  return out;
}

void print_memory_row(std::string_view name, const memory_run& m, int pairs) {
  fmt::print("| {} | {} | {:.0f} ({:.1f} KiB) | {:.0f} | {:.0f} | {:.0f} |\n", name, 2 * pairs,
             m.heap_per_end, m.heap_per_end / 1024, m.openssl_per_end, m.ours_per_end,
             m.first_record_allocs);
}

void print_intro() {
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
}

// measure_idle prints the table of heap per idle end and adds the idle-memory target.
void measure_idle(const fixture& f, const options& o) {
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
}

// outcome says how the child of try_free_buffers ended.
std::string outcome(int status) {
  if (WIFSIGNALED(status)) {
    return fmt::format(
        "**killed by signal {} ({})** in the first SSL_write after "
        "SSL_free_buffers returned 1",
        WTERMSIG(status), strsignal(WTERMSIG(status)));
  }
  const int code = WEXITSTATUS(status);
  return code == 0   ? "the record went through"
         : code == 3 ? "SSL_free_buffers refused (returned 0)"
                     : fmt::format("failed (exit {})", code);
}

// try_free_buffers calls SSL_free_buffers on both ends of an idle association, then sends one
// 100 B record, in a child process so that a crash is only observed, and prints the row that
// says what happened. OpenSSL 3.0's DTLS write path (do_dtls1_write) never sets the write buffer
// up again, so a raw SSL_write dereferences a null buffer.
template <class Side>
void try_free_buffers(const Side& side, std::string_view name) {
  std::fflush(stdout);
  const pid_t child = fork();
  if (child == 0) {
    pair<Side> pd(side, 1200);
    if (SSL_free_buffers(Side::ssl(*pd.client)) != 1 ||
        SSL_free_buffers(Side::ssl(*pd.server)) != 1) {
      _exit(3);
    }
    const std::byte payload[100] = {};
    if (!pd.client->send(payload)) _exit(4);
    deliver(pd.c2s, *pd.server);
    _exit(pd.server->records_received == 1 ? 0 : 5);
  }
  int status = 0;
  waitpid(child, &status, 0);
  fmt::print("| {} | {} |\n", name, outcome(status));
}

}  // namespace

void bench_memory(const fixture& f, const options& o) {
  print_intro();
  measure_idle(f, o);
  fmt::print(
      "SSL_free_buffers on an idle DTLS association, then one 100 B record each way, in "
      "a child process:\n\n| library | what happened |\n|---|---|\n");
  try_free_buffers(f.raw_at(1200), "raw OpenSSL, SSL_write at once");
  try_free_buffers(f.dtlspp_at(1200), "dtlspp (SSL_alloc_buffers before every write)");
  fmt::print("\n");
}

}  // namespace bench
