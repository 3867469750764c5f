// idle_buffers_test: an established end releases OpenSSL's record buffers when it goes idle and
// wakes them before anything that writes (SSL_free_buffers / SSL_alloc_buffers; OpenSSL 3.0's
// DTLS write path crashes on released buffers otherwise), and the per-record path keeps the
// error queue clean without clearing it before every record. Run it under ASan/UBSan and under
// valgrind too: a write through a released buffer is an invalid access there, not only a crash.
#include <catch2/catch.hpp>

#include <openssl/err.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "harness.hpp"
#include "heap.hpp"

using namespace dtlspp::test;

namespace {

using namespace std::chrono_literals;
using dtlspp::key_type;

// A gap between inputs longer than the session's quiet period (one second): the input after it
// asks its end to release the buffers once handled.
constexpr auto quiet_gap = 1500ms;

// numbered returns the payload of record n: its number, then filler up to `size` bytes.
bytes numbered(std::uint32_t n, std::size_t size) {
  bytes b(std::max<std::size_t>(size, sizeof n), std::byte{0x5a});
  std::memcpy(b.data(), &n, sizeof n);
  return b;
}

std::uint32_t number_of(const bytes& b) {
  std::uint32_t n = 0;
  if (b.size() >= sizeof n) std::memcpy(&n, b.data(), sizeof n);
  return n;
}

// error_queue_empty tells whether this thread's OpenSSL error queue holds nothing.
bool error_queue_empty() {
  return ERR_peek_error() == 0;
}

// push_stale_error leaves an entry on this thread's error queue, as another library would.
void push_stale_error() {
  ERR_raise(ERR_LIB_USER, 42);
}

pair established(network_options net = {}) {
  pair p(client_context(), server_context(), std::move(net));
  REQUIRE(p.handshake());
  p.deliver_all();
  return p;
}

}  // namespace

TEST_CASE("idle established ends hold neither OpenSSL's record buffers nor ours",
          "[session][memory]") {
  // Contexts first: each is shared by its pairs' sessions and is no session's memory.
  const auto client = client_context();
  const auto server = server_context();
  constexpr int pairs = 8;
  std::vector<pair> held;
  held.reserve(pairs);
  const auto before = heap_in_use();
  if (!before) {
    WARN("no heap count under valgrind: memory not checked");
    return;
  }
  for (int i = 0; i < pairs; ++i) {
    held.emplace_back(client, server);
    REQUIRE(held.back().handshake());
    held.back().deliver_all();
  }
  const auto per_end = (*heap_in_use() - *before) / (2 * pairs);
  INFO("heap per idle end: " << per_end << " bytes");
  // With its buffers an end holds ~57 KB (16.7 KB read buffer, 1.4 KB write buffer at MTU 1200,
  // 21.9 KB init_buf...); without them ~40 KB. The test contexts' verifier and identities add
  // a little; 48 000 tells the two apart.
  CHECK(per_end < 48000);
}

TEST_CASE("an input after a quiet period releases the buffers once it is handled",
          "[session][memory]") {
  pair p = established();
  REQUIRE(p.transfer(side::client, "wake the server"));
  // A stream of inputs keeps the buffers: the server received a record with no time passing.
  const auto awake = heap_in_use();
  advance(quiet_gap);
  REQUIRE(p.transfer(side::client, "after a quiet second"));
  const auto released = heap_in_use();
  if (!awake || !released) {
    WARN("no heap count under valgrind: memory not checked");
    return;
  }
  INFO("heap before and after: " << *awake << " -> " << *released);
  // The server's read buffer alone is 16.7 KB; the client stayed awake (it only sent).
  CHECK(*awake - *released > 16000);
  REQUIRE(p.transfer(side::server, "and the server answers"));
  REQUIRE(p.transfer(side::client, "and hears back"));
}

TEST_CASE("10 000 records through free and wake cycles in random directions arrive intact",
          "[session][memory][stress]") {
  pair p = established();
  std::mt19937_64 rng(20261129);
  std::uniform_int_distribution<int> percent(0, 99);
  std::uniform_int_distribution<std::size_t> sizes(1, p.client().max_send_size());
  std::uint32_t next[2] = {0, 0};         // the next record number each side sends
  std::deque<std::uint32_t> expected[2];  // numbers in flight towards each side, in order
  std::size_t received_before[2] = {0, 0};
  std::size_t packed = 0, quiet = 0, timeouts = 0, stale = 0;
  auto check_arrivals = [&](side s) {
    const auto& got = p.events(s).received;
    for (auto i = received_before[static_cast<int>(s)]; i < got.size(); ++i) {
      REQUIRE_FALSE(expected[static_cast<int>(s)].empty());
      REQUIRE(number_of(got[i]) == expected[static_cast<int>(s)].front());
      expected[static_cast<int>(s)].pop_front();
    }
    received_before[static_cast<int>(s)] = got.size();
  };
  int record = 0;
  while (record < 10000) {
    const side from = percent(rng) < 50 ? side::client : side::server;
    const side to = other(from);
    const direction d = dtlspp::test::from(from);
    // A quiet period before an input makes the receiving end release its buffers after it.
    if (percent(rng) < 20) {
      advance(quiet_gap);
      ++quiet;
    }
    // Early and idle timeouts are inputs too (nothing is due: no timer runs once connected).
    if (percent(rng) < 5) {
      REQUIRE_FALSE(p.handle_timeout(percent(rng) < 50 ? side::client : side::server));
      ++timeouts;
    }
    // Someone else's error on the thread must neither fail a record nor survive a failure path.
    const bool stale_error = percent(rng) < 3;
    if (stale_error) {
      push_stale_error();
      ++stale;
    }
    const int burst = percent(rng) < 10 ? 2 : 1;
    for (int i = 0; i < burst; ++i) {
      const auto n = next[static_cast<int>(from)]++;
      REQUIRE_FALSE(p.send(from, numbered(n, sizes(rng))));
      expected[static_cast<int>(to)].push_back(n);
      ++record;
    }
    if (burst == 2 && percent(rng) < 50) {
      // Two records in one datagram (RFC 6347 section 4.1.1 allows it): the receiver drains the
      // second with SSL_has_pending, and only then goes idle.
      auto first = p.net().receive(d);
      auto second = p.net().receive(d);
      REQUIRE(first);
      REQUIRE(second);
      first->insert(first->end(), second->begin(), second->end());
      REQUIRE_FALSE(p.inject(to, *first));
      ++packed;
    }
    p.deliver_all();
    check_arrivals(to);
    if (stale_error) {
      // The record path succeeded without touching the queue: the entry is still there.
      CHECK_FALSE(error_queue_empty());
      ERR_clear_error();
    }
    REQUIRE(error_queue_empty());
    REQUIRE(p.connected());
  }
  for (const side s : all_sides) {
    CHECK(expected[static_cast<int>(s)].empty());
    CHECK(p.events(s).errors.empty());
  }
  CHECK(p.events(side::client).received.size() + p.events(side::server).received.size() ==
        static_cast<std::size_t>(record));
  INFO(quiet << " quiet periods, " << packed << " packed datagrams, " << timeouts << " timeouts, "
             << stale << " stale errors");
  CHECK(quiet > 1000);
  CHECK(packed > 100);
}

TEST_CASE("a final flight repeated after the server released its buffers is answered",
          "[session][memory]") {
  // The server's final flight (ChangeCipherSpec, Finished) is lost: the server is connected,
  // drained and released; the client's timer resends its own final flight, which the server
  // reads into fresh buffers and answers by resending its flight (RFC 6347 section 4.2.4).
  network_options net;
  net.drop_flight =
      drop_first_flight_with(direction::server_to_client, content_type::change_cipher_spec);
  pair p(client_context(), server_context(), std::move(net));
  REQUIRE(p.pump_until([&] { return p.server().state() == dtlspp::state::connected; }));
  CHECK(p.client().state() == dtlspp::state::handshaking);
  const auto server_flights = p.net().flights(direction::server_to_client);
  REQUIRE(p.handshake());
  CHECK(p.net().flights(direction::server_to_client) > server_flights);
  CHECK(p.client().stats().retransmissions >= 1);
  CHECK(p.transfer(side::server, "the server writes again"));
  CHECK(p.transfer(side::client, "and reads"));
  CHECK(error_queue_empty());
}

TEST_CASE("close after the buffers were released sends a close_notify the peer sees",
          "[session][memory]") {
  for (const side closer : all_sides) {
    pair p = established();
    advance(quiet_gap);
    REQUIRE(p.transfer(other(closer), "one record after a quiet period"));  // closer releases
    p.close(closer);
    p.deliver_all();
    CHECK(p.at(closer).state() == dtlspp::state::closed);
    CHECK(p.at(other(closer)).state() == dtlspp::state::closed);
    REQUIRE(p.events(other(closer)).closed.size() == 1);
    CHECK_FALSE(p.events(other(closer)).closed.front());  // clean: close_notify
    CHECK(error_queue_empty());
  }
}

TEST_CASE("a forged datagram of the largest size does not grow the session's buffers",
          "[session][memory]") {
  pair p = established();
  REQUIRE(p.transfer(side::client, "awake"));  // the server's buffers are in use
  // One well-framed epoch-1 application_data record as long as the record filter lets through
  // (2^14 + 2048 bytes of ciphertext, RFC 6347 section 4.1): it fails to decrypt.
  constexpr std::size_t body = 16384 + 2048;
  bytes forged{std::byte{23}, std::byte{0xfe}, std::byte{0xfd}, std::byte{0}, std::byte{1}};
  forged.resize(dtlspp::detail::wire::record_header_size + body, std::byte{0x5a});
  put_be(forged, 5, 1000, 6);  // sequence number
  put_be(forged, 11, body, 2);
  const auto before = heap_in_use();
  REQUIRE_FALSE(p.inject(side::server, forged));
  const auto after = heap_in_use();
  CHECK(p.events(side::server).received.size() == 1);
  if (before && after) {
    INFO("heap before and after: " << *before << " -> " << *after);
    CHECK(*after - *before < 4096);  // not an 18 KiB read buffer kept for later
  }
  REQUIRE(p.transfer(side::client, std::string(1000, 'x')));
  CHECK(p.at(side::server).state() == dtlspp::state::connected);
}

TEST_CASE("a stale error on the thread turns no idle datagram into a failure",
          "[session][errors]") {
  pair p = established();
  REQUIRE(p.send(side::client, "once") == std::error_code());
  const auto datagram = p.net().receive(direction::client_to_server);
  REQUIRE(datagram);
  REQUIRE_FALSE(p.inject(side::server, *datagram));
  // The same datagram again is a replay: OpenSSL drops it and SSL_read wants more input, which
  // SSL_get_error would read as SSL_ERROR_SSL with someone else's entry on the queue.
  push_stale_error();
  CHECK_FALSE(p.inject(side::server, *datagram));
  CHECK(p.server().state() == dtlspp::state::connected);
  CHECK(p.events(side::server).received.size() == 1);
  // The entry was set aside on that failure path: nothing is left for the next session.
  CHECK(error_queue_empty());
  // A close_notify read with a stale entry on the queue is still a clean close.
  p.close(side::client);
  push_stale_error();
  p.deliver_all();
  REQUIRE(p.events(side::server).closed.size() == 1);
  CHECK_FALSE(p.events(side::server).closed.front());
  CHECK(error_queue_empty());
}
