// listener_lifecycle_test: a listener under real peers: deferred verdicts settled through
// with_session, peers that restart (RFC 6347 section 4.2.8) with and without cookies, what
// refreshes the idle timer, cookie secret periods on the caller's clock, a lossy network, and a
// moved-from listener.
#include <catch2/catch.hpp>

#include <openssl/ssl.h>

#include <algorithm>

#include "farm.hpp"

using namespace dtlspp;
using namespace dtlspp::test;
using namespace std::chrono_literals;

namespace {

verifier deferring() {
  return [](const certificate&) { return verdict::defer; };
}

// handshake_until_pending runs client 1 of f until the listener's session for it waits for a
// verdict with the handshake finished on the wire (the client is connected).
void handshake_until_pending(farm& f) {
  f.add_client(1);
  f.pump();
  REQUIRE(f.at(1).connected);
  const session* s = f.l().find(address(1));
  REQUIRE(s != nullptr);
  REQUIRE(s->verification_pending());
  CHECK(s->state() == state::handshaking);
  CHECK(f.server_connected(1) == 0);
}

// cookie_hello runs the cookie exchange of a fresh client at address n without completing it:
// returns the client's second ClientHello (with the listener's cookie), not yet delivered.
bytes cookie_hello(farm& f, std::uint32_t n) {
  auto& c = f.add_client(n);
  for (auto& d : std::exchange(c.outbox, {}))
    REQUIRE_FALSE(f.to_listener(n, d));
  REQUIRE(c.outbox.size() == 1);
  return std::exchange(c.outbox, {})[0];
}

// exchange sends one line each way between client n and the listener; true when both arrive.
bool exchange(farm& f, std::uint32_t n, const std::string& text) {
  auto& c = f.at(n);
  const auto server_had = f.server_received(n).size();
  const auto client_had = c.received.size();
  if (c.s->send(to_bytes(text))) return false;
  f.drain_client(c);
  f.deliver_all();
  if (f.l().send(address(n), to_bytes(text))) return false;
  f.drain_listener();
  f.deliver_all();
  return f.server_received(n).size() == server_had + 1 && f.server_received(n).back() == text &&
         c.received.size() == client_had + 1 && c.received.back() == text;
}

}  // namespace

// ---- deferred verdicts behind a listener ----------------------------------------------------

TEST_CASE("a late fingerprint through a listener: defer, then accept with with_session",
          "[listener][verify]") {
  farm f({}, quick_options(), deferring());
  handshake_until_pending(f);
  // The client speaks at once; the listener holds the record until the verdict.
  REQUIRE_FALSE(f.at(1).s->send(to_bytes("early")));
  f.drain_client(f.at(1));
  f.deliver_all();
  CHECK(f.server_received(1).empty());
  CHECK_FALSE(f.l().find(address(1))->srtp_keying_material());

  const bool found = f.l().with_session(address(1), [](session& s) {
    // The fingerprint arrived out of band: compare, then settle.
    REQUIRE(s.peer_certificate() != nullptr);
    s.verify_peer(verdict::accept, now());
  });
  CHECK(found);
  f.drain_listener();
  CHECK(f.server_connected(1) == 1);
  CHECK(f.server_received(1) == std::vector<std::string>{"early"});
  const session* s = f.l().find(address(1));
  CHECK(s->state() == state::connected);
  CHECK_FALSE(s->verification_pending());
  CHECK(s->export_keying_material("EXPERIMENTAL-test", 16).size() == 16);
  CHECK(s->stats().records_received == 1);
  CHECK(exchange(f, 1, "after the verdict"));
  // Its timers stay in the listener's schedule: no retransmission timer, only the idle end.
  CHECK(f.l().next_timeout() == now() + listener_options{}.idle_timeout);
}

TEST_CASE("a late fingerprint through a listener: defer, then reject with with_session",
          "[listener][verify]") {
  farm f({}, quick_options(), deferring());
  handshake_until_pending(f);
  f.l().with_session(address(1), [](session& s) { s.verify_peer(verdict::reject, now()); });
  f.drain_listener();
  CHECK(f.server_connected(1) == 0);
  CHECK(f.server_closed(1) == std::vector<std::error_code>{errc::fingerprint_mismatch});
  // The handshake had finished on the wire: the client got a close_notify.
  CHECK(f.at(1).s->state() == state::closed);
  // The closed session is forgotten at the next call.
  CHECK_FALSE(f.l().poll());
  CHECK(f.l().find(address(1)) == nullptr);
  CHECK(f.l().stats().sessions == 0);
}

TEST_CASE("a verdict given later than the idle timeout starts the idle period at the verdict",
          "[listener][verify][timer]") {
  // The fingerprint may come long after the handshake finished on the wire, and a listener's
  // idle period may be shorter than the handshake deadline: idleness counts from the connect.
  listener_options o;
  o.idle_timeout = 15s;
  auto co = quick_options();
  co.handshake_timeout = 30s;
  farm f(o, co, deferring());
  handshake_until_pending(f);
  advance(20s);  // the peer says nothing meanwhile
  f.l().handle_timeout(now());
  f.l().with_session(address(1), [](session& s) { s.verify_peer(verdict::accept, now()); });
  f.drain_listener();
  REQUIRE(f.server_connected(1) == 1);
  CHECK(f.l().next_timeout() == now() + o.idle_timeout);
  f.l().handle_timeout(now());
  f.drain_listener();
  CHECK(f.server_closed(1).empty());
  CHECK(exchange(f, 1, "long after the handshake"));
}

TEST_CASE("with_session on an unknown peer calls nothing and returns false", "[listener]") {
  farm f;
  bool called = false;
  CHECK_FALSE(f.l().with_session(address(5), [&](session&) { called = true; }));
  CHECK_FALSE(called);
}

// ---- restarts ---------------------------------------------------------------------------------

TEST_CASE("a restarted client gets in while its old association lives until the new Finished",
          "[listener][restart]") {
  const bool cookies = GENERATE(true, false);
  CAPTURE(cookies);
  listener_options o;
  o.cookies = cookies;
  farm f(o);
  f.add_client(1);
  f.pump();
  REQUIRE(f.at(1).connected);
  auto old_client = std::move(f.at(1).s);

  // The client restarts: a new session at the same address. Deliver its flights one at a
  // time and watch the old association.
  auto& c = f.add_client(1);
  for (int flight = 0; flight < 6 && !c.connected; ++flight) {
    auto out = std::exchange(c.outbox, {});
    const bool last = std::ranges::any_of(
        out, [](const bytes& d) { return has_record(d, content_type::change_cipher_spec); });
    if (!last) {
      // Before the client's Finished, the old association is intact on the listener.
      CHECK(f.server_closed(1).empty());
      CHECK(f.l().find(address(1))->state() == state::connected);
      // Checked before the flight is delivered: the new session exists once a ClientHello
      // was accepted (the second one, with its cookie, when cookies are on).
      CHECK(f.l().stats().sessions == (flight == 0 || (cookies && flight == 1) ? 1u : 2u));
    }
    for (auto& d : out)
      REQUIRE_FALSE(f.to_listener(1, d));
  }
  REQUIRE(c.connected);
  CHECK(f.server_closed(1) == std::vector<std::error_code>{errc::peer_restarted});
  CHECK(f.server_connected(1) == 2);
  CHECK(f.l().stats().sessions_replaced == 1);
  CHECK(f.l().stats().sessions == 1);
  CHECK(exchange(f, 1, "after restart"));
}

TEST_CASE("a client that restarts mid-handshake is not locked out by its half-open session",
          "[listener][restart]") {
  const bool cookies = GENERATE(true, false);
  CAPTURE(cookies);
  listener_options o;
  o.cookies = cookies;
  farm f(o);
  auto& first = f.add_client(1);
  // Deliver its flights until the listener's session is half-open, then lose the client.
  for (int i = 0; i < 4 && !f.l().find(address(1)); ++i) {
    for (auto& d : std::exchange(first.outbox, {}))
      REQUIRE_FALSE(f.to_listener(1, d));
  }
  REQUIRE(f.l().find(address(1)) != nullptr);
  REQUIRE(f.l().find(address(1))->state() == state::handshaking);
  f.at(1).outbox.clear();

  auto& c = f.add_client(1);
  f.pump(1s);  // well before the half-open session's 10 s deadline
  CHECK(c.connected);
  CHECK(f.server_connected(1) == 1);
  CHECK(f.server_closed(1) == std::vector<std::error_code>{errc::peer_restarted});
  CHECK(exchange(f, 1, "in"));
}

TEST_CASE("a restart right after a failed one gets in before the failure was polled",
          "[listener][restart]") {
  listener_options o;
  o.cookies = false;
  o.idle_timeout = std::chrono::hours(1);
  farm f(o);
  f.add_client(1);
  f.pump();
  REQUIRE(f.at(1).connected);
  REQUIRE(f.l().stats().handshakes == 0);
  // A restart whose client vanishes after its ClientHello: the new handshake times out.
  auto& lost = f.add_client(1);
  for (auto& d : std::exchange(lost.outbox, {}))
    REQUIRE_FALSE(f.to_listener(1, d));
  REQUIRE(f.l().stats().handshakes == 1);
  advance(quick_options().handshake_timeout + 1s);
  f.l().handle_timeout(now());  // the new handshake fails; its end waits in poll()
  REQUIRE(f.l().stats().handshakes == 0);
  // The client restarts again before the application drained poll(): it is let in.
  auto& again = f.add_client(1);
  REQUIRE_FALSE(f.l().handle_datagram(address(1), again.outbox.at(0), now()));
  CHECK(f.l().stats().dropped_handshake_limit == 0);
  CHECK(f.l().stats().dropped_session_limit == 0);
  CHECK(f.l().stats().handshakes == 1);
  CHECK(f.l().find(address(1))->state() == state::connected);  // the first association lives
}

TEST_CASE("a replayed old ClientHello with a valid cookie cannot end the live association",
          "[listener][restart]") {
  farm f;
  f.add_client(1);
  f.pump();
  REQUIRE(f.at(1).connected);
  // The attacker saw the first association's cookie-bearing ClientHello (its second datagram).
  const bytes replay = f.at(1).sent.at(1);
  REQUIRE(parse_records(replay).at(0).handshake_msg_type() == handshake_type::client_hello);
  // The client restarts for real; then the attacker replays the old ClientHello, whose cookie
  // the listener still accepts (within two periods).
  f.add_client(1);
  f.pump();
  REQUIRE(f.at(1).connected);
  REQUIRE(f.server_closed(1) == std::vector<std::error_code>{errc::peer_restarted});
  const auto created = f.l().stats().sessions_created;
  REQUIRE_FALSE(f.to_listener(1, replay));
  CHECK(f.l().stats().sessions_created == created + 1);  // a new handshake began beside it
  CHECK(exchange(f, 1, "still here"));
  // It never completes (the real client ignores its flight), and ends silently at its deadline.
  f.pump(20s);
  CHECK(f.server_closed(1) == std::vector<std::error_code>{errc::peer_restarted});
  CHECK(f.l().stats().restarts_abandoned == 1);
  CHECK(f.l().stats().sessions == 1);
  CHECK(exchange(f, 1, "and still here"));
}

TEST_CASE("a moved-from listener is safe to call", "[listener]") {
  farm f;
  listener moved = std::move(f.l());
  const bytes hello = first_client_hello(f.client_ctx());
  CHECK(f.l().handle_datagram(address(1), hello, now()) == errc::invalid_argument);
  f.l().handle_timeout(now());
  CHECK(f.l().send(address(1), to_bytes("x")) == errc::not_connected);
  f.l().close(address(1));
  CHECK_FALSE(f.l().poll());
  CHECK_FALSE(f.l().next_timeout());
  CHECK(f.l().find(address(1)) == nullptr);
  CHECK_FALSE(f.l().with_session(address(1), [](session&) {}));
  CHECK(f.l().stats().datagrams_in == 0);
  // The one it moved to works.
  CHECK_FALSE(moved.handle_datagram(address(1), hello, now()));
  CHECK(moved.poll());
}

// ---- what refreshes what ------------------------------------------------------------------------

TEST_CASE("junk and replays from a peer's address do not keep its session alive",
          "[listener][limits]") {
  listener_options o;
  o.idle_timeout = 1s;
  farm f(o);
  f.add_client(1);
  f.pump(500ms);  // not as far as the idle end
  REQUIRE(f.at(1).connected);
  REQUIRE(exchange(f, 1, "a record to replay"));
  const auto last_heard = now();
  const bytes record = f.at(1).sent.back();  // the client's application record
  std::mt19937_64 rng(3);
  for (int i = 0; i < 9; ++i) {
    advance(100ms);
    REQUIRE_FALSE(f.to_listener(1, record));                              // a replay: discarded
    REQUIRE_FALSE(f.to_listener(1, random_bytes(rng, 60)));               // garbage
    REQUIRE_FALSE(f.to_listener(1, first_client_hello(f.client_ctx())));  // a stranger's hello
  }
  CHECK(f.server_received(1) == std::vector<std::string>{"a record to replay"});
  CHECK(f.l().next_timeout() == last_heard + 1s);
  advance_to(last_heard + 1s);
  f.fire_timers();
  CHECK(f.server_closed(1) == std::vector<std::error_code>{errc::idle_timeout});
}

TEST_CASE("an authenticated record refreshes the idle timer", "[listener][limits]") {
  listener_options o;
  o.idle_timeout = 1s;
  farm f(o);
  f.add_client(1);
  f.pump(500ms);
  REQUIRE(f.at(1).connected);
  advance(600ms);
  REQUIRE_FALSE(f.at(1).s->send(to_bytes("alive")));
  f.drain_client(f.at(1));
  f.deliver_all();
  CHECK(f.l().next_timeout() == now() + 1s);
  // What the listener sends does not count: the peer must be heard.
  advance(500ms);
  REQUIRE_FALSE(f.l().send(address(1), to_bytes("anyone there?")));
  f.drain_listener();
  CHECK(f.l().next_timeout() == now() + 500ms);
}

TEST_CASE("cookie secrets rotate by elapsed periods, even with no traffic in between",
          "[listener][cookie]") {
  listener_options o;
  o.cookie_secret_lifetime = 30s;
  SECTION("a cookie made now is accepted one period and a half later") {
    farm f(o);
    const bytes hello = cookie_hello(f, 1);
    advance(45s);
    REQUIRE_FALSE(f.to_listener(1, hello));
    CHECK(f.l().stats().cookies_rejected == 0);
    CHECK(f.l().stats().sessions_created == 1);
  }
  SECTION("a cookie older than two periods is refused, though nothing arrived meanwhile") {
    farm f(o);
    const bytes hello = cookie_hello(f, 1);
    advance(61s);
    REQUIRE_FALSE(f.to_listener(1, hello));
    CHECK(f.l().stats().cookies_rejected == 1);
    CHECK(f.l().stats().sessions_created == 0);
  }
  SECTION("a cookie made late in a period is good to the end of the next one, not beyond") {
    farm f(o);
    const auto start = now();
    REQUIRE_FALSE(f.to_listener(9, first_client_hello(f.client_ctx())));  // periods begin
    advance_to(start + 29s);
    const bytes hello = cookie_hello(f, 1);
    const bytes twin = cookie_hello(f, 2);
    advance_to(start + 59s);  // the previous secret's last moment
    REQUIRE_FALSE(f.to_listener(1, hello));
    CHECK(f.l().stats().cookies_rejected == 0);
    CHECK(f.l().stats().sessions_created == 1);
    advance_to(start + 60s);  // two periods since the secret that made it began
    REQUIRE_FALSE(f.to_listener(2, twin));
    CHECK(f.l().stats().cookies_rejected == 1);
    CHECK(f.l().stats().sessions_created == 1);
  }
}

// ---- loss ---------------------------------------------------------------------------------------

TEST_CASE("the listener's sessions retransmit: 20 clients at 20% loss each way all connect",
          "[listener][loss]") {
  auto co = quick_options();
  co.handshake_timeout = 60s;
  farm f({}, co);
  f.set_loss(0.2, 11);
  for (std::uint32_t n = 1; n <= 20; ++n)
    f.add_client(n);
  f.pump(60s);
  std::uint64_t server_retransmissions = 0;
  for (std::uint32_t n = 1; n <= 20; ++n) {
    CAPTURE(n);
    CHECK(f.at(n).connected);
    CHECK(f.server_connected(n) == 1);
    if (const session* s = f.l().find(address(n))) {
      server_retransmissions += s->stats().retransmissions;
    }
  }
  CHECK(server_retransmissions > 0);
  CHECK(f.l().stats().sessions == 20);
  CHECK(f.l().stats().handshakes == 0);
}

// ---- ClientHellos in fragments ----------------------------------------------------------------

TEST_CASE("a ClientHello in fragments gets in, with cookies and without", "[listener][cookie]") {
  // Browsers' ClientHellos (post-quantum key shares) outgrow one datagram. Here a long ALPN list
  // does the same at an MTU of 256: the client sends each ClientHello in several fragments.
  const bool cookies = GENERATE(true, false);
  CAPTURE(cookies);
  auto co = quick_options();
  co.mtu_bytes = 256;
  listener_options o;
  o.cookies = cookies;
  farm f(o, co);
  std::vector<unsigned char> alpn;
  for (int i = 0; i < 40; ++i) {
    const std::string proto = "protocol-" + std::to_string(i);
    alpn.push_back(static_cast<unsigned char>(proto.size()));
    alpn.insert(alpn.end(), proto.begin(), proto.end());
  }
  REQUIRE(SSL_CTX_set_alpn_protos(reinterpret_cast<SSL_CTX*>(f.client_ctx().native_handle()),
                                  alpn.data(), static_cast<unsigned>(alpn.size())) == 0);
  auto& c = f.add_client(1);
  REQUIRE(c.outbox.size() >= 2);  // the first ClientHello, fragmented
  for (const auto& d : c.outbox) {
    const auto records = parse_records(d);
    REQUIRE(records.size() == 1);
    CHECK(records[0].handshake_msg_type() == handshake_type::client_hello);
  }
  f.pump();
  CHECK(c.connected);
  CHECK(f.server_connected(1) == 1);
  CHECK(f.l().stats().hello_verify_requests == (cookies ? 1u : 0u));
  CHECK(f.l().stats().client_hellos_joined == 1);
  CHECK(exchange(f, 1, "in fragments"));
}

TEST_CASE("fragments of a ClientHello from an unproven address keep nothing",
          "[listener][cookie]") {
  // A first fragment without a valid cookie gets a HelloVerifyRequest like any ClientHello;
  // later fragments from an address with nothing pending are dropped.
  auto co = quick_options();
  co.mtu_bytes = 256;
  farm f({}, co);
  std::vector<unsigned char> alpn(200, 3);
  for (std::size_t i = 0; i < alpn.size(); i += 4)
    alpn[i] = 3;
  REQUIRE(SSL_CTX_set_alpn_protos(reinterpret_cast<SSL_CTX*>(f.client_ctx().native_handle()),
                                  alpn.data(), static_cast<unsigned>(alpn.size())) == 0);
  auto& c = f.add_client(1);
  REQUIRE(c.outbox.size() >= 2);
  const auto out = std::exchange(c.outbox, {});
  REQUIRE_FALSE(f.l().handle_datagram(address(2), out[1], now()));  // a later fragment
  CHECK_FALSE(f.l().poll());
  CHECK(f.l().stats().dropped_not_client_hello == 1);
  REQUIRE_FALSE(f.l().handle_datagram(address(2), out[0], now()));  // the first one
  const auto e = f.l().poll();
  REQUIRE(e);
  CHECK(has_handshake(std::get<transmit>(e->event).datagram, handshake_type::hello_verify_request));
  CHECK(f.l().stats().sessions == 0);
  CHECK(f.l().stats().client_hellos_joined == 0);
}

TEST_CASE("fragments of a ClientHello are kept for the handshake timeout, no longer",
          "[listener]") {
  auto co = quick_options();
  co.mtu_bytes = 256;
  listener_options o;
  o.cookies = false;
  farm f(o, co);
  std::vector<unsigned char> alpn(200, 3);
  REQUIRE(SSL_CTX_set_alpn_protos(reinterpret_cast<SSL_CTX*>(f.client_ctx().native_handle()),
                                  alpn.data(), static_cast<unsigned>(alpn.size())) == 0);
  auto& c = f.add_client(1);
  REQUIRE(c.outbox.size() >= 2);
  const auto out = std::exchange(c.outbox, {});
  REQUIRE_FALSE(f.l().handle_datagram(address(1), out[0], now()));  // kept: cookies are off
  advance(co.handshake_timeout);
  f.l().handle_timeout(now());  // the client has given up on this ClientHello: it goes
  for (std::size_t i = 1; i < out.size(); ++i)
    REQUIRE_FALSE(f.l().handle_datagram(address(1), out[i], now()));
  CHECK(f.l().stats().client_hellos_joined == 0);
  CHECK(f.l().stats().sessions == 0);
  CHECK(f.l().stats().dropped_not_client_hello == out.size() - 1);
}
