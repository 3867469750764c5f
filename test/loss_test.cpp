// test/loss_test.cpp: handshakes over a network that loses, duplicates and reorders datagrams
// (RFC 6347 section 4.2.4: the handshake is reliable; application data is not).
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <vector>

#include "harness.hpp"

using namespace dtlspp::test;
using namespace std::chrono_literals;
using dtlspp::errc;
using dtlspp::key_type;
using dtlspp::state;

namespace {

// flights_with returns the flights sent in d that hold a record of content type t, each as the
// list of its datagrams.
std::vector<std::vector<const datagram*>> flights_with(const network& net, direction d,
                                                       std::uint8_t t) {
  std::vector<std::vector<const datagram*>> out;
  std::set<std::size_t> wanted;
  for (const auto& dg : net.wire(d)) {
    if (has_record(dg.data, t)) wanted.insert(dg.flight);
  }
  for (std::size_t f : wanted) {
    auto& flight = out.emplace_back();
    for (const auto& dg : net.wire(d)) {
      if (dg.flight == f) flight.push_back(&dg);
    }
  }
  return out;
}

// largest_flight returns the most datagrams any one flight in d had.
std::size_t largest_flight(const network& net, direction d) {
  std::vector<std::size_t> sizes(net.flights(d));
  for (const auto& dg : net.wire(d))
    ++sizes[dg.flight];
  return sizes.empty() ? 0 : *std::ranges::max_element(sizes);
}

// exchange sends n numbered messages each way and delivers them; it returns what each side
// received, sorted (application data may be reordered by the network).
void check_exchange(pair& p, int n) {
  std::vector<std::string> expected[2];
  for (int i = 0; i < n; ++i) {
    for (side s : all_sides) {
      const auto text = fmt::format("{} {}", name(s), i);
      REQUIRE_FALSE(p.send(s, text));
      expected[s == side::client ? 1 : 0].push_back(text);
    }
  }
  p.deliver_all();
  for (side s : all_sides) {
    CAPTURE(name(s));
    auto got = p.events(s).texts();
    std::ranges::sort(got);
    auto& want = expected[s == side::client ? 0 : 1];
    std::ranges::sort(want);
    // Delivered once each: never duplicated, never lost on this lossless link.
    CHECK(got == want);
  }
}

}  // namespace

TEST_CASE("200 handshakes at 30% loss each way all complete before their deadline", "[loss]") {
  auto o = quick_options();
  o.retransmit = {.initial = 20ms, .maximum = 150ms};
  o.handshake_timeout = 20s;
  const auto client_ctx = client_context(key_type::ecdsa_p256, o);
  const auto server_ctx = server_context(key_type::ecdsa_p256, o);

  constexpr std::size_t count = 200;
  std::vector<pair> pairs;
  pairs.reserve(count);
  const auto start = now();
  for (std::size_t i = 0; i < count; ++i) {
    network_options net;
    net.seed = 1000 + i;
    net.to_server.loss = 0.3;
    net.to_client.loss = 0.3;
    pairs.emplace_back(client_ctx, server_ctx, std::move(net));
  }
  // All 200 run interleaved on this thread: the wait for one's timer is another's work.
  const bool all = pump_all(
      pairs,
      [](const pair& p) {
        return p.connected() || p.terminal(side::client) || p.terminal(side::server);
      },
      30s);
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now() - start);

  std::size_t connected = 0;
  std::uint64_t retransmissions = 0, lost = 0;
  std::chrono::nanoseconds slowest{0};
  for (auto& p : pairs) {
    if (p.connected()) {
      ++connected;
    } else {
      UNSCOPED_INFO("failed handshake, seed " << p.net().options().seed << ":\n" << p.trace());
    }
    for (side s : all_sides) {
      retransmissions += p.at(s).stats().retransmissions;
      if (auto d = p.at(s).stats().handshake_duration) slowest = std::max(slowest, *d);
    }
    lost +=
        p.net().dropped(direction::client_to_server) + p.net().dropped(direction::server_to_client);
  }
  WARN(
      fmt::format("{} of {} handshakes at 30% loss in {} ms: {} datagrams lost, {} "
                  "retransmissions, slowest {} ms",
                  connected, count, elapsed.count(), lost, retransmissions,
                  std::chrono::duration_cast<std::chrono::milliseconds>(slowest).count()));
  CHECK(all);
  CHECK(connected == count);
  CHECK(retransmissions > 0);
  CHECK(slowest < o.handshake_timeout);

  // Each connected pair carries data (on a lossless link now).
  for (auto& p : pairs) {
    if (!p.connected()) continue;
    p.net().options().to_server.loss = 0;
    p.net().options().to_client.loss = 0;
    p.deliver_all();
    REQUIRE(p.transfer(side::client, "after loss"));
    REQUIRE(p.transfer(side::server, "after loss"));
  }
}

TEST_CASE("a lost first ClientHello is retransmitted and the handshake completes", "[loss]") {
  network_options net;
  net.drop = drop_nth(direction::client_to_server, 0);
  pair p(client_context(), server_context(), std::move(net));
  const bool ok = p.handshake();
  INFO(p.trace());
  REQUIRE(ok);

  const auto& wire = p.net().wire(direction::client_to_server);
  REQUIRE(wire.size() >= 2);
  CHECK(wire[0].dropped);
  CHECK(has_handshake(wire[0].data, handshake_type::client_hello));
  CHECK_FALSE(wire[1].dropped);
  CHECK(has_handshake(wire[1].data, handshake_type::client_hello));
  CHECK(p.events(side::client).timeouts >= 1);
  CHECK(p.client().stats().retransmissions >= 1);
  CHECK(p.transfer(side::client, "after a lost hello"));
  CHECK(p.transfer(side::server, "after a lost hello"));
}

TEST_CASE("a lost final flight is repeated when the client repeats its own", "[loss]") {
  // In a full DTLS 1.2 handshake the client's flight 5 (Certificate, ClientKeyExchange,
  // CertificateVerify, ChangeCipherSpec, Finished) is answered by the server's flight 6
  // (ChangeCipherSpec, Finished). Flight 6 is lost once.
  network_options net;
  net.drop_flight =
      drop_first_flight_with(direction::server_to_client, content_type::change_cipher_spec);
  pair p(client_context(), server_context(), std::move(net));
  const bool ok = p.handshake();
  INFO(p.trace());
  REQUIRE(ok);

  const auto server_finals =
      flights_with(p.net(), direction::server_to_client, content_type::change_cipher_spec);
  REQUIRE(server_finals.size() >= 2);
  for (const auto* dg : server_finals[0])
    CHECK(dg->dropped);
  for (const auto* dg : server_finals[1])
    CHECK_FALSE(dg->dropped);
  // The client repeated flight 5 on its timer; the server answered with flight 6 again.
  const auto client_fives =
      flights_with(p.net(), direction::client_to_server, content_type::change_cipher_spec);
  CHECK(client_fives.size() >= 2);
  CHECK(p.client().stats().retransmissions >= 1);
  for (side s : all_sides) {
    CAPTURE(name(s));
    CHECK(p.events(s).connected == 1);
    CHECK(p.events(s).errors.empty());
  }
  CHECK(p.transfer(side::client, "after a lost final flight"));
  CHECK(p.transfer(side::server, "after a lost final flight"));
}

TEST_CASE("every datagram duplicated: the handshake completes and data arrives once", "[loss]") {
  network_options net;
  net.to_server.duplication = 1.0;
  net.to_client.duplication = 1.0;
  pair p(client_context(), server_context(), std::move(net));
  const bool ok = p.handshake();
  INFO(p.trace());
  REQUIRE(ok);
  for (auto d : {direction::client_to_server, direction::server_to_client}) {
    CHECK(p.net().delivered(d) == 2 * p.net().wire(d).size());
  }
  for (side s : all_sides)
    CHECK(p.events(s).connected == 1);

  std::vector<std::string> sent;
  for (int i = 0; i < 10; ++i) {
    sent.push_back("message " + std::to_string(i));
    REQUIRE_FALSE(p.send(side::client, sent.back()));
    REQUIRE_FALSE(p.send(side::server, sent.back()));
  }
  p.deliver_all();
  // Duplicates without reordering: each record once, in order; each copy discarded.
  for (side s : all_sides) {
    CAPTURE(name(s));
    CHECK(p.events(s).texts() == sent);
    CHECK(p.at(s).stats().records_received == 10);
    CHECK(p.at(s).stats().records_discarded == 10);
  }
}

TEST_CASE("reordered flights: the handshake completes and data arrives once", "[loss]") {
  // RSA-2048 certificates at MTU 576 make flights of several datagrams to reorder.
  auto o = quick_options();
  o.mtu_bytes = 576;
  network_options net;
  SECTION("each flight's datagrams reversed") {
    net.reverse_flights = true;
  }
  SECTION("each flight reversed and every datagram duplicated") {
    net.reverse_flights = true;
    net.to_server.duplication = 1.0;
    net.to_client.duplication = 1.0;
  }
  SECTION("random reordering and duplication") {
    net.seed = GENERATE(1, 2, 3, 4, 5);
    net.to_server = {.duplication = 0.3, .reordering = 0.5};
    net.to_client = {.duplication = 0.3, .reordering = 0.5};
  }
  CAPTURE(net.seed, net.reverse_flights, net.to_server.duplication, net.to_server.reordering);

  pair p(client_context(key_type::rsa_2048, o), server_context(key_type::rsa_2048, o),
         std::move(net));
  const bool ok = p.handshake();
  INFO(p.trace());
  REQUIRE(ok);
  // Otherwise there was nothing to reorder.
  CHECK(largest_flight(p.net(), direction::server_to_client) >= 2);
  CHECK(largest_flight(p.net(), direction::client_to_server) >= 2);
  for (side s : all_sides)
    CHECK(p.events(s).connected == 1);
  check_exchange(p, 20);
}

TEST_CASE("a client whose server never answers fails with handshake_timeout at the deadline",
          "[loss]") {
  auto o = quick_options();
  o.retransmit = {.initial = 20ms, .maximum = 200ms};
  o.handshake_timeout = 500ms;
  network_options net;
  net.to_server.loss = 1.0;  // the server never hears from the client
  pair p(client_context(key_type::ecdsa_p256, o), server_context(key_type::ecdsa_p256, o),
         std::move(net));

  REQUIRE(p.pump_until([&] { return p.terminal(side::client); }, 5s));
  const auto elapsed = now() - p.created();
  CHECK(p.client().state() == state::failed);
  CHECK(p.client().error() == errc::handshake_timeout);
  CHECK_FALSE(p.client().error_message().empty());
  REQUIRE(p.events(side::client).closed.size() == 1);
  CHECK(p.events(side::client).closed[0] == errc::handshake_timeout);
  // On virtual time the deadline is exact: the session fails at 500 ms, not a tick later.
  CHECK(elapsed == 500ms);
  // The ClientHello went out at 0, then at 20, 60, 140 and 300 ms (20, 40, 80, 160 apart); the
  // next would be at 500 ms, where the deadline comes first.
  CHECK(p.client().stats().retransmissions == 4);
  CHECK(p.net().wire(direction::client_to_server).size() == 5);
  CHECK(p.handle_timeout(side::client) == errc::handshake_timeout);
  CHECK_FALSE(p.client().next_timeout());
}

TEST_CASE("a server that never hears from its client fails with handshake_timeout", "[loss]") {
  auto o = quick_options();
  o.handshake_timeout = 300ms;
  network_options net;
  net.to_server.loss = 1.0;
  pair p(client_context(key_type::ecdsa_p256, o), server_context(key_type::ecdsa_p256, o),
         std::move(net));
  REQUIRE(p.pump_until([&] { return p.terminal(side::server); }, 5s));
  CHECK(now() - p.created() == 300ms);
  CHECK(p.server().error() == errc::handshake_timeout);
  REQUIRE(p.events(side::server).closed.size() == 1);
  CHECK(p.events(side::server).closed[0] == errc::handshake_timeout);
  // It never heard from the client, so it never sent anything, not even a goodbye.
  CHECK(p.net().wire(direction::server_to_client).empty());
}

TEST_CASE("a handshake that loses its whole first flights still completes", "[loss]") {
  // Several ClientHellos and the server's first answer are lost: the timers back off and
  // recover, and both timers count their retransmissions.
  network_options net;
  net.drop = [](const datagram& dg) {
    return (dg.dir == direction::client_to_server && dg.index < 3) ||
           (dg.dir == direction::server_to_client && dg.flight == 0);
  };
  pair p(client_context(), server_context(), std::move(net));
  const bool ok = p.handshake();
  INFO(p.trace());
  REQUIRE(ok);
  CHECK(p.client().stats().retransmissions >= 3);
  CHECK(p.net().dropped(direction::client_to_server) == 3);
  CHECK(p.transfer(side::client, "recovered"));
}
