// test/verify_test.cpp: how a session decides on its peer (verifier.hpp, session verify_peer).
#include <catch2/catch.hpp>

#include <thread>

#include <stdexcept>
#include <vector>

#include "harness.hpp"

using namespace dtlspp::test;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using dtlspp::errc;
using dtlspp::hash_algorithm;
using dtlspp::key_type;
using dtlspp::state;
using dtlspp::verdict;

namespace {

// verifiers returns the verifiers of a pair in which `odd` uses v and the other side expects
// odd's real sha-256 fingerprint.
std::pair<dtlspp::verifier, dtlspp::verifier> verifiers(const dtlspp::context& client_ctx,
                                                        const dtlspp::context& server_ctx, side odd,
                                                        dtlspp::verifier v) {
  if (odd == side::client) {
    return {std::move(v), dtlspp::expect({client_ctx.identity().fingerprint()})};
  }
  return {dtlspp::expect({server_ctx.identity().fingerprint()}), std::move(v)};
}

// odd_pair builds a pair of a P-256 client with policy client_o and a P-384 server with policy
// server_o, on a network with options net, in which `odd` verifies with v.
pair odd_pair(side odd, dtlspp::verifier v, const dtlspp::context_options& client_o,
              const dtlspp::context_options& server_o, network_options net = {}) {
  auto client_ctx = client_context(key_type::ecdsa_p256, client_o);
  auto server_ctx = server_context(key_type::ecdsa_p384, server_o);
  auto [cv, sv] = verifiers(client_ctx, server_ctx, odd, std::move(v));
  return pair(client_ctx, std::move(cv), server_ctx, std::move(sv), std::move(net));
}

// odd_pair with one policy for both sides.
pair odd_pair(side odd, dtlspp::verifier v, const dtlspp::context_options& o = quick_options()) {
  return odd_pair(odd, std::move(v), o, o);
}

// deferring_pair is an odd_pair whose `odd` side defers its verdict, pumped until the other
// side is connected and nothing is in flight: odd's verdict is all that is left to give.
pair deferring_pair(side odd, const dtlspp::context_options& o) {
  pair p = odd_pair(
      odd, [](const dtlspp::certificate&) { return verdict::defer; }, o);
  const side peer = other(odd);
  REQUIRE(p.pump_until([&] { return p.at(peer).state() == state::connected && p.net().idle(); },
                       std::chrono::seconds(5)));
  return p;
}

// sent_fatal_alert tells whether s sent a plaintext fatal alert with the given description.
bool sent_fatal_alert(const pair& p, side s, int description) {
  for (const auto& dg : p.net().wire(from(s))) {
    for (const auto& r : parse_records(dg.data)) {
      if (r.type == content_type::alert && r.epoch == 0 && r.fragment.size() == 2 &&
          std::to_integer<int>(r.fragment[0]) == 2 &&
          std::to_integer<int>(r.fragment[1]) == description) {
        return true;
      }
    }
  }
  return false;
}

// no_application_data checks that neither side connected or received anything, and that
// neither can send.
void check_no_application_data(pair& p) {
  for (side s : all_sides) {
    CAPTURE(name(s));
    CHECK(p.events(s).connected == 0);
    CHECK(p.events(s).received.empty());
    CHECK(p.at(s).stats().records_received == 0);
    CHECK(p.send(s, "secret") != std::error_code{});
    CHECK(p.at(s).stats().records_sent == 0);
  }
  p.deliver_all();
  for (side s : all_sides)
    CHECK(p.events(s).received.empty());
}

constexpr int bad_certificate = 42;  // RFC 5246 section 7.2

}  // namespace

TEST_CASE("handshake fails on both sides when one side expects another fingerprint", "[verify]") {
  const side rejecting = GENERATE(side::client, side::server);
  const side accepting = other(rejecting);
  CAPTURE(name(rejecting));

  const auto wrong = stranger();
  pair p = odd_pair(rejecting, dtlspp::expect({wrong}));
  const bool ok = p.handshake();
  INFO(p.trace());
  REQUIRE_FALSE(ok);

  // The rejecting side names both fingerprints, so that a human can compare them.
  const auto& r = p.at(rejecting);
  CHECK(r.state() == state::failed);
  CHECK(r.error() == errc::fingerprint_mismatch);
  const std::string message(r.error_message());
  CHECK_THAT(message, Contains(wrong.to_string()));
  CHECK_THAT(message, Contains(p.ctx(accepting).identity().fingerprint().to_string()));
  REQUIRE(p.events(rejecting).closed.size() == 1);
  CHECK(p.events(rejecting).closed[0] == errc::fingerprint_mismatch);
  CHECK(sent_fatal_alert(p, rejecting, bad_certificate));
  // The refused certificate stays available, to log or show to a human.
  REQUIRE(r.peer_certificate() != nullptr);
  CHECK(r.peer_certificate()->fingerprint() == p.ctx(accepting).identity().fingerprint());

  // The other side hears the bad_certificate alert.
  const auto& a = p.at(accepting);
  CHECK(a.state() == state::failed);
  CHECK(a.error() == errc::peer_alert);
  CHECK_THAT(std::string(a.error_message()), Contains("bad certificate", Catch::CaseSensitive::No));
  REQUIRE(p.events(accepting).closed.size() == 1);
  CHECK(p.events(accepting).closed[0] == errc::peer_alert);

  check_no_application_data(p);
}

TEST_CASE("a fatal alert from the peer is reported with its description", "[verify][session]") {
  pair p = odd_pair(side::server, dtlspp::expect({stranger()}));
  REQUIRE_FALSE(p.handshake());
  CHECK(p.client().error() == errc::peer_alert);
  CHECK_THAT(std::string(p.client().error_message()),
             Contains("bad certificate", Catch::CaseSensitive::No));
  REQUIRE(p.events(side::client).closed.size() == 1);
  CHECK(p.events(side::client).closed[0] == errc::peer_alert);
}

TEST_CASE("expect accepts a certificate matching any of several fingerprints", "[verify]") {
  const auto client_ctx = client_context(key_type::ed25519);
  const auto server_ctx = server_context(key_type::rsa_2048);
  const auto& client_id = client_ctx.identity();
  const auto& server_id = server_ctx.identity();

  SECTION("a wrong sha-256 and the right sha-384") {
    pair p(client_ctx,
           dtlspp::expect(
               {stranger(hash_algorithm::sha256), server_id.fingerprint(hash_algorithm::sha384)}),
           server_ctx,
           dtlspp::expect(
               {client_id.fingerprint(hash_algorithm::sha512), stranger(hash_algorithm::sha1)}));
    REQUIRE(p.handshake());
    CHECK(p.transfer(side::client, "accepted"));
    CHECK(p.transfer(side::server, "accepted too"));
  }
  SECTION("every algorithm, the right one last") {
    std::vector<dtlspp::fingerprint> for_client, for_server;
    for (auto a : {hash_algorithm::sha1, hash_algorithm::sha224, hash_algorithm::sha256,
                   hash_algorithm::sha384, hash_algorithm::sha512}) {
      for_client.push_back(stranger(a));
      for_server.push_back(stranger(a));
    }
    for_client.push_back(server_id.fingerprint(hash_algorithm::sha224));
    for_server.push_back(client_id.fingerprint(hash_algorithm::sha1));
    pair p(client_ctx, dtlspp::expect(for_client), server_ctx, dtlspp::expect(for_server));
    REQUIRE(p.handshake());
    CHECK(p.transfer(side::client, "accepted"));
  }
  SECTION("only wrong ones: the message names each expected and the actual in its algorithm") {
    const auto wrong256 = stranger(hash_algorithm::sha256);
    const auto wrong384 = stranger(hash_algorithm::sha384);
    pair p(client_ctx, dtlspp::expect({wrong256, wrong384}), server_ctx,
           dtlspp::expect({client_id.fingerprint()}));
    REQUIRE_FALSE(p.handshake());
    CHECK(p.client().error() == errc::fingerprint_mismatch);
    const std::string message(p.client().error_message());
    CHECK_THAT(message, Contains(wrong256.to_string()));
    CHECK_THAT(message, Contains(wrong384.to_string()));
    CHECK_THAT(message, Contains(server_id.fingerprint(hash_algorithm::sha256).to_string()));
    CHECK_THAT(message, Contains(server_id.fingerprint(hash_algorithm::sha384).to_string()));
    check_no_application_data(p);
  }
}

TEST_CASE("a deferred verdict holds connected and data until verify_peer accepts", "[verify]") {
  const side deferring = GENERATE(side::client, side::server);
  const side peer = other(deferring);
  CAPTURE(name(deferring));

  int calls = 0;
  pair p = odd_pair(deferring, [&calls](const dtlspp::certificate&) {
    ++calls;
    return verdict::defer;
  });

  // The handshake completes on the wire: the peer connects, the deferring side waits.
  const bool settled =
      p.pump_until([&] { return p.at(peer).state() == state::connected && p.net().idle(); }, 5s);
  INFO(p.trace());
  REQUIRE(settled);
  CHECK(calls == 1);
  CHECK(p.at(deferring).verification_pending());
  CHECK(p.at(deferring).state() == state::handshaking);
  CHECK(p.events(deferring).connected == 0);
  CHECK_FALSE(p.at(deferring).stats().handshake_duration);
  REQUIRE(p.at(deferring).peer_certificate() != nullptr);
  CHECK(*p.at(deferring).peer_certificate() == p.ctx(peer).identity().certificate());
  CHECK(p.send(deferring, "not yet") == errc::not_connected);
  CHECK(p.at(deferring).max_send_size() == 0);

  // The peer sends while the verdict is pending: held back, in order.
  for (const char* text : {"one", "two", "three"})
    REQUIRE_FALSE(p.send(peer, text));
  p.deliver_all();
  CHECK(p.events(deferring).received.empty());
  CHECK(p.events(deferring).connected == 0);

  // A defer passed to verify_peer settles nothing.
  p.verify_peer(deferring, verdict::defer);
  CHECK(p.at(deferring).verification_pending());
  CHECK(p.events(deferring).connected == 0);

  p.verify_peer(deferring, verdict::accept);
  CHECK_FALSE(p.at(deferring).verification_pending());
  CHECK(p.at(deferring).state() == state::connected);
  CHECK(p.events(deferring).connected == 1);
  CHECK(p.events(deferring).texts() == std::vector<std::string>{"one", "two", "three"});
  // connected comes before the records it releases.
  const auto& order = p.events(deferring).order;
  const auto connected_at = std::ranges::find(order, event_kind::connected) - order.begin();
  const auto received_at = std::ranges::find(order, event_kind::received) - order.begin();
  CHECK(connected_at < received_at);
  CHECK(p.at(deferring).stats().handshake_duration.has_value());
  CHECK(calls == 1);

  CHECK(p.transfer(deferring, "four"));
  CHECK(p.transfer(peer, "five"));
  CHECK(p.events(deferring).connected == 1);
}

TEST_CASE("a deferred verdict rejected drops the held data and fails with fingerprint_mismatch",
          "[verify]") {
  const side deferring = GENERATE(side::client, side::server);
  const side peer = other(deferring);
  CAPTURE(name(deferring));

  pair p = odd_pair(deferring, [](const dtlspp::certificate&) { return verdict::defer; });
  REQUIRE(
      p.pump_until([&] { return p.at(peer).state() == state::connected && p.net().idle(); }, 5s));
  REQUIRE(p.at(deferring).verification_pending());
  REQUIRE_FALSE(p.send(peer, "held"));
  p.deliver_all();

  p.verify_peer(deferring, verdict::reject);
  CHECK_FALSE(p.at(deferring).verification_pending());
  CHECK(p.at(deferring).state() == state::failed);
  CHECK(p.at(deferring).error() == errc::fingerprint_mismatch);
  // The message names the certificate that was rejected.
  CHECK_THAT(std::string(p.at(deferring).error_message()),
             Contains(p.ctx(peer).identity().fingerprint().to_string()));
  REQUIRE(p.events(deferring).closed.size() == 1);
  CHECK(p.events(deferring).closed[0] == errc::fingerprint_mismatch);
  CHECK(p.events(deferring).connected == 0);
  CHECK(p.events(deferring).received.empty());

  // The peer's later records are dropped too (OpenSSL 3.0 cannot alert it after the handshake).
  static_cast<void>(p.send(peer, "after the verdict"));
  p.deliver_all();
  CHECK(p.events(deferring).received.empty());
  CHECK(p.events(deferring).connected == 0);
  CHECK(p.send(deferring, "no") == errc::fingerprint_mismatch);
}

TEST_CASE("records beyond max_held_records are dropped while the verdict is deferred", "[verify]") {
  auto o = quick_options();
  o.max_held_records = 4;
  pair p = deferring_pair(side::client, o);
  for (int i = 0; i < 6; ++i)
    REQUIRE_FALSE(p.send(side::server, "record " + std::to_string(i)));
  p.deliver_all();
  CHECK(p.client().stats().records_dropped_held == 2);
  p.verify_peer(side::client, verdict::accept);
  CHECK(p.events(side::client).texts() ==
        std::vector<std::string>{"record 0", "record 1", "record 2", "record 3"});
  CHECK(p.transfer(side::server, "after"));
}

TEST_CASE("a verifier that throws counts as reject", "[verify]") {
  const side throwing = GENERATE(side::client, side::server);
  CAPTURE(name(throwing));

  SECTION("a std::exception") {
    pair p = odd_pair(throwing, [](const dtlspp::certificate&) -> verdict {
      throw std::runtime_error("the verifier exploded");
    });
    REQUIRE_NOTHROW(p.handshake());
    CHECK(p.at(throwing).state() == state::failed);
    CHECK(p.at(throwing).error() == errc::fingerprint_mismatch);
    CHECK(p.at(other(throwing)).state() == state::failed);
    CHECK(p.at(other(throwing)).error() == errc::peer_alert);
    check_no_application_data(p);
  }
  SECTION("anything else") {
    pair p = odd_pair(throwing, [](const dtlspp::certificate&) -> verdict { throw 42; });
    REQUIRE_NOTHROW(p.handshake());
    CHECK(p.at(throwing).error() == errc::fingerprint_mismatch);
    CHECK(p.at(other(throwing)).error() == errc::peer_alert);
    check_no_application_data(p);
  }
}

TEST_CASE("verify_peer does nothing unless a verdict is pending", "[verify]") {
  SECTION("before the verifier ran, accept does not bypass it") {
    pair p = odd_pair(side::server, dtlspp::expect({stranger()}));
    p.verify_peer(side::server, verdict::accept);
    p.verify_peer(side::client, verdict::accept);
    REQUIRE_FALSE(p.handshake());
    CHECK(p.server().error() == errc::fingerprint_mismatch);
    check_no_application_data(p);
  }
  SECTION("once connected, reject changes nothing") {
    pair p(client_context(), server_context());
    REQUIRE(p.handshake());
    p.verify_peer(side::client, verdict::reject);
    p.verify_peer(side::server, verdict::reject);
    CHECK(p.connected());
    CHECK(p.transfer(side::client, "still here"));
    CHECK(p.transfer(side::server, "me too"));
  }
}

TEST_CASE("a verifier is never empty and expect needs a fingerprint", "[verify]") {
  try {
    dtlspp::verifier v{dtlspp::verifier::function{}};
    FAIL("an empty std::function made a verifier");
  } catch (const dtlspp::error& e) {
    CHECK(e.code() == errc::invalid_argument);
  }
  try {
    static_cast<void>(dtlspp::expect({}));
    FAIL("expect({}) made a verifier");
  } catch (const dtlspp::error& e) {
    CHECK(e.code() == errc::invalid_argument);
  }
  const auto fp = stranger();
  CHECK(dtlspp::expect({fp}).expected() == std::vector<dtlspp::fingerprint>{fp});
  CHECK(dtlspp::dangerous_accept_any().expected().empty());
}

TEST_CASE("dangerous_accept_any accepts any certificate", "[verify]") {
  pair p(client_context(key_type::ed25519), dtlspp::dangerous_accept_any(), server_context(),
         dtlspp::dangerous_accept_any());
  REQUIRE(p.handshake());
  CHECK(p.transfer(side::client, "unauthenticated"));
}

TEST_CASE("a deferred reject after the handshake tells the peer with a close_notify", "[verify]") {
  // OpenSSL 3.0 cannot send bad_certificate once the handshake is over; the peer must not be
  // left believing the association lives.
  pair p = odd_pair(side::server, [](const dtlspp::certificate&) { return verdict::defer; });
  REQUIRE(
      p.pump_until([&] { return p.client().state() == state::connected && p.net().idle(); }, 5s));
  p.verify_peer(side::server, verdict::reject);
  p.deliver_all();
  CHECK(p.server().error() == errc::fingerprint_mismatch);
  CHECK(p.client().state() == state::closed);
  REQUIRE(p.events(side::client).closed.size() == 1);
  CHECK_FALSE(p.events(side::client).closed[0]);
}

TEST_CASE("accepting a deferred verdict after the deadline fails with handshake_timeout",
          "[verify]") {
  auto o = quick_options();
  o.handshake_timeout = 300ms;
  pair p = deferring_pair(side::server, o);
  advance_to(p.created() + 350ms);  // nothing happens meanwhile
  p.verify_peer(side::server, verdict::accept);
  CHECK(p.server().state() == state::failed);
  CHECK(p.server().error() == errc::handshake_timeout);
  CHECK(p.events(side::server).connected == 0);
}

TEST_CASE("the key log receives nothing before the peer is verified", "[verify][keylog]") {
  std::vector<std::string> lines;
  auto o = quick_options();
  o.key_log = [&lines](std::string_view line) { lines.emplace_back(line); };
  SECTION("a deferred verdict, then accept: one CLIENT_RANDOM line, at the verdict") {
    pair p = deferring_pair(side::server, o);
    // The client logged its line at its own connect; the server's waits for the verdict.
    const auto before = lines.size();
    p.verify_peer(side::server, verdict::accept);
    REQUIRE(lines.size() == before + 1);
    CHECK(lines.back().starts_with("CLIENT_RANDOM "));
  }
  SECTION("a rejected peer: nothing from the rejecting side") {
    auto client_ctx = client_context(key_type::ecdsa_p256, quick_options());
    auto server_ctx = server_context(key_type::ecdsa_p384, o);
    pair p(client_ctx, dtlspp::expect({server_ctx.identity().fingerprint()}), server_ctx,
           [](const dtlspp::certificate&) { return verdict::defer; });
    REQUIRE(
        p.pump_until([&] { return p.client().state() == state::connected && p.net().idle(); }, 5s));
    p.verify_peer(side::server, verdict::reject);
    CHECK(lines.empty());
  }
}

// ---- what the peer is told when a deferred verification ends in failure ------------------------
// (session.hpp, verify_peer: close_notify after the handshake; a plaintext alert while our
// records are still in epoch 0; nothing once change_cipher_spec is out.)

namespace {

// drop_finished drops the first datagram sent in d that holds an encrypted record: the
// one carrying that side's Finished.
std::function<bool(const datagram&)> drop_finished(direction d) {
  return [d, done = false](const datagram& dg) mutable {
    if (done || dg.dir != d) return false;
    const auto records = parse_records(dg.data);
    done = std::ranges::any_of(records, [](const record& r) { return r.epoch == 1; });
    return done;
  };
}

// lossy_odd_pair is odd_pair with an MTU small enough that the client's Finished travels in a
// datagram of its own, and a drop predicate on the network.
// The server's policy is server_o, the client's quick_options() (both at that MTU).
pair lossy_odd_pair(side odd, dtlspp::verifier v, std::function<bool(const datagram&)> drop,
                    dtlspp::context_options server_o = quick_options()) {
  auto client_o = quick_options();
  client_o.mtu_bytes = server_o.mtu_bytes = 256;
  network_options net;
  net.drop = std::move(drop);
  return odd_pair(odd, std::move(v), client_o, server_o, std::move(net));
}

}  // namespace

TEST_CASE("the deadline after a deferred handshake finished tells the peer with close_notify",
          "[verify][timer]") {
  auto o = quick_options();
  o.handshake_timeout = 300ms;
  pair p = deferring_pair(side::server, o);
  REQUIRE(p.server().verification_pending());
  // Nothing but the deadline is left on the server's timer.
  CHECK(p.server().next_timeout() == p.created() + 300ms);
  advance_to(p.created() + 300ms);
  CHECK(p.handle_timeout(side::server) == errc::handshake_timeout);
  p.deliver_all();
  CHECK_THAT(std::string(p.server().error_message()), Contains("verification still pending"));
  // The client had connected; it hears a clean close instead of waiting for its own timers.
  CHECK(p.client().state() == state::closed);
  REQUIRE(p.events(side::client).closed.size() == 1);
  CHECK_FALSE(p.events(side::client).closed[0]);
}

TEST_CASE("a deferred reject before the server's handshake finished sends bad_certificate",
          "[verify]") {
  // The client's Finished is lost, so the server has verified nothing and sent no
  // change_cipher_spec: its records are still plaintext, and an alert reaches the client.
  pair p = lossy_odd_pair(
      side::server, [](const dtlspp::certificate&) { return verdict::defer; },
      drop_finished(direction::client_to_server));
  REQUIRE(p.pump_until([&] { return p.server().verification_pending() && p.net().idle(); }, 5s));
  REQUIRE(p.client().state() == state::handshaking);
  p.verify_peer(side::server, verdict::reject);
  p.deliver_all();
  CHECK(p.server().error() == errc::fingerprint_mismatch);
  CHECK(sent_fatal_alert(p, side::server, 42));  // bad_certificate
  CHECK(p.client().state() == state::failed);
  CHECK(p.client().error() == errc::peer_alert);
  CHECK_THAT(std::string(p.client().error_message()), Contains("bad certificate"));
}

TEST_CASE("the deadline before the server's handshake finished sends user_canceled",
          "[verify][timer]") {
  auto o = quick_options();
  o.handshake_timeout = 300ms;  // the server's; the client's is 10 s
  pair p = lossy_odd_pair(
      side::server, [](const dtlspp::certificate&) { return verdict::defer; },
      drop_finished(direction::client_to_server), o);
  REQUIRE(p.pump_until([&] { return p.server().verification_pending() && p.net().idle(); }, 5s));
  advance_to(p.created() + 300ms);
  CHECK(p.handle_timeout(side::server) == errc::handshake_timeout);
  p.deliver_all();
  CHECK(sent_fatal_alert(p, side::server, 90));  // user_canceled
  CHECK(p.client().error() == errc::peer_alert);
  CHECK_THAT(std::string(p.client().error_message()), Contains("user canceled"));
}

TEST_CASE("a deferred reject on a client that sent its Finished can tell the server nothing",
          "[verify]") {
  // The server's final flight is lost: the client's records are already encrypted, OpenSSL
  // lets it send neither an alert nor a close_notify, and the server (connected) ends on its
  // own timers. This is the one case the peer is not told.
  network_options net;
  net.drop_flight =
      drop_first_flight_with(direction::server_to_client, content_type::change_cipher_spec);
  auto client_ctx = client_context(key_type::ecdsa_p256);
  auto server_ctx = server_context(key_type::ecdsa_p384);
  pair p(
      client_ctx, [](const dtlspp::certificate&) { return verdict::defer; }, server_ctx,
      dtlspp::expect({client_ctx.identity().fingerprint()}), std::move(net));
  REQUIRE(
      p.pump_until([&] { return p.server().state() == state::connected && p.net().idle(); }, 5s));
  REQUIRE(p.client().verification_pending());
  const auto sent_before = p.net().wire(direction::client_to_server).size();
  p.verify_peer(side::client, verdict::reject);
  CHECK(p.client().error() == errc::fingerprint_mismatch);
  CHECK(p.net().wire(direction::client_to_server).size() == sent_before);
  CHECK(p.server().state() == state::connected);
}
