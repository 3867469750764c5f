// client_server_test: io::client and io::server on real sockets: both families, refused ports,
// retransmission timers on the real clock, many peers, SO_REUSEPORT threads, allocations.
#include <dtlspp/dtlspp.hpp>
#include <dtlspp/io/client.hpp>
#include <dtlspp/io/loop.hpp>
#include <dtlspp/io/server.hpp>

#include <sys/socket.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "alloc_count.hpp"

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using dtlspp::io::endpoint;

namespace {

dtlspp::context make_context(std::chrono::milliseconds rto = 1s,
                             std::chrono::milliseconds deadline = 30s) {
  dtlspp::context_options o;
  o.retransmit.initial = rto;
  o.handshake_timeout = deadline;
  return dtlspp::context(std::move(o));
}

std::string text(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// echo makes s answer every record with the same bytes.
void echo(dtlspp::io::server& s) {
  s.on_event([&s](const endpoint& peer, const dtlspp::event& e) {
    if (const auto* r = std::get_if<dtlspp::received>(&e)) static_cast<void>(s.send(peer, r->data));
  });
}

// talker is a client that sends `line` once connected and closes when the echo comes back.
struct talker {
  dtlspp::io::client client;
  std::string line, heard;
  bool connected = false;

  talker(const dtlspp::context& ctx, const endpoint& to, dtlspp::verifier v, std::string l)
      : client(ctx, to, std::move(v)), line(std::move(l)) {
    client.on_event([this](const dtlspp::event& e) {
      if (std::holds_alternative<dtlspp::connected>(e)) {
        connected = true;
        REQUIRE_FALSE(client.send(line));
      } else if (const auto* r = std::get_if<dtlspp::received>(&e)) {
        heard = text(r->data);
        client.close();
      }
    });
  }
};

endpoint server_address(const dtlspp::io::server& s, const char* host) {
  return endpoint::parse(std::string(host) + ":" + std::to_string(s.local_endpoint().port()))
      .value();
}

}  // namespace

TEST_CASE(
    "one dual-stack server ([::]) serves an IPv4 and an IPv6 client: handshake, echo, "
    "clean close",
    "[io][client][server]") {
  const auto server_ctx = make_context(), client_ctx = make_context();
  dtlspp::io::server server(server_ctx, "", "0",
                            dtlspp::expect({client_ctx.identity().fingerprint()}));
  REQUIRE(server.local_endpoint().family() == AF_INET6);
  std::vector<std::string> connected_peers, closed_peers;
  server.on_event([&](const endpoint& peer, const dtlspp::event& e) {
    if (std::holds_alternative<dtlspp::connected>(e)) connected_peers.push_back(peer.to_string());
    if (const auto* c = std::get_if<dtlspp::closed>(&e)) {
      CHECK_FALSE(c->reason);
      closed_peers.push_back(peer.to_string());
    }
    if (const auto* r = std::get_if<dtlspp::received>(&e))
      REQUIRE_FALSE(server.send(peer, r->data));
  });
  const auto server_fp = dtlspp::expect({server_ctx.identity().fingerprint()});
  talker v4(client_ctx, server_address(server, "127.0.0.1"), server_fp, "over IPv4");
  talker v6(client_ctx, server_address(server, "[::1]"), server_fp, "over IPv6");

  dtlspp::io::loop l;
  l.add(server);
  l.add(v4.client);
  l.add(v6.client);
  REQUIRE(
      l.run_until([&] { return v4.client.done() && v6.client.done() && closed_peers.size() == 2; },
                  steady::now() + 10s));
  CHECK(v4.heard == "over IPv4");
  CHECK(v6.heard == "over IPv6");
  CHECK_FALSE(v4.client.result());
  CHECK_FALSE(v6.client.result());
  REQUIRE(connected_peers.size() == 2);
  const auto v4_port = std::to_string(v4.client.socket().local_endpoint().port());
  const auto v6_port = std::to_string(v6.client.socket().local_endpoint().port());
  CHECK_THAT(connected_peers, Catch::Matchers::UnorderedEquals(std::vector<std::string>{
                                  "[::ffff:127.0.0.1]:" + v4_port, "[::1]:" + v6_port}));
}

TEST_CASE(
    "a client aimed at a port where nothing listens ends at once with ECONNREFUSED, not "
    "at its handshake deadline",
    "[io][client][refused]") {
  const char* host = GENERATE("127.0.0.1", "::1");
  CAPTURE(host);
  endpoint nobody;
  {
    auto probe = dtlspp::io::udp_socket::bind(endpoint::resolve(host, "0").front());
    nobody = probe.local_endpoint();
  }
  const auto ctx = make_context(1s, 30s);
  dtlspp::io::client c(ctx, nobody, dtlspp::dangerous_accept_any());
  int closed_events = 0;
  const auto start = steady::now();
  const auto reason = c.run([&](const dtlspp::event& e) {
    closed_events += std::holds_alternative<dtlspp::closed>(e) ? 1 : 0;
  });
  CHECK(reason == std::error_code(ECONNREFUSED, std::system_category()));
  CHECK(steady::now() - start < 2s);
  CHECK(closed_events == 1);
  CHECK(c.done());
}

TEST_CASE(
    "against a silent server the client retransmits its ClientHello with doubling "
    "intervals (RFC 6347 section 4.2.4.1) and ends with handshake_timeout",
    "[io][client][timer]") {
  auto silent = dtlspp::io::udp_socket::bind(endpoint::parse("127.0.0.1:0").value());
  const auto ctx = make_context(100ms, 1600ms);
  dtlspp::io::client c(ctx, silent.local_endpoint(), dtlspp::dangerous_accept_any());
  std::vector<steady::time_point> arrivals;
  dtlspp::io::loop l;
  l.add(c);
  l.watch(silent.fd(), [&](dtlspp::time_point now) {
    std::array<std::byte, 2048> buffer;
    while (silent.receive(buffer))
      arrivals.push_back(now);
  });
  const auto start = steady::now();
  REQUIRE(l.run_until([&] { return c.done(); }, start + 10s));
  const auto took = steady::now() - start;
  CHECK(c.result() == dtlspp::errc::handshake_timeout);
  CHECK(took >= 1600ms);
  CHECK(took < 3s);
  // Sent at about 0, 100, 300, 700 and 1500 ms: each wait at least the timer's, and doubling.
  REQUIRE(arrivals.size() >= 4);
  std::vector<double> gaps;
  for (std::size_t i = 1; i < arrivals.size(); ++i)
    gaps.push_back(
        std::chrono::duration<double, std::milli>(arrivals[i] - arrivals[i - 1]).count());
  CAPTURE(gaps);
  CHECK(gaps[0] >= 85);  // OpenSSL fires up to 15 ms early
  for (std::size_t i = 1; i < gaps.size() && i < 3; ++i)
    CHECK(gaps[i] >= 1.6 * gaps[i - 1]);
  CHECK(c.session().stats().retransmissions == arrivals.size() - 1);
}

TEST_CASE(
    "a stranger with the wrong certificate fails alone: the server and a connected peer "
    "go on",
    "[io][client][server]") {
  const auto server_ctx = make_context(), good_ctx = make_context(), stranger_ctx = make_context();
  dtlspp::io::server server(server_ctx, "127.0.0.1", "0",
                            dtlspp::expect({good_ctx.identity().fingerprint()}));
  std::vector<std::error_code> closes;
  server.on_event([&](const endpoint& peer, const dtlspp::event& e) {
    if (const auto* c = std::get_if<dtlspp::closed>(&e)) closes.push_back(c->reason);
    if (const auto* r = std::get_if<dtlspp::received>(&e))
      REQUIRE_FALSE(server.send(peer, r->data));
  });
  const auto to = server.local_endpoint();
  const auto pin = dtlspp::expect({server_ctx.identity().fingerprint()});
  dtlspp::io::client good(good_ctx, to, pin);
  bool good_connected = false;
  std::vector<std::string> heard;
  good.on_event([&](const dtlspp::event& e) {
    good_connected |= std::holds_alternative<dtlspp::connected>(e);
    if (const auto* r = std::get_if<dtlspp::received>(&e)) heard.push_back(text(r->data));
  });
  dtlspp::io::loop l;
  l.add(server);
  l.add(good);
  REQUIRE(l.run_until([&] { return good_connected; }, steady::now() + 10s));

  dtlspp::io::client stranger(stranger_ctx, to, pin);
  l.add(stranger);
  REQUIRE(l.run_until([&] { return stranger.done() && !closes.empty(); }, steady::now() + 10s));
  CHECK(stranger.result());
  CHECK(closes == std::vector<std::error_code>{dtlspp::errc::fingerprint_mismatch});

  REQUIRE_FALSE(good.send("still here"));
  REQUIRE(l.run_until([&] { return !heard.empty(); }, steady::now() + 5s));
  CHECK(heard == std::vector<std::string>{"still here"});
  CHECK_FALSE(good.done());
}

TEST_CASE("accept_new_peers(false) keeps the sessions a server has and starts no new one",
          "[io][server]") {
  const auto server_ctx = make_context(), client_ctx = make_context(100ms, 1s);
  dtlspp::io::server server(server_ctx, "127.0.0.1", "0",
                            dtlspp::expect({client_ctx.identity().fingerprint()}));
  echo(server);
  const auto pin = dtlspp::expect({server_ctx.identity().fingerprint()});
  talker first(client_ctx, server.local_endpoint(), pin, "first");
  dtlspp::io::loop l;
  l.add(server);
  l.add(first.client);
  REQUIRE(l.run_until([&] { return first.connected; }, steady::now() + 5s));
  server.accept_new_peers(false);
  talker second(client_ctx, server.local_endpoint(), pin, "second");
  l.add(second.client);
  REQUIRE(
      l.run_until([&] { return first.client.done() && second.client.done(); }, steady::now() + 5s));
  CHECK(first.heard == "first");
  CHECK(second.client.result() == dtlspp::errc::handshake_timeout);
  CHECK(server.listener().stats().hello_verify_requests == 1);
}

TEST_CASE(
    "SO_REUSEPORT: two servers on two threads share one port and one context; the kernel "
    "spreads 16 clients over both, and stop() ends each run from the main thread",
    "[io][server][threads]") {
  const auto server_ctx = make_context(), client_ctx = make_context();
  const auto client_fp = dtlspp::expect({client_ctx.identity().fingerprint()});
  dtlspp::io::server_options options;
  options.bind.reuse_port = true;
  auto a = std::make_unique<dtlspp::io::server>(server_ctx, "127.0.0.1", "0", client_fp, options);
  auto b =
      std::make_unique<dtlspp::io::server>(server_ctx, a->local_endpoint(), client_fp, options);
  REQUIRE(a->local_endpoint() == b->local_endpoint());
  std::atomic<int> served_a = 0, served_b = 0;
  const auto count = [](dtlspp::io::server& s, std::atomic<int>& n) {
    s.on_event([&s, &n](const endpoint& peer, const dtlspp::event& e) {
      if (std::holds_alternative<dtlspp::connected>(e)) ++n;
      if (const auto* r = std::get_if<dtlspp::received>(&e))
        static_cast<void>(s.send(peer, r->data));
    });
  };
  count(*a, served_a);
  count(*b, served_b);
  std::thread ta([&] { a->run(); });
  std::thread tb([&] { b->run(); });

  const auto pin = dtlspp::expect({server_ctx.identity().fingerprint()});
  std::vector<std::unique_ptr<talker>> clients;
  dtlspp::io::loop l;
  for (int i = 0; i < 16; ++i) {
    clients.push_back(std::make_unique<talker>(client_ctx, a->local_endpoint(), pin,
                                               "client " + std::to_string(i)));
    l.add(clients.back()->client);
  }
  const bool all_done = l.run_until(
      [&] { return std::ranges::all_of(clients, [](const auto& c) { return c->client.done(); }); },
      steady::now() + 20s);
  a->stop();
  b->stop();
  ta.join();
  tb.join();
  REQUIRE(all_done);
  for (const auto& c : clients) {
    CHECK(c->heard == c->line);
    CHECK_FALSE(c->client.result());
  }
  CHECK(served_a + served_b == 16);
  CHECK(served_a > 0);  // all 16 on one socket: one chance in 32 768
  CHECK(served_b > 0);
}

// session_server is an application's own driven: one server session (no listener) on a bound
// socket, echoing every record, driven through io::pump.
struct session_server final : dtlspp::io::driven {
  dtlspp::io::udp_socket socket;
  dtlspp::session session;
  endpoint peer;
  std::array<std::byte, 2048> buffer{};
  int send_failures = 0;

  session_server(const dtlspp::context& ctx, dtlspp::verifier v)
      : socket(dtlspp::io::udp_socket::bind(endpoint::parse("127.0.0.1:0").value())),
        session(ctx, dtlspp::role::server, std::move(v)) {}

  void flush() {
    dtlspp::io::pump(session, socket, peer, [this](const dtlspp::event& e) {
      // No Catch2 assertion here: under the JUnit reporter a passing one allocates.
      if (const auto* r = std::get_if<dtlspp::received>(&e))
        send_failures += session.send(r->data) ? 1 : 0;
    });
  }
  int fd() const noexcept override { return socket.fd(); }
  void on_readable(dtlspp::time_point now) override {
    while (const auto d = socket.receive(buffer)) {
      peer = d->from;
      static_cast<void>(session.handle_datagram(std::span(buffer.data(), d->size), now));
      flush();
    }
  }
  std::optional<dtlspp::time_point> next_timeout() const noexcept override {
    return session.next_timeout();
  }
  void on_timeout(dtlspp::time_point now) override {
    static_cast<void>(session.handle_timeout(now));
    flush();
  }
};

TEST_CASE(
    "once connected, a record from an io::client and its echo back allocate nothing in "
    "the client, the loop, the sockets and io::pump",
    "[io][alloc]") {
  const auto server_ctx = make_context(), client_ctx = make_context();
  session_server server(server_ctx, dtlspp::expect({client_ctx.identity().fingerprint()}));
  dtlspp::io::client c(client_ctx, server.socket.local_endpoint(),
                       dtlspp::expect({server_ctx.identity().fingerprint()}));
  int echoes = 0;
  bool connected = false;
  c.on_event([&](const dtlspp::event& e) {
    connected |= std::holds_alternative<dtlspp::connected>(e);
    echoes += std::holds_alternative<dtlspp::received>(e) ? 1 : 0;
  });
  dtlspp::io::loop l;
  l.add(server);
  l.add(c);
  REQUIRE(l.run_until([&] { return connected; }, steady::now() + 5s));
  const std::array<std::byte, 100> payload{};
  bool all_echoed = true;
  const auto round_trips = [&](int n) {
    for (int i = 0; i < n; ++i) {
      const int want = echoes + 1;
      all_echoed = all_echoed && !c.send(payload);
      all_echoed = all_echoed && l.run_until([&] { return echoes == want; }, steady::now() + 5s);
    }
  };
  round_trips(10);  // warm up: buffers and pools reach their size
  // Both timers run on after the handshake (a lost final flight would be retransmitted); wait
  // until they stop, so that what is counted is the datagram path alone.
  REQUIRE(
      l.run_until([&] { return !c.next_timeout() && !server.next_timeout(); }, steady::now() + 5s));
  const auto before = dtlspp::test::allocations();
  round_trips(200);
  const auto allocations = dtlspp::test::allocations() - before;
  CHECK(all_echoed);
  CHECK(echoes == 210);
  CHECK(server.send_failures == 0);
  CHECK(allocations == 0);
}
