// alloc_failure_test: every OpenSSL allocation on the handshake, data and teardown paths fails
// once, in turn, and dtlspp must neither crash nor leak, must report an error (or finish the
// work), and must leave other sessions alone.
//
// OpenSSL's allocations go through CRYPTO_set_mem_functions, installed first thing in main()
// (before OpenSSL allocates anything). Only allocations made while a "victim" pair is being
// driven are counted and can fail; a bystander pair, built before, must keep working. A live-
// allocation count (our allocator tags each block) shows leaks without a leak checker; the
// sanitizer build adds LeakSanitizer on top.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <openssl/crypto.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

#include "harness.hpp"

using namespace dtlspp;
using namespace dtlspp::test;

namespace {

// ---- the failing allocator -------------------------------------------------------------------

struct allocator_state {
  bool armed = false;  // counting (and maybe failing) the victim's allocations
  long counted = 0;    // allocations counted since arming
  long fail_at = 0;    // the counted allocation that fails (0: none)
  long live = 0;       // blocks OpenSSL holds now
};
allocator_state allocs;  // single-threaded test: no locking needed

constexpr std::size_t header = alignof(std::max_align_t);

// slack is how many blocks OpenSSL may keep between runs without leaking: the error queue's 16
// slots each keep their text buffer for reuse after ERR_clear_error. A leak would grow with
// every one of thousands of runs; LeakSanitizer, in the sanitizer build, checks exactly.
constexpr long slack = 32;

bool should_fail() {
  if (!allocs.armed) return false;
  return ++allocs.counted == allocs.fail_at;
}

void* failing_malloc(std::size_t size, const char*, int) {
  if (should_fail()) return nullptr;
  auto* p = static_cast<unsigned char*>(std::malloc(size + header));
  if (p == nullptr) return nullptr;
  ++allocs.live;
  return p + header;
}

void* failing_realloc(void* ptr, std::size_t size, const char* file, int line) {
  if (ptr == nullptr) return failing_malloc(size, file, line);
  if (should_fail()) return nullptr;  // the old block stays valid, as realloc promises
  auto* base = static_cast<unsigned char*>(ptr) - header;
  auto* p = static_cast<unsigned char*>(std::realloc(base, size + header));
  return p == nullptr ? nullptr : p + header;
}

void failing_free(void* ptr, const char*, int) {
  if (ptr == nullptr) return;
  --allocs.live;
  std::free(static_cast<unsigned char*>(ptr) - header);
}

// armed counts (and fails the n-th of) the allocations made during its lifetime.
struct armed {
  explicit armed(long fail_at) {
    allocs.counted = 0;
    allocs.fail_at = fail_at;
    allocs.armed = true;
  }
  ~armed() { allocs.armed = false; }
};

// ---- the paths --------------------------------------------------------------------------------

struct outcome {
  bool connected = false;
  bool error_reported = false;
};

// ends holds two contexts and the fingerprints each expects, computed before any allocation is
// armed (computing a fingerprint allocates inside OpenSSL, and that is test code, not dtlspp's).
struct ends {
  context client, server;
  fingerprint client_fp, server_fp;
  ends()
      : client(client_context()),
        server(server_context()),
        client_fp(client.identity().fingerprint()),
        server_fp(server.identity().fingerprint()) {}
};

// run_handshake builds a pair and runs its handshake to its end, timers included: a datagram
// lost to a failed allocation is retransmitted, as one lost on the network would be, until the
// handshake completes or its deadline passes (virtual time: no waiting). A session constructor
// may throw dtlspp::error when OpenSSL cannot allocate: setup reports errors by exception, and
// that counts as an error reported.
outcome run_handshake(const ends& e) {
  outcome o;
  try {
    pair p(e.client, expect({e.server_fp}), e.server, expect({e.client_fp}));
    p.handshake(std::chrono::minutes(1));
    o.connected = p.connected();
    o.error_reported = p.terminal(side::client) || p.terminal(side::server);
  } catch (const dtlspp::error& err) {
    o.error_reported = err.code() == errc::crypto_failure;
  }
  return o;
}

outcome run_data(pair& p) {
  outcome o;
  o.connected =
      p.transfer(side::client, "under allocation failure") && p.transfer(side::server, "and back");
  o.error_reported = p.terminal(side::client) || p.terminal(side::server);
  return o;
}

// count_allocations returns how many OpenSSL allocations f makes.
template <class F>
long count_allocations(F f) {
  armed a(0);
  f();
  return allocs.counted;
}

// run_teardown connects a pair without timers and closes it from the client.
void run_teardown(const ends& e) {
  try {
    pair p(e.client, expect({e.server_fp}), e.server, expect({e.client_fp}));
    p.deliver_all();
    if (p.connected()) {
      p.close(side::client);
      p.deliver_all();
    }
  } catch (const dtlspp::error&) {
    // a session constructor could not allocate: reported by exception, as setup is
  }
}

}  // namespace

TEST_CASE("every failing OpenSSL allocation in a handshake fails cleanly, without leaks",
          "[hardening][alloc]") {
  const ends e;
  pair bystander(e.client, e.server);
  REQUIRE(bystander.handshake());
  run_handshake(e);  // warm-up: OpenSSL's lazily built tables are made once

  const long baseline = allocs.live;
  const long total = count_allocations([&] { REQUIRE(run_handshake(e).connected); });
  REQUIRE(allocs.live - baseline <= slack);
  WARN("a handshake pair makes " << total << " OpenSSL allocations");
  REQUIRE(total > 100);

  long completed = 0, failed = 0, stalled = 0, most_held = 0;
  for (long n = 1; n <= total; ++n) {
    outcome o;
    {
      armed a(n);
      o = run_handshake(e);
    }
    most_held = std::max(most_held, allocs.live - baseline);
    (o.connected ? completed : o.error_reported ? failed : stalled) += 1;
  }
  WARN(total << " injected failures: " << completed << " handshakes still completed, " << failed
             << " failed with an error, " << stalled << " neither");
  INFO("most blocks held beyond the baseline after a run: " << most_held);
  CHECK(most_held <= slack);
  // An error or a completed handshake, every time: nothing is left hanging.
  CHECK(stalled == 0);
  CHECK(completed > 0);
  CHECK(failed > 0);
  // The bystander, sharing both contexts, is unaffected.
  CHECK(bystander.transfer(side::client, "bystander still fine"));
  CHECK(bystander.transfer(side::server, "and back"));
}

TEST_CASE("failing OpenSSL allocations on the data and teardown paths fail cleanly",
          "[hardening][alloc]") {
  const ends e;
  {
    pair warm(e.client, expect({e.server_fp}), e.server, expect({e.client_fp}));
    REQUIRE(warm.handshake());
    run_data(warm);
  }
  const long baseline = allocs.live;

  SECTION("data: only waking an idle end allocates, and a failure there fails cleanly") {
    // An idle end may have given back OpenSSL's record buffers; a record then wakes it (read
    // and write buffers: 2 allocations per end), and nothing else allocates. Each of those
    // allocations fails in turn: an error or the record, never a crash or a leak, and the pair
    // works again once memory is back.
    long total = 0;
    {
      pair p(e.client, expect({e.server_fp}), e.server, expect({e.client_fp}));
      REQUIRE(p.handshake());
      total = count_allocations([&] { REQUIRE(run_data(p).connected); });
      CHECK(total <= 4);
    }
    for (long n = 1; n <= total; ++n) {
      CAPTURE(n);
      pair p(e.client, expect({e.server_fp}), e.server, expect({e.client_fp}));
      REQUIRE(p.handshake());
      outcome o;
      {
        armed a(n);
        o = run_data(p);
      }
      CHECK((o.connected || o.error_reported || !p.connected()) == true);
      if (p.connected()) CHECK(run_data(p).connected);
    }
    CHECK(allocs.live - baseline <= slack);
  }
  SECTION("teardown") {
    const long total = count_allocations([&] { run_teardown(e); });
    REQUIRE(total > 0);
    long most_held = 0;
    for (long n = 1; n <= total; ++n) {
      {
        armed a(n);
        run_teardown(e);
      }
      most_held = std::max(most_held, allocs.live - baseline);
    }
    INFO("most blocks held beyond the baseline after a run: " << most_held);
    CHECK(most_held <= slack);
  }
}

int main(int argc, char* argv[]) {
  // Before anything else touches OpenSSL: later calls are refused once it has allocated.
  if (CRYPTO_set_mem_functions(failing_malloc, failing_realloc, failing_free) != 1) {
    std::fprintf(stderr, "CRYPTO_set_mem_functions refused: OpenSSL allocated already\n");
    return 1;
  }
  dtlspp::test::use_virtual_time();  // stalled runs are driven to their deadline at no cost
  return Catch::Session().run(argc, argv);
}
