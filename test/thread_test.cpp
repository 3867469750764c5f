// thread_test: one context, shared by sessions driven on several threads at once (invariant:
// one thread per session; a context is immutable and shareable once built, a session is used by
// one thread at a time). ./run test also runs it under ThreadSanitizer, which reports any data
// race.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "harness.hpp"

using namespace dtlspp;
using namespace dtlspp::test;

TEST_CASE("sessions of one shared context run on four threads at once", "[hardening][threads]") {
  const context client_ctx = client_context();
  const context server_ctx = server_context();
  const auto client_fp = client_ctx.identity().fingerprint();
  const auto server_fp = server_ctx.identity().fingerprint();
  constexpr int threads = 4;
  constexpr int pairs_per_thread = 10;
  std::atomic<int> connected{0}, delivered{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < pairs_per_thread; ++i) {
        // Contexts are copied into each pair: copies share the SSL_CTX across threads.
        pair p(client_ctx, expect({server_fp}), server_ctx, expect({client_fp}));
        if (!p.handshake()) continue;
        ++connected;
        if (p.transfer(side::client, "thread " + std::to_string(t)) &&
            p.transfer(side::server, "back")) {
          ++delivered;
        }
      }
    });
  }
  for (auto& w : workers)
    w.join();
  CHECK(connected == threads * pairs_per_thread);
  CHECK(delivered == threads * pairs_per_thread);
}

TEST_CASE("identities and contexts are made on several threads at once", "[hardening][threads]") {
  std::vector<std::thread> workers;
  std::atomic<int> made{0};
  for (int t = 0; t < 4; ++t) {
    workers.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        const context c;  // a fresh identity and SSL_CTX
        if (c.identity().fingerprint().algorithm() == hash_algorithm::sha256) ++made;
      }
    });
  }
  for (auto& w : workers)
    w.join();
  CHECK(made == 20);
}
