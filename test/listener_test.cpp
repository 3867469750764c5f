// listener_test: many peers on one listener, the stateless cookie exchange (RFC 6347 section
// 4.2.1), limits, idle expiry and a peer that restarts (section 4.2.8).
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "farm.hpp"
#include "heap.hpp"

using namespace dtlspp;
using namespace dtlspp::test;
using namespace std::chrono_literals;

TEST_CASE("a listener serves several clients at once, each on its own session", "[listener]") {
  farm f;
  for (std::uint32_t n = 1; n <= 10; ++n)
    f.add_client(n);
  f.pump();
  for (std::uint32_t n = 1; n <= 10; ++n) {
    CAPTURE(n);
    REQUIRE(f.at(n).connected);
    CHECK(f.server_connected(n) == 1);
    const std::string text = "from client " + std::to_string(n);
    REQUIRE_FALSE(f.at(n).s->send(to_bytes(text)));
    f.drain_client(f.at(n));
    const std::string reply = "to client " + std::to_string(n);
    REQUIRE_FALSE(f.l().send(address(n), to_bytes(reply)));
    f.drain_listener();
  }
  f.pump();
  for (std::uint32_t n = 1; n <= 10; ++n) {
    CAPTURE(n);
    CHECK(f.server_received(n) == std::vector<std::string>{"from client " + std::to_string(n)});
    CHECK(f.at(n).received == std::vector<std::string>{"to client " + std::to_string(n)});
  }
  const auto st = f.l().stats();
  CHECK(st.sessions == 10);
  CHECK(st.handshakes == 0);
  CHECK(st.sessions_created == 10);
  // Every client went through the cookie exchange (retransmitted ClientHellos get one too).
  CHECK(st.hello_verify_requests >= 10);
}

TEST_CASE("a ClientHello without a cookie gets a HelloVerifyRequest and allocates nothing",
          "[listener][cookie]") {
  farm f;
  const bytes hello = first_client_hello(f.client_ctx());
  REQUIRE_FALSE(f.l().handle_datagram(address(7), hello, now()));
  auto e = f.l().poll();
  REQUIRE(e);
  const auto& t = std::get<transmit>(e->event);
  CHECK(has_handshake(t.datagram, handshake_type::hello_verify_request));
  CHECK(t.datagram.size() <= hello.size());
  CHECK(bytes(e->peer.begin(), e->peer.end()) == address(7));
  CHECK_FALSE(f.l().poll());
  CHECK(f.l().find(address(7)) == nullptr);
  CHECK(f.l().stats().sessions == 0);
  CHECK_FALSE(f.l().next_timeout());
}

TEST_CASE("10 000 spoofed ClientHellos create no session and leave memory flat",
          "[listener][cookie]") {
  farm f;
  const bytes hello = first_client_hello(f.client_ctx());
  f.add_client(1);  // a real client connects during the flood
  const auto before = heap_in_use();
  // No assertion inside the loop: Catch2's reporters keep every assertion in memory, which
  // would be measured as growth.
  std::size_t replies = 0, largest = 0, errors = 0;
  std::optional<std::uint32_t> connected_during;  // how many spoofed hellos had come by then
  for (std::uint32_t n = 0; n < 10000; ++n) {
    if (f.l().handle_datagram(address(100 + n), hello, now())) ++errors;
    while (auto e = f.l().poll()) {
      ++replies;
      largest = std::max(largest, std::get<transmit>(e->event).datagram.size());
    }
    if (n % 500 == 250) {
      f.deliver_all();  // one round of the real client's exchange
      f.fire_timers();
      if (f.at(1).connected && !connected_during) connected_during = n;
    }
  }
  const auto after = heap_in_use();
  REQUIRE(before);  // valgrind hides the heap; this test does not run under it
  const long long growth = *after - *before;
  WARN("heap growth over 10 000 spoofed ClientHellos: "
       << growth << " bytes (with one real handshake in between); largest reply " << largest
       << " B for a " << hello.size() << " B ClientHello; the real client connected after "
       << connected_during.value_or(0) << " of them");
  CHECK(errors == 0);
  CHECK(largest <= hello.size());
  CHECK(replies == 10000);
  REQUIRE(connected_during);
  CHECK(*connected_during < 5000);
  CHECK(f.server_connected(1) == 1);
  CHECK(f.l().stats().sessions == 1);
  CHECK(growth < 256 * 1024);  // one established session is ~70 KB; 10 000 would be ~700 MB
}

TEST_CASE("a forged or stale cookie is rejected and counted", "[listener][cookie]") {
  farm f;
  bytes hello = first_client_hello(f.client_ctx());
  REQUIRE_FALSE(f.l().handle_datagram(address(3), hello, now()));
  auto e = f.l().poll();
  REQUIRE(e);
  // Splice a cookie of 32 zero bytes into the ClientHello: header(13) + handshake(12) +
  // version(2) + random(32) + session_id length(1) + session_id + cookie length(1).
  const std::size_t sid = std::to_integer<std::size_t>(hello[13 + 12 + 34]);
  const std::size_t at = 13 + 12 + 34 + 1 + sid;
  REQUIRE(hello[at] == std::byte{0});
  bytes forged(hello.begin(), hello.begin() + static_cast<long>(at));
  forged.push_back(std::byte{32});
  forged.insert(forged.end(), 32, std::byte{0});
  forged.insert(forged.end(), hello.begin() + static_cast<long>(at) + 1, hello.end());
  // Fix the lengths: record, handshake length and fragment length grow by 32.
  put_be(forged, 11, get_be(forged, 11, 2) + 32, 2);
  put_be(forged, 14, get_be(forged, 14, 3) + 32, 3);
  put_be(forged, 22, get_be(forged, 22, 3) + 32, 3);
  REQUIRE_FALSE(f.l().handle_datagram(address(3), forged, now()));
  CHECK(f.l().stats().cookies_rejected == 1);
  CHECK(f.l().stats().sessions == 0);
  // The same forged hello from another address is no better: cookies are per address.
  REQUIRE_FALSE(f.l().handle_datagram(address(4), forged, now()));
  CHECK(f.l().stats().cookies_rejected == 2);
}

TEST_CASE("a cookie is bound to the address it was sent to", "[listener][cookie]") {
  farm f;
  auto& c = f.add_client(1);
  // Deliver the client's first ClientHello and take the HelloVerifyRequest to the client.
  for (auto& d : std::exchange(c.outbox, {}))
    REQUIRE_FALSE(f.l().handle_datagram(address(1), d, now()));
  f.drain_listener();
  REQUIRE(c.outbox.size() == 1);  // the ClientHello with its cookie
  // The ClientHello with a valid cookie for address 1 arrives from address 2: refused.
  REQUIRE_FALSE(f.l().handle_datagram(address(2), c.outbox[0], now()));
  CHECK(f.l().stats().cookies_rejected == 1);
  CHECK(f.l().find(address(2)) == nullptr);
}

TEST_CASE("datagrams from unknown peers that are not ClientHellos are dropped and counted",
          "[listener]") {
  farm f;
  std::mt19937_64 rng(5);
  REQUIRE_FALSE(f.l().handle_datagram(address(9), random_bytes(rng, 100), now()));
  REQUIRE_FALSE(f.l().handle_datagram(address(9), bytes{}, now()));
  CHECK(f.l().stats().dropped_not_client_hello == 2);
  CHECK_FALSE(f.l().poll());
  CHECK(f.l().handle_datagram(bytes{}, random_bytes(rng, 10), now()) == errc::invalid_argument);
  CHECK(f.l().handle_datagram(bytes(129), random_bytes(rng, 10), now()) == errc::invalid_argument);
}

TEST_CASE("the smallest well-formed ClientHello gets no reply larger than itself",
          "[listener][cookie]") {
  farm f;
  bytes hello = first_client_hello(f.client_ctx());
  // Shrink it to the smallest the listener parses: no session id, cookie, suites, compression
  // methods or extensions.
  bytes tiny(hello.begin(), hello.begin() + 13 + 12 + 34);
  for (const int b : {0, 0, 0, 0, 0})
    tiny.push_back(static_cast<std::byte>(b));
  const std::size_t body = tiny.size() - 25;
  put_be(tiny, 11, tiny.size() - 13, 2);
  put_be(tiny, 14, body, 3);
  put_be(tiny, 22, body, 3);
  // 64 bytes; a HelloVerifyRequest with a 32-byte cookie is 60 (listener.cpp's static_assert).
  CHECK(tiny.size() == 64);
  REQUIRE_FALSE(f.l().handle_datagram(address(5), tiny, now()));
  auto e = f.l().poll();
  REQUIRE(e);
  CHECK(std::get<transmit>(e->event).datagram.size() == 60);
  CHECK(f.l().stats().hello_verify_requests == 1);
  // One byte shorter is not a ClientHello at all: dropped without an answer.
  tiny.pop_back();
  put_be(tiny, 11, tiny.size() - 13, 2);
  put_be(tiny, 14, tiny.size() - 25, 3);
  put_be(tiny, 22, tiny.size() - 25, 3);
  REQUIRE_FALSE(f.l().handle_datagram(address(6), tiny, now()));
  CHECK_FALSE(f.l().poll());
  CHECK(f.l().stats().dropped_not_client_hello == 1);
}

TEST_CASE("without cookies a ClientHello opens a session at once", "[listener]") {
  listener_options o;
  o.cookies = false;
  farm f(o);
  f.add_client(1);
  f.pump();
  CHECK(f.at(1).connected);
  CHECK(f.l().stats().hello_verify_requests == 0);
}

TEST_CASE("the session and half-open limits hold and existing sessions keep working",
          "[listener][limits]") {
  SECTION("max_sessions") {
    listener_options o;
    o.max_sessions = 3;
    farm f(o);
    for (std::uint32_t n = 1; n <= 5; ++n)
      f.add_client(n);
    f.pump(600ms);
    int connected = 0;
    for (std::uint32_t n = 1; n <= 5; ++n)
      connected += f.at(n).connected ? 1 : 0;
    CHECK(connected == 3);
    CHECK(f.l().stats().sessions == 3);
    CHECK(f.l().stats().dropped_session_limit > 0);
    for (std::uint32_t n = 1; n <= 5; ++n) {
      if (!f.at(n).connected) continue;
      REQUIRE_FALSE(f.at(n).s->send(to_bytes("still here")));
      f.drain_client(f.at(n));
    }
    f.pump(200ms);
    int delivered = 0;
    for (std::uint32_t n = 1; n <= 5; ++n)
      delivered += int(f.server_received(n).size());
    CHECK(delivered == 3);
  }
  SECTION("max_handshakes") {
    listener_options o;
    o.max_handshakes = 2;
    farm f(o);
    // Five clients' cookie-bearing ClientHellos arrive before any handshake completes.
    for (std::uint32_t n = 1; n <= 5; ++n) {
      auto& c = f.add_client(n);
      for (auto& d : std::exchange(c.outbox, {})) {
        REQUIRE_FALSE(f.l().handle_datagram(address(n), d, now()));
      }
    }
    // Deliver the HelloVerifyRequests, collect the second ClientHellos, and feed them all.
    while (auto e = f.l().poll()) {
      auto& c = f.at(static_cast<std::uint32_t>(get_be(e->peer, 0, 4)));
      static_cast<void>(c.s->handle_datagram(std::get<transmit>(e->event).datagram, now()));
      f.drain_client(c);
    }
    for (std::uint32_t n = 1; n <= 5; ++n) {
      for (auto& d : std::exchange(f.at(n).outbox, {})) {
        REQUIRE_FALSE(f.l().handle_datagram(address(n), d, now()));
      }
    }
    CHECK(f.l().stats().handshakes == 2);
    CHECK(f.l().stats().dropped_handshake_limit == 3);
    f.drain_listener();
    f.pump();
    // The dropped clients retransmit and get in once the first two finished.
    for (std::uint32_t n = 1; n <= 5; ++n)
      CHECK(f.at(n).connected);
  }
}

TEST_CASE("an idle established session expires, a busy one does not", "[listener][limits]") {
  listener_options o;
  o.idle_timeout = 1s;
  farm f(o);
  f.add_client(1);
  f.add_client(2);
  f.pump(500ms);
  REQUIRE(f.at(1).connected);
  REQUIRE(f.at(2).connected);
  const auto connected_at = now();
  // Client 2 speaks every 200 ms; client 1 says nothing. The listener's timer is its idle end.
  CHECK(f.l().next_timeout() == connected_at + 1s);
  const auto end = connected_at + 1600ms;
  while (now() < end) {
    advance(200ms);
    REQUIRE_FALSE(f.at(2).s->send(to_bytes("keepalive")));
    f.drain_client(f.at(2));
    f.pump(1ms);  // delivers it
    f.fire_timers();
    if (!f.server_closed(1).empty()) CHECK(now() >= connected_at + 1s);
  }
  CHECK(f.server_closed(1) == std::vector<std::error_code>{errc::idle_timeout});
  CHECK(f.server_closed(2).empty());
  CHECK(f.l().find(address(1)) == nullptr);
  CHECK(f.l().find(address(2)) != nullptr);
  CHECK(f.l().stats().sessions_expired == 1);
  CHECK(f.at(1).s->state() == state::closed);  // it got the close_notify
}

TEST_CASE("a client that lost its session reconnects from the same address",
          "[listener][restart]") {
  farm f;
  f.add_client(1);
  f.pump();
  REQUIRE(f.at(1).connected);
  const session* first = f.l().find(address(1));
  REQUIRE(first != nullptr);
  // The client restarts: a new session, same address, a new ClientHello (epoch 0).
  auto& c = f.add_client(1);
  REQUIRE_FALSE(c.connected);
  f.pump();
  CHECK(c.connected);
  CHECK(f.server_closed(1) == std::vector<std::error_code>{errc::peer_restarted});
  CHECK(f.server_connected(1) == 2);
  CHECK(f.l().stats().sessions_replaced == 1);
  CHECK(f.l().stats().sessions == 1);
  REQUIRE_FALSE(c.s->send(to_bytes("after restart")));
  f.drain_client(c);
  f.pump();
  CHECK(f.server_received(1) == std::vector<std::string>{"after restart"});
}

TEST_CASE("a late duplicate of the first ClientHello does not end the association",
          "[listener][restart]") {
  farm f;
  auto& c = f.add_client(1);
  // Record what the client sends, to replay its cookie-bearing ClientHello later.
  std::vector<bytes> sent;
  for (int i = 0; i < 10 && !c.connected; ++i) {
    for (auto& d : std::exchange(c.outbox, {})) {
      sent.push_back(d);
      static_cast<void>(f.l().handle_datagram(address(1), d, now()));
      f.drain_listener();
    }
  }
  REQUIRE(c.connected);
  REQUIRE(sent.size() >= 2);
  REQUIRE_FALSE(
      f.l().handle_datagram(address(1), sent[1], now()));  // the ClientHello with the cookie
  f.drain_listener();
  CHECK(f.server_closed(1).empty());
  CHECK(f.l().stats().sessions_replaced == 0);
  REQUIRE_FALSE(c.s->send(to_bytes("still the same")));
  f.drain_client(c);
  f.pump();
  CHECK(f.server_received(1) == std::vector<std::string>{"still the same"});
}
