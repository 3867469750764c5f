// test/session_test.cpp: dtlspp::session between two in-memory peers (session.hpp).
#include <catch2/catch.hpp>

#include <algorithm>
#include <type_traits>
#include <vector>

#include "harness.hpp"

using namespace dtlspp::test;
using namespace std::chrono_literals;
using dtlspp::errc;
using dtlspp::key_type;
using dtlspp::state;

namespace {

// position returns the index of the first event of kind k in log, or log.size().
std::size_t position(const std::vector<event_kind>& log, event_kind k) {
  return static_cast<std::size_t>(std::ranges::find(log, k) - log.begin());
}

// largest_on_wire returns the largest datagram sent in d.
std::size_t largest_on_wire(const network& net, direction d) {
  std::size_t largest = 0;
  for (const auto& dg : net.wire(d))
    largest = std::max(largest, dg.data.size());
  return largest;
}

}  // namespace

TEST_CASE("handshake completes and data flows both ways for every key type pairing", "[session]") {
  // Ed25519 only as the client: OpenSSL 3.0 cannot serve DTLS 1.2 with an Ed25519 certificate
  // (see the next test).
  const auto [client_key, server_key] = GENERATE(table<key_type, key_type>({
      {key_type::ecdsa_p256, key_type::ecdsa_p256},
      {key_type::ecdsa_p384, key_type::ecdsa_p384},
      {key_type::rsa_2048, key_type::rsa_2048},
      {key_type::ecdsa_p256, key_type::rsa_2048},
      {key_type::rsa_2048, key_type::ecdsa_p256},
      {key_type::ecdsa_p256, key_type::ecdsa_p384},
      {key_type::ed25519, key_type::ecdsa_p256},
      {key_type::ed25519, key_type::ecdsa_p384},
      {key_type::ed25519, key_type::rsa_2048},
  }));
  CAPTURE(name(client_key), name(server_key));

  pair p(client_context(client_key), server_context(server_key));
  const bool ok = p.handshake();
  INFO(p.trace());
  REQUIRE(ok);

  for (side s : all_sides) {
    CAPTURE(name(s));
    CHECK(p.at(s).state() == state::connected);
    CHECK(p.events(s).connected == 1);
    CHECK(p.events(s).errors.empty());
    CHECK(p.events(s).closed.empty());
    CHECK_FALSE(p.at(s).error());
    CHECK(p.at(s).error_message().empty());
    CHECK_FALSE(p.at(s).verification_pending());
    CHECK_FALSE(p.at(s).cipher_name().empty());
    CHECK(p.at(s).max_send_size() > 0);
    REQUIRE(p.at(s).peer_certificate() != nullptr);
    CHECK(*p.at(s).peer_certificate() == p.ctx(other(s)).identity().certificate());
  }
  CHECK(p.client().role() == dtlspp::role::client);
  CHECK(p.server().role() == dtlspp::role::server);
  CHECK(p.client().cipher_name() == p.server().cipher_name());

  CHECK(p.transfer(side::client, "hello from the client"));
  CHECK(p.transfer(side::server, "hello from the server"));
  const std::string big(1000, 'x');
  CHECK(p.transfer(side::client, big));
  CHECK(p.transfer(side::server, big));
  CHECK(p.events(side::server).texts() == std::vector<std::string>{"hello from the client", big});
  CHECK(p.events(side::client).texts() == std::vector<std::string>{"hello from the server", big});
  for (side s : all_sides) {
    const auto& order = p.events(s).order;
    CHECK(position(order, event_kind::connected) < position(order, event_kind::received));
  }
}

TEST_CASE("an Ed25519 server either works or fails cleanly on both sides", "[session]") {
  // OpenSSL 3.0 offers Ed25519 with the ECDSA suites only when the version is TLS1_2_VERSION
  // (ssl_set_masks in ssl/t1_lib.c), never for DTLS 1.2: the server finds no shared cipher and
  // sends a handshake_failure alert. Should a later OpenSSL serve it, the handshake must work.
  const key_type client_key = GENERATE(key_type::ed25519, key_type::ecdsa_p256, key_type::rsa_2048);
  CAPTURE(name(client_key));
  pair p(client_context(client_key), server_context(key_type::ed25519));
  if (p.handshake()) {
    CHECK(p.transfer(side::client, "Ed25519 served"));
    CHECK(p.transfer(side::server, "Ed25519 served"));
    return;
  }
  INFO(p.trace());
  // The server failed by itself (no shared cipher) and said so with an alert.
  CHECK(p.server().state() == state::failed);
  CHECK(p.server().error() == errc::protocol_error);
  CHECK_THAT(std::string(p.server().error_message()),
             Catch::Matchers::Contains("no shared cipher", Catch::CaseSensitive::No));
  // The client heard the alert.
  CHECK(p.client().state() == state::failed);
  CHECK(p.client().error() == errc::peer_alert);
  CHECK_THAT(std::string(p.client().error_message()),
             Catch::Matchers::Contains("handshake failure", Catch::CaseSensitive::No));
  for (side s : all_sides) {
    CHECK(p.events(s).connected == 0);
    REQUIRE(p.events(s).closed.size() == 1);
    CHECK(p.events(s).closed[0] == p.at(s).error());
  }
}

TEST_CASE("the client queues its first flight at construction and the server waits", "[session]") {
  pair p(client_context(), server_context());
  REQUIRE(p.net().wire(direction::client_to_server).size() >= 1);
  CHECK(p.net().flights(direction::client_to_server) == 1);
  CHECK(has_handshake(p.net().wire(direction::client_to_server)[0].data,
                      handshake_type::client_hello));
  CHECK(p.net().wire(direction::server_to_client).empty());
  CHECK(p.client().state() == state::handshaking);
  CHECK(p.server().state() == state::handshaking);
  // The client's retransmission timer runs from its first flight.
  CHECK(p.client().next_timeout().has_value());
}

TEST_CASE("send before the handshake completes returns not_connected", "[session]") {
  pair p(client_context(), server_context());
  CHECK(p.send(side::client, "too early") == errc::not_connected);
  CHECK(p.send(side::server, "too early") == errc::not_connected);
  CHECK(p.client().max_send_size() == 0);
  CHECK(p.server().max_send_size() == 0);

  // Mid-handshake: the server has the ClientHello and has answered.
  REQUIRE(p.step());
  REQUIRE(p.net().delivered(direction::client_to_server) == 1);
  CHECK(p.send(side::server, "still too early") == errc::not_connected);
  CHECK(p.send(side::client, "still too early") == errc::not_connected);

  // not_connected is not sticky: the handshake goes on and data flows afterwards.
  for (side s : all_sides) {
    CHECK(p.at(s).state() == state::handshaking);
    CHECK_FALSE(p.at(s).error());
  }
  REQUIRE(p.handshake());
  CHECK(p.events(side::client).received.empty());
  CHECK(p.events(side::server).received.empty());
  CHECK(p.transfer(side::client, "now"));
  CHECK(p.transfer(side::server, "now"));
}

TEST_CASE("an empty send is refused without harm", "[session]") {
  pair p(client_context(), server_context());
  REQUIRE(p.handshake());
  CHECK(p.send(side::client, std::span<const std::byte>{}) == errc::invalid_argument);
  CHECK(p.client().state() == state::connected);
  CHECK(p.transfer(side::client, "after"));
}

TEST_CASE("a session is move-only and keeps working when moved mid-handshake", "[session]") {
  static_assert(!std::is_copy_constructible_v<dtlspp::session>);
  static_assert(!std::is_copy_assignable_v<dtlspp::session>);
  static_assert(std::is_nothrow_move_constructible_v<dtlspp::session>);
  static_assert(std::is_nothrow_move_assignable_v<dtlspp::session>);

  pair p(client_context(), server_context());
  // ClientHello to the server, the server's flight to the client, the client's flight 5 out.
  REQUIRE(p.step());
  REQUIRE(p.step());
  REQUIRE(p.net().delivered(direction::server_to_client) >= 1);
  REQUIRE(p.client().state() == state::handshaking);
  REQUIRE(p.server().state() == state::handshaking);

  // Move both sessions out, through a reallocating vector, and back.
  std::vector<dtlspp::session> elsewhere;
  elsewhere.push_back(std::move(p.client()));
  elsewhere.push_back(std::move(p.server()));
  elsewhere.reserve(elsewhere.capacity() * 4);
  p.client() = std::move(elsewhere[0]);
  p.server() = std::move(elsewhere[1]);
  elsewhere.clear();  // destroys the moved-from shells

  const bool ok = p.handshake();
  INFO(p.trace());
  REQUIRE(ok);
  CHECK(p.transfer(side::client, "moved client"));
  CHECK(p.transfer(side::server, "moved server"));

  // A connected session moves too, and its peer certificate comes along.
  dtlspp::session moved(std::move(p.client()));
  p.client() = std::move(moved);
  REQUIRE(p.client().peer_certificate() != nullptr);
  CHECK(p.transfer(side::client, "moved again"));
  CHECK(p.transfer(side::server, "and back"));
}

TEST_CASE("close_notify closes both sides cleanly, from either side", "[session]") {
  const side closer = GENERATE(side::client, side::server);
  const side peer = other(closer);
  CAPTURE(name(closer));

  pair p(client_context(), server_context());
  REQUIRE(p.handshake());
  REQUIRE(p.transfer(closer, "before close"));

  const auto sent_before = p.net().wire(from(closer)).size();
  p.close(closer);
  CHECK(p.at(closer).state() == state::closed);
  REQUIRE(p.events(closer).closed.size() == 1);
  CHECK_FALSE(p.events(closer).closed[0]);
  CHECK_FALSE(p.at(closer).error());
  // One datagram went out, and it is an alert: the close_notify.
  REQUIRE(p.net().wire(from(closer)).size() == sent_before + 1);
  CHECK(has_record(p.net().wire(from(closer)).back().data, content_type::alert));

  p.deliver_all();
  CHECK(p.at(peer).state() == state::closed);
  REQUIRE(p.events(peer).closed.size() == 1);
  CHECK_FALSE(p.events(peer).closed[0]);
  CHECK_FALSE(p.at(peer).error());
  CHECK(p.events(peer).texts() == std::vector<std::string>{"before close"});

  // Every later call on either side returns errc::closed, and nothing more comes out.
  const auto stray = p.net().wire(from(peer)).front().data;
  for (side s : all_sides) {
    CAPTURE(name(s));
    CHECK(p.send(s, "after close") == errc::closed);
    CHECK(p.handle_timeout(s) == errc::closed);
    CHECK(p.inject(s, stray) == errc::closed);
    p.close(s);  // a second close is a no-op
    CHECK(p.at(s).state() == state::closed);
    CHECK(p.events(s).closed.size() == 1);
    CHECK_FALSE(p.at(s).next_timeout());
    CHECK(p.events(s).connected == 1);
  }
  CHECK(p.events(closer).received.empty());
}

TEST_CASE("close during the handshake ends the session with a clean closed event", "[session]") {
  pair p(client_context(), server_context());
  p.close(side::client);
  CHECK(p.client().state() == state::closed);
  REQUIRE(p.events(side::client).closed.size() == 1);
  CHECK_FALSE(p.events(side::client).closed[0]);
  CHECK(p.send(side::client, "x") == errc::closed);
  CHECK_FALSE(p.client().next_timeout());
}

TEST_CASE("stats count the datagrams, bytes and records the network moved", "[session]") {
  pair p(client_context(), server_context());
  for (side s : all_sides)
    CHECK_FALSE(p.at(s).stats().handshake_duration);

  REQUIRE(p.handshake());
  const auto since_creation = now() - p.created();
  for (int i = 0; i < 3; ++i) {
    REQUIRE(p.transfer(side::client, "from the client " + std::to_string(i)));
    REQUIRE(p.transfer(side::server, "from the server " + std::to_string(i)));
  }

  for (side s : all_sides) {
    CAPTURE(name(s));
    const auto st = p.at(s).stats();
    const auto& log = p.events(s);
    CHECK(st.datagrams_out == log.datagrams_out);
    CHECK(st.bytes_out == log.bytes_out);
    CHECK(st.datagrams_in == log.datagrams_in);
    CHECK(st.bytes_in == log.bytes_in);
    CHECK(st.datagrams_out == p.net().wire(from(s)).size());
    CHECK(st.datagrams_in == p.net().delivered(from(other(s))));
    CHECK(st.records_sent == 3);
    CHECK(st.records_received == 3);
    CHECK(st.datagrams_dropped_malformed == 0);
    CHECK(st.datagrams_dropped_oversize == 0);
    CHECK(st.datagrams_dropped_unexpected == 0);
    CHECK(st.records_discarded == 0);
    CHECK(st.records_dropped_held == 0);
    // Nothing was lost and, on virtual time, nothing takes time: no timer ever fired, and the
    // handshake took no time at all.
    CHECK(st.retransmissions == 0);
    REQUIRE(st.handshake_duration.has_value());
    CHECK(*st.handshake_duration == since_creation);
    CHECK(*st.handshake_duration == 0ns);
  }
}

TEST_CASE("no timer runs once both sides are connected", "[session]") {
  pair p(client_context(), server_context());
  REQUIRE(p.handshake());
  CHECK_FALSE(p.client().next_timeout());
  CHECK_FALSE(p.server().next_timeout());
  // handle_timeout on a connected session is harmless.
  CHECK_FALSE(p.handle_timeout(side::client));
  CHECK_FALSE(p.handle_timeout(side::server));
  CHECK(p.connected());
  CHECK(p.transfer(side::client, "still fine"));
}

TEST_CASE("no datagram exceeds the MTU and a max_send_size record fills it", "[session][mtu]") {
  const std::size_t mtu = GENERATE(as<std::size_t>{}, 576, 1200, 1500);
  const key_type key = GENERATE(key_type::ecdsa_p256, key_type::ecdsa_p384, key_type::ed25519,
                                key_type::rsa_2048, key_type::rsa_3072);
  CAPTURE(mtu, name(key));

  auto o = quick_options();
  o.mtu_bytes = mtu;
  // An Ed25519 certificate can only be the client's (OpenSSL 3.0, see above).
  const key_type server_key = key == key_type::ed25519 ? key_type::ecdsa_p256 : key;
  pair p(client_context(key, o), server_context(server_key, o));
  const bool ok = p.handshake();
  INFO(p.trace());
  REQUIRE(ok);

  for (side s : all_sides) {
    CAPTURE(name(s));
    const std::size_t n = p.at(s).max_send_size();
    REQUIRE(n > 0);
    CHECK(n < mtu);
    CHECK(p.send(s, bytes(n + 1, std::byte{'y'})) == errc::message_too_large);
    CHECK(p.at(s).state() == state::connected);

    bytes largest(n);
    for (std::size_t i = 0; i < n; ++i)
      largest[i] = static_cast<std::byte>(i & 0xFF);
    const auto sent_before = p.net().wire(from(s)).size();
    REQUIRE_FALSE(p.send(s, largest));
    REQUIRE(p.net().wire(from(s)).size() == sent_before + 1);
    const auto& dg = p.net().wire(from(s)).back().data;
    CHECK(dg.size() <= mtu);
    // The largest send leaves less than one AEAD block of the MTU unused.
    CHECK(mtu - std::min(mtu, dg.size()) < 16);
    p.deliver_all();
    REQUIRE_FALSE(p.events(other(s)).received.empty());
    CHECK(p.events(other(s)).received.back() == largest);
  }

  // Every datagram in both directions, handshake flights included, fits the MTU.
  CHECK(largest_on_wire(p.net(), direction::client_to_server) <= mtu);
  CHECK(largest_on_wire(p.net(), direction::server_to_client) <= mtu);
  CHECK(p.events(side::client).largest_transmit <= mtu);
  CHECK(p.events(side::server).largest_transmit <= mtu);
}

TEST_CASE("two sessions on one thread: one failing leaves the other untouched", "[session]") {
  const auto client_ctx = client_context();
  const auto server_ctx = server_context(key_type::ecdsa_p384);
  std::vector<pair> pairs;
  // The first server expects a stranger and rejects its client; the second pair is healthy.
  // Both pairs share the two contexts.
  pairs.emplace_back(client_ctx, dtlspp::expect({server_ctx.identity().fingerprint()}), server_ctx,
                     dtlspp::expect({stranger()}));
  pairs.emplace_back(client_ctx, server_ctx);
  pair& failing = pairs[0];
  pair& healthy = pairs[1];

  // pump_all steps the pairs in turn, one datagram or timer at a time.
  const bool settled = pump_all(
      pairs,
      [](const pair& p) {
        return p.connected() || (p.terminal(side::client) && p.terminal(side::server));
      },
      10s);
  INFO(failing.trace());
  INFO(healthy.trace());
  REQUIRE(settled);

  CHECK(failing.server().error() == errc::fingerprint_mismatch);
  CHECK(failing.client().error() == errc::peer_alert);
  REQUIRE(healthy.connected());
  for (side s : all_sides) {
    CHECK_FALSE(healthy.at(s).error());
    CHECK(healthy.at(s).error_message().empty());
    CHECK(healthy.events(s).errors.empty());
  }

  // Alternate calls: a failing call on one pair, then a healthy one on the other.
  std::mt19937_64 rng(7);
  for (int i = 0; i < 5; ++i) {
    const auto garbage = random_bytes(rng, 100);
    CHECK(failing.inject(side::server, garbage) == errc::fingerprint_mismatch);
    CHECK(healthy.transfer(side::client, "ping " + std::to_string(i)));
    CHECK(failing.send(side::client, "nothing") == errc::peer_alert);
    CHECK(healthy.transfer(side::server, "pong " + std::to_string(i)));
  }
  CHECK(healthy.connected());
  CHECK(healthy.events(side::server).received.size() == 5);
  CHECK(healthy.events(side::client).received.size() == 5);
  CHECK(failing.events(side::server).received.empty());
  CHECK(failing.events(side::client).received.empty());
}

TEST_CASE("a failed session returns its sticky error from every later call", "[session]") {
  const auto client_ctx = client_context();
  const auto server_ctx = server_context();
  pair p(client_ctx, dtlspp::expect({server_ctx.identity().fingerprint()}), server_ctx,
         dtlspp::expect({stranger()}));
  REQUIRE_FALSE(p.handshake());
  CHECK(p.server().error() == errc::fingerprint_mismatch);
  CHECK(p.client().error() == errc::peer_alert);

  std::mt19937_64 rng(11);
  for (side s : all_sides) {
    CAPTURE(name(s));
    REQUIRE(p.at(s).state() == state::failed);
    const std::error_code error = p.at(s).error();
    REQUIRE(error);
    const std::string message(p.at(s).error_message());
    CHECK_FALSE(message.empty());
    const auto sent_before = p.net().wire(from(s)).size();
    const auto events_before = p.events(s).order.size();

    CHECK(p.inject(s, random_bytes(rng, 200)) == error);
    CHECK(p.inject(s, p.net().wire(from(other(s))).front().data) == error);
    CHECK(p.send(s, "too late") == error);
    CHECK(p.handle_timeout(s) == error);
    p.close(s);
    p.verify_peer(s, dtlspp::verdict::accept);
    CHECK(p.send(s, "still too late") == error);
    CHECK(p.handle_timeout(s) == error);

    CHECK(p.at(s).state() == state::failed);
    CHECK(p.at(s).error() == error);
    CHECK(p.at(s).error_message() == message);
    CHECK_FALSE(p.at(s).next_timeout());
    CHECK(p.at(s).max_send_size() == 0);
    // Nothing more came out: no datagram, no event.
    CHECK(p.net().wire(from(s)).size() == sent_before);
    CHECK(p.events(s).order.size() == events_before);
    REQUIRE(p.events(s).closed.size() == 1);
    CHECK(p.events(s).closed[0] == error);
    CHECK(p.events(s).connected == 0);
    CHECK(p.events(s).received.empty());
  }
}

TEST_CASE("a moved-from session answers every call without crashing", "[session]") {
  pair p(client_context(), server_context());
  dtlspp::session taken = std::move(p.client());
  dtlspp::session& gone = p.client();
  const bytes junk = to_bytes("junk");
  CHECK(gone.handle_datagram(junk) == errc::invalid_argument);
  CHECK(gone.handle_timeout() == errc::invalid_argument);
  CHECK(gone.send(junk) == errc::invalid_argument);
  gone.close();
  gone.verify_peer(dtlspp::verdict::accept);
  CHECK_FALSE(gone.poll());
  CHECK_FALSE(gone.next_timeout());
  CHECK(gone.peer_certificate() == nullptr);
  CHECK(gone.max_send_size() == 0);
  CHECK(gone.native_handle() == nullptr);
  CHECK(taken.state() == state::handshaking);
}

TEST_CASE("a received record can be sent straight back: an echo without a copy", "[session]") {
  pair p(client_context(), server_context());
  REQUIRE(p.handshake());
  for (const std::string& text : {std::string("short"), std::string(1000, 'x')}) {
    REQUIRE_FALSE(p.client().send(to_bytes(text)));
    p.drain(side::client);
    auto d = p.net().receive(direction::client_to_server);
    REQUIRE(d);
    REQUIRE_FALSE(p.server().handle_datagram(*d, now()));
    auto e = p.server().poll();
    REQUIRE(e);
    const auto* r = std::get_if<dtlspp::received>(&*e);
    REQUIRE(r != nullptr);
    REQUIRE_FALSE(p.server().send(r->data));  // the span of the event being handled
    p.drain(side::server);
    p.deliver_all();
    REQUIRE_FALSE(p.events(side::client).received.empty());
    CHECK(to_text(p.events(side::client).received.back()) == text);
  }
}
